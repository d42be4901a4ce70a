"""Ranking: every candidate answer — curriculum sections and guidance cards — scored by one model.

The second and third steps of the answer pipeline (understand → retrieve → **rank** → compose):

- **retrieve.** Every stored section gets its retrieval signals (dense similarity and BM25, with their ranks)
  twice: for the message alone and, in a thread, for its standalone form (the previous question with the
  message). The best sections by reciprocal rank fusion of either search, and the sections the previous
  answer cited, become candidates; so does every guidance card the catalogue can render for the message.
- **rank.** One linear model (`AnswerModel.ranker`, fitted by `mlpath fit`) scores each candidate from its
  features: for a section, its similarities, BM25, coverage of the message's known words, the level or track
  the message names, whether the previous answer cited it; for a card, how near the message is to the card's
  example questions; for both, the route model's estimate, from the message's embedding, of which card or
  a section answers such messages. No rule pre-empts the ranking: a message worded like guidance that is
  answered better by a section gets the section, and the reverse.
- **scope.** Whether the message is about something on the path at all is a second fitted model
  (`AnswerModel.scope`): the message's embedding through a learned in/out classifier, with how well the
  ranking found something (the best candidate's score, similarity and coverage). A word the path does not
  know decides nothing: coverage counts only known words, and code, logs and abbreviations are ordinary.

Features are computed here and nowhere else: `mlpath fit` trains on exactly what serving computes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from knowledge.cards import CARD_IDS, Card, CardContext, CardDeck
from knowledge.member import MemberContext
from knowledge.model import AnswerModel
from knowledge.retrieval import Retriever, SectionSignal
from knowledge.schema import Hit
from knowledge.sentences import section_sentences
from knowledge.understand import Understood

SECTION_CANDIDATES = 8
"""Sections taken from each search (message alone, standalone form) by reciprocal rank fusion."""

RELATIVE = ("sim_q", "sim_s", "lex_q", "lex_s", "cov_q", "cov_s", "heading_q", "heading_s", "sentence_q",
            "sentence_s")
"""Section features also given relative to the best section candidate of the same message (value - best)."""
SECTION_FEATURES = ("sim_q", "sim_s", "lex_q", "lex_s", "rrf_q", "rrf_s", "cov_q", "cov_s", "heading_q",
                    "heading_s", "sentence_q", "sentence_s", *(f"{name}_rel" for name in RELATIVE), "intro",
                    "level_named", "track_named", "previous", "previous_own", "route_section", "own_doc")
CARD_FEATURES = ("example_max_q", "example_mean_q", "example_max_s", "example_rel_q", "example_rel_s", "about_q",
                 "route_card", "route_card_s", "route_rel")
SLOT_FEATURES = ("months", "hours", "level", "track", "known_level")
ASKED_FEATURES = ("asked_max", "asked_vote", "asked_rel")
"""How near the message is to the labelled questions this candidate answered best (`AnswerModel.asked`)."""
ASKED_NEIGHBOURS = 10
ASKED_MODELS = 16
"""Models whose labelled questions stay embedded (serving has one; fitting uses one per held-out set)."""
FEATURES: tuple[str, ...] = (
    "is_card", *SECTION_FEATURES, *CARD_FEATURES, *ASKED_FEATURES,
    *(f"card={c}" for c in CARD_IDS),
    *(f"card={c}&{slot}" for c in CARD_IDS for slot in SLOT_FEATURES),
)
"""The ranker's features, in order (the fitted model stores the same names and is checked against them)."""

SCOPE_FEATURES = ("text_in", "text_in_alone", "top_section_sim", "top_section_cov", "top_sentence",
                  "top_sentence_alone", "follows", "top_score", "top_is_card", "top_card_example",
                  "route_section", "top_asked")
"""What the scope model reads: what the message is about (the text classifier, for the message in its thread
and alone), how near the store comes to it (similarity, coverage of its known words, nearest sentence) and how
sure the ranking is of its best answer (its score, the nearest card example, the nearest labelled question).
Never a token: a word the path does not know only lowers coverage, which counts known words alone."""


@dataclass
class Candidate:
    kind: Literal["section", "card"]
    key: str
    """`source::section` for a section, the card id for a card."""
    features: np.ndarray
    signal: SectionSignal | None = None
    card: Card | None = None
    coverage: float = 0.0
    score: float = 0.0
    """The ranker's probability that this candidate answers the message best."""

    @property
    def is_card(self) -> bool:
        return self.kind == "card"


@dataclass
class RankInput:
    u: Understood
    member: MemberContext | None
    vector: np.ndarray
    alone: np.ndarray
    candidates: list[Candidate]


