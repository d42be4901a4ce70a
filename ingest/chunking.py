"""Heading-aware chunking with stable ids.

A chunk never crosses a heading. Inside a section, paragraphs (and whole fenced code blocks) are packed up
to `MAX_WORDS` words, so that the section name plus the chunk fit in all-MiniLM-L6-v2's 256-token window;
longer paragraphs are split at sentence boundaries. The embedded text is "section name + chunk", which makes
short chunks findable by the topic they belong to.

Ids: sha256(source, content hash, occurrence) — the same text in the same source always gets the same id,
so re-ingesting unchanged input finds every id already stored and embeds nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ingest.readers import Document

MAX_WORDS = 150
SECTION_SEPARATOR = " › "

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(*\[])")


@dataclass(frozen=True)
class Chunk:
    id: str
    source: str
    section: str
    text: str
    content_hash: str
    level: int = 0
    """0 when the text belongs to no level."""
    track: str = ""
    module: str = ""
    topic: str = ""
    kind: str = "resource"
    """"curriculum" for the bundled learning path, "resource" for a team's own files."""
    part: int = 0
    """Position of the chunk inside its section (0, 1, …): retrieval reassembles sections in order."""

    @property
    def embed_text(self) -> str:
        return f"{self.section}\n\n{self.text}"

    def metadata(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "section": self.section,
            "level": self.level,
            "track": self.track,
            "module": self.module,
            "topic": self.topic,
            "kind": self.kind,
            "content_hash": self.content_hash,
            "part": self.part,
        }


def _blocks(text: str) -> Iterator[str]:
    """Paragraphs separated by blank lines; a fenced code block is one block even with blank lines."""
    buf: list[str] = []
    in_code = False
    for line in text.split("\n"):
        if re.match(r"^[ \t]*(```|~~~)", line):
            in_code = not in_code
        if not in_code and not line.strip():
            if buf:
                yield "\n".join(buf).strip()
                buf = []
            continue
        buf.append(line)
    if buf:
        yield "\n".join(buf).strip()


def _split_long(block: str, max_words: int) -> Iterator[str]:
    if len(block.split()) <= max_words:
        yield block
        return
    is_code = block.lstrip().startswith(("```", "~~~"))
    units = block.split("\n") if is_code else _SENTENCE_END.split(block)
    piece: list[str] = []
    count = 0
    joiner = "\n" if is_code else " "
    for unit in units:
        words = len(unit.split())
        if words > max_words:  # one enormous sentence: cut by words
            if piece:
                yield joiner.join(piece)
                piece, count = [], 0
            tokens = unit.split()
            for start in range(0, len(tokens), max_words):
                yield " ".join(tokens[start:start + max_words])
            continue
        if count + words > max_words and piece:
            yield joiner.join(piece)
            piece, count = [], 0
        piece.append(unit)
        count += words
    if piece:
        yield joiner.join(piece)


def split_text(text: str, max_words: int = MAX_WORDS) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    count = 0
    for block in _blocks(text):
        for part in _split_long(block, max_words):
            words = len(part.split())
            if current and count + words > max_words:
                pieces.append("\n\n".join(current))
                current, count = [], 0
            current.append(part)
            count += words
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def section_name(headings: Iterable[str], level: int = 0) -> str:
    parts = [f"Level {level}"] if level else []
    parts.extend(headings)
    return SECTION_SEPARATOR.join(parts)


def chunk_document(
    doc: Document,
    *,
    source: str,
    kind: str = "resource",
    topics_by_heading: Mapping[str, str] | None = None,
    max_words: int = MAX_WORDS,
) -> list[Chunk]:
    """Chunks of one document. `topics_by_heading` maps an H2 title to its catalogue topic id."""
    fm = doc.front_matter
    level = int(fm.get("level") or 0)
    track = str(fm.get("track") or "")
    module = str(fm.get("module") or "")
    default_topic = str(fm.get("topic") or "")
    seen: Counter[str] = Counter()
    chunks: list[Chunk] = []
    for section in doc.sections:
        headings = section.headings or (doc.title,)
        name = section_name(headings, level)
        topic = default_topic
        if topics_by_heading and len(headings) >= 2:
            topic = topics_by_heading.get(headings[1], default_topic)
        for part, text in enumerate(split_text(section.text, max_words)):
            content_hash = hashlib.sha256(f"{name}\n\n{text}".encode()).hexdigest()
            occurrence = seen[content_hash]
            seen[content_hash] += 1
            chunk_id = hashlib.sha256(f"{source}\x00{content_hash}\x00{occurrence}".encode()).hexdigest()[:40]
            chunks.append(Chunk(id=chunk_id, source=source, section=name, text=text,
                                content_hash=content_hash, level=level, track=track, module=module,
                                topic=topic, kind=kind, part=part))
    return chunks
