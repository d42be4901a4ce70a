"""`/mlpath nudges …` and the reminder DM's buttons, through the real Bolt app and the fake Slack."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.nudges import SlackSender, scheduler_client
from progress.scheduler import Scheduler
from progress.service import MemberRef
from tests.bot.test_http_bot import click, dump

pytestmark = [pytest.mark.model, pytest.mark.server]


def reply(server, slack, text: str, name: str, user: str = "U1") -> str:
    server.command(text, user=user, name=name)
    return slack.wait_for(f"response/{name}")[0].params["text"]


def ack(server, text: str, name: str, user: str = "U1") -> str:
    """A usage error is the acknowledgement itself (the routing table parses before any work)."""
    status, body = server.command(text, user=user, name=name)
    assert status == 200
    return body


def test_nudges_command_turns_off_on_sets_time_and_snoozes(bot, slack):
    slack.users["U1"] = {"tz": "Europe/Berlin", "real_name": "Ann Lee"}
    server = bot()
    assert "Daily reminders: on, at 09:00 (Europe/Berlin)" in reply(server, slack, "nudges", "n0")
    assert "off" in reply(server, slack, "nudges off", "n1")
    assert "Daily reminders: off" in reply(server, slack, "nudges", "n2")
    assert "every day at 09:00 (Europe/Berlin)" in reply(server, slack, "nudges on", "n3")
    assert "now comes at 07:45, your time (Europe/Berlin)" in reply(server, slack, "nudges time 7:45", "n4")
    assert "Snoozed: no reminders until" in reply(server, slack, "nudges snooze 3", "n5")
    assert "snoozed until" in reply(server, slack, "nudges", "n6")
    assert "Snooze ended" in reply(server, slack, "nudges snooze 0", "n7")
    server.command("progress", user="U1", name="p1")
    shown = dump(slack.wait_for("response/p1")[0].params["blocks"])
    assert "⏰ Daily reminder: 07:45 (Europe/Berlin)" in shown
    member = server.services.progress.member(MemberRef("T1", "U1"))
    assert member.nudge_time == "07:45" and member.nudges_enabled and member.snoozed_until is None


def test_bad_nudges_input_gets_one_clear_line(bot, slack):
    server = bot()
    assert "is not a time such as 09:00" in reply(server, slack, "nudges time 25:99", "b1")
    assert "Snooze takes a number of days" in ack(server, "nudges snooze soon", "b2")
    assert "from 0 to 90" in reply(server, slack, "nudges snooze 365", "b3")
    assert "Usage: `/mlpath nudges off`" in ack(server, "nudges sometimes", "b4")
    assert "&lt;!channel&gt;" in reply(server, slack, "nudges time <!channel>", "b5")


def test_the_reminder_dm_quiz_button_posts_a_question_and_keeps_the_dm(bot, slack, tmp_path):
    server = bot()
    services = server.services
    services.progress.member(MemberRef("T1", "U1"))
    settings = services.settings
    scheduler = Scheduler(services.progress, SlackSender(scheduler_client(settings), rate=100), settings)
    assert scheduler.run_nudges(datetime(2026, 11, 26, 9, 5, tzinfo=UTC)).sent == 1
    dm = slack.dms("U1")[0].params
    actions = next(b for b in dm["blocks"] if b.get("block_id") == "nudge_actions")
    click(server, slack, user="U1", button=actions["elements"][0], block_id="nudge_actions", name="dmquiz")
    posted = slack.wait_for("response/dmquiz")[0].params
    assert posted["replace_original"] is False and "quiz_answers" in dump(posted["blocks"])
    habit = next(b for b in dm["blocks"] if "accessory" in b)["accessory"]
    click(server, slack, user="U1", button=habit, block_id="h", name="dmhabit")
    assert "+15 XP" in dump(slack.wait_for("response/dmhabit")[0].params["blocks"])