@dataclass
class Ranking:
    u: Understood
    vector: np.ndarray
    """The embedding of the message's main search (its standalone form in a thread)."""
    alone: np.ndarray
    """The embedding of the message on its own."""
    candidates: list[Candidate]
    """Best first."""
    route: np.ndarray
    labels: np.ndarray
    """Per paragraph label (`AnswerModel.labels.classes`), how likely it holds what the message asks."""
    scope_features: np.ndarray
    in_scope: float
    hits: list[Hit] = field(default_factory=list)
    """The section candidates as Hits, best first."""

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def own_document_answers(self, model: AnswerModel) -> bool:
        """Whether a team's own document (`mlpath ingest`) answers the message at least as well as retrieval
        answers the typical in-scope message the scope model was fitted on: its similarity and its coverage of
        the message's known words both reach the fitted means. The scope model knows the path's subjects, not a
        team's; what a team ingested is in scope as soon as it is stored, with no refitting."""
        own = [c for c in self.candidates[:3] if not c.is_card and c.features[_INDEX["own_doc"]] > 0]
        if not own:
            return False
        names = model.scope.names
        if "top_section_sim" not in names or "top_section_cov" not in names:
            return False
        sim_bar = float(model.scope.mean[names.index("top_section_sim")])
        cov_bar = float(model.scope.mean[names.index("top_section_cov")])
        return any(c.features[_INDEX["sim_s"]] >= sim_bar and c.features[_INDEX["cov_s"]] >= cov_bar for c in own)


def _intro(meta: dict[str, object]) -> bool:
    """A curriculum page's intro paragraph (before its first `##`): a summary matching many messages loosely."""
    parts = str(meta.get("section", "")).split(" › ")
    return meta.get("kind") == "curriculum" and len(parts) - (1 if meta.get("level") else 0) <= 1


