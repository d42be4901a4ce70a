"""LLM answers in Slack: the real Bolt app behind waitress, the fake Slack Web API, the fake OpenAI-compatible
server and the real langchain client. Chat streaming where the workspace supports it; post-then-update
otherwise; every failure falls back cleanly; the ack never waits for the LLM."""

from __future__ import annotations

import json
import threading

import pytest
import waitress
from slack_sdk import WebClient

from bot.app import wsgi_application
from bot.streaming import SlackAnswerStream, StreamSupport
from knowledge.llm import NOTE_BUDGET, NOTE_TIMEOUT
from mlpath.wiring import build_slack_app
from tests.bot.conftest import SECRET, BotServer, listener_runs, wait_listener
from tests.llm.conftest import llm_settings
from tests.llm.fake_openai import FakeOpenAI

pytestmark = [pytest.mark.server]

REPLY = ("SMOTE creates synthetic minority rows by interpolating between a minority point and one of its "
         "nearest minority neighbours [1]. Apply it to the training split only, never before the split, or the "
         "validation rows leak into training and the scores look better than they are [1].")


@pytest.fixture
def fake_llm():
    fake = FakeOpenAI()
    fake.default.text = REPLY
    yield fake
    fake.close()


@pytest.fixture
def llm_bot(slack, curriculum_mentor, fake_llm, tmp_path):
    servers = []

    def start(**overrides) -> BotServer:
        settings = llm_settings(tmp_path, fake_llm, slack_bot_token="xoxb-test-token", slack_signing_secret=SECRET,
                                slack_api_url=slack.api_url, **overrides)
        mentor = curriculum_mentor.with_settings(settings)
        app, services = build_slack_app(settings, mentor)
        server = waitress.create_server(wsgi_application(app, mentor), host="127.0.0.1", port=0, threads=8)

        def run() -> None:
            try:
                server.run()
            except OSError:
                pass

        threading.Thread(target=run, daemon=True).start()
        servers.append(server)
        return BotServer(f"http://127.0.0.1:{server.effective_port}", services, slack)

    yield start
    for server in servers:
        server.close()


def mention(ts: str, text: str, **extra) -> dict:
    return {"type": "app_mention", "channel": "C1", "user": "U1", "ts": ts, "text": text, **extra}


def dm(ts: str, text: str) -> dict:
    return {"type": "message", "channel_type": "im", "channel": "D1", "user": "U1", "ts": ts, "text": text}


def streamed_text(slack) -> str:
    chunks = []
    for call in slack.calls_to("chat.startStream") + slack.calls_to("chat.appendStream") + \
            slack.calls_to("chat.stopStream"):
        chunks += [c["text"] for c in call.params.get("chunks") or [] if c.get("type") == "markdown_text"]
    return "".join(chunks)


def dump(value) -> str:
    return json.dumps(value, ensure_ascii=False)


@pytest.mark.model
def test_a_mention_streams_the_llm_answer_with_sources_and_buttons_at_the_end(llm_bot, slack, fake_llm):
    server = llm_bot()
    assert server.event(mention("800.1", "<@UBOT> what does SMOTE actually do?"), event_id="EvL1")[0] == 200
    stop = slack.wait_for("chat.stopStream")[0].params
    start = slack.calls_to("chat.startStream")[0].params
    assert start["channel"] == "C1" and start["thread_ts"] == "800.1"
    assert start["recipient_user_id"] == "U1" and start["recipient_team_id"] == "T1"
    assert streamed_text(slack) == REPLY  # the whole answer arrived through the stream, in order
    assert len(slack.calls_to("chat.appendStream")) >= 1
    assert stop["ts"] and stop["channel"] == "C1"
    tail = dump(stop["blocks"])
    assert "Handling imbalanced data" in tail and "answer_feedback_up" in tail
    assert not slack.calls_to("chat.postMessage") and not slack.calls_to("chat.update")
    assert fake_llm.requests[-1]["stream"] is True

    answer_id = next(b for b in stop["blocks"] if b.get("block_id") == "answer_feedback")["elements"][0]["value"]
    row = server.services.answer_log.get(answer_id)
    assert row.answerer == "llm:openai:fake-model" and row.answer == REPLY and row.surface == "mention"
    assert (row.prompt_tokens, row.completion_tokens) == (321, 42) and row.latency_ms is not None
    assert json.loads(row.citations)[0]["section"] == "Level 2 › Feature Engineering › Handling imbalanced data"


@pytest.mark.model
def test_without_streaming_support_the_answer_is_posted_once_then_updated(llm_bot, slack, fake_llm):
    slack.streaming = False
    server = llm_bot()
    before = listener_runs("on_mention")
    server.event(mention("810.1", "<@UBOT> what does SMOTE actually do?"), event_id="EvL2")
    final = slack.wait_for("chat.update")[-1]
    wait_listener("on_mention", before)
    posts, updates = slack.calls_to("chat.postMessage"), slack.calls_to("chat.update")
    assert len(slack.calls_to("chat.startStream")) == 1 and not slack.calls_to("chat.stopStream")
    assert len(posts) == 1 and posts[0].params["thread_ts"] == "810.1" and posts[0].params["text"].endswith("…")
    final = updates[-1].params
    assert final["channel"] == "C1" and final["ts"]
    assert "answer_feedback_up" in dump(final["blocks"]) and "interpolating" in dump(final["blocks"])

    # the workspace's answer is remembered: the next answer doesn't try chat.startStream again
    server.event(mention("820.1", "<@UBOT> what does SMOTE actually do?"), event_id="EvL3")
    slack.wait_for("chat.postMessage", 2)
    slack.wait_for("chat.update", len(updates) + 1)
    assert len(slack.calls_to("chat.startStream")) == 1


