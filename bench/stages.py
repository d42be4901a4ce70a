"""Where the memory of `mlpath serve` goes: resident memory after each stage of a serving process's start,
measured in a fresh child process (`python -m bench.stages DATA_DIR`) from `/proc/self/smaps_rollup`.

The stages are the ones `mlpath serve --http` goes through, in its order: the imports of the bot and the
command line (Bolt, slack_sdk, SQLAlchemy, waitress, pydantic…), opening the vector store (Chroma),
loading the embedding model, the first question (which also builds the lexical index), a pass over the
eval questions, and then the same questions answered by 8 threads at once (waitress's 8 request threads).
Each row gives the resident set after the stage (`Rss`, split into anonymous memory — the heap, arenas,
tensors — and file-backed pages — shared libraries, mapped model files) and the peak so far (`VmHWM`).

This section explains the memory figure; the `memory` section measures it on the real server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import Context, Row

COLUMNS = ("stage", "RSS after it", "anonymous", "file-backed", "peak so far")
THREADS = 8


def _rollup() -> dict[str, int]:
    """kB figures of /proc/self/smaps_rollup plus VmHWM from /proc/self/status."""
    out: dict[str, int] = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        out[name.strip()] = int(rest.split()[0])
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            out["VmHWM"] = int(line.split()[1])
    return out


def child(data_dir: Path, questions: list[str]) -> list[tuple[str, dict[str, int]]]:
    """Runs inside the measured process: the stages, in serve's order."""
    stages: list[tuple[str, dict[str, int]]] = [("Python started", _rollup())]
    import waitress  # noqa: F401 - measured: the server `serve --http` runs

    import bot.app  # noqa: F401 - measured: everything `mlpath serve` imports before the mentor
    import mlpath.cli  # noqa: F401

    stages.append(("imports (Bolt, slack_sdk, SQLAlchemy, waitress, mlpath)", _rollup()))
    from knowledge.mentor import Mentor
    from mlpath.settings import Settings

    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    mentor = Mentor.from_settings(settings)
    mentor.store.count()
    stages.append(("vector store open (embedded Chroma)", _rollup()))
    mentor.embedder.encode(["warm-up"])
    stages.append((f"embedding model loaded ({mentor.embedder.backend})", _rollup()))
    mentor.ask(questions[0])
    stages.append(("first question (builds the lexical index)", _rollup()))
    for q in questions:
        mentor.ask(q)
    stages.append((f"{len(questions)} questions, one at a time", _rollup()))
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(mentor.ask, questions * 2))
    stages.append((f"{2 * len(questions)} questions, {THREADS} threads at once", _rollup()))
    return stages


def run(ctx: Context) -> list[Row]:
    if not Path("/proc/self/smaps_rollup").exists():
        return [("(needs /proc/self/smaps_rollup)", "n/a", "n/a", "n/a", "n/a")]
    data = ctx.copy_of_store()
    done = subprocess.run([sys.executable, "-m", "bench.stages", str(data), *(["--quick"] if ctx.quick else [])],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"bench.stages failed: {done.stderr[-2000:]}")
    stages = json.loads(done.stdout.splitlines()[-1])
    mib = 1024.0
    rows: list[Row] = []
    for name, m in stages:
        anon = m.get("Anonymous", 0)
        rows.append((name, f"{m['Rss'] / mib:.0f} MiB", f"{anon / mib:.0f} MiB", f"{(m['Rss'] - anon) / mib:.0f} MiB",
                     f"{m['VmHWM'] / mib:.0f} MiB"))
    return rows


def main() -> None:
    from knowledge import package_dir
    from knowledge.evaluation import load_evalset

    questions = [i.q for i in load_evalset(package_dir() / "evalsets" / "content.jsonl")]
    if len(sys.argv) > 2 and sys.argv[2] == "--quick":
        questions = questions[:10]
    print(json.dumps(child(Path(sys.argv[1]), questions)))


if __name__ == "__main__":
    main()
