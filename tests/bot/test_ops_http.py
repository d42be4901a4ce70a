"""GET /metrics and GET /healthz of the HTTP-mode bot, after real signed traffic."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
import waitress

from bot.app import wsgi_application
from mlpath import metrics
from mlpath.wiring import build_slack_app
from progress.db import Database
from tests.bot.conftest import SECRET
from tests.bot.test_http_bot import click, mention
from tests.conftest import make_settings

pytestmark = [pytest.mark.model, pytest.mark.server]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_metrics_count_requests_answers_refusals_feedback_and_quiz_answers(bot, slack):
    server = bot()
    v = metrics.value
    before = {
        "cmd": v("mlpath_slack_requests_total", kind="command"),
        "mention": v("mlpath_slack_requests_total", kind="app_mention"),
        "ack": v("mlpath_slack_ack_seconds_count", kind="command"),
        "grounded": v("mlpath_answers_total", surface="mention", outcome="grounded"),
        "refused": v("mlpath_refusals_total", surface="slash"),
        "answer_time": v("mlpath_answer_seconds_count", surface="slash"),
        "down": v("mlpath_feedback_total", vote="down"),
        "quiz": v("mlpath_quiz_answers_total", result="correct") + v("mlpath_quiz_answers_total", result="wrong"),
        "dup_quiz": v("mlpath_quiz_answers_total", result="duplicate"),
        "dup_event": v("mlpath_slack_duplicate_events_total", where="process"),
    }
    server.event(mention("500.1", "<@UBOT> what is a feature store?"), event_id="EvM1")
    server.event(mention("500.1", "<@UBOT> what is a feature store?"), event_id="EvM1",
                 headers={"X-Slack-Retry-Num": "1"})
    blocks = slack.wait_for("chat.postMessage")[0].params["blocks"]
    server.command("ask how do I bake sourdough bread?", name="refused")
    slack.wait_for("response/refused")
    answer_id = next(b for b in blocks if b.get("block_id") == "answer_feedback")["elements"][0]["value"]
    click(server, slack, user="U1", name="fb", block_id="answer_feedback",
          button={"action_id": "answer_feedback_down", "value": answer_id, "type": "button"})
    slack.wait_for("response/fb")
    server.command("quiz", user="U1", name="q")
    buttons = next(b for b in slack.wait_for("response/q")[0].params["blocks"]
                   if b.get("block_id") == "quiz_answers")["elements"]
    click(server, slack, user="U1", button=buttons[0], block_id="quiz_answers", name="a1")
    slack.wait_for("response/a1")
    click(server, slack, user="U1", button=buttons[1], block_id="quiz_answers", name="a2")
    slack.wait_for("response/a2")

    status, body = get(server.url + "/metrics")
    assert status == 200 and "# TYPE mlpath_slack_ack_seconds histogram" in body
    assert v("mlpath_slack_requests_total", kind="command") == before["cmd"] + 2
    assert v("mlpath_slack_requests_total", kind="app_mention") == before["mention"] + 2
    assert v("mlpath_slack_ack_seconds_count", kind="command") == before["ack"] + 2
    assert v("mlpath_slack_duplicate_events_total", where="process") == before["dup_event"] + 1
    assert v("mlpath_answers_total", surface="mention", outcome="grounded") == before["grounded"] + 1
    assert v("mlpath_refusals_total", surface="slash") == before["refused"] + 1
    assert v("mlpath_answer_seconds_count", surface="slash") == before["answer_time"] + 1
    assert v("mlpath_feedback_total", vote="down") == before["down"] + 1
    assert v("mlpath_quiz_answers_total", result="correct") + v("mlpath_quiz_answers_total", result="wrong") \
        == before["quiz"] + 1
    assert v("mlpath_quiz_answers_total", result="duplicate") == before["dup_quiz"] + 1
    # the exposition served over HTTP is the registry's
    assert f'mlpath_refusals_total{{surface="slash"}} {before["refused"] + 1}' in body


def test_healthz_is_ready_only_when_the_database_answers(slack, curriculum_mentor, tmp_path):
    settings = make_settings(tmp_path, slack_bot_token="xoxb-test-token", slack_signing_secret=SECRET,
                             slack_api_url=slack.api_url)
    app, services = build_slack_app(settings, curriculum_mentor)
    dead = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    servers = []
    try:
        for db in (services.progress.db, dead):
            server = waitress.create_server(wsgi_application(app, curriculum_mentor, db), host="127.0.0.1", port=0)
            threading.Thread(target=server.run, daemon=True).start()
            servers.append(server)
        ok_status, ok_body = get(f"http://127.0.0.1:{servers[0].effective_port}/healthz")
        assert ok_status == 200
        assert json.loads(ok_body)["database"] == "ok" and json.loads(ok_body)["chunks"] > 200
        bad_status, bad_body = get(f"http://127.0.0.1:{servers[1].effective_port}/healthz")
        assert bad_status == 503
        assert json.loads(bad_body) == {"status": "unavailable", "chunks": json.loads(ok_body)["chunks"],
                                        "vector_store": "ok", "database": "unavailable: OperationalError"}
    finally:
        for server in servers:
            server.close()
        dead.dispose()