@pytest.mark.model
def test_a_top_level_dm_is_posted_then_updated(llm_bot, slack):
    server = llm_bot()
    before = listener_runs("on_message")
    server.event(dm("830.1", "what does SMOTE actually do?"), event_id="EvL4")
    slack.wait_for("chat.update")
    wait_listener("on_message", before)
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 1 and posts[0].params.get("thread_ts") is None
    assert not slack.calls_to("chat.startStream")  # no thread to stream into
    assert "answer_feedback_up" in dump(slack.calls_to("chat.update")[-1].params["blocks"])


@pytest.mark.model
def test_an_llm_that_stalls_mid_stream_is_replaced_by_the_extractive_answer(llm_bot, slack, fake_llm):
    server = llm_bot(llm_timeout=1.5)
    fake_llm.then(text=REPLY, stall_after=20, stall=30)  # ~140 characters, then silence
    server.event(mention("840.1", "<@UBOT> what does SMOTE actually do?"), event_id="EvL5")
    final = slack.wait_for("chat.update")[-1].params
    assert slack.calls_to("chat.stopStream")  # the stream was closed first
    text = dump(final["blocks"])
    assert NOTE_TIMEOUT.split(",")[0] in text and "Handling imbalanced data" in text
    assert "Traceback" not in text


@pytest.mark.model
def test_the_daily_budget_switches_a_member_to_extractive_answers(llm_bot, slack, fake_llm):
    server = llm_bot(llm_daily_budget=1)
    server.event(mention("850.1", "<@UBOT> what does SMOTE actually do?"), event_id="EvL6")
    slack.wait_for("chat.stopStream")
    server.event(mention("860.1", "<@UBOT> what is a feature store?"), event_id="EvL7")
    second = slack.wait_for("chat.postMessage")[0].params
    assert NOTE_BUDGET.format(budget=1).split(",")[0] in dump(second["blocks"])
    assert len(fake_llm.requests) == 1
    rows = server.services.answer_log.recent()
    assert sorted(r.answerer for r in rows) == ["extractive", "llm:openai:fake-model"]


@pytest.mark.model
def test_the_ack_never_waits_for_the_llm(llm_bot, slack, fake_llm):
    server = llm_bot(llm_timeout=20)
    fake_llm.then(text=REPLY, delay=4)
    status, _ = server.command("ask what does SMOTE actually do?", name="slow")
    assert status == 200
    assert not slack.calls_to("response/slow")  # acknowledged while the LLM is still thinking
    reply = slack.wait_for("response/slow")[0].params
    assert reply["response_type"] == "ephemeral" and "interpolating" in dump(reply["blocks"])
    assert fake_llm.requests[-1].get("stream") in (None, False)  # a slash answer is one response, not streamed


def test_post_then_update_happens_at_most_once_a_second(slack):
    """The fallback path with an injected clock: 30 pieces over 2.9 s give at most 3 interim updates."""
    now = [0.0]
    slack.streaming = False
    client = WebClient(token="xoxb-test", base_url=slack.api_url)
    stream = SlackAnswerStream(client, channel="C1", thread_ts="900.1", team_id="T1", user_id="U1",
                               support=StreamSupport(), clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for i in range(30):
        stream.on_text(f"word{i} ")
        now[0] += 0.1
    interim = len(slack.calls_to("chat.update"))
    assert len(slack.calls_to("chat.postMessage")) == 1 and 1 <= interim <= 3
    stream.finish(text="final", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "final"}}], tail=[],
                  final_text=None)
    updates = slack.calls_to("chat.update")
    assert len(updates) == interim + 1 and updates[-1].params["text"] == "final"
    assert "&lt;" not in updates[0].params["text"]


def test_streamed_text_is_escaped_for_slack(slack):
    client = WebClient(token="xoxb-test", base_url=slack.api_url)
    stream = SlackAnswerStream(client, channel="C1", thread_ts="910.1", team_id="T1", user_id="U1",
                               support=StreamSupport())
    stream.on_text("Ping <!channel> & <@U123> [1]")
    stream.finish(text="x", blocks=[], tail=[], final_text="Ping <!channel> & <@U123> [1]")
    assert streamed_text(slack) == "Ping &lt;!channel&gt; &amp; &lt;@U123&gt; [1]"


@pytest.mark.model
def test_a_stream_that_slack_breaks_halfway_is_finished_by_an_update(llm_bot, slack):
    slack.force("chat.appendStream", 200, {"ok": False, "error": "message_not_in_streaming_state"})
    server = llm_bot()
    before = listener_runs("on_mention")
    server.event(mention("920.1", "<@UBOT> what does SMOTE actually do?"), event_id="EvL8")
    final = slack.wait_for("chat.update")[-1].params
    wait_listener("on_mention", before)
    assert len(slack.calls_to("chat.startStream")) == 1 and not slack.calls_to("chat.postMessage")
    assert final["ts"] and "answer_feedback_up" in dump(slack.calls_to("chat.update")[-1].params["blocks"])


@pytest.mark.model
def test_the_assistant_panel_streams_into_its_thread(llm_bot, slack):
    server = llm_bot()
    question = {"type": "message", "channel_type": "im", "channel": "D1", "user": "U1", "ts": "930.3",
                "thread_ts": "930.1", "text": "what does SMOTE actually do?"}
    assert server.event(question, event_id="EvL9")[0] == 200
    slack.wait_for("chat.stopStream")
    start = slack.calls_to("chat.startStream")[0].params
    assert start["channel"] == "D1" and start["thread_ts"] == "930.1"
    assert streamed_text(slack) == REPLY
    assert slack.calls_to("assistant.threads.setStatus")
