"""The values the answer path passes around: a conversation turn, a retrieved section, a citation, an answer.

A leaf module: it imports nothing of `knowledge`, so every other module (retrieval, ranking, composition,
the answerers, the evaluation) can share these types without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from errors import UserError


class EmptyQuestion(UserError):
    """The question is empty (after trimming whitespace)."""


@dataclass(frozen=True)
class Citation:
    n: int
    section: str
    source: str

    def as_json(self) -> dict[str, Any]:
        return {"n": self.n, "section": self.section, "source": self.source}


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str
    citations: tuple[Citation, ...] = ()
    """An assistant turn's sources, when the front end kept them ("show me the sources" lists them)."""


@dataclass(frozen=True)
class Hit:
    """One retrieved section: the matching chunks of a section, reassembled in order."""

    rank: int
    id: str
    """Id of the best-matching chunk of the section."""
    text: str
    section: str
    source: str
    level: int
    track: str
    topic: str
    kind: str
    score: float
    """Fused RRF score (higher is better; only comparable within one search)."""
    similarity: float
    """Best cosine similarity between the question and a chunk of the section."""
    coverage: float
    """IDF-weighted share of the question's known terms found in the section (see BM25.coverage)."""

    @property
    def confidence(self) -> float:
        return 0.5 * self.similarity + 0.5 * self.coverage

    def as_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "similarity": round(self.similarity, 4),
            "confidence": round(self.confidence, 4),
            "section": self.section,
            "source": self.source,
            "level": self.level or None,
            "track": self.track or None,
            "topic": self.topic or None,
            "text": self.text,
        }


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: list[Citation]
    grounded: bool
    """False for a refusal: the citations are then the nearest sections, not sources of the text."""
    confidence: float
    """The scope model's probability that the question is on the path (1.0 for answers needing no retrieval)."""
    trimmed: bool = False
    hits: list[Hit] = field(default_factory=list, repr=False)
    """The ranked passages the answer was composed from (sections, and guidance cards as passages)."""
    answerer: str = "extractive"
    """`extractive` or `llm:<provider:model>`: who wrote `text` (stored with the answer)."""
    note: str = ""
    """A short note for the member, e.g. why an LLM answer fell back to the extractive one."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "citations": [c.as_json() for c in self.citations],
            "grounded": self.grounded,
            "answerer": self.answerer,
            **({"note": self.note} if self.note else {}),
        }
