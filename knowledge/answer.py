"""Grounded answers: the answerer interface and the default extractive answerer (no LLM needed).

The extractive answerer retrieves, and if the best passage is similar enough to the question (a threshold
calibrated on the eval set, see docs/retrieval.md) composes an answer from the most relevant sentences of
the top passages, each group cited as [n] with its section name. Below the threshold it says the path does
not cover the question and lists the nearest sections instead of guessing.

An LLM-backed answerer implements the same `Answerer` protocol and reuses `prepare_question` and the
retrieval result, so refusal and citation rules stay in one place.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from knowledge.embedding import Embedder
from knowledge.lexical import tokenize
from knowledge.retrieval import Hit, Retriever

MAX_ANSWER_SENTENCES = 4
MAX_ANSWER_WORDS = 110
NEAREST_SECTIONS = 3
SENTENCE_CACHE_SIZE = 20_000
DEFINITION_BONUS = 0.1


class EmptyQuestion(ValueError):
    """The question is empty (after trimming whitespace)."""


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class Citation:
    n: int
    section: str
    source: str

    def as_json(self) -> dict[str, Any]:
        return {"n": self.n, "section": self.section, "source": self.source}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: list[Citation]
    grounded: bool
    """False for a refusal: the citations are then the nearest sections, not sources of the text."""
    confidence: float
    trimmed: bool = False
    hits: list[Hit] = field(default_factory=list, repr=False)
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


class Answerer(Protocol):
    def answer(self, question: str, *, level: int | None = None, history: Sequence[Turn] = ()) -> Answer:
        ...


TextSink = Callable[[str], None]
"""Receives the text of an answer as it is written (LLM streaming); extractive answers never call it."""


def prepare_question(question: str, max_chars: int) -> tuple[str, bool]:
    """Collapse whitespace and trim to `max_chars` (at a word boundary). Raises EmptyQuestion."""
    text = re.sub(r"\s+", " ", question or "").strip()
    if not text:
        raise EmptyQuestion("empty question")
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    if " " in cut[max_chars // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(), True


_CODE_BLOCK = re.compile(r"(```|~~~).*?(\1|\Z)", re.DOTALL)
_LABEL = re.compile(r"^\*\*[^*]{1,60}?[.:]\*\*\s*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


def sentences(text: str) -> list[str]:
    """Prose sentences of a chunk: no code blocks, no bold paragraph labels, no list markers."""
    return [sent for sent, _ in _sentences_with_flags(text)]


_DEFINITION_LABELS = ("what it is", "what you do")


def _sentences_with_flags(text: str) -> list[tuple[str, bool]]:
    """(sentence, is_definition): definition = from the chunk's "What it is." paragraph, or the first
    paragraph of an unlabelled text. A mentor answers "what does X do?" with the definition first."""
    prose = _CODE_BLOCK.sub("\n\n", text)
    out: list[tuple[str, bool]] = []
    first = True
    for para in re.split(r"\n\s*\n", prose):
        lines = [re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", ln).strip() for ln in para.split("\n")]
        lines = [ln for ln in lines if ln]
        if not lines:
            continue
        label = _LABEL.match(lines[0])
        definition = (label is not None and label.group(0).strip("* .:\n").lower() in _DEFINITION_LABELS) or (
            label is None and first)
        first = False
        # a list stays one item per "sentence"; a paragraph is re-flowed then split
        joined = lines if len(lines) > 1 and all(len(ln.split()) < 25 for ln in lines) else [" ".join(lines)]
        for piece in joined:
            piece = _LABEL.sub("", piece)
            piece = re.sub(r"\*\*([^*]+)\*\*", r"\1", piece)
            for sent in _SENTENCE.split(piece):
                sent = sent.strip()
                if len(sent.split()) >= 3 and not sent.endswith(":"):  # "The four daily habits:" is a lead-in
                    out.append((sent, definition))
    return out


def _lexical_overlap(question_tokens: set[str], sentence: str) -> float:
    if not question_tokens:
        return 0.0
    return len(question_tokens & set(tokenize(sentence))) / len(question_tokens)


@dataclass
class ExtractiveAnswerer:
    retriever: Retriever
    embedder: Embedder
    threshold: float
    max_question_chars: int = 500
    k: int = 5
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings, cached: the same sections answer many questions, so after warm-up an
        answer costs one question embedding instead of ~40 sentence embeddings."""
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self.embedder.encode(missing), strict=True))
            with self._lock:
                for text in missing:
                    self._cache[text] = known[text]
                while len(self._cache) > SENTENCE_CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
        return np.vstack([known[t] for t in texts])

    def search_query(self, question: str, history: Sequence[Turn]) -> str:
        """A short follow-up ("and class weights?") is searched together with the previous question."""
        previous = [t.text for t in history if t.role == "user"]
        if previous and len(tokenize(question)) < 4:
            return f"{previous[-1]} {question}"
        return question

    def answer(self, question: str, *, level: int | None = None, history: Sequence[Turn] = ()) -> Answer:
        text, trimmed = prepare_question(question, self.max_question_chars)
        result = self.retriever.search(self.search_query(text, history), k=self.k, prefer_level=level)
        if not result.hits or result.confidence < self.threshold:
            return self._refusal(text, result.hits, result.confidence, trimmed)
        return self._compose(text, result.hits, result.confidence, trimmed)

    def _refusal(self, question: str, hits: list[Hit], confidence: float, trimmed: bool) -> Answer:
        nearest: list[Citation] = []
        for hit in hits:
            if all(c.section != hit.section for c in nearest):
                nearest.append(Citation(len(nearest) + 1, hit.section, hit.source))
            if len(nearest) == NEAREST_SECTIONS:
                break
        body = "The learning path doesn't cover that, so I won't guess."
        if nearest:
            body += " The nearest sections are: " + "; ".join(f"[{c.n}] {c.section}" for c in nearest) + "."
        return Answer(question, body, nearest, False, confidence, trimmed, hits)

    def _compose(self, question: str, hits: list[Hit], confidence: float, trimmed: bool) -> Answer:
        candidates = [h for h in hits[:3] if h.confidence >= self.threshold] or hits[:1]
        flagged = [_sentences_with_flags(h.text) for h in candidates]
        per_hit = [(h, [sent for sent, _ in f]) for h, f in zip(candidates, flagged, strict=True)]
        flat = [s for _, sents in per_hit for s in sents]
        definition_bonus = np.array([DEFINITION_BONUS if d else 0.0 for f in flagged for _, d in f])
        if not flat:  # e.g. a chunk that is only code: show its section instead
            top = hits[0]
            citation = Citation(1, top.section, top.source)
            return Answer(question, f"See [1] {top.section}.", [citation], True, confidence, trimmed, hits)
        qvec = self.embedder.encode_one(question)
        svecs = self._sentence_vectors(flat)
        qtokens = set(tokenize(question))
        scores = (svecs @ qvec + np.array([0.25 * _lexical_overlap(qtokens, s) for s in flat])
                  + definition_bonus)

        picked: list[tuple[int, list[str]]] = []  # (index into candidates, sentences)
        offset = 0
        best_overall = float(scores.max())
        words = 0
        count = 0
        for ci, (_hit, sents) in enumerate(per_hit):
            local = scores[offset:offset + len(sents)]
            offset += len(sents)
            if not sents:
                continue
            if ci == 0:
                # the best window of up to 3 consecutive sentences of the top passage
                width = min(3, len(sents))
                sums = [float(local[i:i + width].sum()) for i in range(len(sents) - width + 1)]
                start = int(np.argmax(sums))
                chosen = sents[start:start + width]
            else:
                j = int(np.argmax(local))
                if float(local[j]) < best_overall - 0.08 or count >= MAX_ANSWER_SENTENCES:
                    continue
                chosen = [sents[j]]
            kept: list[str] = []
            for sent in chosen:
                n_words = len(sent.split())
                if kept and words + n_words > MAX_ANSWER_WORDS:
                    break
                kept.append(sent)
                words += n_words
                count += 1
            if kept:
                picked.append((ci, kept))

        citations: list[Citation] = []
        parts: list[str] = []
        for ci, kept in picked:
            hit = per_hit[ci][0]
            existing = next((c for c in citations if c.section == hit.section), None)
            if existing is None:
                existing = Citation(len(citations) + 1, hit.section, hit.source)
                citations.append(existing)
            parts.append(" ".join(kept) + f" [{existing.n}]")
        return Answer(question, "\n\n".join(parts), citations, True, confidence, trimmed, hits)
