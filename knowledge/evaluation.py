"""Retrieval and refusal evaluation over a JSONL eval set.

Each line is `{"q": "...", "expect": ["phrase", ...]}`. A question with phrases is in scope: it is a hit at
rank r when an expected phrase (case-insensitive) occurs in the r-th chunk (section name or text). An empty
`expect` marks an out-of-scope question that must be refused. Refusal accuracy counts both directions:
in-scope questions answered and out-of-scope questions refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from errors import UserError
from knowledge.member import MemberContext
from knowledge.retrieval import Retriever

T = TypeVar("T")


@dataclass(frozen=True)
class EvalItem:
    q: str
    expect: tuple[str, ...]


@dataclass(frozen=True)
class ItemResult:
    item: EvalItem
    rank: int | None
    """1-based rank of the first chunk containing an expected phrase within top k (None: miss)."""
    confidence: float
    refused: bool
    top_sections: tuple[str, ...]

    @property
    def in_scope(self) -> bool:
        return bool(self.item.expect)

    @property
    def refusal_correct(self) -> bool:
        return self.refused != self.in_scope


@dataclass
class EvalReport:
    k: int
    threshold: float
    results: list[ItemResult] = field(default_factory=list)

    @property
    def in_scope(self) -> list[ItemResult]:
        return [r for r in self.results if r.in_scope]

    def _ratio(self, values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    @property
    def hit_at_1(self) -> float:
        return self._ratio([1.0 if r.rank == 1 else 0.0 for r in self.in_scope])

    @property
    def hit_at_k(self) -> float:
        return self._ratio([1.0 if r.rank else 0.0 for r in self.in_scope])

    @property
    def hit_at_3(self) -> float:
        return self._ratio([1.0 if r.rank and r.rank <= 3 else 0.0 for r in self.in_scope])

    @property
    def mrr(self) -> float:
        return self._ratio([1.0 / r.rank if r.rank else 0.0 for r in self.in_scope])

    @property
    def refusal_accuracy(self) -> float:
        return self._ratio([1.0 if r.refusal_correct else 0.0 for r in self.results])

    def misses(self) -> list[ItemResult]:
        return [r for r in self.results if (r.in_scope and r.rank is None) or not r.refusal_correct]

    def summary(self) -> dict[str, Any]:
        return {
            "questions": len(self.results),
            "in_scope": len(self.in_scope),
            "out_of_scope": len(self.results) - len(self.in_scope),
            "k": self.k,
            "threshold": self.threshold,
            "hit@1": round(self.hit_at_1, 4),
            f"hit@{self.k}": round(self.hit_at_k, 4),
            "mrr": round(self.mrr, 4),
            "refusal_accuracy": round(self.refusal_accuracy, 4),
        }

    def calibrated_threshold(self) -> tuple[float, float]:
        """The threshold (midpoint between neighbouring confidences) that maximises refusal accuracy."""
        values = sorted({round(r.confidence, 4) for r in self.results})
        cuts = [values[0] - 0.01] + [(a + b) / 2 for a, b in zip(values, values[1:], strict=False)]
        best = (self.threshold, -1.0)
        for cut in cuts:
            acc = self._ratio([1.0 if (r.confidence < cut) != r.in_scope else 0.0 for r in self.results])
            if acc > best[1]:
                best = (round(cut, 4), acc)
        return best


def _eval_lines(path: Path, parse: Callable[[int, dict[str, Any]], T]) -> list[T]:
    """Each non-empty line of a JSONL eval file, parsed by `parse(line number, object)`; a bad line is one
    UserError naming the file and line."""
    if not path.is_file():
        raise UserError(f"no such eval file: {path}")
    try:  # bytes that are not UTF-8 become U+FFFD: a stray byte costs one character, not the whole run
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise UserError(f"cannot read {path} ({exc.strerror or exc})") from None
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or "q" not in data:
                raise ValueError('expected an object with a question "q", e.g. {"q": "…", "expect": ["…"]}')
            items.append(parse(number, data))
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: not a line of JSON ({exc.msg}, column {exc.colno})") from None
        except (KeyError, ValueError, TypeError) as exc:
            raise UserError(f"{path}:{number}: {exc}") from None
    return items


def _eval_item(_number: int, data: dict[str, Any]) -> EvalItem:
    q = data["q"]
    expect = data.get("expect", [])
    if not isinstance(q, str) or not q.strip() or not isinstance(expect, list):
        raise ValueError("needs a non-empty string 'q' and a list 'expect'")
    if not all(isinstance(e, str) and e.strip() for e in expect):
        raise ValueError("'expect' must hold non-empty strings")
    return EvalItem(q.strip(), tuple(expect))


def load_evalset(path: Path) -> list[EvalItem]:
    items = _eval_lines(path, _eval_item)
    if not items:
        raise UserError(f"{path}: no eval questions")
    return items


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


def hit_rank(item: EvalItem, ranked_texts: Sequence[str]) -> int | None:
    """1-based rank of the first text containing one of the item's expected phrases (case and whitespace
    insensitive), None when none does. The one definition of a hit, shared with the benchmark harness,
    which applies it to other pipelines."""
    phrases = [_norm(p) for p in item.expect]
    for rank, text in enumerate(ranked_texts, start=1):
        haystack = _norm(text)
        if any(p in haystack for p in phrases):
            return rank
    return None


def evaluate(retriever: Retriever, items: list[EvalItem], *, k: int, threshold: float,
             confidence_k: int, progress: Callable[[str, int, int], None] | None = None) -> EvalReport:
    """Run every question; refusal uses the same rule as the answerer (best similarity in the top
    `confidence_k` chunks below `threshold`). `progress` is told ("questions", done, total) as it goes."""
    report = EvalReport(k=k, threshold=threshold)
    for done, item in enumerate(items, start=1):
        if progress is not None:
            progress("questions", done - 1, len(items))
        result = retriever.search(item.q, k=max(k, confidence_k))
        confidence = max((h.confidence for h in result.hits[:confidence_k]), default=0.0)
        rank = hit_rank(item, [f"{hit.section}\n{hit.text}" for hit in result.hits[:k]])
        report.results.append(ItemResult(item, rank, confidence, confidence < threshold,
                                         tuple(h.section for h in result.hits[:k])))
        if progress is not None:
            progress("questions", done, len(items))
    return report


# ----- answer scoring: the members' set (docs/evalsets.md) -----
@dataclass(frozen=True)
class AnswerItem:
    id: str
    q: str
    kind: str
    in_scope: bool
    key_points: tuple[tuple[str, ...], ...]
    """Each point is a tuple of acceptable phrasings (case-insensitive substrings)."""
    split: str
    after: str | None = None
    member: dict[str, Any] | None = None


@dataclass(frozen=True)
class AnswerResult:
    item: AnswerItem
    text: str
    refused: bool
    found: tuple[bool, ...]
    context_found: tuple[bool, ...] = ()
    """The key points present in the top three passages the answer was composed from (empty when not measured)."""

    @property
    def coverage(self) -> float:
        return sum(self.found) / len(self.found) if self.found else 0.0

    @property
    def context_coverage(self) -> float:
        return sum(self.context_found) / len(self.context_found) if self.context_found else 0.0

    @property
    def correct_refusal(self) -> bool:
        return self.refused != self.item.in_scope


def _norm_answer(text: str) -> str:
    # "3–5" and "3-5" compare equal; Markdown emphasis does not hide a phrase
    return _norm(text.replace("–", "-").replace("—", "-").replace("*", "").replace("’", "'"))


def key_points_found(item: AnswerItem, text: str) -> tuple[bool, ...]:
    haystack = _norm_answer(text)
    return tuple(any(_norm_answer(p) in haystack for p in point) for point in item.key_points)


@dataclass
class AnswerReport:
    results: list[AnswerResult] = field(default_factory=list)

    def _mean(self, values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    def coverage(self, kind: str | None = None) -> float:
        """Mean key-point coverage over in-scope questions (of one kind)."""
        return self._mean([r.coverage for r in self.results if r.item.in_scope
                           and (kind is None or r.item.kind == kind)])

    def refusal(self, kind: str | None = None) -> float:
        """Share of out-of-scope questions (of one kind) that were refused."""
        return self._mean([1.0 if r.refused else 0.0 for r in self.results if not r.item.in_scope
                           and (kind is None or r.item.kind == kind)])

    def context_coverage(self, kind: str | None = None) -> float:
        """Mean share of the key points present in the top three passages, over in-scope questions: what the
        answer could have said. The gap to `coverage` is lost in composing, not in retrieving."""
        return self._mean([r.context_coverage for r in self.results if r.item.in_scope and r.context_found
                           and (kind is None or r.item.kind == kind)])

    def false_refusals(self) -> float:
        return self._mean([1.0 if r.refused else 0.0 for r in self.results if r.item.in_scope])

    def answer_words(self) -> float:
        """Mean length in words of the in-scope answers that were not refused: coverage rises with length,
        so the two are reported together."""
        return self._mean([float(len(r.text.split())) for r in self.results if r.item.in_scope and not r.refused])

    def kinds(self) -> list[str]:
        return sorted({r.item.kind for r in self.results})

    def failures(self) -> list[AnswerResult]:
        return [r for r in self.results if (r.item.in_scope and r.coverage < 1.0) or not r.correct_refusal]

    def summary(self) -> dict[str, Any]:
        per_kind = {}
        for kind in self.kinds():
            rows = [r for r in self.results if r.item.kind == kind]
            entry: dict[str, Any] = {"questions": len(rows)}
            if any(r.item.in_scope for r in rows):
                entry["coverage"] = round(self.coverage(kind), 4)
                entry["context_coverage"] = round(self.context_coverage(kind), 4)
            if any(not r.item.in_scope for r in rows):
                entry["refusal"] = round(self.refusal(kind), 4)
            per_kind[kind] = entry
        return {
            "questions": len(self.results),
            "in_scope": sum(1 for r in self.results if r.item.in_scope),
            "out_of_scope": sum(1 for r in self.results if not r.item.in_scope),
            "coverage": round(self.coverage(), 4),
            "context_coverage": round(self.context_coverage(), 4),
            "refusal": round(self.refusal(), 4),
            "false_refusals": round(self.false_refusals(), 4),
            "answer_words": round(self.answer_words(), 1),
            "kinds": per_kind,
        }


def is_answer_evalset(path: Path) -> bool:
    """True for a set with `key_points` (answer scoring), False for the `expect` (retrieval) format."""
    if not path.is_file():
        raise UserError(f"no such eval file: {path}")
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        if line.strip():
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                return False  # the retrieval loader reports the bad line
            return isinstance(data, dict) and "key_points" in data
    return False


def _answer_item(number: int, data: dict[str, Any]) -> AnswerItem:
    q, points = data["q"], data["key_points"]
    if not isinstance(q, str) or not q.strip():
        raise ValueError("needs a non-empty string 'q'")
    if not isinstance(points, list) or not all(
            isinstance(p, list) and p and all(isinstance(x, str) and x.strip() for x in p) for p in points):
        raise ValueError("'key_points' must be a list of non-empty lists of phrases")
    in_scope = bool(data.get("in_scope", bool(points)))
    if in_scope and not points:
        raise ValueError("an in-scope question needs key points")
    member = data.get("member")
    if member is not None and not isinstance(member, dict):
        raise ValueError("'member' must be an object")
    return AnswerItem(str(data.get("id") or f"line{number}"), q.strip(), str(data.get("kind") or "other"),
                      in_scope, tuple(tuple(p) for p in points), str(data.get("split") or ""),
                      data.get("after") or None, member)


def load_answer_evalset(path: Path, *, split: str | None = None) -> list[AnswerItem]:
    items = [item for item in _eval_lines(path, _answer_item) if split is None or item.split == split]
    if not items:
        raise UserError(f"{path}: no eval questions" + (f" with split {split!r}" if split else ""))
    return items


def member_context(data: dict[str, Any] | None) -> MemberContext | None:
    """The eval line's `member` as the MemberContext the mentor takes."""
    if not data:
        return None
    return MemberContext(level=data.get("level"), track=data.get("track"),
                         placement_level=data.get("placement_level"),
                         weak_topics=tuple(data.get("weak_topics") or ()), streak=data.get("streak"),
                         days_since_joined=data.get("days_in", data.get("days_since_joined")))


def evaluate_answers(ask: Any, items: Sequence[AnswerItem], *, context: Any = None,
                     progress: Callable[[str, int, int], None] | None = None) -> AnswerReport:
    """Ask every question as a member would (a follow-up after its `after` question, with the real
    conversation history) and score the answer text: key points found, refused or not.
    `ask(question, history=..., member=...)` is `Mentor.ask` or an answerer's `answer`; `context(question,
    history=..., member=...)`, when given, returns the text of the top three passages (context coverage)."""
    from knowledge.schema import Turn

    report = AnswerReport()
    for done, item in enumerate(items, start=1):
        member = member_context(item.member)
        history: list[Turn] = []
        if item.after:
            first = ask(item.after, history=[], member=member)
            history = [Turn("user", item.after), Turn("assistant", first.text, tuple(first.citations))]
        answer = ask(item.q, history=history, member=member)
        passages = context(item.q, history=history, member=member) if context is not None and item.in_scope else ""
        report.results.append(AnswerResult(item, answer.text, not answer.grounded,
                                           key_points_found(item, answer.text),
                                           key_points_found(item, passages) if context is not None else ()))
        if progress is not None:
            progress("questions", done, len(items))
    return report
