"""The bot end to end over HTTP: signed requests in, calls to the fake Slack out."""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from mlpath import metrics
from tests.bot.conftest import listener_runs, wait_listener

pytestmark = [pytest.mark.model, pytest.mark.server]


def dump(data) -> str:
    return json.dumps(data, ensure_ascii=False)


def test_healthz(bot):
    server = bot()
    with urllib.request.urlopen(server.url + "/healthz", timeout=10) as resp:
        data = json.loads(resp.read())
    assert resp.status == 200 and data["status"] == "ok" and data["chunks"] > 200


def test_slash_ask_acks_at_once_then_answers_ephemerally_with_sources(bot, slack):
    server = bot()
    status, body = server.command("ask what does SMOTE actually do?", name="ask1")
    assert status == 200 and "Looking that up" in body
    reply = slack.wait_for("response/ask1")[0].params
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is True
    text = dump(reply["blocks"])
    assert "synthetic" in text.lower() and "[1] Level 2 › Feature Engineering › Handling imbalanced data" in text
    assert "answer_feedback_up" in text


@pytest.mark.parametrize("text, expect", [
    ("", "/mlpath ask QUESTION"),
    ("help", "/mlpath ask"),
    ("nudges", "One moment"),
    ("quiz", "One moment"),
    ("frobnicate now", "Unknown command `frobnicate`; `/mlpath help` lists them."),
    ("<!channel>", "Unknown command `&lt;!channel&gt;`"),
    ("ask", "Ask a question after it, e.g. `/mlpath ask what does SMOTE"),
    ("setlevel U123 12", "Usage: `/mlpath setlevel @member N` with N from 1 to 4."),
    ("ingest", "Only mlpath admins"),
])
def test_router_answers_in_the_ack(bot, text, expect):
    status, body = bot().command(text)
    assert status == 200 and expect in body
    assert "<!channel>" not in body


def test_forged_unsigned_and_stale_requests_get_401_and_reach_nothing(bot, slack):
    server = bot()
    calls_before = len(slack.calls)
    runs_before = listener_runs("run_command")
    assert server.command("ask what is PCA?", secret="f" * 32)[0] == 401
    assert server.command("ask what is PCA?", signed=False)[0] == 401
    assert server.command("ask what is PCA?", timestamp=int(time.time()) - 301)[0] == 401
    # Bolt rejects before any listener is dispatched: a 401 means no lazy work exists to wait for
    assert len(slack.calls) == calls_before
    assert listener_runs("run_command") == runs_before
    assert not server.services.answer_log.recent()


def mention(ts: str, text: str, **extra) -> dict:
    return {"type": "app_mention", "user": "U1", "text": text, "ts": ts, "channel": "C1", **extra}


def test_a_mention_is_answered_once_in_a_thread_even_when_slack_retries(bot, slack):
    server = bot()
    event = mention("111.1", "<@UBOT> how do I detect data drift?")
    duplicates_before = metrics.value("mlpath_slack_duplicate_events_total", where="process")
    mentions_before = listener_runs("on_mention")
    assert server.event(event, event_id="Ev1")[0] == 200
    post = slack.wait_for("chat.postMessage")[0].params
    assert post["channel"] == "C1" and post["thread_ts"] == "111.1"
    assert "Level 3" in dump(post["blocks"])
    assert slack.wait_for("reactions.add")[0].params["name"] == "eyes"
    slack.wait_for("reactions.remove")
    wait_listener("on_mention", mentions_before)
    # Slack's retries of the same event (after a timeout) never produce a second reply
    assert server.event(event, event_id="Ev1", headers={"X-Slack-Retry-Num": "1",
                                                        "X-Slack-Retry-Reason": "http_timeout"})[0] == 200
    assert server.event(event, event_id="Ev1", headers={"X-Slack-Retry-Num": "2"})[0] == 200
    # the duplicate-event middleware drops retries before the ack returns: no listener ran for them
    assert metrics.value("mlpath_slack_duplicate_events_total", where="process") == duplicates_before + 2
    assert listener_runs("on_mention") == mentions_before + 1
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_direct_messages_are_answered_in_the_dm(bot, slack):
    server = bot()
    server.event({"type": "message", "channel_type": "im", "channel": "D1", "user": "U1", "ts": "5.1",
                  "text": "what are the daily habits?"}, event_id="Ev2")
    post = slack.wait_for("chat.postMessage")[0].params
    assert post["channel"] == "D1" and not post.get("thread_ts")
    assert "Habits" in dump(post["blocks"])
    with server.services.progress.db.session() as s:  # a question is a first interaction too
        from progress.models import Member

        assert s.query(Member).filter_by(team_id="T1", user_id="U1").count() == 1


