"""Fitting the answer path's parameters on labelled questions, and judging them leave-one-writer-out.

The member eval sets (`knowledge/evalsets/members-*.jsonl`) hold questions in members' words, each with the
key points a good answer must contain, written by independent writers. From them, with the cards' example
questions (`cards.yaml`) and the everyday subjects (`off_topic.yaml`), `fit_model` fits every parameter the
answer path has (`knowledge/model.py`):

1. `route`, `labels`, `scope_text` — linear models over a message's embedding: which card or a section
   answers it (the best candidate by key points), which kinds of paragraph hold its key points, in scope or not;
2. `ranker` — over every candidate's features; a candidate is positive when it holds the most key points of
   all the message's candidates (graded labels would reward long sections for their length alone);
3. `sentences` — over the sentences of the top three sections; a sentence is positive when it holds a key point;
4. `scope` — over the message's scope features.

Stacking is honest: the route, label and scope-text estimates that the later models see for a training
message come from models fitted without that message's set (leave-one-set-out inside the training sets),
as they will for a new message. `lowo` fits on every set but one and scores the one left out, for each set:
the generalisation figure the README reports.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ingest.pipeline import ingest
from knowledge import content_dir, package_dir
from knowledge.answer import ExtractiveAnswerer
from knowledge.cards import CARD_IDS, card_specs
from knowledge.compose import SENTENCE_FEATURES, sentence_rows
from knowledge.content import validate_document
from knowledge.embedding import Embedder
from knowledge.evaluation import AnswerItem, evaluate_answers, key_points_found, load_answer_evalset, member_context
from knowledge.member import MemberContext
from knowledge.model import AnswerModel, Classes, Linear
from knowledge.rank import FEATURES, SCOPE_FEATURES, Ranking, RankInput
from knowledge.retrieval import Retriever
from knowledge.schema import Citation, Turn
from knowledge.sentences import LABELS, label_index, section_sentences
from knowledge.store import VectorStore

ROUTE_CLASSES = (*CARD_IDS, "section")
EMBEDDING_C = 8.0
"""Inverse regularisation of the models over embeddings (normalised 384-dim vectors: small weights need a
large C); chosen leave-one-writer-out (docs/retrieval.md)."""
FEATURE_C = 1.0
RANKER_L2 = 0.01
REFUSAL_AIM = 0.93
"""The share of off-path training messages the scope cut must refuse (the target is 0.90 on new writers)."""
DEFAULT_SETTINGS = {"scope_cut": 0.5, "second_min": 0.5, "keep_min": 0.0, "related_min": 0.05}


def curriculum_answerer(embedder: Embedder, folder: Path) -> ExtractiveAnswerer:
    """An answerer over the bundled curriculum alone, in an embedded store in `folder`: what fitting and the
    leave-one-writer-out evaluation run on, whatever a team has ingested (its documents would change the
    features), so that the same command gives the same weights anywhere."""
    store = VectorStore(collection="fit", model_name=embedder.name, url=None, path=folder)
    ingest(None, store=store, embedder=embedder, curriculum=content_dir(), validate=validate_document)
    return ExtractiveAnswerer(Retriever(store, embedder), embedder, model=neutral_model(embedder.dimension))


def evalsets_dir() -> Path:
    return package_dir() / "evalsets"


def member_sets(folder: Path | None = None) -> dict[str, list[AnswerItem]]:
    """The labelled member sets, by name (`members-1` …): one writer each."""
    folder = folder or evalsets_dir()
    return {path.stem: load_answer_evalset(path) for path in sorted(folder.glob("members-*.jsonl"),
                                                                    key=lambda p: int(p.stem.split("-")[1]))}


@dataclass
class Example:
    """One labelled message with its candidates and what each holds of the key points."""

    group: str
    """The set (writer) it comes from; card examples and everyday subjects are groups of their own."""
    item: AnswerItem | None
    inp: RankInput
    in_scope: bool
    gains: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per candidate (in `inp.candidates` order): the share of the key points its passage holds."""
    route: int | None = None
    """Index into ROUTE_CLASSES of the best candidate's kind, when some candidate holds a key point."""
    best_keys: tuple[str, ...] = ()
    """The keys of the candidates that hold the most key points (the message's "asked" entries)."""
    label_targets: np.ndarray | None = None


