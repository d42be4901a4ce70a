"""Slack ack latency: N concurrent signed `/mlpath ask` slash commands, then N concurrent signed
`app_mention` events, against the real Bolt app behind its real HTTP server (WSGI + waitress, as
`mlpath serve --http` runs it) on loopback, with the local fake Slack (mlpath/testing/fake_slack.py).

The ack is what Slack's 3-second rule is about; the answers follow through `response_url` and
`chat.postMessage` as the lazy workers get to them. After the answers arrive (and a settling pause, so a
late duplicate would be seen) every command must have had exactly one `response_url` reply and every
event exactly one threaded `chat.postMessage`. Per-run p50/p99, median over runs.

Hostile requests (issue 18): unsigned 128 KB and 5 MB POSTs, four of each at once, against the server as
`mlpath serve --http` configures it (waitress's body limit, the logging with its redactor at INFO), while
/healthz is polled: the time to the 401/413 and the slowest /healthz meanwhile. Before the fix a 128 KB body
took 10.8 s to be rejected and froze /healthz as long.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bench.common import Context, Row, med, ms, pct

SECRET = "0123456789abcdef0123456789abcdef"
ANSWER_TIMEOUT_S = 900.0
SETTLE_S = 1.0


def signed_post(url: str, body: str, content_type: str, secret: str = SECRET) -> float:
    """POST a Slack-signed request; returns the milliseconds until the response (the ack) was read."""
    ts = str(int(time.time()))
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body) or ""
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig})
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as resp:
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"Slack request answered HTTP {resp.status}")
    return (time.perf_counter() - start) * 1000


def command_body(i: int, response_url: str, question: str = "what is PCA?") -> str:
    return urlencode({"command": "/mlpath", "text": f"ask {question} #{i}", "user_id": f"U{i % 50}",
                      "team_id": "T1", "channel_id": "C1", "response_url": response_url})


def mention_body(i: int, question: str = "what is cross-validation?", prefix: str = "Ev") -> str:
    return json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                       "event_id": f"{prefix}{i}", "event_time": int(time.time()),
                       "event": {"type": "app_mention", "user": f"U{i % 50}", "channel": "C1",
                                 "ts": f"{1700000000 + i}.000100", "text": f"<@UBOT> {question}"}})


def thread_replies(fake: Any) -> Counter[str]:
    """Threaded answers posted so far, by the thread (= the question's ts)."""
    return Counter(str(c.params.get("thread_ts")) for c in fake.calls_to("chat.postMessage"))


def _one_run(ctx: Context, n: int) -> tuple[list[float], list[float], bool]:
    import logging

    from bot.app import http_server
    from mlpath.testing.fake_slack import FakeSlack
    from mlpath.wiring import build_slack_app

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is N" under load
    mentor = ctx.mentor()
    fake = FakeSlack()
    settings = ctx.settings(ctx.tempdir(), slack_bot_token="xoxb-bench", slack_signing_secret=SECRET,
                            slack_api_url=fake.api_url, question_rate_limit=10_000)
    app, services = build_slack_app(settings, mentor)
    server = http_server(settings, app, services, host="127.0.0.1", port=0)  # as `mlpath serve --http` builds it
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}/slack/events"  # type: ignore[union-attr]
    try:
        with ThreadPoolExecutor(max_workers=n) as pool:
            command_ms = list(pool.map(lambda i: signed_post(
                url, command_body(i, fake.response_url(f"c{i}")), "application/x-www-form-urlencoded"), range(n)))
            event_ms = list(pool.map(lambda i: signed_post(url, mention_body(i), "application/json"), range(n)))
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            replies = [c for c in fake.calls if c.method.startswith("response/c")]
            if len(replies) >= n and sum(thread_replies(fake).values()) >= n:
                break
            time.sleep(0.2)
        time.sleep(SETTLE_S)
        commands = Counter(c.method for c in fake.calls if c.method.startswith("response/c"))
        events = thread_replies(fake)
        exactly_once = (commands == Counter({f"response/c{i}": 1 for i in range(n)})
                        and events == Counter({f"{1700000000 + i}.000100": 1 for i in range(n)}))
    finally:
        server.close()
        fake.close()
    return command_ms, event_ms, exactly_once


