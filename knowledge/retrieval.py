"""Hybrid retrieval: dense (Chroma, MiniLM) + lexical (BM25) fused by reciprocal rank.

The textbook pipeline (fixed-size splits + dense top-k) loses exact terms and splits topics mid-thought;
here chunks are heading-aware (see ingest.chunking) and two rankings are fused with RRF (Cormack et al.,
2009: score = Σ 1/(k + rank), k = 60), which needs no score calibration between the two. Optional filters
restrict to a level or track, and `prefer_level` gently boosts chunks of the asking member's level.

`confidence` is the best dense cosine similarity among the returned chunks; the answerer compares it with
a calibrated threshold to decide whether the curriculum covers a question at all.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from knowledge.embedding import Embedder
from knowledge.lexical import BM25
from knowledge.schema import Hit
from knowledge.store import StoredChunk, VectorStore

RRF_K = 60
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 1.0
GROUP_BONUS = 0.0
INTRO_FACTOR = 0.85
PREFER_LEVEL_BOOST = 1.3
FOLLOW_UP_BOOST = 1.3
"""A follow-up's search prefers the sections the previous answer came from ("why does that matter in prod?"
after a feature-store answer is still about feature stores, whatever else "prod" matches)."""
CACHE_TTL_SECONDS = 300.0
COUNT_CHECK_SECONDS = 2.0
"""How often a search asks the store for its size (another process may have deleted chunks): a count costs
about as much as the vector query itself, so not on every search."""
SECTION_MAX_WORDS = 400


def confidence(similarity: float, coverage: float) -> float:
    """How sure we are that a section answers the question: the mean of dense similarity and lexical
    coverage. Either alone misleads — MiniLM gives "what does RAG do?" only 0.24 against the RAG section,
    and common words give off-topic questions some coverage — together they separate the eval set's
    in-scope and out-of-scope questions (docs/retrieval.md)."""
    return 0.5 * similarity + 0.5 * coverage


@dataclass(frozen=True)
class SectionSignal:
    key: tuple[str, str]
    """(source, section name)"""
    best: str
    """Id of the section's best chunk for this search."""
    sim: float
    lexical: float
    """Best chunk's BM25 score divided by the best score in the store (0..1)."""
    dense_rank: int
    lexical_rank: int

    @property
    def rrf(self) -> float:
        return 1.0 / (RRF_K + self.dense_rank) + 1.0 / (RRF_K + self.lexical_rank)


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[Hit]
    confidence: float


_LEVEL_MENTION = re.compile(r"\blevel\s*([1-4])\b", re.IGNORECASE)
_TRACK_MENTION = re.compile(r"\btrack\s+([a-e])\b", re.IGNORECASE)


def mentioned_level(query: str) -> int | None:
    """"how long is level 3?" → 3: a level named in the question is preferred like the asker's own."""
    found = {int(m) for m in _LEVEL_MENTION.findall(query)}
    return found.pop() if len(found) == 1 else None


def mentioned_track(query: str) -> str | None:
    found = {m.upper() for m in _TRACK_MENTION.findall(query)}
    return found.pop() if len(found) == 1 else None


def _where(level: int | None, track: str | None) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if level:
        clauses.append({"level": level})
    if track:
        clauses.append({"track": track.upper()})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _heading_text(chunk: StoredChunk) -> str:
    return str(chunk.metadata.get("section", ""))


def _last_heading(chunk: StoredChunk) -> str:
    return _heading_text(chunk).rsplit(" › ", 1)[-1]


def _about_level(meta: dict[str, Any], level: int) -> bool:
    """A chunk is about level N when it belongs to it or its section title names it ("ready for Level 3")."""
    if meta.get("level") == level:
        return True
    title = str(meta.get("section", "")).split(" › ", 1)[-1].lower()
    return f"level {level}" in title


def _is_page_intro(meta: dict[str, Any]) -> bool:
    """The paragraph under a curriculum page's title, before its first section: a summary of the page
    that matches many questions loosely, so a specific section that matches as well should win."""
    parts = str(meta.get("section", "")).split(" › ")
    return len(parts) - (1 if meta.get("level") else 0) <= 1


