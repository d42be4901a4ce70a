"""Ingest of the bundled curriculum into embedded Chroma: cold (empty store), warm (unchanged re-ingest,
which must embed nothing), and the raw sentence-transformers encode rate of the same model on the same
texts, measured in the same run: the physical limit of ingest throughput on this machine."""

from __future__ import annotations

import time

from bench.common import Context, Row, med


def run(ctx: Context) -> list[Row]:
    cold: list[float] = []
    rate: list[float] = []
    warm: list[float] = []
    warm_embedded: list[int] = []
    encode_rate: list[float] = []
    share: list[float] = []
    """Per run: ingest's rate ÷ the raw rate measured right after it (a ratio within one run moves less
    with the machine's load than a ratio of medians taken minutes apart)."""
    chunks = 0
    for _ in range(ctx.runs):
        mentor = ctx.new_mentor()
        t = time.perf_counter()
        summary = ctx.ingest(mentor)
        cold.append(time.perf_counter() - t)
        chunks = summary.chunks
        rate.append(chunks / cold[-1])

        before = ctx.embedder.encoded
        t = time.perf_counter()
        ctx.ingest(mentor)
        warm.append(time.perf_counter() - t)
        warm_embedded.append(ctx.embedder.encoded - before)

        # The texts ingest embedded: section name + chunk (see docs/retrieval.md), in one call.
        stored, _ = mentor.store.all_chunks_with_embeddings()
        texts = [f"{c.metadata['section']}\n\n{c.text}" for c in stored]
        t = time.perf_counter()
        ctx.embedder.encode(texts)
        encode_rate.append(len(texts) / (time.perf_counter() - t))
        share.append(rate[-1] / encode_rate[-1])
        ctx.adopt_mentor(mentor)

    ctx.facts["ingest_cold_s"] = med(cold)
    ctx.notes.append(f"Ingested: {'the bundled curriculum' if ctx.corpus is None else ctx.corpus} = {chunks} chunks.")
    return [
        ("ingest, cold (embedded Chroma)", f"{med(cold):.2f} s ({med(rate):.0f} chunks/s)"),
        ("raw MiniLM encode rate, same texts", f"{med(encode_rate):.0f} chunks/s "
                                               f"(ingest runs at {med(share):.0%} of it)"),
        ("ingest, warm (unchanged curriculum)", f"{med(warm):.2f} s, {max(warm_embedded)} embeddings computed"),
    ]
