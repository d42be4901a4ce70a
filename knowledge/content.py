"""Validation of the bundled curriculum content against the catalogue.

Each content file has front matter (level, track, module, topics). For a module or track file, `topics` must
be exactly the catalogue's topic ids for that module, in order, and each topic must have a `## ` section whose
heading is the topic's catalogue title. This keeps the prose and the catalogue from drifting apart.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from errors import UserError
from ingest.readers import Document
from knowledge.catalogue import Catalogue, catalogue


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int | None = Field(default=None, ge=1, le=4)
    track: Literal["A", "B", "C", "D", "E"] | None = None
    module: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    topics: list[str] = []


def validate_document(doc: Document, source: str, cat: Catalogue | None = None) -> dict[str, str]:
    """Check one bundled content file; return its H2 heading → topic id map.

    Raises UserError naming the file."""
    cat = cat or catalogue()
    try:
        fm = FrontMatter.model_validate(doc.front_matter)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "front matter"
        raise UserError(f"{source}: front matter {field}: {err['msg']}") from None
    h2 = [s.headings[1] for s in doc.sections if len(s.headings) >= 2]
    found = cat.module_topics(fm.module)
    if found is None:
        if fm.topics:
            raise UserError(f"{source}: module {fm.module!r} is not in the catalogue, so it lists no topics")
        return {}
    level, track, topics = found
    if fm.level != level or fm.track != track:
        raise UserError(f"{source}: module {fm.module!r} belongs to level {level}"
                        f"{f' track {track}' if track else ''}, front matter says level {fm.level} "
                        f"track {fm.track}")
    expected = [t.id for t in topics]
    if fm.topics != expected:
        raise UserError(f"{source}: topics must be {expected} (catalogue order), got {fm.topics}")
    mapping = {}
    for topic in topics:
        if topic.title not in h2:
            raise UserError(f"{source}: topic {topic.id!r} has no section '## {topic.title}'")
        mapping[topic.title] = topic.id
    return mapping
