"""The quiz question bank: knowledge/quizzes/*.yaml, validated at load.

Each question has 4 options with exactly one correct, an explanation, a catalogue topic and the curriculum
section it comes from (which must exist in the bundled content). A bad file fails with one line naming the
file and the question.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from errors import UserError
from knowledge import content_dir, package_dir
from knowledge.catalogue import Catalogue, catalogue


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)
    topic: str
    section: str
    question: str = Field(min_length=5)
    options: tuple[str, str, str, str]
    answer: int = Field(ge=0, le=3)
    explanation: str = Field(min_length=5)
    placement: bool = False
    level: int = 0
    """Filled from the topic at load."""
    track: str | None = None

    @field_validator("options")
    @classmethod
    def _distinct(cls, options: tuple[str, ...]) -> tuple[str, ...]:
        if len({o.strip().lower() for o in options}) != 4 or any(not o.strip() for o in options):
            raise ValueError("the 4 options must be non-empty and different")
        return options


class SectionText(BaseModel):
    """A curriculum section as a member reads it after a wrong answer ("Read the section")."""

    model_config = ConfigDict(frozen=True)

    id: str
    """The section name questions cite, e.g. "Level 1 › SQL and Databases › Window functions"."""
    title: str
    """Its own heading ("Window functions")."""
    text: str


@lru_cache(maxsize=1)
def section_texts() -> dict[str, SectionText]:
    """Every section of the bundled content by the name ingest gives it (text of same-named parts joined)."""
    from ingest.chunking import section_name
    from ingest.readers import read_file

    parts: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for path in sorted(content_dir().rglob("*.md")):
        doc = read_file(path)
        level = int(doc.front_matter.get("level") or 0)
        for section in doc.sections:
            name = section_name(section.headings, level)
            parts.setdefault(name, []).append(section.text.strip())
            titles[name] = section.headings[-1] if section.headings else name
    return {name: SectionText(id=name, title=titles[name], text="\n\n".join(p for p in texts if p))
            for name, texts in parts.items()}


def content_sections() -> set[str]:
    """Every section name the bundled content produces (as ingest names them)."""
    return set(section_texts())


def _topic_levels(cat: Catalogue) -> dict[str, tuple[int, str | None]]:
    out: dict[str, tuple[int, str | None]] = {}
    for level in cat.levels:
        for module in level.modules:
            for t in module.topics:
                out[t.id] = (level.number, None)
        for track in level.tracks:
            for t in track.topics:
                out[t.id] = (level.number, track.id)
    return out


def load_bank(folder: Path | None = None, cat: Catalogue | None = None) -> dict[str, Question]:
    folder = folder or package_dir() / "quizzes"
    cat = cat or catalogue()
    topics = _topic_levels(cat)
    sections = content_sections()
    bank: dict[str, Question] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise UserError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
        items = data.get("questions") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise UserError(f"{path}: expected a top-level 'questions' list")
        for n, item in enumerate(items, start=1):
            qid = item.get("id", f"#{n}") if isinstance(item, dict) else f"#{n}"
            try:
                q = Question.model_validate(item)
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(str(p) for p in err["loc"])
                raise UserError(f"{path}: question {qid}: {field}: {err['msg']}") from None
            if q.topic not in topics:
                raise UserError(f"{path}: question {qid}: unknown topic {q.topic!r}")
            if q.section not in sections:
                raise UserError(f"{path}: question {qid}: no curriculum section {q.section!r}")
            if q.id in bank:
                raise UserError(f"{path}: question {qid}: id used twice")
            level, track = topics[q.topic]
            bank[q.id] = q.model_copy(update={"level": level, "track": track})
    return bank


@lru_cache(maxsize=1)
def question_bank() -> dict[str, Question]:
    return load_bank()
