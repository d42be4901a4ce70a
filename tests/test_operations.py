"""Operations: the metrics registry and its /metrics + /healthz server, readiness checks, JSON logs without
secrets, and the event claim that several replicas share."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.guards import SharedDeduper
from errors import UserError
from knowledge.store import VectorStore
from mlpath import health, metrics, ops
from mlpath.logs import configure_logging
from progress.db import Database, upgrade
from tests.conftest import free_port, make_settings
from tests.progress.conftest import db_url  # noqa: F401, F811 - the SQLite + PostgreSQL fixture

BOT_TOKEN = "xoxb-1234-5678-abcdefSECRET"
APP_TOKEN = "xapp-1-A111-222-deadbeefSECRET"
SIGNING = "0123456789abcdef0123456789abcdef"


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read().decode()


@pytest.fixture
def sqlite_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    upgrade(url)
    db = Database(url)
    yield db
    db.dispose()


def test_every_metric_the_issue_lists_is_exposed_with_its_help():
    text, content_type = metrics.render()
    body = text.decode()
    assert content_type.startswith("text/plain") and "version=" in content_type
    for name in ("mlpath_slack_requests_total", "mlpath_slack_ack_seconds", "mlpath_answer_seconds",
                 "mlpath_refusals_total", "mlpath_feedback_total", "mlpath_quiz_answers_total",
                 "mlpath_nudges_sent_total", "mlpath_nudges_failed_total", "mlpath_llm_tokens_total",
                 "mlpath_answers_total", "mlpath_slack_duplicate_events_total"):
        assert f"# TYPE {name} " in body, name
    before = metrics.value("mlpath_refusals_total", surface="dm")
    metrics.record_answer("dm", grounded=False, seconds=0.3)
    metrics.record_llm_tokens("openai:gpt-x", prompt=120, completion=30)
    metrics.NUDGES_SENT.labels(kind="daily").inc()
    assert metrics.value("mlpath_refusals_total", surface="dm") == before + 1
    assert metrics.value("mlpath_llm_tokens_total", model="openai:gpt-x", direction="prompt") >= 120
    body = metrics.render()[0].decode()
    assert 'mlpath_answer_seconds_bucket{le="0.5",surface="dm"}' in body
    assert 'mlpath_nudges_sent_total{kind="daily"}' in body


def test_request_kinds_are_short_and_bounded():
    assert metrics.slack_request_kind({"command": "/mlpath"}) == "command"
    assert metrics.slack_request_kind({"type": "event_callback", "event": {"type": "app_mention"}}) == "app_mention"
    assert metrics.slack_request_kind({"type": "block_actions"}) == "block_actions"
    assert metrics.slack_request_kind({}) == "other"
    assert len(metrics.slack_request_kind({"type": "x" * 500})) == 40


@pytest.mark.server
def test_ops_server_serves_metrics_and_readiness_for_processes_without_http(sqlite_db):
    broken = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    ok_server = ops.serve_ops(0, host="127.0.0.1", health=lambda: health.check(db=sqlite_db))
    bad_server = ops.serve_ops(0, host="127.0.0.1", health=lambda: health.check(db=broken))
    try:
        metrics.NUDGES_FAILED.labels(kind="daily", error="account_inactive").inc()
        status, content_type, body = get(f"http://127.0.0.1:{ok_server.port}/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        assert 'mlpath_nudges_failed_total{error="account_inactive",kind="daily"}' in body
        status, _, body = get(f"http://127.0.0.1:{ok_server.port}/healthz")
        assert status == 200 and json.loads(body) == {"status": "ok", "database": "ok"}
        status, _, body = get(f"http://127.0.0.1:{bad_server.port}/healthz")
        assert status == 503 and json.loads(body) == {"status": "unavailable",
                                                      "database": "unavailable: OperationalError"}
        assert get(f"http://127.0.0.1:{ok_server.port}/nope")[0] == 404
        with pytest.raises(UserError, match=rf"METRICS_PORT={ok_server.port}: cannot listen there"):
            ops.serve_ops(ok_server.port, host="127.0.0.1")
    finally:
        ok_server.close()
        bad_server.close()
        broken.dispose()


@pytest.mark.model
@pytest.mark.server
@pytest.mark.subprocess
def test_readiness_fails_when_the_chroma_server_stops(tmp_path, embedder, sqlite_db):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma
    port = free_port()
    proc = subprocess.Popen([chroma, "run", "--path", str(tmp_path / "chroma"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _up(port):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.2)
        store = VectorStore(collection="health", model_name=embedder.name, url=f"http://127.0.0.1:{port}")
        assert health.check(store=store, db=sqlite_db) == (True, {"status": "ok", "chunks": 0,
                                                                  "vector_store": "ok", "database": "ok"})
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    ok, report = health.check(store=store, db=sqlite_db)
    assert not ok and report["status"] == "unavailable" and report["vector_store"].startswith("unavailable: ")
    assert report["database"] == "ok"


def _up(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).close()
        return True
    except OSError:
        return False


def test_json_logs_are_one_object_per_line_and_never_carry_secrets(tmp_path):
    settings = make_settings(tmp_path, slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN,
                             slack_signing_secret=SIGNING, log_format="json")
    stream = io.StringIO()
    handler = configure_logging(settings, stream=stream)
    try:
        log = logging.getLogger("mlpath.test")
        log.info("posting with %s", BOT_TOKEN, extra={"channel": "C1", "secret_hint": SIGNING})
        log.warning("socket mode with token %s\nand a second line", APP_TOKEN)
        log.info("connecting to postgresql+psycopg://mlpath:hunter2pass@db:5432/mlpath")
        try:
            raise RuntimeError(f"Slack said no to {BOT_TOKEN}")
        except RuntimeError:
            log.exception("post failed")
        log.debug("member text: secret plans")  # below INFO: not written
        logging.getLogger("slack_bolt.App").info("bolt chatter")  # libraries are quiet below WARNING
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue()
    lines = out.splitlines()
    assert len(lines) == 4
    records = [json.loads(line) for line in lines]
    assert [r["level"] for r in records] == ["info", "warning", "info", "error"]
    assert records[0]["msg"] == "posting with [redacted]" and records[0]["channel"] == "C1"
    assert records[0]["secret_hint"] == "[redacted]" and records[0]["logger"] == "mlpath.test"
    assert records[1]["msg"] == "socket mode with token [redacted]\nand a second line"
    assert records[2]["msg"] == "connecting to postgresql+psycopg://mlpath:[redacted]@db:5432/mlpath"
    assert "RuntimeError: Slack said no to [redacted]" in records[3]["exc"]
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING, "hunter2pass", "secret plans", "bolt chatter"):
        assert secret not in out


def test_text_logs_are_one_line_per_event(tmp_path):
    settings = make_settings(tmp_path, slack_bot_token=BOT_TOKEN, log_format="text", log_level="debug")
    stream = io.StringIO()
    handler = configure_logging(settings, stream=stream)
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("mlpath.x").exception("two\nlines with %s", BOT_TOKEN)
        logging.getLogger("mlpath.x").debug("debug shows at DEBUG")
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and " ERROR mlpath.x: two lines with [redacted] | Traceback" in lines[0]
    assert "ValueError: boom" in lines[0] and lines[1].endswith("DEBUG mlpath.x: debug shows at DEBUG")


def test_bad_log_and_metrics_settings_name_the_variable(tmp_path):
    from pydantic import ValidationError

    from mlpath.settings import settings_error_line

    for field, value, variable in (("log_format", "xml", "LOG_FORMAT"), ("log_level", "LOUD", "LOG_LEVEL"),
                                   ("metrics_port", "99999", "METRICS_PORT")):
        with pytest.raises(ValidationError) as err:
            make_settings(tmp_path, **{field: value})
        assert settings_error_line(err.value).startswith(f"invalid configuration: {variable}: ")
    assert make_settings(tmp_path, log_format="JSON", metrics_port="").log_format == "json"


def test_an_event_is_claimed_by_exactly_one_replica(db_url):  # noqa: F811
    upgrade(db_url)
    dbs = [Database(db_url) for _ in range(3)]
    try:
        replicas = [SharedDeduper(db, owner=f"host:{i}") for i, db in enumerate(dbs)]
        winners = [r.check("Ev1") for r in replicas]
        assert sorted(winners) == ["", "database", "database"]
        assert replicas[winners.index("")].check("Ev1") == "process"  # its own repeat: no database round trip
        assert [r.first_time("Ev2") for r in replicas].count(True) == 1
    finally:
        for db in dbs:
            db.dispose()


def test_old_event_claims_are_pruned_and_a_dead_database_does_not_lose_questions(db_url):  # noqa: F811
    upgrade(db_url)
    db = Database(db_url)
    try:
        clock = [1_700_000_000.0]
        replica = SharedDeduper(db, owner="h:1", wall_clock=lambda: clock[0])
        assert replica.check("EvOld") == ""
        clock[0] += 2 * 86400  # two days later the next claim prunes yesterday's
        other = SharedDeduper(db, owner="h:2", wall_clock=lambda: clock[0])
        assert other.check("EvNew") == ""
        assert other.check("EvOld") == "", "a pruned claim no longer blocks (Slack stopped retrying long ago)"
    finally:
        db.dispose()
    dead = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        assert SharedDeduper(dead, owner="h:3").check("EvX") == ""  # handled, and logged
    finally:
        dead.dispose()


@pytest.mark.server
def test_processes_without_http_serve_ops_on_metrics_port_only_when_it_is_set(tmp_path, sqlite_db):
    assert ops.serve_ops_from_settings(make_settings(tmp_path), db=sqlite_db) is None
    port = free_port()
    server = ops.serve_ops_from_settings(make_settings(tmp_path, metrics_port=port), db=sqlite_db)
    assert server is not None
    try:
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        assert "mlpath_nudges_sent_total" in get(f"http://127.0.0.1:{port}/metrics")[2]
    finally:
        server.close()
