"""The benchmark harness runs end to end in quick mode and prints its tables. Benchmarks never decide
pass/fail: no figure is asserted here, only that every section ran and the checks it reports held."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# every test here runs `python -m bench` in a process of its own; in `make test`'s parallel workers the module's
# tests stay on one worker, so the quick run (the module fixture) happens once
pytestmark = [pytest.mark.subprocess, pytest.mark.xdist_group("bench")]

ROOT = Path(__file__).resolve().parents[2]


def run_bench(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **env})


# session, not module: xdist may run other modules' tests between this module's, and a module fixture is
# then built again (it was, twice, in one run); the xdist group keeps these tests on one worker
@pytest.fixture(scope="session")
def quick() -> subprocess.CompletedProcess[str]:
    # A developer's settings must not leak into the run: the harness drops them and says so.
    return run_bench("--quick", MLPATH_TOP_K="7", DATABASE_URL="sqlite:////nonexistent/should-not-be-used.db")


def test_quick_run_prints_every_section_as_a_table(quick: subprocess.CompletedProcess[str]) -> None:
    assert quick.returncode == 0, quick.stderr[-3000:]
    out = quick.stdout
    cores = os.cpu_count()
    assert re.search(rf"on {cores} cores, .+, Python 3\.\d+", out), out[:500]
    assert "QUICK SMOKE RUN" in out
    ignoring = re.search(r"^\(ignoring (.+): the harness measures the defaults", out, re.MULTILINE)
    assert ignoring and {"DATABASE_URL", "MLPATH_TOP_K"} <= set(ignoring.group(1).split(", "))
    for title in ("### Ingest", "### Retrieval and answers",
                  "### Quality and speed against the textbook LangChain RAG pipeline",
                  "### Slack acknowledgements", "### Slack acknowledgements at 200 concurrent",
                  "### Memory", "### Scheduler scale",
                  "### Where the memory of `mlpath serve` goes"):
        assert title in out
    assert out.count("| measure | value |") == 6
    assert "| measure | mlpath | textbook LangChain | mlpath ÷ textbook |" in out
    assert "| stage | RSS after it | anonymous | file-backed | peak so far |" in out


def test_quick_run_reports_its_checks_held(quick: subprocess.CompletedProcess[str]) -> None:
    out = quick.stdout
    # An unchanged re-ingest embeds nothing.
    assert re.search(r"\| ingest, warm \(unchanged curriculum\) \| [\d.]+ s, 0 embeddings computed \|", out)
    # The default top k (5), not the MLPATH_TOP_K=7 of the environment.
    assert "search p50 / p95 (warm, k = 5)" in out
    # Both pipelines were evaluated on the whole eval set with the shared metric definitions.
    row = re.search(r"\| hit@1 \(74 in-scope questions\) \| (0\.\d{3}|1\.000) \| (0\.\d{3}|1\.000) \| ", out)
    assert row, out
    assert "every one of those 20 requests answered exactly once | yes |" in out
    assert re.search(r"\| peak RSS of `mlpath serve --http`, after warm-up \| \d+ MiB \|", out)
    assert re.search(r"after 50 more questions .* each answered exactly once: yes \|", out)
    # The cold one-shot ask and its reference both ran; the encoder's share of retrieval is shown.
    assert re.search(r"\| cold `mlpath ask` \(new process\) .* \| [\d.]+ s ÷ [\d.]+ s = \*\*[\d.]+×\*\* \|", out)
    assert re.search(r"\| of which: embedding the question, p50 \| .* \(ONNX Runtime\) \| .* \(sentence-transformers\) \|", out)
    # Serve's memory, stage by stage, with the model on ONNX Runtime (no torch in the bot).
    assert re.search(r"\| embedding model loaded \(onnx\) \| \d+ MiB \|", out)
    assert re.search(r"\| 20 questions, 8 threads at once \| \d+ MiB \|", out)
    # Planning is a constant number of queries; every paced DM reached the fake Slack.
    assert re.search(r"\| plan who is due, 1,000 members, SQLite .* \(\d+ due, 2 queries\) \|", out)
    assert "50 sent, 50 received" in out and "6 sent, 6 received" in out


def test_unknown_section_is_one_clear_error() -> None:
    result = run_bench("--only", "ingest,scheduler-typo")
    assert result.returncode == 2
    assert re.search(r"unknown section\(s\) scheduler-typo; choose from ingest, .*memory", result.stderr)
    assert "Traceback" not in result.stderr