@pytest.mark.parametrize("event, dispatched", [
    ({"subtype": "bot_message", "bot_id": "B9", "text": "what is PCA?"}, True),
    # the bot's own messages: Bolt's self-event filter drops them before the ack, so no listener runs
    ({"user": "UBOT", "bot_id": "BBOT", "text": "what is PCA?"}, False),
    ({"subtype": "message_changed", "message": {"text": "what is PCA?"}}, True),
    ({"subtype": "message_deleted"}, True),
])
def test_bot_messages_and_edits_are_ignored(bot, slack, event, dispatched):
    server = bot()
    base = {"type": "message", "channel_type": "im", "channel": "D1", "ts": "6.1", "user": "U1"}
    before = listener_runs("on_message")
    assert server.event({**base, **event}, event_id="Ev-ignored")[0] == 200
    if dispatched:
        wait_listener("on_message", before)
    else:
        assert listener_runs("on_message") == before
    assert not slack.calls_to("chat.postMessage")


def test_a_thread_follow_up_without_mention_uses_the_thread_as_context(bot, slack):
    server = bot()
    slack.threads["200.1"] = [
        {"user": "U1", "ts": "200.1", "text": "<@UBOT> how do I handle imbalanced data?"},
        {"user": "UBOT", "bot_id": "BBOT", "ts": "200.2", "text": "Use SMOTE or class weights [1]"},
        {"user": "U1", "ts": "200.3", "text": "and class weights?"},
    ]
    server.event({"type": "message", "channel_type": "channel", "channel": "C1", "user": "U1", "ts": "200.3",
                  "thread_ts": "200.1", "text": "and class weights?"}, event_id="Ev3")
    post = slack.wait_for("chat.postMessage")[0].params
    assert post["thread_ts"] == "200.1"
    assert "Handling imbalanced data" in dump(post["blocks"])


def test_threads_without_the_bot_are_left_alone(bot, slack):
    server = bot()
    slack.threads["300.1"] = [{"user": "U2", "ts": "300.1", "text": "lunch?"}]
    before = listener_runs("on_message")
    server.event({"type": "message", "channel_type": "channel", "channel": "C1", "user": "U1", "ts": "300.2",
                  "thread_ts": "300.1", "text": "what is PCA?"}, event_id="Ev4")
    slack.wait_for("conversations.replies")
    wait_listener("on_message", before)
    assert not slack.calls_to("chat.postMessage")


