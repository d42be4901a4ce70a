"""Benchmarks: `python -m bench [--quick] [--runs N] [--only NAME,...]` (or `make bench`).

Prints Markdown tables, one per section, each figure a median over runs, under a line naming the machine.
Never part of the test suite's pass/fail (tests/bench only checks that `--quick` runs and prints tables).

A section is a module with `run(ctx: Context) -> list[Row]`; add one to SECTIONS below. Sections that only
read share one ingested curriculum (`ctx.mentor()`); model loading is never part of a figure.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time

from bench import ingest, latency, memory, scheduler, slack_ack, slack_burst, stages, versus
from bench.common import Context, Row, Section, clear_mlpath_environment, load_average, machine
from errors import UserError

SECTIONS: list[Section] = [
    Section("ingest", "Ingest", ingest.run),
    Section("latency", "Retrieval and answers", latency.run),
    Section("versus", "Quality and speed against the textbook LangChain RAG pipeline", versus.run,
            columns=versus.COLUMNS),
    Section("slack", "Slack acknowledgements", slack_ack.run),
    Section("burst", "Slack acknowledgements at 200 concurrent, `mlpath serve --http` on PostgreSQL",
            slack_burst.run),
    Section("memory", "Memory", memory.run),
    Section("stages", "Where the memory of `mlpath serve` goes", stages.run, columns=stages.COLUMNS),
    Section("scheduler", "Scheduler scale", scheduler.run),
]


QUICK_CORPUS = "level-1"
"""`--quick` ingests one level of the curriculum, so the smoke test stays well under a minute."""


def table(columns: tuple[str, ...], rows: list[Row]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    names = [s.name for s in SECTIONS]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: one run, one level of the curriculum, 10 questions, 10 concurrent Slack "
                             "requests, 50 memory questions")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is reported (default 3)")
    parser.add_argument("--only", default="", help=f"comma-separated sections to run: {', '.join(names)}")
    parser.add_argument("--postgres-url", default=None, metavar="URL",
                        help="postgresql+psycopg://… server for sections that also measure PostgreSQL "
                             "(the harness never uses DATABASE_URL)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in only if n not in names]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    sections = [s for s in SECTIONS if not only or s.name in only]

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    ignored = clear_mlpath_environment()
    from knowledge import package_dir
    from knowledge.embedding import shared_embedder
    from knowledge.evaluation import load_evalset

    embedder = shared_embedder()
    embedder.encode(["warm-up"])  # model load is not part of any figure
    from knowledge import content_dir

    ctx = Context(quick=args.quick, runs=1 if args.quick else args.runs, embedder=embedder,
                  items=load_evalset(package_dir() / "evalsets" / "content.jsonl"),
                  corpus=content_dir() / QUICK_CORPUS if args.quick else None, postgres_url=args.postgres_url)
    started = time.monotonic()
    print(f"`python -m bench{' --quick' if args.quick else ''}`, {datetime.date.today().isoformat()}, "
          f"on {machine()}; median of {ctx.runs} run(s); mlpath embeds with {embedder.backend} (the textbook "
          f"pipeline with CPU-only torch), embedded Chroma; load average {load_average()} at start.")
    if args.quick:
        print(f"QUICK SMOKE RUN on {QUICK_CORPUS}/ of the curriculum only: these figures say that the harness "
              "works, nothing about mlpath.")
    if ignored:
        print(f"(ignoring {', '.join(sorted(ignored))}: the harness measures the defaults in temporary folders)")
    sys.stdout.flush()
    try:
        for section in sections:
            t = time.monotonic()
            try:
                rows = section.run(ctx)
            except ModuleNotFoundError as exc:
                print(f"python -m bench: error: {section.name} needs {exc.name}: install the bench extra "
                      "(`make bench`, or pip install -e '.[bench]')", file=sys.stderr)
                return 1
            except (RuntimeError, UserError) as exc:
                print(f"python -m bench: error in section {section.name}: {exc}", file=sys.stderr)
                return 1
            print(f"\n### {section.title}\n\n{table(section.columns, rows)}")
            print(f"\n({section.name}: {time.monotonic() - t:.0f} s)", file=sys.stderr)
            sys.stdout.flush()
    finally:
        ctx.close()
    ctx.notes.append(f"Load average {load_average()} at the end.")
    if ctx.notes:
        print("\n" + " ".join(ctx.notes))
    print(f"\n(total {time.monotonic() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