@dataclass
class Ranker:
    retriever: Retriever
    deck: CardDeck
    model: AnswerModel
    vectors: Callable[[list[str]], np.ndarray]
    """Sentence embeddings (cached by the answerer): a section's best sentence is one of its features."""
    # keyed by the objects themselves, never by id(): a freed object's id is reused by the next one, and a
    # stale entry then answered for another model (fitting twice in one process gave different weights)
    _asked_cache: dict[tuple[tuple[str, str], ...], tuple[list[str], np.ndarray]] = field(default_factory=dict,
                                                                                          repr=False)
    _headings: tuple[object, list[tuple[str, str]], np.ndarray] | None = field(default=None, repr=False)

    def _heading_vectors(self) -> dict[tuple[str, str], np.ndarray]:
        """The last heading of every stored section, embedded (once per version of the store)."""
        corpus = self.retriever.corpus()
        if self._headings is None or self._headings[0] is not corpus:
            keys = list(corpus.sections)
            vectors = self.retriever.embedder.encode([key[1].rsplit(" › ", 1)[-1] for key in keys])
            self._headings = (corpus, keys, vectors)
        _, keys, vectors = self._headings
        return dict(zip(keys, vectors, strict=True))

    def rank(self, u: Understood, member: MemberContext | None, *, model: AnswerModel | None = None) -> Ranking:
        return self.score(self.inputs(u, member), model or self.model)

    def inputs(self, u: Understood, member: MemberContext | None) -> RankInput:
        """Everything the ranking needs that no fitted parameter changes: the candidates with their features
        (the route model's columns are left for `score`), computed once per message."""
        embed = self.retriever.embedder.encode
        if u.follows:
            alone, vector = embed([u.search, u.standalone])
        else:
            alone = vector = embed([u.search])[0]
        candidates = self._sections(u, vector, alone) + self._cards(u, member, vector, alone)
        return RankInput(u, member, vector, alone, candidates)

    def score(self, inp: RankInput, model: AnswerModel) -> Ranking:
        """The fitted models applied to one message's candidates: route and label estimates, each
        candidate's score (best first), and the scope probability."""
        route_q = model.route.proba(inp.alone)
        route_s = model.route.proba(inp.vector)
        labels = model.labels.proba(inp.vector)
        candidates = [Candidate(c.kind, c.key, c.features.copy(), c.signal, c.card, c.coverage)
                      for c in inp.candidates]
        best_card = max((route_s[CARD_IDS.index(c.key)] for c in candidates if c.is_card), default=0.0)
        for c in candidates:
            if c.is_card:
                i = CARD_IDS.index(c.key)
                c.features[_INDEX["route_card"]] = route_q[i]
                c.features[_INDEX["route_card_s"]] = route_s[i]
                c.features[_INDEX["route_rel"]] = route_s[i] - best_card
            else:
                c.features[_INDEX["route_section"]] = route_s[-1]
        self._asked_features(inp.vector, candidates, model)
        if candidates:
            # one softmax over the message's candidates: the probability that each is the best answer
            decision = model.ranker.decision(np.vstack([c.features for c in candidates]))
            scores = np.exp(decision - decision.max())
            scores /= scores.sum()
            for candidate, value in zip(candidates, scores, strict=True):
                candidate.score = float(value)
        candidates.sort(key=lambda c: -c.score)
        scope_features = self._scope_features(inp.u, candidates, inp.vector, inp.alone, route_s, model)
        in_scope = float(model.scope.proba(scope_features[None, :])[0])
        sections = [c for c in candidates if c.signal is not None]
        hits = [self.retriever.section_hit(c.signal, rank=i, score=c.score, coverage=c.coverage)
                for i, c in enumerate(sections, start=1) if c.signal is not None]
        return Ranking(inp.u, inp.vector, inp.alone, candidates, route_s, labels, scope_features, in_scope, hits)

    def _asked(self, model: AnswerModel) -> tuple[list[str], np.ndarray]:
        """The model's labelled questions embedded (once per model): (their best candidates' keys, vectors)."""
        key = model.asked  # by value: equal lists of questions share their vectors
        if key not in self._asked_cache:
            texts = [text for text, _ in model.asked]
            vectors = (self.vectors(texts) if texts
                       else np.zeros((0, self.retriever.embedder.dimension), dtype=np.float32))
            while len(self._asked_cache) >= ASKED_MODELS:
                self._asked_cache.pop(next(iter(self._asked_cache)))
            self._asked_cache[key] = ([k for _, k in model.asked], vectors)
        return self._asked_cache[key]

    def _asked_features(self, vector: np.ndarray, candidates: list[Candidate], model: AnswerModel) -> None:
        """For each candidate: the similarity of the nearest labelled question it answered best, and its share
        of the votes of the ASKED_NEIGHBOURS nearest (each weighted by similarity): what the labelled sets
        teach beyond the embedding ("works in training, falls apart on new data" is the bias-variance
        section, whatever the words)."""
        keys, vectors = self._asked(model)
        if not keys:
            return
        sims = vectors @ vector
        nearest = np.argsort(-sims)[:ASKED_NEIGHBOURS]
        weights = np.maximum(sims[nearest], 0.0)
        total = float(weights.sum()) or 1.0
        best: dict[str, float] = {}
        votes: dict[str, float] = {}
        for i in range(len(keys)):
            best[keys[i]] = max(best.get(keys[i], -1.0), float(sims[i]))
        for i, w in zip(nearest, weights, strict=True):
            votes[keys[int(i)]] = votes.get(keys[int(i)], 0.0) + float(w) / total
        top = max((best.get(c.key, 0.0) for c in candidates), default=0.0)
        for c in candidates:
            c.features[_INDEX["asked_max"]] = max(best.get(c.key, 0.0), 0.0)
            c.features[_INDEX["asked_vote"]] = votes.get(c.key, 0.0)
            c.features[_INDEX["asked_rel"]] = max(best.get(c.key, 0.0), 0.0) - top

    def _sections(self, u: Understood, vector: np.ndarray, alone: np.ndarray) -> list[Candidate]:
        q = self.retriever.signals(u.search, alone)
        if not q:
            return []
        s = self.retriever.signals(u.standalone, vector) if u.follows else q
        previous = {f"{c.source}::{c.section}" for c in u.previous}
        keys = {k for k, _ in sorted(q.items(), key=lambda kv: -kv[1].rrf)[:SECTION_CANDIDATES]}
        keys |= {k for k, _ in sorted(s.items(), key=lambda kv: -kv[1].rrf)[:SECTION_CANDIDATES]}
        keys |= {k for k in q if f"{k[0]}::{k[1]}" in previous}
        headings = self._heading_vectors()
        corpus = self.retriever.corpus()
        bm25 = corpus.bm25
        rows: list[tuple[tuple[str, str], dict[str, float], SectionSignal, float]] = []
        for key in sorted(keys):  # a set of strings: its order changes with every process (hash seed)
            sq, ss = q[key], s[key]
            meta = self.retriever.section_meta(key)
            body = corpus.section_text(key, ss.best, 400)
            text = f"{key[1]}\n{body}"
            cov_q = bm25.known_coverage(u.search, text)
            cov_s = bm25.known_coverage(u.main, text)
            sents = [sent.text for sent in section_sentences(body)] or [key[1]]
            svecs = self.vectors(sents)
            level = int(meta.get("level") or 0)
            heading = headings.get(key)
            values = {
                "sim_q": sq.sim, "sim_s": ss.sim, "lex_q": sq.lexical, "lex_s": ss.lexical,
                "rrf_q": sq.rrf * 30, "rrf_s": ss.rrf * 30, "cov_q": cov_q, "cov_s": cov_s,
                "heading_q": float(heading @ alone) if heading is not None else 0.0,
                "heading_s": float(heading @ vector) if heading is not None else 0.0,
                "sentence_q": float((svecs @ alone).max()), "sentence_s": float((svecs @ vector).max()),
                "intro": float(_intro(meta)),
                "level_named": float(bool(level) and level in u.slots.levels),
                "track_named": float(bool(meta.get("track")) and meta.get("track") in u.slots.tracks),
                "previous": float(f"{key[0]}::{key[1]}" in previous),
                "own_doc": float(meta.get("kind") != "curriculum"),
            }
            rows.append((key, values, ss, cov_s))
        best = {name: max(values[name] for _, values, _, _ in rows) for name in RELATIVE}
        out = []
        for key, values, ss, cov_s in rows:
            for name in RELATIVE:
                values[f"{name}_rel"] = values[name] - best[name]
            values["previous_own"] = values["previous"] * best["sim_q"]
            out.append(Candidate("section", f"{key[0]}::{key[1]}", _vector(values), signal=ss, coverage=cov_s))
        return out

    def _cards(self, u: Understood, member: MemberContext | None, vector: np.ndarray,
               alone: np.ndarray) -> list[Candidate]:
        ctx = CardContext(u, member, vector)
        examples_q = self.deck.example_similarity(alone)
        examples_s = self.deck.example_similarity(vector) if u.follows else examples_q
        about = self.deck.about_similarity(alone)
        slots = {"months": u.slots.months is not None, "hours": u.slots.hours_per_week is not None,
                 "level": bool(u.slots.levels), "track": bool(u.slots.tracks),
                 "known_level": bool(member is not None and member.known_level)}
        out = []
        best_q, best_s = float(examples_q[:, 0].max()), float(examples_s[:, 0].max())
        for i, card_id in enumerate(CARD_IDS):
            card = self.deck.render(card_id, ctx)
            if card is None:
                continue
            values = {"is_card": 1.0, "example_max_q": float(examples_q[i, 0]),
                      "example_mean_q": float(examples_q[i, 1]), "example_max_s": float(examples_s[i, 0]),
                      "example_rel_q": float(examples_q[i, 0]) - best_q,
                      "example_rel_s": float(examples_s[i, 0]) - best_s, "about_q": float(about[i]),
                      f"card={card_id}": 1.0}
            for slot, present in slots.items():
                if present:
                    values[f"card={card_id}&{slot}"] = 1.0
            out.append(Candidate("card", card_id, _vector(values), card=card))
        return out

    def _scope_features(self, u: Understood, candidates: list[Candidate], vector: np.ndarray, alone: np.ndarray,
                        route: np.ndarray, model: AnswerModel) -> np.ndarray:
        sections = [c for c in candidates if not c.is_card]
        index = {name: i for i, name in enumerate(FEATURES)}
        values = {
            "text_in": _logit(float(model.scope_text.proba(vector)[0])),
            "text_in_alone": _logit(float(model.scope_text.proba(alone)[0])),
            "top_section_sim": max((c.features[index["sim_s"]] for c in sections), default=0.0),
            "top_section_cov": max((c.features[index["cov_s"]] for c in sections), default=0.0),
            "top_sentence": max((c.features[index["sentence_s"]] for c in sections), default=0.0),
            "top_sentence_alone": max((c.features[index["sentence_q"]] for c in sections), default=0.0),
            "follows": float(u.follows),
            "top_score": candidates[0].score if candidates else 0.0,
            "top_is_card": float(bool(candidates) and candidates[0].is_card),
            "top_card_example": max((c.features[index["example_max_s"]] for c in candidates if c.is_card),
                                    default=0.0),
            "route_section": float(route[-1]),
            "top_asked": max((c.features[index["asked_max"]] for c in candidates), default=0.0),
        }
        return np.array([values[name] for name in SCOPE_FEATURES], dtype=np.float64)


_INDEX = {name: i for i, name in enumerate(FEATURES)}


def _logit(p: float) -> float:
    """Log-odds of a probability (clipped): the scope model combines the other models' estimates linearly."""
    p = min(max(p, 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))


def _vector(values: dict[str, float]) -> np.ndarray:
    x = np.zeros(len(FEATURES), dtype=np.float64)
    for name, value in values.items():
        x[_INDEX[name]] = value
    return x
