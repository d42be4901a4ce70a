"""Slack ack latency: N concurrent signed slash commands and N concurrent events against the real Bolt
HTTP server (WSGI + waitress) on loopback, with the local fake Slack. Counts that every request got
exactly one reply. Used by `python -m bench`."""

from __future__ import annotations

import json
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SECRET = "0123456789abcdef0123456789abcdef"


def _post(url: str, body: str, content_type: str) -> float:
    ts = str(int(time.time()))
    sig = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig})
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()
        assert resp.status == 200
    return (time.perf_counter() - start) * 1000


def measure(mentor, n: int = 50) -> dict[str, float | int]:  # type: ignore[no-untyped-def]
    import waitress

    from bot.app import build_app, wsgi_application
    from mlpath.settings import Settings
    from tests.bot.fake_slack import FakeSlack

    fake = FakeSlack()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), slack_bot_token="xoxb-bench",  # type: ignore[call-arg]
                            slack_signing_secret=SECRET, slack_api_url=fake.api_url, question_rate_limit=10_000)
        app, _ = build_app(settings, mentor)
        server = waitress.create_server(wsgi_application(app, mentor), host="127.0.0.1", port=0, threads=8)
        threading.Thread(target=server.run, daemon=True).start()
        url = f"http://127.0.0.1:{server.effective_port}/slack/events"
        try:
            def command(i: int) -> float:
                body = urlencode({"command": "/mlpath", "text": f"ask what is PCA? #{i}", "user_id": f"U{i}",
                                  "team_id": "T1", "channel_id": "C1", "response_url": fake.response_url(f"c{i}")})
                return _post(url, body, "application/x-www-form-urlencoded")

            def event(i: int) -> float:
                body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                                   "event_id": f"EvB{i}", "event_time": int(time.time()),
                                   "event": {"type": "app_mention", "user": f"U{i}", "channel": "C1",
                                             "ts": f"{i}.1", "text": "<@UBOT> what is cross-validation?"}})
                return _post(url, body, "application/json")

            with ThreadPoolExecutor(max_workers=n) as pool:
                command_ms = sorted(pool.map(command, range(n)))
                event_ms = sorted(pool.map(event, range(n)))
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                replies = [c for c in fake.calls if c.method.startswith("response/c")]
                posts = fake.calls_to("chat.postMessage")
                if len(replies) >= n and len(posts) >= n:
                    break
                time.sleep(0.2)
            time.sleep(1.0)
            replies = [c.method for c in fake.calls if c.method.startswith("response/c")]
            exactly_once = (len(set(replies)) == len(replies) == n and len(fake.calls_to("chat.postMessage")) == n)
        finally:
            server.close()
            fake.close()

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    return {"n": n, "command_p50": pct(command_ms, .5), "command_p99": pct(command_ms, .99),
            "event_p50": pct(event_ms, .5), "event_p99": pct(event_ms, .99), "exactly_once": int(exactly_once)}