def test_feedback_is_stored_once_per_member_and_the_buttons_are_replaced(bot, slack):
    server = bot()
    server.event(mention("400.1", "<@UBOT> what is a feature store?"), event_id="Ev5")
    blocks = slack.wait_for("chat.postMessage")[0].params["blocks"]
    answer_id = next(b for b in blocks if b.get("block_id") == "answer_feedback")["elements"][0]["value"]
    payload = {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"},
               "response_url": slack.response_url("fb"), "trigger_id": "1",
               "container": {"type": "message", "channel_id": "C1", "message_ts": "400.2"},
               "channel": {"id": "C1"}, "message": {"ts": "400.2", "text": "answer", "blocks": blocks},
               "actions": [{"action_id": "answer_feedback_down", "block_id": "answer_feedback",
                            "value": answer_id, "type": "button", "action_ts": "1"}]}
    ts = int(time.time())
    assert server.action(payload, timestamp=ts)[0] == 200
    update = slack.wait_for("response/fb")[0].params
    assert update["replace_original"] is True
    assert "answer_feedback" not in dump(update["blocks"]) and "not helpful" in dump(update["blocks"])
    assert server.action(payload, timestamp=ts) == (200, "")  # the same signed request replayed: dropped
    server.action(payload, timestamp=ts + 1)  # the same click delivered again
    slack.wait_for("response/fb", 2)
    log = server.services.answer_log
    row = log.get(answer_id)
    assert row is not None and row.feedback == -1 and row.user_id == "U1" and row.surface == "mention"
    assert row.question == "what is a feature store?" and json.loads(row.citations)
    assert row.answerer == "extractive" and row.prompt_tokens is None
    # a newer click changes the vote; replaying the older one afterwards changes nothing
    newer = {**payload, "actions": [{**payload["actions"][0], "action_id": "answer_feedback_up", "action_ts": "5"}]}
    server.action(newer, timestamp=ts + 2)
    slack.wait_for("response/fb", 3)
    server.action(payload, timestamp=ts + 3)
    slack.wait_for("response/fb", 4)
    assert log.get(answer_id).feedback == 1
    assert [r.public_id for r in log.recent()].count(answer_id) == 1


def test_the_rate_limit_answers_kindly(bot, slack):
    server = bot(question_rate_limit=1)
    server.command("ask what is PCA?", name="r1")
    first = dump(slack.wait_for("response/r1")[0].params)  # answered first: two in flight would race
    server.command("ask what is ACID?", name="r2")
    second = dump(slack.wait_for("response/r2")[0].params)
    assert "Principal" in first or "PCA" in first
    assert "questions in the last hour" in second


def test_a_429_from_slack_is_waited_out_and_posted_once(bot, slack):
    server = bot()
    slack.force("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
    before = listener_runs("on_mention")
    server.event(mention("500.1", "<@UBOT> what is PCA?"), event_id="Ev6")
    calls = slack.wait_for("chat.postMessage", 2)
    assert [c.status for c in calls] == [429, 200]
    wait_listener("on_mention", before)
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_a_failed_post_is_not_retried_into_a_duplicate(bot, slack):
    server = bot()
    slack.force("chat.postMessage", 500, {"ok": False, "error": "internal_error"})
    before = listener_runs("on_mention")
    server.event(mention("600.1", "<@UBOT> what is PCA?"), event_id="Ev7")
    slack.wait_for("chat.postMessage")
    wait_listener("on_mention", before)
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_concurrent_slash_commands_are_all_acknowledged(bot, slack):
    server = bot()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda i: server.command(f"ask what is PCA? {i}", name=f"c{i}"), range(20)))
    assert all(status == 200 and "Looking that up" in body for status, body in results)
    for i in range(20):
        slack.wait_for(f"response/c{i}")


def test_admins_can_reingest_from_slack(bot, slack):
    server = bot(admin_user_ids="UADMIN, UOTHER")
    status, body = server.command("ingest", user="UADMIN", name="ing")
    assert status == 200 and "Re-ingesting" in body
    reply = slack.wait_for("response/ing")[0].params
    assert reply["response_type"] == "ephemeral" and "0 added" in reply["text"] and "unchanged" in reply["text"]
    status, body = server.command("help", user="UADMIN")
    assert "/mlpath ingest" in body
    status, body = server.command("help", user="U1")
    assert "/mlpath ingest" not in body


def click(server, slack, *, user: str, button: dict, block_id: str, name: str) -> None:
    """A block_actions payload for an ephemeral message, as Slack sends it when `user` clicks `button`."""
    server.action({"type": "block_actions", "user": {"id": user, "name": user}, "team": {"id": "T1"},
                   "response_url": slack.response_url(name), "trigger_id": "1",
                   "container": {"type": "message", "is_ephemeral": True},
                   "actions": [{**button, "block_id": block_id, "action_ts": "1"}]})


