"""`mlpath serve` in Socket Mode as a real process, as the compose `bot` service runs it: /healthz and
/metrics on METRICS_PORT, answers over the local websocket server, JSON logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.bot.test_replicas import shared_collection  # noqa: F401 - the curriculum on the Chroma server
from tests.bot.test_socket_mode import FakeSocketModeServer, wait
from tests.conftest import free_port

pytestmark = [pytest.mark.model, pytest.mark.server, pytest.mark.subprocess]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_socket_mode_process_serves_health_and_metrics_on_metrics_port(tmp_path, slack, chroma_server,
                                                                      shared_collection):  # noqa: F811
    ws = FakeSocketModeServer()
    slack.replies["apps.connections.open"] = {"ok": True, "url": f"ws://127.0.0.1:{ws.port}/link"}
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLPATH_", "SLACK_", "DATABASE_URL", "CHROMA_", "LOG_", "METRICS_"))}
    env.update(CHROMA_URL=chroma_server, CHROMA_COLLECTION=shared_collection, SLACK_BOT_TOKEN="xoxb-sm-token",
               SLACK_APP_TOKEN="xapp-1-sm-token", SLACK_API_URL=slack.api_url, METRICS_PORT=str(port),
               LOG_FORMAT="json", MLPATH_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "mlpath"), "serve"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while not (_listening(port) and get(f"http://127.0.0.1:{port}/healthz")[0] == 200):
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "the Socket Mode bot did not become ready"
            time.sleep(0.5)
        status, body = get(f"http://127.0.0.1:{port}/healthz")
        assert json.loads(body)["database"] == "ok" and json.loads(body)["vector_store"] == "ok"
        assert ws.connected.wait(60)
        event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> what is cross-validation?",
                 "ts": "910.1", "channel": "C1"}
        ws.send_event("env-1", "EvP1", event)
        ws.send_event("env-2", "EvP1", event, retry_attempt=1)
        post = slack.wait_for("chat.postMessage", timeout=120)[0].params
        assert post["thread_ts"] == "910.1" and "Cross-validation" in json.dumps(post["blocks"])
        wait(lambda: {a["envelope_id"] for a in ws.acks} >= {"env-1", "env-2"})
        # the redelivery was dropped before its ack; the first delivery's work has ended (the bot counts it)
        wait(lambda: 'mlpath_listener_runs_total{listener="on_mention"} 1.0' in get(f"http://127.0.0.1:{port}/metrics")[1])
        assert len(slack.calls_to("chat.postMessage")) == 1
        metrics = get(f"http://127.0.0.1:{port}/metrics")[1]
        assert 'mlpath_slack_requests_total{kind="app_mention"} 2.0' in metrics
        assert 'mlpath_answers_total{outcome="grounded",surface="mention"} 1.0' in metrics
        assert 'mlpath_slack_duplicate_events_total{where="process"} 1.0' in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        ws.close()
    text = log_path.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert any(r["msg"] == "answered on mention" for r in records)
    assert "xoxb-sm-token" not in text and "xapp-1-sm-token" not in text and "cross-validation" not in text


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0
