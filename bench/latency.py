"""Warm latency of `search` (hybrid retrieval) and of the extractive `ask` over the eval questions: the
per-run p50 and p95, median over runs. "Warm" means the model is loaded and one untimed pass over the same
questions has filled the answerer's sentence-embedding cache (the steady state of a running bot: the cache
holds 20,000 sentences, more than the whole curriculum)."""

from __future__ import annotations

import time

from bench.common import Context, Row, med, ms, pct


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
    return [
        (f"search p50 / p95 (warm, k = {mentor.settings.top_k})",
         f"{ms(med([s[0] for s in search]))} / {ms(med([s[1] for s in search]))}"),
        ("ask (extractive) p50 / p95 (warm)", f"{ms(med([a[0] for a in ask]))} / {ms(med([a[1] for a in ask]))}"),
    ]