def _previous_turn(answerer: ExtractiveAnswerer, question: str) -> list[Turn]:
    """The thread before a follow-up, for training: the earlier question and, as the answer, the section
    that retrieval alone ranks first for it (the fitted model's own answer does not exist yet)."""
    u = answerer.understand(question)
    vector = answerer.embedder.encode([u.search])[0]
    signals = answerer.retriever.signals(u.search, vector)
    if not signals:
        return [Turn("user", question)]
    best = max(signals.values(), key=lambda s: s.rrf)
    text = answerer.retriever.corpus().section_text(best.key, best.best, 400)
    return [Turn("user", question), Turn("assistant", text, (Citation(1, best.key[1], best.key[0]),))]


def _passage(answerer: ExtractiveAnswerer, inp: RankInput, i: int) -> str:
    c = inp.candidates[i]
    if c.card is not None:
        return answerer.composer.card_passage(c.card)
    assert c.signal is not None
    return f"{c.signal.key[1]}\n{answerer.retriever.corpus().section_text(c.signal.key, c.signal.best, 400)}"


def _example(answerer: ExtractiveAnswerer, group: str, item: AnswerItem, history: list[Turn]) -> Example:
    """One labelled message: its candidates, what each holds of the key points, and the labels derived."""
    u = answerer.understand(item.q, history)
    inp = answerer.ranker.inputs(u, member_context(item.member))
    example = Example(group, item, inp, item.in_scope)
    if item.in_scope:
        passages = [_passage(answerer, inp, i) for i in range(len(inp.candidates))]
        example.gains = np.array([np.mean(key_points_found(item, p)) for p in passages])
        if example.gains.size and example.gains.max() > 0:
            best = [i for i, g in enumerate(example.gains) if g >= example.gains.max() - 1e-9]
            kinds = [inp.candidates[i] for i in best]
            section = any(not c.is_card for c in kinds)
            example.route = (len(CARD_IDS) if section else
                             CARD_IDS.index(max(kinds, key=lambda c: c.features[FEATURES.index(
                                 "example_max_s")]).key))
            example.label_targets = _label_targets(answerer, item, inp, best)
            example.best_keys = tuple(inp.candidates[i].key for i in best)
    return example


def build_examples(answerer: ExtractiveAnswerer, sets: dict[str, list[AnswerItem]], *,
                   progress: Callable[[int, int], None] | None = None) -> list[Example]:
    """Every labelled message with its candidates, gains and route label (the slow part of fitting). A
    follow-up's thread has, as its answer, the section retrieval alone ranks first for the earlier question;
    `fit_model` replaces it with its own first model's answer (what serving will see)."""
    total = sum(len(items) for items in sets.values())
    out: list[Example] = []
    done = 0
    for group, items in sets.items():
        for item in items:
            history = _previous_turn(answerer, item.after) if item.after else []
            out.append(_example(answerer, group, item, history))
            done += 1
            if progress is not None:
                progress(done, total)
    return out


def _with_answers(answerer: ExtractiveAnswerer, examples: Sequence[Example], model: AnswerModel) -> list[Example]:
    """The follow-ups again, each after `model`'s own answer to the question it follows (as in a thread)."""
    out = []
    for e in examples:
        if e.item is None or not e.item.after:
            out.append(e)
            continue
        member = member_context(e.item.member)
        first = answerer.answer(e.item.after, member=member, model=model)
        history = [Turn("user", e.item.after), Turn("assistant", first.text, tuple(first.citations))]
        out.append(_example(answerer, e.group, e.item, history))
    return out


