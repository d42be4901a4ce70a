"""The real Bolt app behind its real HTTP server (WSGI adapter + waitress) on loopback, talking to the
fake Slack; requests are signed with slack_sdk's SignatureVerifier."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
import waitress
from slack_sdk.signature import SignatureVerifier

from bot.app import wsgi_application
from mlpath.testing.fake_slack import FakeSlack
from mlpath.wiring import build_slack_app
from tests.conftest import make_settings

SECRET = "0123456789abcdef0123456789abcdef"


def listener_runs(listener: str) -> float:
    """How many times a lazy listener has finished in this process (bot/listeners.counted)."""
    from mlpath import metrics

    return metrics.value("mlpath_listener_runs_total", listener=listener)


def wait_listener(listener: str, before: float, *, count: int = 1, timeout: float = 30.0) -> None:
    """Wait until `listener` has finished `count` more runs than `before`: the synchronisation point for
    asserting that a listener sent nothing (instead of sleeping)."""
    deadline = time.monotonic() + timeout
    while listener_runs(listener) < before + count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{listener} did not finish {count} run(s) within {timeout}s")
        time.sleep(0.02)


class BotServer:
    def __init__(self, url: str, services, fake: FakeSlack) -> None:
        self.url = url
        self.services = services
        self.fake = fake

    def post(self, body: str, content_type: str, *, secret: str = SECRET, timestamp: int | None = None,
             headers: dict[str, str] | None = None, signed: bool = True) -> tuple[int, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        hdrs = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, **(headers or {})}
        if signed:
            hdrs["X-Slack-Signature"] = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        req = urllib.request.Request(self.url + "/slack/events", data=body.encode(), headers=hdrs, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def command(self, text: str, *, user: str = "U1", name: str = "cmd", **kw) -> tuple[int, str]:
        body = urlencode({"command": "/mlpath", "text": text, "user_id": user, "user_name": "ann",
                          "team_id": "T1", "channel_id": "C1", "trigger_id": "1.2.3",
                          "response_url": self.fake.response_url(name)})
        return self.post(body, "application/x-www-form-urlencoded", **kw)

    def event(self, event: dict, *, event_id: str, **kw) -> tuple[int, str]:
        body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id,
                           "event_time": int(time.time()), "event": event})
        return self.post(body, "application/json", **kw)

    def action(self, payload: dict, **kw) -> tuple[int, str]:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", **kw)


@pytest.fixture
def bot(slack, curriculum_mentor, tmp_path):
    def start(**overrides) -> BotServer:
        settings = make_settings(tmp_path, slack_bot_token="xoxb-test-token", slack_signing_secret=SECRET,
                                 slack_api_url=slack.api_url, **overrides)
        app, services = build_slack_app(settings, curriculum_mentor)
        server = waitress.create_server(wsgi_application(app, curriculum_mentor, services.progress.db,
                                                         gate=services.ack_gate),
                                        host="127.0.0.1", port=0, threads=8)
        def run() -> None:
            try:
                server.run()
            except OSError:  # waitress's loop notices the closed socket at shutdown
                pass

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        started.append(server)
        return BotServer(f"http://127.0.0.1:{server.effective_port}", services, slack)

    started: list = []
    yield start
    for server in started:
        server.close()
