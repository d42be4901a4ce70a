"""Socket Mode against a local websocket server speaking Slack's envelope protocol (hello, envelopes,
acks), with the Web API on the fake Slack. No real Slack anywhere."""

from __future__ import annotations

import json
import queue
import threading
import time

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from websockets.sync.server import serve

from mlpath import metrics
from mlpath.wiring import build_slack_app
from tests.bot.conftest import listener_runs, wait_listener
from tests.conftest import make_settings

pytestmark = [pytest.mark.model, pytest.mark.server]


class FakeSocketModeServer:
    def __init__(self) -> None:
        self.outbox: queue.Queue[dict] = queue.Queue()
        self.acks: list[dict] = []
        self.connected = threading.Event()
        self.server = serve(self._handler, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self, ws) -> None:
        ws.send(json.dumps({"type": "hello", "num_connections": 1,
                            "connection_info": {"app_id": "A1"}, "debug_info": {"host": "fake"}}))
        self.connected.set()
        while True:
            try:
                item = self.outbox.get(timeout=0.1)
                ws.send(json.dumps(item))
            except queue.Empty:
                pass
            try:
                msg = ws.recv(timeout=0.05)
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - client went away
                return
            data = json.loads(msg)
            if "envelope_id" in data:
                self.acks.append(data)

    def send_event(self, envelope_id: str, event_id: str, event: dict, retry_attempt: int = 0) -> None:
        self.outbox.put({"envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": False,
                         "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else "",
                         "payload": {"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                                     "event_id": event_id, "event_time": int(time.time()), "event": event}})

    def close(self) -> None:
        self.server.shutdown()


def wait(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_socket_mode_answers_a_mention_once_and_acks_every_envelope(slack, curriculum_mentor, tmp_path):
    ws = FakeSocketModeServer()
    slack.replies["apps.connections.open"] = {"ok": True, "url": f"ws://127.0.0.1:{ws.port}/link"}
    settings = make_settings(tmp_path, slack_bot_token="xoxb-test", slack_app_token="xapp-1-test",
                             slack_api_url=slack.api_url)
    app, _ = build_slack_app(settings, curriculum_mentor)
    handler = SocketModeHandler(app, app_token=settings.slack_app_token.get_secret_value())
    handler.connect()
    try:
        assert ws.connected.wait(30)
        open_call = slack.wait_for("apps.connections.open")[0]
        assert open_call.headers.get("Authorization") == "Bearer xapp-1-test"
        event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> what is cross-validation?",
                 "ts": "900.1", "channel": "C1"}
        mentions_before = listener_runs("on_mention")
        duplicates_before = metrics.value("mlpath_slack_duplicate_events_total", where="process")
        ws.send_event("env-1", "EvS1", event)
        post = slack.wait_for("chat.postMessage")[0].params
        assert post["thread_ts"] == "900.1" and "Cross-validation" in json.dumps(post["blocks"])
        ws.send_event("env-2", "EvS1", event, retry_attempt=1)  # Slack's redelivery of the same event
        wait(lambda: {a["envelope_id"] for a in ws.acks} >= {"env-1", "env-2"})
        # the redelivery is dropped before its ack; the first delivery's work has ended
        assert metrics.value("mlpath_slack_duplicate_events_total", where="process") == duplicates_before + 1
        wait_listener("on_mention", mentions_before)
        assert len(slack.calls_to("chat.postMessage")) == 1
    finally:
        handler.close()
        ws.close()
