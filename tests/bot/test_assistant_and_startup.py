"""The Assistant side panel over HTTP, Block Kit escaping, and start-up checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot import blocks
from bot.app import check_slack_settings
from bot.listeners.assistant import suggested_prompts
from errors import UserError
from knowledge.answer import Answer, Citation
from mlpath.wiring import build_slack_app
from tests.bot.conftest import listener_runs, wait_listener
from tests.conftest import make_settings


@pytest.mark.model
@pytest.mark.server
def test_assistant_thread_start_and_a_question(bot, slack):
    server = bot()
    from progress.service import MemberRef

    server.services.progress.set_level(MemberRef("T1", "U1"), 2, create=True)
    started = {"type": "assistant_thread_started", "event_ts": "700.2",
               "assistant_thread": {"user_id": "U1", "channel_id": "D1", "thread_ts": "700.1",
                                    "context": {"channel_id": "C1", "team_id": "T1"}}}
    assert server.event(started, event_id="EvA1")[0] == 200
    prompts = slack.wait_for("assistant.threads.setSuggestedPrompts")[0].params
    assert prompts["thread_ts"] == "700.1" and len(prompts["prompts"]) == 4
    assert prompts["prompts"][0]["title"] == "Explain linear and logistic regression"  # fits the member's Level 2
    greeting = slack.wait_for("chat.postMessage")[0].params
    assert greeting["thread_ts"] == "700.1" and "learning path" in greeting["text"]

    question = {"type": "message", "channel_type": "im", "channel": "D1", "user": "U1", "ts": "700.3",
                "thread_ts": "700.1", "text": "what is transfer learning?"}
    dm_before, respond_before = listener_runs("on_message"), listener_runs("respond")
    assert server.event(question, event_id="EvA2")[0] == 200
    status = slack.wait_for("assistant.threads.setStatus")[0].params
    assert status["thread_ts"] == "700.1" and "learning path" in status["status"]
    posts = slack.wait_for("chat.postMessage", 2)
    answer = posts[1].params
    assert answer["thread_ts"] == "700.1"
    assert "Transfer learning" in json.dumps(answer["blocks"], ensure_ascii=False)
    # Bolt's Assistant middleware takes the thread's message and never passes it on: the DM listener does not
    # run, so the answer is not given twice
    wait_listener("respond", respond_before)
    assert listener_runs("on_message") == dm_before
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_suggested_prompts_come_from_the_catalogue_level():
    prompts = suggested_prompts(2)
    assert [p["title"] for p in prompts][:2] == ["Explain linear and logistic regression", "Explain k-means clustering"]


def test_every_outside_text_is_escaped_in_answer_blocks():
    evil = "<!channel> ping <@U123> see <https://evil.example|docs> & more"
    answer = Answer("q", evil + " [1]", [Citation(1, "Level 1 › <!here> section", "s.md")], True, 0.9)
    rendered = json.dumps(blocks.build_answer(answer, feedback_value="abc"))
    for raw in ("<!channel>", "<@U123>", "<https://evil", "<!here>"):
        assert raw not in rendered
    assert "&lt;!channel&gt;" in rendered and "&amp; more" in rendered
    assert "&lt;" in blocks.answer_text(answer) and "<" not in blocks.answer_text(answer)


def test_long_answers_are_split_within_slacks_limits():
    para = "word " * 500
    answer = Answer("q", "\n\n".join([para] * 10) + ("x" * 5000), [], True, 0.9)
    out = blocks.build_answer(answer)
    sections = [b for b in out if b["type"] == "section"]
    assert len(sections) > 1 and all(len(b["text"]["text"]) <= blocks.SECTION_LIMIT for b in sections)
    assert blocks.clip("a &amp; b", 7) == "a…"  # never cut inside an escape


def test_refusals_show_nearest_sections_without_feedback_buttons():
    answer = Answer("q", "The learning path doesn't cover that.", [Citation(1, "Habits", "h.md")], False, 0.1)
    rendered = json.dumps(blocks.build_answer(answer), ensure_ascii=False)
    assert "Nearest sections" in rendered and "answer_feedback" not in rendered


@pytest.mark.parametrize("env, http, message", [
    ({}, True, "SLACK_BOT_TOKEN is not set"),
    ({"slack_bot_token": "xoxp-user-token"}, True, "SLACK_BOT_TOKEN is malformed"),
    ({"slack_bot_token": "xoxb-1"}, True, "SLACK_SIGNING_SECRET is not set"),
    ({"slack_bot_token": "xoxb-1", "slack_signing_secret": "nothex"}, True, "SLACK_SIGNING_SECRET is malformed"),
    ({"slack_bot_token": "xoxb-1"}, False, "SLACK_APP_TOKEN is not set"),
    ({"slack_bot_token": "xoxb-1", "slack_app_token": "xoxb-2"}, False, "SLACK_APP_TOKEN is malformed"),
])
def test_missing_or_malformed_tokens_name_the_variable(tmp_path, env, http, message):
    with pytest.raises(UserError, match=message) as err:
        check_slack_settings(make_settings(tmp_path, **env), http=http)
    for value in env.values():
        assert value not in str(err.value)  # never echo a secret


@pytest.mark.model
@pytest.mark.server
def test_a_rejected_token_is_one_clear_line(slack, curriculum_mentor, tmp_path):
    slack.replies["auth.test"] = {"ok": False, "error": "invalid_auth"}
    settings = make_settings(tmp_path, slack_bot_token="xoxb-bad", slack_api_url=slack.api_url)
    with pytest.raises(UserError, match=r"SLACK_BOT_TOKEN was rejected by Slack \(invalid_auth\)"):
        build_slack_app(settings, curriculum_mentor)


@pytest.mark.server
@pytest.mark.subprocess
def test_mlpath_serve_without_tokens_exits_2(tmp_path):
    exe = Path(sys.executable).parent / "mlpath"
    env = {"PATH": "/usr/bin:/bin", "MLPATH_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run([str(exe), "serve", "--http"], capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == ("mlpath: error: SLACK_BOT_TOKEN is not set (the bot token, xoxb-…, "
                                   "from your Slack app's OAuth page)")