def _label_targets(answerer: ExtractiveAnswerer, item: AnswerItem, inp: RankInput,
                   best: list[int]) -> np.ndarray | None:
    """Which kinds of paragraph of the best sections hold a key point (None when the best are cards)."""
    targets = np.zeros(len(LABELS))
    seen = False
    for i in best:
        c = inp.candidates[i]
        if c.signal is None:
            continue
        seen = True
        text = answerer.retriever.corpus().section_text(c.signal.key, c.signal.best, 400)
        for sent in section_sentences(text):
            if any(key_points_found(item, sent.text)):
                targets[label_index(sent.label)] = 1.0
    return targets if seen else None


def extra_examples(answerer: ExtractiveAnswerer) -> list[Example]:
    """The cards' example questions (in scope, answered best by their card) and the everyday subjects (out of
    scope): data written for the answer path, never an eval set's questions. Each card example is asked twice:
    on its own and in a thread, after a question on a curriculum topic (the topics in turn), so the ranker
    learns that "where is that from?" or "how long would all this take?" after a concept answer still asks for
    the card, while the thread's section is right there as a candidate."""
    out = []
    topics = [topic.title for _, topic in answerer.catalogue.all_topics()]
    turn = 0
    for card, spec in card_specs().items():
        for text in spec.examples:
            previous = f"what is {topics[turn % len(topics)].lower()}?"
            turn += 1
            for history in ([], _previous_turn(answerer, previous)):
                inp = answerer.ranker.inputs(answerer.understand(text, history), None)
                gains = np.array([float(c.is_card and c.key == card) for c in inp.candidates])
                out.append(Example("cards", None, inp, True, gains=gains, route=ROUTE_CLASSES.index(card),
                                   best_keys=(card,)))
    data = yaml.safe_load((package_dir() / "off_topic.yaml").read_text(encoding="utf-8"))
    for domain in data["domains"]:
        inp = answerer.ranker.inputs(answerer.understand(domain["text"]), None)
        out.append(Example("off-topic", None, inp, False))
    return out


# ----- the models -----
def _classes(x: np.ndarray, y: np.ndarray, classes: Sequence[str], *, exclusive: bool) -> Classes:
    from sklearn.linear_model import LogisticRegression

    dim = x.shape[1]
    if exclusive:
        present = sorted(set(int(v) for v in y))
        model = LogisticRegression(C=EMBEDDING_C, max_iter=5000)
        model.fit(x, y)
        coef = np.full((len(classes), dim), 0.0)
        intercept = np.full(len(classes), -30.0)  # a class never seen in training is never predicted
        for row, cls in enumerate(model.classes_):
            coef[int(cls)] = model.coef_[row] if len(present) > 2 else (model.coef_[0] if row else -model.coef_[0])
            intercept[int(cls)] = model.intercept_[row] if len(present) > 2 else (
                model.intercept_[0] if row else -model.intercept_[0])
        if len(present) == 2:
            coef[present] /= 2
            intercept[present] /= 2
        return Classes(tuple(classes), coef, intercept, True)
    coef = np.zeros((len(classes), dim))
    intercept = np.zeros(len(classes))
    for k in range(len(classes)):
        target = y[:, k]
        if target.min() == target.max():
            intercept[k] = 30.0 if target.max() > 0 else -30.0
            continue
        model = LogisticRegression(C=EMBEDDING_C, max_iter=5000)
        model.fit(x, target)
        coef[k], intercept[k] = model.coef_[0], model.intercept_[0]
    return Classes(tuple(classes), coef, intercept, False)


def _linear(x: np.ndarray, y: np.ndarray, names: Sequence[str], *, c: float = FEATURE_C,
            weights: np.ndarray | None = None) -> Linear:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / scale, y, sample_weight=weights)
    return Linear(tuple(names), model.coef_[0].copy(), float(model.intercept_[0]), mean, scale)


