"""The lexical half of hybrid retrieval: Okapi BM25 over mlpath's own tokens, scored by `bm25s`.

Dense embeddings miss exact names (SMOTE, SARIMA, ACID, "< 100 ms") that BM25 catches, and BM25 misses
paraphrases that embeddings catch; fusing both ranks beats either alone. The corpus is the whole store,
which for a curriculum plus a team's resources is thousands of chunks, comfortably in memory.

Scoring is `bm25s` (method "lucene": idf = ln(1 + (N - df + 0.5) / (df + 0.5)), k1 = 1.2, b = 0.75), which
keeps the index as a sparse matrix of precomputed term scores, so a query is a few vectorised row sums
rather than a Python loop over postings. Tokenisation stays ours (stop words, light stemming, "c++" and
"c#" kept whole) and is cached: the same sections are tokenised again for every question they answer.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+(?:[+#][a-z0-9+#]*)?")
STOPWORDS = frozenset(
    """a an and are as at be but by can do does did for from how i if in into is it its me my of on or
    our should so than that the their them then there these they this to was we what when where which who
    why will with you your yours about would could am been being have has had not no yes just also very
    more most some any each other such only own same too s t don ll re ve d m o y tell explain please
    actually really mean means get like going want wants good best way ways use using make makes sure
    someone something else thing things need needs know let lot lots much many well able ok okay hi hello
    thanks thank""".split()
)


TOKEN_CACHE_SIZE = 20_000
"""Texts whose tokens are remembered (sections, answer sentences, questions): a few MB at most."""


@lru_cache(maxsize=TOKEN_CACHE_SIZE)
def _tokens(text: str) -> tuple[str, ...]:
    tokens = []
    for tok in _TOKEN.findall(text.lower()):
        if tok in STOPWORDS:
            continue
        # light stemming: plural/verb endings, so "transactions" meets "transaction"
        if len(tok) > 4 and tok.endswith("ies"):
            tok = tok[:-3] + "y"
        elif len(tok) > 3 and tok.endswith("s") and not tok.endswith("ss"):
            tok = tok[:-1]
        tokens.append(tok)
    return tuple(tokens)


@lru_cache(maxsize=TOKEN_CACHE_SIZE)
def token_set(text: str) -> frozenset[str]:
    return frozenset(_tokens(text))


def tokenize(text: str) -> list[str]:
    return list(_tokens(text))


class BM25:
    def __init__(self, docs: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        import bm25s

        self.k1 = k1
        self.b = b
        corpus = [list(_tokens(d)) for d in docs]
        self.size = len(corpus)
        df: Counter[str] = Counter()
        for tokens in corpus:
            df.update(set(tokens))
        n = len(corpus)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.max_idf = max(self.idf.values(), default=1.0)
        self._index: bm25s.BM25 | None = None
        if df:
            self._index = bm25s.BM25(k1=k1, b=b, method="lucene")
            self._index.index(corpus, show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """One score per document (0 where no query term occurs); each distinct query term counts once."""
        terms = sorted(set(_tokens(query)) & self.idf.keys())
        if self._index is None or not terms:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._index.get_scores(terms), dtype=np.float32)

    def top(self, query: str, n: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        scored = self.scores(query)
        found = np.flatnonzero(scored > 0)
        if allowed is not None:
            found = np.array([i for i in found.tolist() if i in allowed], dtype=np.int64)
        # highest score first, ties by position (a stable sort of the positions, which are ascending)
        order = found[np.argsort(-scored[found], kind="stable")][:n]
        return [(int(i), float(scored[i])) for i in order]

    def known_coverage(self, query: str, text: str) -> float:
        """IDF-weighted share of the query's *known* terms that occur in `text` (0..1): words the corpus has
        never seen (an abbreviation, a library or exception name, a typo) neither help nor hurt."""
        terms = [t for t in token_set(query) if t in self.idf]
        if not terms:
            return 0.0
        present = token_set(text)
        total = sum(self.idf[t] for t in terms)
        return sum(self.idf[t] for t in terms if t in present) / total if total else 0.0

    def coverage(self, query: str, text: str) -> float:
        """IDF-weighted share of the query's terms that occur in `text` (0..1).

        Terms the corpus has never seen weigh as much as the rarest known term: a question about
        "sourdough" is not covered by any passage, however similar its other words are.
        """
        terms = token_set(query)
        if not terms:
            return 0.0
        present = token_set(text)
        total = sum(self.idf.get(t, self.max_idf) for t in terms)
        found = sum(self.idf.get(t, self.max_idf) for t in terms if t in present)
        return found / total if total else 0.0