def _hostile_post(url: str, body: bytes) -> tuple[int, float]:
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
    except (ConnectionError, urllib.error.URLError):  # the server may close after answering 413 mid-upload
        status = 413
    return status, (time.perf_counter() - start) * 1000


def _hostile_run(ctx: Context) -> tuple[float, float, float, bool]:
    """(median ms to 401 for 128 KB, median ms to 413 for 5 MB, slowest /healthz ms, statuses as expected)."""
    import io
    import logging

    import waitress

    from bot.app import wsgi_application
    from bot.http import MAX_BODY_BYTES
    from mlpath.logs import configure_logging
    from mlpath.testing.fake_slack import FakeSlack
    from mlpath.wiring import build_slack_app

    mentor = ctx.mentor()
    fake = FakeSlack()
    settings = ctx.settings(ctx.tempdir(), slack_bot_token="xoxb-bench", slack_signing_secret=SECRET,
                            slack_api_url=fake.api_url, log_level="INFO")
    handler = configure_logging(settings, stream=io.StringIO())  # the redactor on every line, as in serve
    app, services = build_slack_app(settings, mentor)
    server = waitress.create_server(wsgi_application(app, mentor, services.progress.db), host="127.0.0.1",
                                    port=0, threads=8, max_request_body_size=MAX_BODY_BYTES)  # as serve_http

    def serve() -> None:
        try:
            server.run()
        except OSError:  # waitress's loop notices the closed socket at shutdown
            pass

    threading.Thread(target=serve, daemon=True).start()
    base = f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    marker = b"what+is+pca+"
    small = b"text=" + marker * (128 * 1024 // len(marker))
    big = b"text=" + marker * (5 * 1024 * 1024 // len(marker))
    health_ms: list[float] = []
    done = threading.Event()

    def poll_health() -> None:
        while not done.is_set():
            start = time.perf_counter()
            with urllib.request.urlopen(base + "/healthz", timeout=600) as resp:
                resp.read()
            health_ms.append((time.perf_counter() - start) * 1000)

    poller = threading.Thread(target=poll_health, daemon=True)
    poller.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda b: _hostile_post(base + "/slack/events", b), [small, big] * 4))
    finally:
        done.set()
        poller.join()
        server.close()
        fake.close()
        logging.getLogger().removeHandler(handler)
    small_ms = [t for (_s, t), b in zip(results, [small, big] * 4, strict=True) if b is small]
    big_ms = [t for (_s, t), b in zip(results, [small, big] * 4, strict=True) if b is big]
    ok = [s for s, _t in results] == [401, 413] * 4
    return med(small_ms), med(big_ms), max(health_ms or [0.0]), ok


def run(ctx: Context) -> list[Row]:
    n = 10 if ctx.quick else 50
    commands: list[tuple[float, float]] = []
    events: list[tuple[float, float]] = []
    all_once = True
    for _ in range(ctx.runs):
        command_ms, event_ms, exactly_once = _one_run(ctx, n)
        commands.append((pct(command_ms, .5), pct(command_ms, .99)))
        events.append((pct(event_ms, .5), pct(event_ms, .99)))
        all_once = all_once and exactly_once
    total = 2 * n * ctx.runs
    hostile = [_hostile_run(ctx) for _ in range(ctx.runs)]
    return [
        (f"Slack ack, {n} concurrent signed `/mlpath ask` (HTTP, loopback, fake Slack) p50 / p99",
         f"{ms(med([c[0] for c in commands]))} / {ms(med([c[1] for c in commands]))}"),
        (f"Slack ack, {n} concurrent signed `app_mention` events p50 / p99",
         f"{ms(med([e[0] for e in events]))} / {ms(med([e[1] for e in events]))}"),
        (f"every one of those {total} requests answered exactly once", "yes" if all_once else "**NO**"),
        ("unsigned 128 KB POST → 401 / unsigned 5 MB POST → 413 (4 + 4 at once, median)",
         f"{ms(med([h[0] for h in hostile]))} / {ms(med([h[1] for h in hostile]))}"
         + ("" if all(h[3] for h in hostile) else " **wrong status**")),
        ("slowest /healthz while those 8 are in flight", ms(med([h[2] for h in hostile]))),
    ]