def _listwise(groups: Sequence[tuple[np.ndarray, np.ndarray]], names: Sequence[str], *, l2: float = 1.0) -> Linear:
    """A linear scorer fitted so that, within each message, the softmax of the scores puts its probability on
    the best candidates (a listwise, conditional-logit objective: only the order within a message matters)."""
    from scipy.optimize import minimize

    x = np.vstack([g[0] for g in groups])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    width = max(len(g[0]) for g in groups)
    padded = np.zeros((len(groups), width, x.shape[1]))
    valid = np.zeros((len(groups), width), dtype=bool)
    positive = np.zeros((len(groups), width), dtype=bool)
    for i, (xq, pos) in enumerate(groups):
        padded[i, :len(xq)] = (xq - mean) / scale
        valid[i, :len(xq)] = True
        positive[i, :len(xq)] = pos

    def log_softmax_mass(scores: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        masked = np.where(mask, scores, -np.inf)
        top = masked.max(axis=1, keepdims=True)
        weights = np.where(mask, np.exp(masked - top), 0.0)
        total = weights.sum(axis=1, keepdims=True)
        return (np.log(total) + top)[:, 0], weights / total

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        scores = padded @ w
        log_z, p = log_softmax_mass(scores, valid)
        log_p, p_pos = log_softmax_mass(scores, positive)
        value = float((log_z - log_p).mean()) + 0.5 * l2 * float(w @ w)
        grad = np.einsum("gm,gmd->d", p - p_pos, padded) / len(groups) + l2 * w
        return value, grad

    found = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    return Linear(tuple(names), found.x, 0.0, mean, scale)


def _placeholder(names: Sequence[str]) -> Linear:
    n = len(names)
    return Linear(tuple(names), np.zeros(n), 0.0, np.zeros(n), np.ones(n))


def neutral_model(dim: int) -> AnswerModel:
    """A model that knows nothing: every estimate even, every score 0.5 (the start of fitting)."""
    return AnswerModel(Classes(ROUTE_CLASSES, np.zeros((len(ROUTE_CLASSES), dim)), np.zeros(len(ROUTE_CLASSES)), True),
                       Classes(LABELS, np.zeros((len(LABELS), dim)), np.zeros(len(LABELS)), False),
                       Classes(("in scope",), np.zeros((1, dim)), np.zeros(1), False),
                       _placeholder(FEATURES), _placeholder(SENTENCE_FEATURES), _placeholder(SCOPE_FEATURES),
                       settings=dict(DEFAULT_SETTINGS))


def _text_models(examples: Sequence[Example], dim: int) -> tuple[Classes, Classes, Classes]:
    """The three models over a message's embedding (an even, untrained one where `examples` have no labels
    of that kind: a small training set held out by group may have none)."""
    neutral = neutral_model(dim)
    routed = [e for e in examples if e.route is not None]
    route = _classes(np.vstack([e.inp.vector for e in routed]), np.array([e.route for e in routed]), ROUTE_CLASSES,
                     exclusive=True) if len({e.route for e in routed}) > 1 else neutral.route
    labelled = [e for e in examples if e.label_targets is not None]
    targets = [e.label_targets for e in labelled if e.label_targets is not None]
    labels = _classes(np.vstack([e.inp.vector for e in labelled]), np.vstack(targets), LABELS,
                      exclusive=False) if labelled else neutral.labels
    scope = _classes(np.vstack([e.inp.vector for e in examples]),
                     np.array([[float(e.in_scope)] for e in examples]), ("in scope",), exclusive=False)
    return route, labels, scope


def fit_model(answerer: ExtractiveAnswerer, examples: Sequence[Example], *,
              settings: dict[str, float] | None = None, meta: dict[str, Any] | None = None) -> AnswerModel:
    """Fit every model on `examples` (see the module docstring), twice: the second time with every follow-up
    after the first model's own answer to the question it follows, which is what serving sees.
    Deterministic for the same examples."""
    first = _fit_once(answerer, examples, settings=settings, meta=meta)
    if not any(e.item is not None and e.item.after for e in examples):
        return first
    return _fit_once(answerer, _with_answers(answerer, examples, first), settings=settings, meta=meta)


def _fit_once(answerer: ExtractiveAnswerer, examples: Sequence[Example], *,
              settings: dict[str, float] | None = None, meta: dict[str, Any] | None = None) -> AnswerModel:
    dim = answerer.embedder.dimension
    base = neutral_model(dim)
    groups = sorted({e.group for e in examples})
    # 1. the models over embeddings, and for each group the same fitted without it (for stacking)
    route, labels, scope_text = _text_models(examples, dim)
    asked = _asked(examples)
    held_out: dict[str, AnswerModel] = {}
    for group in groups:
        rest = [e for e in examples if e.group != group]
        r, lb, st = _text_models(rest, dim)
        held_out[group] = replace(base, route=r, labels=lb, scope_text=st, asked=_asked(rest))
    # 2. the ranker, on candidate features whose route columns come from the held-out text models
    ranker = answerer.ranker
    lists = []
    for e in examples:
        if e.gains.size == 0 or e.gains.max() <= 0:
            continue
        ranking = ranker.score(e.inp, held_out[e.group])
        best = e.gains.max()
        candidates = _in_input_order(ranking, e.inp)
        lists.append((np.vstack([c.features for c in candidates]), e.gains >= best - 1e-9))
    ranker_model = _listwise(lists, FEATURES, l2=RANKER_L2)
    # 3. sentences and scope, on rankings by the fitted ranker with held-out text models
    s_rows, s_targets, scope_rows, scope_targets = [], [], [], []
    for e in examples:
        model = replace(held_out[e.group], ranker=ranker_model)
        ranking = ranker.score(e.inp, model)
        scope_rows.append(ranking.scope_features)
        scope_targets.append(float(e.in_scope))
        if e.item is None or not e.in_scope or not ranking.hits:
            continue
        sections = [c for c in ranking.candidates if not c.is_card][:3]
        for row in sentence_rows(ranking, sections, ranking.hits[:3], answerer.sentence_vectors):
            s_rows.append(row.features)
            s_targets.append(float(any(key_points_found(e.item, row.sentence.text))))
    sentences = _linear(np.vstack(s_rows), np.array(s_targets), SENTENCE_FEATURES)
    y = np.array(scope_targets)
    x = np.vstack(scope_rows)
    scope = _scope_linear(x, y)
    fitted = dict(settings or DEFAULT_SETTINGS)
    if settings is None:
        fitted["scope_cut"] = _scope_cut(x, y, [e.group for e in examples])
    return AnswerModel(route, labels, scope_text, ranker_model, sentences, scope, asked, fitted, dict(meta or {}))


def _asked(examples: Sequence[Example]) -> tuple[tuple[str, str], ...]:
    """(question as searched, key) for every labelled message and the candidates it was best answered by."""
    return tuple((e.inp.u.main, key) for e in examples for key in e.best_keys
                 if e.item is not None or not e.inp.u.follows)  # a card example in a thread names its topic too


def _scope_linear(x: np.ndarray, y: np.ndarray) -> Linear:
    weights = np.where(y > 0, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))  # balanced classes
    return _linear(x, y, SCOPE_FEATURES, weights=weights)