def test_quiz_in_slack_answers_once_and_only_by_its_member(bot, slack):
    server = bot()
    server.command("quiz window functions", user="U1", name="q1")
    posted = slack.wait_for("response/q1")[0].params
    buttons = next(b for b in posted["blocks"] if b.get("block_id") == "quiz_answers")["elements"]
    assert [b["text"]["text"] for b in buttons] == ["A", "B", "C", "D"] and "Window functions" not in dump(posted)

    def answer(user: str, i: int, name: str) -> None:
        click(server, slack, user=user, button=buttons[i], block_id="quiz_answers", name=name)

    answer("U2", 0, "stranger")
    assert "sent to someone else" in slack.wait_for("response/stranger")[0].params["text"]
    answer("U1", 1, "a1")
    result = slack.wait_for("response/a1")[0].params
    text = dump(result["blocks"])
    assert result["replace_original"] is True and "You chose *B.*" in text
    assert "Source: Level 1 › SQL and Databases › Window functions" in text and "Next question" in text
    answer("U1", 2, "a2")  # second click / replay
    assert "already answered" in slack.wait_for("response/a2")[0].params["text"]
    with server.services.progress.db.session() as s:
        from progress.models import Delivery

        answered = s.query(Delivery).filter(Delivery.answered_at.is_not(None)).all()
    assert len(answered) == 1 and answered[0].chosen == 1


def test_progress_habits_done_and_leaderboard_commands(bot, slack):
    server = bot()
    server.command("done read-paper", user="U1", name="d1")
    assert "+15 XP" in slack.wait_for("response/d1")[0].params["text"]
    server.command("done read-paper", user="U1", name="d2")
    assert "Already checked in" in slack.wait_for("response/d2")[0].params["text"]
    server.command("done juggling", user="U1", name="d3")
    assert "read-paper" in slack.wait_for("response/d3")[0].params["text"]
    server.command("habits", user="U1", name="h1")
    habits = dump(slack.wait_for("response/h1")[0].params["blocks"])
    assert "✅ Read 1 research paper or blog post" in habits and "habit_done_practice-coding" in habits
    server.command("progress", user="U1", name="p1")
    progress = dump(slack.wait_for("response/p1")[0].params["blocks"])
    assert "Level 1: Foundations" in progress and "Streak: 1 day(s)" in progress
    server.command("leaderboard", user="U1", name="l1")
    board = dump(slack.wait_for("response/l1")[0].params["blocks"])
    assert "1. ann — 15 XP" in board
    server.command("leaderboard off", user="U1", name="l2")
    assert "no longer appear" in slack.wait_for("response/l2")[0].params["text"]
    server.command("leaderboard", user="U1", name="l3")
    assert "ann" not in dump(slack.wait_for("response/l3")[0].params["blocks"])
    before = listener_runs("run_command")
    status, ack = server.command("setlevel <@U7|bo> 3", user="U1", name="s1")  # not an admin
    assert status == 200 and "Only mlpath admins (ADMIN_USER_IDS) can use `/mlpath setlevel`" in ack
    wait_listener("run_command", before)
    assert not slack.calls_to("response/s1")


