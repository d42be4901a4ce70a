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
from typing import Any

from knowledge.retrieval import Retriever
from mlpath.errors import UserError


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


def load_evalset(path: Path) -> list[EvalItem]:
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
            q = data["q"]
            expect = data.get("expect", [])
            if not isinstance(q, str) or not q.strip() or not isinstance(expect, list):
                raise ValueError("needs a non-empty string 'q' and a list 'expect'")
            if not all(isinstance(e, str) and e.strip() for e in expect):
                raise ValueError("'expect' must hold non-empty strings")
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: not a line of JSON ({exc.msg}, column {exc.colno})") from None
        except (ValueError, TypeError) as exc:
            raise UserError(f"{path}:{number}: {exc}") from None
        items.append(EvalItem(q.strip(), tuple(expect)))
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
