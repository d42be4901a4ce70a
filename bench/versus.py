"""mlpath against the textbook LangChain RAG pipeline (bench/textbook.py), in the same run, on the same
curriculum files, model and eval set, with the same metric definitions (knowledge.evaluation): a hit is an
expected phrase in one of the top k = 3 results (an mlpath section, a textbook chunk); MRR is over those 3.

Refusal: the textbook pipeline has none of its own; its usual form is a similarity threshold
(`search_type="similarity_score_threshold"`): no chunk above it means "I don't know". Both pipelines get a
threshold calibrated on this same eval set by the same sweep (`EvalReport.calibrated_threshold`), which is
how mlpath's shipped threshold was chosen too. That flatters both equally; the shipped threshold's figure
is reported beside it. See docs/bench.md.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bench.common import Context, Row, med, ms, pct, ratio
from bench.textbook import TextbookRAG, embeddings
from knowledge.evaluation import EvalReport, ItemResult, evaluate, hit_rank

if TYPE_CHECKING:
    from knowledge.mentor import Mentor

K = 3
COLUMNS = ("measure", "mlpath", "textbook LangChain", "mlpath ÷ textbook")


def chunk_level(ctx: Context, mentor: Mentor) -> EvalReport:
    """mlpath's ranking scored on the best-matching chunk of each returned section (at most 150 words plus
    the section name) instead of the whole section (up to 400 words): the like-for-like check that mlpath's
    lead is not only its longer results, against the textbook's chunks of up to 1000 characters."""
    report = EvalReport(k=K, threshold=0.0)
    corpus = mentor.retriever.corpus()
    for item in ctx.items:
        hits = mentor.search(item.q, k=K).hits
        texts = [f"{h.section}\n{corpus.chunks[corpus.index[h.id]].text}" for h in hits]
        report.results.append(ItemResult(item, hit_rank(item, texts), 0.0, False, ()))
    return report


def run(ctx: Context) -> list[Row]:
    mentor = ctx.mentor()
    settings = mentor.settings
    ours = evaluate(mentor.retriever, ctx.items, k=K, threshold=settings.refusal_threshold,
                    confidence_k=settings.top_k)
    ours_cut, ours_cal = ours.calibrated_threshold()
    ours_chunk = chunk_level(ctx, mentor)

    embedding = embeddings()
    embedding.embed_query("warm-up")  # model load is not part of any figure
    theirs_ingest: list[float] = []
    theirs_ms: list[tuple[float, float]] = []
    ours_ms: list[tuple[float, float]] = []
    ours_embed: list[float] = []
    theirs_embed: list[float] = []
    reports: list[EvalReport] = []
    chunks = 0
    for _ in range(ctx.runs):
        t = time.perf_counter()
        rag = TextbookRAG.build(ctx.corpus_folder(), embedding, ctx.tempdir())
        theirs_ingest.append(time.perf_counter() - t)
        chunks = rag.chunks

        report = EvalReport(k=K, threshold=0.0)
        timings: list[float] = []
        for item in ctx.items:
            t = time.perf_counter()
            found = rag.search(item.q, K)
            timings.append((time.perf_counter() - t) * 1000)
            confidence = found[0][1] if found else -1.0
            report.results.append(ItemResult(item, hit_rank(item, [text for text, _ in found]), confidence,
                                             False, ()))
        reports.append(report)
        theirs_ms.append((pct(timings, .5), pct(timings, .95)))

        timings = []
        for item in ctx.items:
            t = time.perf_counter()
            mentor.search(item.q, k=K)
            timings.append((time.perf_counter() - t) * 1000)
        ours_ms.append((pct(timings, .5), pct(timings, .95)))

        # The query's embedding alone, each pipeline through its own encoder (mlpath: ONNX Runtime;
        # textbook: sentence-transformers on torch): the part of the retrieval figures that is the encoder.
        for encode, into in ((mentor.embedder.encode_one, ours_embed), (embedding.embed_query, theirs_embed)):
            timings = []
            for item in ctx.items:
                t = time.perf_counter()
                encode(item.q)
                timings.append((time.perf_counter() - t) * 1000)
            into.append(pct(timings, .5))

    def metric(name: str, ours_value: float, values: list[float]) -> Row:
        theirs_value = med(values)
        return (name, f"{ours_value:.3f}", f"{theirs_value:.3f}", ratio(ours_value, theirs_value))

    calibrated = [r.calibrated_threshold() for r in reports]
    theirs_cut = med([c[0] for c in calibrated])
    theirs_cal = med([c[1] for c in calibrated])
    ours_cold = ctx.facts.get("ingest_cold_s")
    mlpath_chunks = mentor.store.count()
    rows: list[Row] = [
        metric(f"hit@1 ({len(ours.in_scope)} in-scope questions)", ours.hit_at_1, [r.hit_at_1 for r in reports]),
        metric(f"hit@{K}", ours.hit_at_3, [r.hit_at_3 for r in reports]),
        metric(f"MRR (top {K})", ours.mrr, [r.mrr for r in reports]),
        metric("hit@1, mlpath scored on its best chunk only", ours_chunk.hit_at_1, [r.hit_at_1 for r in reports]),
        metric(f"hit@{K}, mlpath scored on its best chunk only", ours_chunk.hit_at_3,
               [r.hit_at_3 for r in reports]),
        (f"refusal accuracy, threshold calibrated on this set ({len(ours.results)} questions)",
         f"{ours_cal:.3f} (confidence < {ours_cut:.3f})", f"{theirs_cal:.3f} (similarity < {theirs_cut:.3f})",
         ratio(ours_cal, theirs_cal)),
        ("refusal accuracy, shipped threshold", f"{ours.refusal_accuracy:.3f} (< {settings.refusal_threshold})",
         "n/a (no refusal of its own)", "n/a"),
        ("chunks stored", str(mlpath_chunks), str(chunks), "—"),
    ]
    if ours_cold is not None:
        theirs_cold = med(theirs_ingest)
        rows.append(("ingest, cold", f"{ours_cold:.2f} s", f"{theirs_cold:.2f} s", ratio(ours_cold, theirs_cold)))
    ours_p50, ours_p95 = med([t[0] for t in ours_ms]), med([t[1] for t in ours_ms])
    theirs_p50, theirs_p95 = med([t[0] for t in theirs_ms]), med([t[1] for t in theirs_ms])
    rows.append((f"retrieval p50 / p95, top {K} (warm)", f"{ms(ours_p50)} / {ms(ours_p95)}",
                 f"{ms(theirs_p50)} / {ms(theirs_p95)}",
                 f"{ratio(ours_p50, theirs_p50)} / {ratio(ours_p95, theirs_p95)}"))
    rows.append(("of which: embedding the question, p50", f"{ms(med(ours_embed))} (ONNX Runtime)",
                 f"{ms(med(theirs_embed))} (sentence-transformers)", ratio(med(ours_embed), med(theirs_embed))))
    return rows