def test_admins_set_levels_and_level_4_members_pick_a_track(bot, slack):
    server = bot(admin_user_ids="UADMIN")
    server.command("setlevel <@U7|bo> 4", user="UADMIN", name="s1")
    assert "is now at Level 4" in slack.wait_for("response/s1")[0].params["text"]
    status, ack = server.command("setlevel <@U7|bo> 9", user="UADMIN", name="s2")
    assert status == 200 and "Usage: `/mlpath setlevel @member N` with N from 1 to 4." in ack
    status, ack = server.command("setlevel U123 12", user="UADMIN", name="s3")  # "12" once passed the check
    assert status == 200 and "Usage: `/mlpath setlevel @member N` with N from 1 to 4." in ack
    server.command("setlevel <@U7|bo> 2", user="UADMIN", name="s4")  # a valid one after: s2 and s3 sent nothing
    assert "is now at Level 2" in slack.wait_for("response/s4")[0].params["text"]
    assert not slack.calls_to("response/s2") and not slack.calls_to("response/s3")
    server.command("setlevel <@U7|bo> 4", user="UADMIN", name="s5")
    slack.wait_for("response/s5")
    server.command("track b", user="U7", name="t1")
    assert "track is now B" in slack.wait_for("response/t1")[0].params["text"]
    server.command("quiz", user="U7", name="q1")
    posted = slack.wait_for("response/q1")[0].params["blocks"]
    assert "New question* · Level 4" in dump(posted)
    token = posted[1]["elements"][0]["value"].split(":")[0]
    with server.services.progress.db.session() as s:
        from progress.models import Delivery

        question_id = s.query(Delivery).filter_by(token=token).one().question_id
    assert server.services.progress.bank[question_id].track == "B"  # only the member's track at Level 4


def test_app_home_shows_the_dashboard_and_refreshes_after_a_check_in(bot, slack):
    server = bot()
    slack.replies["users.info"] = {"ok": True, "user": {"id": "U1", "tz": "Asia/Tokyo", "real_name": "Ann"}}
    server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}, event_id="EvH1")
    home = slack.wait_for("views.publish")[0].params
    view = home["view"] if isinstance(home["view"], dict) else json.loads(home["view"])
    assert home["user_id"] == "U1" and view["type"] == "home"
    assert "Level 1: Foundations" in dump(view) and "habit_done_read-paper" in dump(view)
    server.command("done read-paper", user="U1", name="d1")
    slack.wait_for("response/d1")
    second = slack.wait_for("views.publish", 2)[1].params
    view = second["view"] if isinstance(second["view"], dict) else json.loads(second["view"])
    assert "✅ Read 1 research paper or blog post" in dump(view)
    with server.services.progress.db.session() as s:
        from progress.models import Member

        assert s.query(Member).filter_by(user_id="U1").one().tz == "Asia/Tokyo"


def question_of(server, buttons: list[dict]):  # type: ignore[no-untyped-def]
    token = buttons[0]["value"].split(":")[0]
    with server.services.progress.db.session() as s:
        from progress.models import Delivery

        qid = s.query(Delivery).filter_by(token=token).one().question_id
    return server.services.progress.bank[qid]


def test_placement_in_slack_walks_through_the_questions_and_explains_the_level(bot, slack):
    server = bot()
    server.command("quiz placement", user="U9", name="pl0")
    result: dict = {}
    for step in range(25):
        posted = slack.wait_for(f"response/pl{step}")[0].params
        assert "Placement · question" in dump(posted["blocks"]) and "of up to" in dump(posted["blocks"])
        buttons = next(b for b in posted["blocks"] if b.get("block_id") == "quiz_answers")["elements"]
        q = question_of(server, buttons)
        chosen = q.answer if q.level <= 2 else (q.answer + 1) % 4  # knows Levels 1-2, not 3
        click(server, slack, user="U9", button=buttons[chosen], block_id="quiz_answers", name=f"pa{step}")
        result = slack.wait_for(f"response/pa{step}")[0].params
        if "Placement done" in dump(result["blocks"]):
            break
        nxt = next(b for b in result["blocks"] if b.get("block_id") == "quiz_next")["elements"][-1]
        assert nxt["text"]["text"] == "Next placement question"
        click(server, slack, user="U9", button=nxt, block_id="quiz_next", name=f"pl{step + 1}")
    text = dump(result["blocks"])
    assert "Placement done: you start at *Level 3*" in text
    assert "Placement done: you start at *Level 3* (Level 1 4/4, Level 2 4/4, Level 3 0/2)." in text
    assert step == 9  # 4 + 4 + 2 questions