class _Corpus:
    """All stored chunks with their embeddings and a BM25 index, rebuilt when the store changes.

    Everything a query needs that depends only on the stored chunks is computed here once (word counts,
    sections in order, assembled section texts), not again for every question."""

    def __init__(self, chunks: list[StoredChunk], embeddings: np.ndarray, count: int) -> None:
        self.chunks = chunks
        self.index = {c.id: i for i, c in enumerate(chunks)}
        self.embeddings = embeddings
        # The last heading is repeated: a section called "Resources" or "Reproducibility" is about exactly
        # that, which a single mention among 150 words under-weights.
        self.bm25 = BM25([f"{_heading_text(c)}\n{_last_heading(c)}\n{c.text}" for c in chunks])
        self.count = count
        self.built = self.checked = time.monotonic()
        self.words = [len(c.text.split()) for c in chunks]
        self.sections: dict[tuple[str, str], list[int]] = {}
        for i, c in enumerate(chunks):
            key = (str(c.metadata.get("source", "")), str(c.metadata.get("section", "")))
            self.sections.setdefault(key, []).append(i)
        for members in self.sections.values():
            members.sort(key=lambda i: int(chunks[i].metadata.get("part") or 0))
        self._texts: dict[tuple[tuple[str, str], str, int], str] = {}

    def section_text(self, key: tuple[str, str], best: str, max_words: int) -> str:
        """The section's chunks in order; a long section is cut to the best chunk and its neighbours.
        Assembled once per (section, best chunk): at most one entry per stored chunk."""
        cache_key = (key, best, max_words)
        text = self._texts.get(cache_key)
        if text is None:
            text = self._texts[cache_key] = self._assemble(key, best, max_words)
        return text

    def _assemble(self, key: tuple[str, str], best: str, max_words: int) -> str:
        members = self.sections.get(key) or [self.index[best]]
        centre = next((pos for pos, i in enumerate(members) if self.chunks[i].id == best), 0)
        chosen = [centre]
        words = self.words[members[centre]]
        lo, hi = centre - 1, centre + 1
        while lo >= 0 or hi < len(members):
            for pos in (hi, lo):
                if 0 <= pos < len(members):
                    n = self.words[members[pos]]
                    if words + n <= max_words:
                        chosen.append(pos)
                        words += n
            lo, hi = lo - 1, hi + 1
        return "\n\n".join(self.chunks[members[pos]].text for pos in sorted(chosen))