def _scope_cut(x: np.ndarray, y: np.ndarray, groups: Sequence[str]) -> float:
    """The scope probability below which a message is refused: the lowest cut that refuses REFUSAL_AIM of the
    off-path messages, on the probabilities each training group got from a scope model fitted without it
    (every in-scope message refused costs its whole answer, so the cut refuses no more than it must)."""
    names = np.array(groups)
    held = np.zeros(len(y))
    for group in sorted(set(groups)):
        rest = names != group
        if y[rest].min() == y[rest].max():
            held[~rest] = 0.5
            continue
        held[~rest] = _scope_linear(x[rest], y[rest]).proba(x[~rest])
    for cut in np.arange(0.05, 0.951, 0.01):
        if float(np.mean(held[y <= 0] < cut)) >= REFUSAL_AIM:
            return round(float(cut), 3)
    return 0.95


def _in_input_order(ranking: Ranking, inp: RankInput) -> list[Any]:
    """The ranking's candidates back in the input's order (score() sorts them)."""
    by_key = {c.key: c for c in ranking.candidates}
    return [by_key[c.key] for c in inp.candidates]


# ----- leave one writer out -----
@dataclass
class FoldResult:
    name: str
    questions: int
    coverage: float
    refusal: float
    false_refusals: float
    context_coverage: float
    answer_words: float
    kinds: dict[str, Any]


