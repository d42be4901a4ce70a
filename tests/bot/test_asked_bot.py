"""Issue 25, part 1 in Slack: a question asked in Slack comes back in the next day's reminder DM as a quick check
with answer buttons; the verdict comes below it (the DM stays); `/mlpath progress` counts it; `/mlpath nudges
asked off` stops it. The real Bolt app behind its HTTP server, the fake Slack, the real model and curriculum."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.nudges import SlackSender, scheduler_client
from progress import repository as repo
from progress.scheduler import Scheduler
from progress.service import MemberRef, utcnow
from tests.bot.test_http_bot import click, dump

pytestmark = [pytest.mark.model, pytest.mark.server]


def reply(server, slack, text: str, name: str) -> dict:
    server.command(text, user="U1", name=name)
    return slack.wait_for(f"response/{name}")[0].params


def test_a_question_asked_in_slack_comes_back_in_the_next_days_dm(bot, slack):
    slack.users["U1"] = {"tz": "UTC", "real_name": "Ann Lee"}
    server = bot()
    services = server.services
    answered = reply(server, slack, "ask how is a window function different from GROUP BY?", "ask1")
    assert "window" in dump(answered).lower()
    member = services.progress.member(MemberRef("T1", "U1"))
    with services.progress.db.session() as s:
        [asked] = repo.asked_topics(s, member_id=member.id)
    title = services.progress.cat.topic(asked.topic).title

    scheduler = Scheduler(services.progress, SlackSender(scheduler_client(services.settings), rate=100),
                          services.settings)
    tomorrow = datetime.combine(utcnow().date() + timedelta(days=1), time(9, 5), tzinfo=UTC)
    assert scheduler.run_nudges(tomorrow).sent == 1
    dm = slack.dms("U1")[0].params
    shown = dump(dm["blocks"])
    assert f"you asked about {title} — quick check?" in shown
    buttons = next(b for b in dm["blocks"] if b.get("block_id") == "asked_answers")["elements"]
    click(server, slack, user="U1", button=buttons[0], block_id="asked_answers", name="dmanswer")
    verdict = slack.wait_for("response/dmanswer")[0].params
    assert verdict["replace_original"] is False and ("Correct" in dump(verdict) or "Not quite" in dump(verdict))

    progress = dump(reply(server, slack, "progress", "p1")["blocks"])
    assert "Topics you asked about: 0 of 1 mastered" in progress
    assert "No more quick checks" in reply(server, slack, "nudges asked off", "off")["text"]
    assert services.progress.member(MemberRef("T1", "U1")).asked_reviews is False
    assert "Checks of what you asked: off" in reply(server, slack, "nudges", "show")["text"]
