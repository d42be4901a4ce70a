"""Memory of the real `mlpath serve --http` process (the installed console script, in its own process)
on loopback against the local fake Slack: peak RSS (VmHWM from /proc) after warm-up, and after 1,000
questions sent as signed `app_mention` events.

The server starts on a copy of an already-ingested store, as a bot restarts in production (the first-ever
start also ingests, which is the ingest section's figure). Warm-up = started, /healthz answering with the
whole curriculum, and one pass over the eval questions answered. The 1,000 questions cycle through the eval
set, 8 in flight at a time (waitress runs 8 threads); every one must be answered exactly once.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import Context, Row, med
from bench.slack_ack import SECRET, mention_body, signed_post, thread_replies

START_TIMEOUT_S = 180.0
ANSWER_TIMEOUT_S = 1800.0
IN_FLIGHT = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def mlpath_command() -> str:
    found = shutil.which("mlpath", path=str(Path(sys.executable).parent)) or shutil.which("mlpath")
    if found is None:
        raise RuntimeError("the `mlpath` command is not installed (make .venv/.installed)")
    return found


class Server:
    def __init__(self, ctx: Context, api_url: str, extra_env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data = ctx.copy_of_store()
        self.log_path = data / "serve.log"
        env = {**os.environ, "MLPATH_DATA_DIR": str(data), "SLACK_BOT_TOKEN": "xoxb-bench",
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url, "MLPATH_QUESTIONS_PER_HOUR": "10000",
               "ANONYMIZED_TELEMETRY": "False", **(extra_env or {})}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([mlpath_command(), "serve", "--http", "--host", "127.0.0.1",
                                          "--port", str(self.port)], cwd=data, env=env, stdout=log,
                                         stderr=subprocess.STDOUT)

    def wait_healthy(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                    import json

                    return int(json.loads(resp.read())["chunks"])
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mlpath serve did not start: {self.log_path.read_text()[-2000:]}") from None
                time.sleep(0.3)

    def peak_kib(self) -> int:
        return _status_kib(self.proc.pid, "VmHWM")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _ask_all(fake, url: str, numbers: Iterable[int], questions: list[str]) -> None:  # type: ignore[no-untyped-def]
    numbers = list(numbers)
    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        list(pool.map(lambda i: signed_post(url, mention_body(i, questions[i % len(questions)], "EvM"),
                                            "application/json"), numbers))
    want = {f"{1700000000 + i}.000100" for i in numbers}
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while time.monotonic() < deadline:
        if want <= set(thread_replies(fake)):
            return
        time.sleep(0.2)
    raise RuntimeError(f"mlpath serve answered {len(want & set(thread_replies(fake)))} of {len(want)} questions")


def _one_run(ctx: Context, n: int) -> tuple[int, int, int, bool]:
    from mlpath.testing.fake_slack import FakeSlack

    fake = FakeSlack()
    server = Server(ctx, fake.api_url)
    try:
        chunks = server.wait_healthy()
        expected = ctx.mentor().store.count()
        if chunks != expected:
            raise RuntimeError(f"mlpath serve sees {chunks} chunks, expected {expected}")
        questions = [i.q for i in ctx.items]
        warm_up = range(len(ctx.questions))
        _ask_all(fake, f"{server.url}/slack/events", warm_up, ctx.questions)
        after_warm_up = server.peak_kib()
        start = len(warm_up)
        _ask_all(fake, f"{server.url}/slack/events", range(start, start + n), questions)
        time.sleep(1.0)
        after_n = server.peak_kib()
        current = _status_kib(server.proc.pid, "VmRSS")
        replies = thread_replies(fake)
        exactly_once = all(count == 1 for count in replies.values()) and len(replies) == start + n
    finally:
        server.stop()
        fake.close()
    return after_warm_up, after_n, current, exactly_once


def run(ctx: Context) -> list[Row]:
    if not Path("/proc/self/status").exists():
        return [("peak RSS of `mlpath serve`", "n/a (needs /proc)")]
    n = 50 if ctx.quick else 1000
    warm: list[int] = []
    after: list[int] = []
    current: list[int] = []
    all_once = True
    for _ in range(ctx.runs):
        w, a, c, once = _one_run(ctx, n)
        warm.append(w)
        after.append(a)
        current.append(c)
        all_once = all_once and once
    mib = 1024.0
    return [
        ("peak RSS of `mlpath serve --http`, after warm-up", f"{med(warm) / mib:.0f} MiB"),
        (f"peak RSS after {n:,} more questions (signed `app_mention` events)",
         f"{med(after) / mib:.0f} MiB (+{(med(after) - med(warm)) / mib:.0f} MiB); "
         f"each answered exactly once: {'yes' if all_once else '**NO**'}"),
        ("RSS at that point (current, not peak)", f"{med(current) / mib:.0f} MiB"),
    ]
