"""Grounded answers: the answerer interface and the default extractive answerer (no LLM needed).

One ranked pipeline, shared by the extractive and the LLM answerer (docs/retrieval.md):

1. **understand** (`understand.py`): prose and code apart, spelling and vocabulary, slots, the thread's
   standalone form;
2. **retrieve** and 3. **rank** (`rank.py`): sections and guidance cards scored by one fitted model, and the
   scope decision (a fitted model too);
4. **compose** (`compose.py`): the answer from the best-ranked candidates, or an honest refusal naming the
   nearest sections.

`prepare` runs steps 1-3 and the refusal: the LLM answerer (`llm.py`) calls it and writes the answer from the
same ranked passages instead of composing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from knowledge.cards import CardDeck, scope_line
from knowledge.catalogue import Catalogue, catalogue
from knowledge.compose import REFUSAL_START, SENTENCE_FEATURES, Composer, refusal
from knowledge.embedding import Embedder
from knowledge.member import MemberContext
from knowledge.model import AnswerModel, bundled_model
from knowledge.rank import FEATURES, SCOPE_FEATURES, Ranker, Ranking
from knowledge.retrieval import Retriever
from knowledge.schema import Answer, Citation, EmptyQuestion, Hit, Turn
from knowledge.understand import Understood, Vocabulary, prepare_question, understand

__all__ = ["REFUSAL_START", "Answer", "Answerer", "Citation", "EmptyQuestion", "ExtractiveAnswerer", "Prepared",
           "TextSink", "Turn", "prepare_question"]

SENTENCE_CACHE_SIZE = 20_000


class Answerer(Protocol):
    def answer(self, question: str, *, level: int | None = None, history: Sequence[Turn] = (),
               member: MemberContext | None = None) -> Answer:
        ...


TextSink = Callable[[str], None]
"""Receives the text of an answer as it is written (LLM streaming); extractive answers never call it."""


@dataclass(frozen=True)
class Prepared:
    """A message after understanding, ranking and the scope decision, as both answerers act on it."""

    text: str
    trimmed: bool
    understood: Understood
    ranking: Ranking
    refused: Answer | None = None
    """The refusal, when the message is not about the path: no answer is composed and no LLM is called."""



@dataclass
class ExtractiveAnswerer:
    retriever: Retriever
    embedder: Embedder
    threshold: float = 0.0
    """Unused by the ranked pipeline (the scope model decides); kept for the retrieval-only eval's refusal."""
    max_question_chars: int = 500
    k: int = 5
    model: AnswerModel = field(default_factory=bundled_model)
    catalogue: Catalogue = field(default_factory=catalogue)
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _vocabulary: tuple[object, Vocabulary] | None = field(default=None, repr=False)
    _ranker: Ranker | None = field(default=None, repr=False)
    _composer: Composer | None = field(default=None, repr=False)
    _last: tuple[tuple[object, ...], AnswerModel, Prepared] | None = field(default=None, repr=False)
    """The last answer's prepared message: `context` right after `answer` for the same message (`mlpath eval`,
    the member-set floors) reads it instead of understanding, retrieving and ranking it again."""

    def __post_init__(self) -> None:
        self.model.check(ranker=FEATURES, sentences=SENTENCE_FEATURES, scope=SCOPE_FEATURES)
        deck = CardDeck(self.catalogue, self.embedder.encode)
        self._ranker = Ranker(self.retriever, deck, self.model, self.sentence_vectors)
        self._composer = Composer(self.retriever, self.catalogue, self.model, self.sentence_vectors)

    @property
    def ranker(self) -> Ranker:
        assert self._ranker is not None
        return self._ranker

    @property
    def composer(self) -> Composer:
        assert self._composer is not None
        return self._composer

    def sentence_vectors(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings, cached: the same sections answer many questions, so after warm-up an answer
        costs one or two message embeddings instead of ~40 sentence embeddings."""
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
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.vstack([known[t] for t in texts])

    def vocabulary(self) -> Vocabulary:
        """The store's words with everyday English and the vocabulary file, rebuilt after an ingest."""
        terms = self.retriever.corpus().bm25.idf
        with self._lock:
            # the object itself, not its id: a freed object's id is reused by the next one
            if self._vocabulary is None or self._vocabulary[0] is not terms:
                self._vocabulary = (terms, Vocabulary(terms.keys(), self.embedder.common_words()))
            return self._vocabulary[1]

    def understand(self, question: str, history: Sequence[Turn] = ()) -> Understood:
        return understand(question, history, self.vocabulary(), max_chars=self.max_question_chars)

    def prepare(self, question: str, *, level: int | None = None, history: Sequence[Turn] = (),
                member: MemberContext | None = None, model: AnswerModel | None = None) -> Prepared:
        """Understand, rank and decide scope: the steps before an answer is written, shared with the LLM
        answerer so that both answer from the same ranked passages and refuse the same messages.
        (`level` is the chat's preferred level; the ranked pipeline reads the level a message names and the
        member's own from `member`, so it is not used.)"""
        model = model or self.model
        self.retriever.corpus(check=True)  # one round trip to the store per message: fresh, or an outage now
        u = self.understand(question, history)
        ranking = self.ranker.rank(u, member, model=model)
        refused = None
        if ranking.top is None or (ranking.in_scope < model.setting("scope_cut", 0.5)
                                   and not ranking.own_document_answers(model)):
            refused = refusal(u.text, ranking, self.catalogue, scope_line(self.catalogue), trimmed=u.trimmed,
                              related_min=model.setting("related_min", 0.3))
        return Prepared(u.text, u.trimmed, u, ranking, refused)

    def passages(self, ranking: Ranking, n: int = 3) -> list[Hit]:
        """The top `n` candidates as passages: a section as retrieved, a card as the text it answers with
        (cited as its first section, or the catalogue)."""
        out: list[Hit] = []
        hits = iter(ranking.hits)
        for candidate in ranking.candidates[:n]:
            if candidate.card is None:
                hit = next(hits, None)
                if hit is not None:
                    out.append(hit)
                continue
            cited: list[Citation] = []
            text = self.composer.card_passage(candidate.card, cited)
            section, source = (cited[0].section, cited[0].source) if cited else (candidate.card.subject, "catalogue")
            out.append(Hit(rank=len(out) + 1, id=f"card:{candidate.key}", text=text, section=section, source=source,
                           level=0, track="", topic="", kind="card", score=candidate.score, similarity=0.0,
                           coverage=0.0))
        return out

    def context(self, question: str, *, history: Sequence[Turn] = (), member: MemberContext | None = None,
                model: AnswerModel | None = None) -> str:
        """The text of the top three passages for a message (context coverage, `mlpath eval`)."""
        key, fitted, last = (question, None, tuple(history), member), model or self.model, self._last
        if last is not None and last[0] == key and last[1] is fitted:
            prepared = last[2]
        else:
            prepared = self.prepare(question, history=history, member=member, model=model)
        return "\n".join(f"{h.section}\n{h.text}" for h in self.passages(prepared.ranking, 3))

    def answer(self, question: str, *, level: int | None = None, history: Sequence[Turn] = (),
               member: MemberContext | None = None, model: AnswerModel | None = None) -> Answer:
        prepared = self.prepare(question, level=level, history=history, member=member, model=model)
        self._last = ((question, level, tuple(history), member), model or self.model, prepared)
        if prepared.refused is not None:
            return prepared.refused
        return self.composer.compose(prepared.text, prepared.ranking, member, trimmed=prepared.trimmed,
                                     model=model or self.model)
