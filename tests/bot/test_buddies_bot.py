"""Buddies in Slack (issue 25, part 3): `/mlpath buddy on|off`, the offer under a wrong answer, and the Yes click
reaching two replicas (two real Bolt apps behind their HTTP servers on one PostgreSQL database, as behind a load
balancer, with the same click replayed to both): one group DM with both members, one intro."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from progress.buddies import Buddies
from progress.db import upgrade
from progress.service import MemberRef, QuizPrompt, utcnow
from tests.bot.conftest import listener_runs, wait_listener
from tests.bot.test_http_bot import click, dump

PG_URL = os.environ.get("MLPATH_TEST_POSTGRES_URL")
pytestmark = [pytest.mark.model, pytest.mark.server, pytest.mark.postgres,
              pytest.mark.skipif(not PG_URL, reason="MLPATH_TEST_POSTGRES_URL is not set (replicas need PostgreSQL)")]
TOPIC = "window-functions"


@pytest.fixture
def pg_url():
    assert PG_URL
    name = f"mlpath_buddies_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    upgrade(url)  # PostgreSQL is migrated by `mlpath db upgrade`, not by the bot
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_yes_on_two_replicas_opens_one_group_dm(bot, slack, pg_url):
    slack.users["UANN"] = {"tz": "UTC", "real_name": "Ann Lee"}
    slack.users["UBO"] = {"tz": "UTC", "real_name": "Bo Berg"}
    a, b = bot(database_url=pg_url), bot(database_url=pg_url)
    progress = a.services.progress
    bo, ann = MemberRef("T1", "UBO", "Bo Berg", "UTC"), MemberRef("T1", "UANN", "Ann Lee", "UTC")
    start = utcnow() - timedelta(days=6)
    for day in (0, 2):  # Bo masters the topic
        prompt = progress.next_question(bo, topic=TOPIC, now=start + timedelta(days=day))
        assert isinstance(prompt, QuizPrompt)
        progress.answer(prompt.token, bo, prompt.question.answer, now=start + timedelta(days=day))
    a.command("buddy on", user="UBO", name="on")
    assert "Thanks! Teammates who keep missing a topic" in slack.wait_for("response/on")[0].params["text"]
    assert Buddies(progress).progress.member(bo).buddy_opt_in
    prompt = progress.next_question(ann, topic=TOPIC, now=utcnow() - timedelta(days=1))  # a miss yesterday
    progress.answer(prompt.token, ann, (prompt.question.answer + 1) % 4, now=utcnow() - timedelta(days=1))

    a.command("quiz window functions", user="UANN", name="q")
    posted = slack.wait_for("response/q")[0].params
    question = next(x for x in posted["blocks"] if x.get("block_id") == "quiz_answers")["elements"]
    wrong = next(i for i in range(4) if i != progress.bank[_question_id(progress, ann)].answer)
    click(a, slack, user="UANN", button=question[wrong], block_id="quiz_answers", name="wrong")
    outcome = slack.wait_for("response/wrong")[0].params
    assert "Bo mastered Window functions" in dump(outcome["blocks"]) and "want an intro?" in dump(outcome["blocks"])
    yes = next(x for x in outcome["blocks"] if x.get("block_id") == "buddy_offer")["elements"][0]

    before = listener_runs("on_buddy")
    click(a, slack, user="UANN", button=yes, block_id="buddy_offer", name="yes-a")
    click(b, slack, user="UANN", button=yes, block_id="buddy_offer", name="yes-b")
    wait_listener("on_buddy", before, count=2)
    opened = slack.calls_to("conversations.open")
    assert [c.params["users"] for c in opened] == ["UANN,UBO"]
    intros = [c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "GUANNUBO"]
    assert len(intros) == 1
    shown = dump(intros[0].params["blocks"])
    assert "<@UANN>, meet <@UBO>" in shown and "Level 1 › SQL and Databases › Window functions" in shown
    replies = sorted(slack.wait_for(f"response/{n}")[0].params["text"] for n in ("yes-a", "yes-b"))
    assert replies == ["I've opened a group DM with <@UBO> about Window functions.", "You already answered this offer."]

    a.command("buddy off", user="UBO", name="off")
    assert "no longer suggested" in slack.wait_for("response/off")[0].params["text"]
    status, body = a.command("buddy sometimes", user="UBO", name="bad")
    assert status == 200 and "Usage: `/mlpath buddy on`" in body and "\n" not in body


def _question_id(progress, who: MemberRef) -> str:
    """The question the member was just sent (their latest delivery)."""
    from sqlalchemy import select

    from progress.models import Delivery, Member

    with progress.db.session() as s:
        member = s.scalar(select(Member).where(Member.user_id == who.user_id))
        return s.scalar(select(Delivery.question_id).where(Delivery.member_id == member.id)
                        .order_by(Delivery.id.desc()).limit(1))