class Retriever:
    def __init__(self, store: VectorStore, embedder: Embedder, *, candidates: int = 40) -> None:
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self._corpus: _Corpus | None = None
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._corpus = None

    def _load_corpus(self) -> _Corpus:
        chunks, embeddings = self.store.all_chunks_with_embeddings()
        return _Corpus(chunks, embeddings, len(chunks))

    def corpus(self, *, known_ids: list[str] | None = None, check: bool = False) -> _Corpus:
        """The store's chunks, embeddings and BM25 index in memory. `check=True` asks the store for its count
        now (once per message: a document ingested a moment ago is there, and a store that is down says so)
        rather than at most every COUNT_CHECK_SECONDS."""
        with self._lock:
            corpus = self._corpus
            now = time.monotonic()
            stale = (
                corpus is None
                or now - corpus.built > CACHE_TTL_SECONDS
                or (known_ids is not None and any(i not in corpus.index for i in known_ids))
            )
            if not stale and corpus is not None and (check or now - corpus.checked > COUNT_CHECK_SECONDS):
                corpus.checked = now
                stale = self.store.count() != corpus.count
            if stale:
                corpus = self._corpus = self._load_corpus()
            assert corpus is not None
            return corpus

    def find_section(self, source: str, heading: str) -> tuple[str, str] | None:
        """(section name, source) of the stored section of `source` whose last heading is `heading`: how
        guidance answers cite the content behind a catalogue fact. None when it is not in the store."""
        corpus = self.corpus()
        for key_source, section in corpus.sections:
            if key_source == source and section.rsplit(" › ", 1)[-1] == heading:
                return section, key_source
        return None

    def section_body(self, source: str, section: str) -> str:
        """The stored text of a section (as find_section names it), its chunks in order."""
        corpus = self.corpus()
        members = corpus.sections.get((source, section))
        if not members:
            return ""
        return corpus.section_text((source, section), corpus.chunks[members[0]].id, SECTION_MAX_WORDS)

    def signals(self, text: str, vector: np.ndarray) -> dict[tuple[str, str], SectionSignal]:
        """Every stored section's retrieval signals for one search: its best chunk's cosine similarity, its
        best chunk's BM25 score (as a share of the best in the store), and its rank by each. What the
        answer path's ranker (knowledge/rank.py) weighs, for the message alone and for its standalone form;
        the store's embeddings are in memory with the BM25 index, so this is one matrix product."""
        corpus = self.corpus()
        if not corpus.chunks:
            return {}
        sims = corpus.embeddings @ vector
        lexical = corpus.bm25.scores(text)
        top = float(lexical.max()) if lexical.size else 0.0
        lexical = lexical / top if top > 0 else lexical
        rows: list[tuple[tuple[str, str], str, float, float]] = []
        for key, members in corpus.sections.items():
            best_sim = max(members, key=lambda i: sims[i])
            best_lex = max(members, key=lambda i: lexical[i])
            best = max(members, key=lambda i: sims[i] + lexical[i])
            rows.append((key, corpus.chunks[best].id, float(sims[best_sim]), float(lexical[best_lex])))
        by_sim = {key: rank for rank, (key, *_rest) in enumerate(sorted(rows, key=lambda r: -r[2]), start=1)}
        by_lex = {key: rank for rank, (key, *_rest) in enumerate(sorted(rows, key=lambda r: -r[3]), start=1)}
        return {key: SectionSignal(key, best, sim, lex, by_sim[key], by_lex[key] if lex > 0 else len(rows))
                for key, best, sim, lex in rows}

    def section_hit(self, signal: SectionSignal, *, rank: int, score: float, coverage: float) -> Hit:
        """The Hit (section text around its best chunk, metadata) for a section the ranker chose."""
        corpus = self.corpus()
        meta = corpus.chunks[corpus.index[signal.best]].metadata if signal.best in corpus.index else {}
        return Hit(rank=rank, id=signal.best, text=corpus.section_text(signal.key, signal.best, SECTION_MAX_WORDS),
                   section=signal.key[1], source=signal.key[0], level=int(meta.get("level") or 0),
                   track=str(meta.get("track") or ""), topic=str(meta.get("topic") or ""),
                   kind=str(meta.get("kind") or ""), score=score, similarity=signal.sim, coverage=coverage)

    def section_meta(self, key: tuple[str, str]) -> dict[str, Any]:
        corpus = self.corpus()
        members = corpus.sections.get(key)
        return dict(corpus.chunks[members[0]].metadata) if members else {}

    def search(self, query: str, *, k: int = 5, level: int | None = None, track: str | None = None,
               prefer_level: int | None = None,
               prefer_sections: frozenset[tuple[str, str]] = frozenset()) -> SearchResult:
        vector = self.embedder.encode_one(query)
        where = _where(level, track)
        dense = self.store.query(vector, n=self.candidates, where=where)
        corpus = self.corpus(known_ids=[c.id for c, _ in dense])
        if not corpus.chunks:
            return SearchResult(query, [], 0.0)

        allowed: set[int] | None = None
        if where is not None:
            allowed = {
                i for i, c in enumerate(corpus.chunks)
                if (not level or c.metadata.get("level") == level)
                and (not track or c.metadata.get("track") == track.upper())
            }
        lexical = corpus.bm25.top(query, self.candidates, allowed)

        fused: dict[str, float] = {}
        similarity: dict[str, float] = {}
        for rank, (chunk, sim) in enumerate(dense, start=1):
            fused[chunk.id] = fused.get(chunk.id, 0.0) + DENSE_WEIGHT / (RRF_K + rank)
            similarity[chunk.id] = sim
        for rank, (i, _score) in enumerate(lexical, start=1):
            chunk_id = corpus.chunks[i].id
            fused[chunk_id] = fused.get(chunk_id, 0.0) + LEXICAL_WEIGHT / (RRF_K + rank)
            if chunk_id not in similarity:
                similarity[chunk_id] = float(corpus.embeddings[i] @ vector)

        boost_level = mentioned_level(query) or prefer_level
        boost_track = mentioned_track(query)
        # Group chunks into their sections: a section scores as its best chunk plus a little for each
        # further matching chunk, so a topic that matches twice beats a stray sentence elsewhere.
        groups: dict[tuple[str, str], list[str]] = {}
        for chunk_id in fused:
            meta = corpus.chunks[corpus.index[chunk_id]].metadata
            key = (str(meta.get("source", "")), str(meta.get("section", "")))
            groups.setdefault(key, []).append(chunk_id)
        scored: list[tuple[float, float, tuple[str, str], str]] = []
        for key, members in groups.items():
            members.sort(key=lambda cid: -fused[cid])
            score = fused[members[0]] + GROUP_BONUS * sum(fused[c] for c in members[1:])
            meta = corpus.chunks[corpus.index[members[0]]].metadata
            if boost_level and _about_level(meta, boost_level):
                score *= PREFER_LEVEL_BOOST
            if boost_track and meta.get("track") == boost_track:
                score *= PREFER_LEVEL_BOOST
            if key in prefer_sections:
                score *= FOLLOW_UP_BOOST
            if meta.get("kind") == "curriculum" and _is_page_intro(meta):
                score *= INTRO_FACTOR
            scored.append((score, max(similarity[c] for c in members), key, members[0]))
        scored.sort(key=lambda x: (-x[0], -x[1], x[2]))

        hits = []
        for rank, (score, sim, key, best) in enumerate(scored[:k], start=1):
            meta = corpus.chunks[corpus.index[best]].metadata
            text = corpus.section_text(key, best, SECTION_MAX_WORDS)
            hits.append(Hit(
                rank=rank, id=best, text=text, section=key[1], source=key[0],
                level=int(meta.get("level") or 0), track=str(meta.get("track") or ""),
                topic=str(meta.get("topic") or ""), kind=str(meta.get("kind") or ""), score=score,
                similarity=sim, coverage=corpus.bm25.coverage(query, f"{key[1]}\n{text}"),
            ))
        return SearchResult(query, hits, max((h.confidence for h in hits), default=0.0))