def test_a_locked_level_and_level_4_without_a_track_say_what_to_do(bot, slack):
    server = bot(admin_user_ids="UADMIN")
    server.command("quiz 2", user="U1", name="q2")
    reply = slack.wait_for("response/q2")[0].params["text"]
    assert "Level 2 is locked: you are at Level 1. It opens when you master 16 of your Level 1 topics" in reply
    server.command("track a", user="U1", name="t0")
    assert "Tracks are chosen at Level 4" in slack.wait_for("response/t0")[0].params["text"]
    server.command("setlevel <@U1|ann> 4", user="UADMIN", name="s1")
    slack.wait_for("response/s1")
    server.command("quiz 4", user="U1", name="q4")
    reply = slack.wait_for("response/q4")[0].params["text"]
    assert "choose one first (A Deep Learning" in reply and "`/mlpath track A-E`" in reply
    server.command("progress", user="U1", name="p1")
    progress = dump(slack.wait_for("response/p1")[0].params["blocks"])
    assert "Choose your specialization track with `/mlpath track A-E`" in progress


def test_a_wrong_answer_offers_the_section_and_progress_shows_topic_states(bot, slack):
    server = bot()
    server.command("quiz window functions", user="U1", name="q1")
    buttons = next(b for b in slack.wait_for("response/q1")[0].params["blocks"]
                   if b.get("block_id") == "quiz_answers")["elements"]
    q = question_of(server, buttons)
    click(server, slack, user="U1", button=buttons[(q.answer + 1) % 4], block_id="quiz_answers", name="a1")
    result = slack.wait_for("response/a1")[0].params
    actions = next(b for b in result["blocks"] if b.get("block_id") == "quiz_next")["elements"]
    assert [b["text"]["text"] for b in actions] == ["Read the section", "Next question"]
    assert "comes back for a review in a few minutes" in dump(result["blocks"])
    home = slack.wait_for("views.publish")[0].params  # App Home refreshed after the answer, topic states included
    assert "📘 learning · Window functions" in dump(home["view"]) and "▫️ new · Data structures" in dump(home["view"])
    click(server, slack, user="U1", button=actions[0], block_id="quiz_next", name="r1")
    section = slack.wait_for("response/r1")[0].params
    assert section["replace_original"] is False and section["text"] == "Window functions"
    assert "*What it is.* A window function computes a value over rows" in dump(section["blocks"])
    server.command("progress", user="U1", name="p1")
    progress = dump(slack.wait_for("response/p1")[0].params["blocks"])
    assert "📘 learning · Window functions" in progress and "▫️ new · Data structures" in progress


def test_free_text_check_in_shows_the_match_and_undo_takes_the_xp_back(bot, slack):
    server = bot()
    server.command("done I watched a PyData talk", user="U1", name="d1")
    reply = slack.wait_for("response/d1")[0].params
    assert "Watch conference talks or tutorials — +25 XP (matched “watched, talk”)" in reply["text"]
    undo = reply["blocks"][0]["accessory"]
    assert undo["text"]["text"] == "Undo" and undo["value"] == "watch-talks"
    click(server, slack, user="U1", button=undo, block_id=reply["blocks"][0].get("block_id", "b"), name="u1")
    assert "Undone: Watch conference talks or tutorials — 25 XP removed" in slack.wait_for("response/u1")[0].params["text"]
    click(server, slack, user="U1", button=undo, block_id="b", name="u2")  # a replayed click
    assert "Nothing to undo" in slack.wait_for("response/u2")[0].params["text"]
    server.command("leaderboard", user="U1", name="l1")
    assert "No XP yet this week" in dump(slack.wait_for("response/l1")[0].params["blocks"])
    server.command("undo watch-talks", user="U1", name="u3")
    assert "Nothing to undo" in slack.wait_for("response/u3")[0].params["text"]
