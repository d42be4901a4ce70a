"""Benchmarks for the knowledge base: `python -m bench [--quick] [--runs N]`.

Prints a Markdown table (median of several runs) naming the machine. Never part of the test suite's
pass/fail. Measures: cold and warm ingest of the bundled curriculum (warm = unchanged re-ingest, which
must embed 0 texts), the raw sentence-transformers encode rate of the same model on the same chunks, and
warm p50/p95 latency of `search` and of the extractive `ask` over the eval questions.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="one run, few questions (smoke test)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from knowledge import package_dir
    from knowledge.embedding import shared_embedder
    from knowledge.evaluation import load_evalset
    from knowledge.mentor import Mentor
    from mlpath.settings import Settings

    embedder = shared_embedder()
    embedder.encode(["warm-up"])  # model load is not part of any figure below
    questions = [i.q for i in load_evalset(package_dir() / "evalset.jsonl")]
    if args.quick:
        questions = questions[:10]

    cold, warm, warm_embedded, chunks, encode_rate, ingest_rate = [], [], [], 0, [], []
    search_ms: list[float] = []
    ask_ms: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(_env_file=None, data_dir=Path(tmp))  # type: ignore[call-arg]
            mentor = Mentor.from_settings(settings, embedder=embedder)
            t = time.perf_counter()
            summary = mentor.ingest(None)
            cold.append(time.perf_counter() - t)
            chunks = summary.chunks
            ingest_rate.append(summary.chunks / cold[-1])
            before = embedder.encoded
            t = time.perf_counter()
            mentor.ingest(None)
            warm.append(time.perf_counter() - t)
            warm_embedded.append(embedder.encoded - before)

            stored, _ = mentor.store.all_chunks_with_embeddings()
            texts = [f"{c.metadata['section']}\n\n{c.text}" for c in stored]
            t = time.perf_counter()
            embedder.encode(texts)
            encode_rate.append(len(texts) / (time.perf_counter() - t))

            mentor.search("warm up")
            for q in questions:
                t = time.perf_counter()
                mentor.search(q)
                search_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                mentor.ask(q)
                ask_ms.append((time.perf_counter() - t) * 1000)

    med = statistics.median
    print(f"Machine: {machine()}; {runs} run(s), {len(questions)} questions per run; "
          f"bundled curriculum = {chunks} chunks\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| ingest, cold (embedded Chroma) | {med(cold):.2f} s ({med(ingest_rate):.0f} chunks/s) |")
    print(f"| raw MiniLM encode rate, same chunks | {med(encode_rate):.0f} chunks/s |")
    print(f"| ingest, warm (unchanged) | {med(warm):.2f} s, {max(warm_embedded)} embeddings computed |")
    print(f"| search p50 / p95 (warm) | {pct(search_ms, .5):.0f} ms / {pct(search_ms, .95):.0f} ms |")
    print(f"| ask (extractive) p50 / p95 (warm) | {pct(ask_ms, .5):.0f} ms / {pct(ask_ms, .95):.0f} ms |")

    from bench.slack_ack import measure

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp))  # type: ignore[call-arg]
        mentor = Mentor.from_settings(settings, embedder=embedder)
        mentor.ingest(None)
        ack = measure(mentor, n=10 if args.quick else 50)
    n = ack["n"]
    print(f"| Slack ack, {n} concurrent signed /mlpath ask (HTTP, loopback) p50 / p99 | "
          f"{ack['command_p50']:.0f} ms / {ack['command_p99']:.0f} ms |")
    print(f"| Slack ack, {n} concurrent app_mention events p50 / p99 | "
          f"{ack['event_p50']:.0f} ms / {ack['event_p99']:.0f} ms |")
    print(f"| every request answered exactly once | {'yes' if ack['exactly_once'] else 'NO'} |")


if __name__ == "__main__":
    main()
