"""Slack ack latency: N concurrent signed `/mlpath ask` slash commands, then N concurrent signed
`app_mention` events, against the real Bolt app behind its real HTTP server (WSGI + waitress, as
`mlpath serve --http` runs it) on loopback, with the local fake Slack (mlpath/testing/fake_slack.py).

The ack is what Slack's 3-second rule is about; the answers follow through `response_url` and
`chat.postMessage` as the lazy workers get to them. After the answers arrive (and a settling pause, so a
late duplicate would be seen) every command must have had exactly one `response_url` reply and every
event exactly one threaded `chat.postMessage`. Per-run p50/p99, median over runs.
"""

from __future__ import annotations

import json
import threading
import time
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

    import waitress

    from bot.app import build_app, wsgi_application
    from mlpath.testing.fake_slack import FakeSlack

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is N" under load
    mentor = ctx.mentor()
    fake = FakeSlack()
    settings = ctx.settings(ctx.tempdir(), slack_bot_token="xoxb-bench", slack_signing_secret=SECRET,
                            slack_api_url=fake.api_url, question_rate_limit=10_000)
    app, _ = build_app(settings, mentor)
    server = waitress.create_server(wsgi_application(app, mentor), host="127.0.0.1", port=0, threads=8)
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
    return [
        (f"Slack ack, {n} concurrent signed `/mlpath ask` (HTTP, loopback, fake Slack) p50 / p99",
         f"{ms(med([c[0] for c in commands]))} / {ms(med([c[1] for c in commands]))}"),
        (f"Slack ack, {n} concurrent signed `app_mention` events p50 / p99",
         f"{ms(med([e[0] for e in events]))} / {ms(med([e[1] for e in events]))}"),
        (f"every one of those {total} requests answered exactly once", "yes" if all_once else "**NO**"),
    ]
