"""Warm latency of `search` (hybrid retrieval) and of the extractive `ask` over the eval questions: the
per-run p50 and p95, median over runs. "Warm" means the model is loaded and one untimed pass over the same
questions has filled the answerer's sentence-embedding cache (the steady state of a running bot: the cache
holds 20,000 sentences, more than the whole curriculum).

And one cold figure: a one-shot `mlpath ask` in a new process (the installed console script, on a copy of
the ingested store, so no ingest), against what any Python program pays to answer with this model at all:
a new process that loads MiniLM with sentence-transformers and encodes one sentence. Both wall-clock, from
process start to exit, alternated, median over runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.common import Context, Row, med, ms, pct, ratio
from bench.memory import mlpath_command

_REFERENCE = """import os
os.environ["HF_HUB_OFFLINE"] = "1"
from sentence_transformers import SentenceTransformer
SentenceTransformer({path!r}, device="cpu").encode([{question!r}])
"""


def cold_ask(ctx: Context) -> tuple[float, float]:
    """(seconds of `mlpath ask`, seconds of load-and-encode with sentence-transformers), medians."""
    data = ctx.copy_of_store()
    question = ctx.items[0].q
    env = {**os.environ, "MLPATH_DATA_DIR": str(data)}
    script = _REFERENCE.format(path=str(ctx.embedder.path), question=question)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(ctx.runs):
        for argv, into in (([mlpath_command(), "ask", question], ours), ([sys.executable, "-c", script], theirs)):
            t = time.perf_counter()
            done = subprocess.run(argv, cwd=data, env=env, capture_output=True, text=True, timeout=600)
            into.append(time.perf_counter() - t)
            if done.returncode != 0:
                raise RuntimeError(f"{argv[0]} failed: {done.stderr[-1000:]}")
    return med(ours), med(theirs)


def run(ctx: Context) -> list[Row]:
    mentor = ctx.mentor()
    for q in ctx.questions:
        mentor.ask(q)
    search: list[tuple[float, float]] = []
    ask: list[tuple[float, float]] = []
    for _ in range(ctx.runs):
        search_ms: list[float] = []
        ask_ms: list[float] = []
        for q in ctx.questions:
            t = time.perf_counter()
            mentor.search(q)
            search_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            mentor.ask(q)
            ask_ms.append((time.perf_counter() - t) * 1000)
        search.append((pct(search_ms, .5), pct(search_ms, .95)))
        ask.append((pct(ask_ms, .5), pct(ask_ms, .95)))
    ours, theirs = cold_ask(ctx)
    return [
        (f"search p50 / p95 (warm, k = {mentor.settings.top_k})",
         f"{ms(med([s[0] for s in search]))} / {ms(med([s[1] for s in search]))}"),
        ("ask (extractive) p50 / p95 (warm)", f"{ms(med([a[0] for a in ask]))} / {ms(med([a[1] for a in ask]))}"),
        ("cold `mlpath ask` (new process) ÷ a new process loading MiniLM with sentence-transformers and "
         "encoding one sentence", f"{ours:.2f} s ÷ {theirs:.2f} s = **{ratio(ours, theirs)}**"),
    ]