def score_set(answerer: ExtractiveAnswerer, name: str, items: Sequence[AnswerItem], model: AnswerModel) -> FoldResult:
    """One set answered by `model` as members would ask it (follow-ups in their thread), with context coverage."""
    def ask(question: str, *, history: Sequence[Turn] = (), member: MemberContext | None = None) -> Any:
        return answerer.answer(question, history=history, member=member, model=model)

    def context(question: str, *, history: Sequence[Turn] = (), member: MemberContext | None = None) -> str:
        return answerer.context(question, history=history, member=member, model=model)

    report = evaluate_answers(ask, items, context=context)
    return FoldResult(name, len(items), report.coverage(), report.refusal(), report.false_refusals(),
                      report.context_coverage(), report.answer_words(), report.summary()["kinds"])


def lowo(answerer: ExtractiveAnswerer, sets: dict[str, list[AnswerItem]], *,
         examples: list[Example] | None = None, extra: list[Example] | None = None,
         only: Sequence[str] | None = None, log: Callable[[str], None] | None = None) -> list[FoldResult]:
    """Leave one writer out: for each set, fit on every other set (and the extra examples), score it."""
    examples = examples if examples is not None else build_examples(answerer, sets)
    extra = extra if extra is not None else extra_examples(answerer)
    results = []
    for name in sets:
        if only and name not in only:
            continue
        started = time.monotonic()
        model = fit_model(answerer, [e for e in examples if e.group != name] + extra)
        result = score_set(answerer, name, sets[name], model)
        results.append(result)
        if log is not None:
            log(f"{name}: coverage {result.coverage:.3f} refusal {result.refusal:.3f} context "
                f"{result.context_coverage:.3f} false refusals {result.false_refusals:.3f} "
                f"({time.monotonic() - started:.0f} s)")
    return results


def fit_bundled(answerer: ExtractiveAnswerer, sets: dict[str, list[AnswerItem]], *,
                progress: Callable[[int, int], None] | None = None) -> AnswerModel:
    """The shipped model: fitted on every member set, the card examples and the everyday subjects."""
    examples = build_examples(answerer, sets, progress=progress) + extra_examples(answerer)
    meta = {"sets": sets_fingerprint(sets), "embedding_model": answerer.embedder.name,
            "fitted": datetime.now(UTC).strftime("%Y-%m-%d")}
    return fit_model(answerer, examples, meta=meta)


def sets_fingerprint(sets: dict[str, list[AnswerItem]]) -> dict[str, str]:
    """Per set, its size and a hash of its questions and key points: the model file records what it was fitted
    on, and a test fails when a set changed and `mlpath fit` was not run."""
    out = {}
    for name, items in sets.items():
        digest = hashlib.sha256(json.dumps([(i.id, i.q, i.after, i.in_scope, i.key_points, i.member)
                                            for i in items], sort_keys=True).encode()).hexdigest()[:16]
        out[name] = f"{len(items)}:{digest}"
    return out


def results_json(results: Sequence[FoldResult]) -> str:
    return json.dumps([r.__dict__ for r in results], indent=2)
