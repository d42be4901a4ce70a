"""A small Okapi BM25 index for the lexical half of hybrid retrieval.

Dense embeddings miss exact names (SMOTE, SARIMA, ACID, "< 100 ms") that BM25 catches, and BM25 misses
paraphrases that embeddings catch; fusing both ranks beats either alone. The corpus is the whole store,
which for a curriculum plus a team's resources is thousands of chunks, comfortably in memory.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

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


def tokenize(text: str) -> list[str]:
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
    return tokens


class BM25:
    def __init__(self, docs: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.docs = [Counter(tokenize(d)) for d in docs]
        self.lengths = [sum(c.values()) for c in self.docs]
        self.avg_len = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df: Counter[str] = Counter()
        for counts in self.docs:
            df.update(counts.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[int]] = {}
        for i, counts in enumerate(self.docs):
            for t in counts:
                self.postings.setdefault(t, []).append(i)

    def scores(self, query: str) -> dict[int, float]:
        out: dict[int, float] = {}
        for term in set(tokenize(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i in self.postings[term]:
                tf = self.docs[i][term]
                norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / (self.avg_len or 1))
                out[i] = out.get(i, 0.0) + idf * tf * (self.k1 + 1) / (tf + norm)
        return out

    def top(self, query: str, n: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        scored = self.scores(query)
        items = [(i, s) for i, s in scored.items() if allowed is None or i in allowed]
        items.sort(key=lambda x: (-x[1], x[0]))
        return items[:n]

    def coverage(self, query: str, text: str) -> float:
        """IDF-weighted share of the query's terms that occur in `text` (0..1).

        Terms the corpus has never seen weigh as much as the rarest known term: a question about
        "sourdough" is not covered by any passage, however similar its other words are.
        """
        terms = set(tokenize(query))
        if not terms:
            return 0.0
        max_idf = max(self.idf.values(), default=1.0)
        present = set(tokenize(text))
        total = sum(self.idf.get(t, max_idf) for t in terms)
        found = sum(self.idf.get(t, max_idf) for t in terms if t in present)
        return found / total if total else 0.0
