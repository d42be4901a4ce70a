"""What a member asks comes back as their review (issue 25, part 1): the origin, the one-to-three-day window,
one check a day, the 👎 and opt-out rules, the progress count, the DM, export/import and the migration. Time is
injected; every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from knowledge.answer import Answer, Citation
from progress import repository as repo
from progress.answer_log import AnswerLog
from progress.db import Database, alembic_config, upgrade
from progress.service import MemberRef, Progress, QuizPrompt
from progress.transfer import export_data, import_data

MON = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # a Monday
ANN = MemberRef("T1", "UANN", "Ann Lee", "UTC")
TOPIC = "window-functions"  # Level 1: Ann can get its questions


def asked_answer(progress: Progress, topic: str, *, helpful: bool | None = None, now: datetime = MON) -> str:
    """An answer logged for Ann that cites a section of `topic`, rated as given; returns its public id."""
    section = next(q.section for q in progress.bank.values() if q.topic == topic)
    answer = Answer("a question", "an answer", [Citation(1, section, "x.md")], True, 0.9)
    log = AnswerLog(progress.db)
    answer_id = log.record(answer, team_id=ANN.team_id, user_id=ANN.user_id, surface="dm", now=now)
    if helpful is not None:
        assert log.record_feedback(answer_id=answer_id, helpful=helpful, clicked_at=now + timedelta(minutes=1))
    assert progress.record_asked(ANN, topic, answer_id, now=now)
    return answer_id


def quiz(progress: Progress, now: datetime) -> QuizPrompt:
    prompt = progress.next_question(ANN, now=now)
    assert isinstance(prompt, QuizPrompt)
    return prompt


def test_an_asked_topic_comes_back_the_next_day_once_with_its_origin(progress):
    asked_answer(progress, TOPIC)
    assert quiz(progress, MON + timedelta(hours=2)).kind != "asked"  # not on the day it was asked
    tue = MON + timedelta(days=1)
    prompt = quiz(progress, tue)
    assert prompt.kind == "asked" and prompt.question.topic == TOPIC and prompt.asked is not None
    assert prompt.asked.line == "On Monday you asked about Window functions — quick check?"
    # FSRS takes it from here: answered, it is a card like any other
    assert progress.answer(prompt.token, ANN, prompt.question.answer, now=tue).status == "recorded"
    with progress.db.session() as s:
        member = repo.get_member(s, team_id="T1", user_id="UANN")
        assert repo.get_card(s, member_id=member.id, question_id=prompt.question.id) is not None
    assert quiz(progress, tue + timedelta(minutes=5)).kind != "asked"  # checked once


def test_at_most_one_asked_check_a_day_and_none_after_three_days(progress):
    asked_answer(progress, TOPIC)
    asked_answer(progress, "data-modeling")
    asked_answer(progress, "acid-transactions", now=MON - timedelta(days=4))  # four days ago by Tuesday
    tue = MON + timedelta(days=1)
    first = quiz(progress, tue)
    assert first.kind == "asked" and first.question.topic == TOPIC
    assert quiz(progress, tue + timedelta(hours=1)).kind != "asked"
    wed = quiz(progress, tue + timedelta(days=1))
    assert wed.kind == "asked" and wed.question.topic == "data-modeling"
    assert wed.asked is not None and wed.asked.line.startswith("On Monday you asked about")
    assert quiz(progress, tue + timedelta(days=2)).kind != "asked"  # sql-fundamentals is too old by now
    view = progress.progress(ANN, now=tue + timedelta(days=2))
    assert (view.asked_topics, view.asked_mastered) == (3, 0)


def test_a_thumbs_down_answer_and_the_opt_out_bring_no_check(progress):
    asked_answer(progress, TOPIC, helpful=False)
    assert quiz(progress, MON + timedelta(days=1)).kind != "asked"
    asked_answer(progress, "data-modeling", now=MON + timedelta(days=1), helpful=True)
    progress.set_asked_reviews(ANN, False)
    assert quiz(progress, MON + timedelta(days=2)).kind != "asked"
    # while off, nothing new is remembered
    assert not progress.record_asked(ANN, "acid-transactions", "x", now=MON + timedelta(days=2))
    progress.set_asked_reviews(ANN, True)
    assert quiz(progress, MON + timedelta(days=2, hours=1)).question.topic == "data-modeling"


def test_a_refused_answer_or_an_unreachable_topic_is_not_remembered(progress):
    level4 = next(q.topic for q in progress.bank.values() if q.level == 4)
    assert not progress.record_asked(ANN, level4, "a1", now=MON)  # Ann is at Level 1
    assert progress.progress(ANN, now=MON).asked_topics == 0


def test_two_quizzes_at_the_same_moment_give_one_check_and_the_dm_shows_that_one(progress):
    asked_answer(progress, TOPIC)
    asked_answer(progress, "data-modeling")
    member = progress.member(ANN)
    tue = MON + timedelta(days=1)
    barrier = threading.Barrier(2)
    got: list[object] = []

    def slash() -> None:
        barrier.wait()
        got.append(progress.next_question(ANN, now=tue))

    threads = [threading.Thread(target=slash) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    asked = [p for p in got if isinstance(p, QuizPrompt) and p.kind == "asked"]
    assert len(asked) == 1 and len(got) == 2, got
    with progress.db.session() as s:
        rows = repo.asked_topics(s, member_id=member.id)
    assert [r.checked_on for r in rows].count(tue.date()) == 1
    # the day's reminder DM, composed later, carries that same unanswered question, not a second topic
    dm = progress.asked_check(member, tue + timedelta(minutes=5))
    assert dm is not None and dm.token == asked[0].token


def test_the_dm_composed_twice_carries_the_same_question(progress):
    asked_answer(progress, TOPIC)
    member = progress.member(ANN)
    tue = MON + timedelta(days=1)
    first = progress.asked_check(member, tue)
    again = progress.asked_check(member, tue + timedelta(minutes=1))
    assert first is not None and again is not None and first.token == again.token
    progress.answer(first.token, ANN, first.question.answer, now=tue)
    assert progress.asked_check(member, tue + timedelta(minutes=2)) is None


def test_export_and_import_carry_the_origin(progress, db_url, tmp_path):
    asked_answer(progress, TOPIC)
    data = export_data(progress.db)
    [row] = data["asked_topics"]
    assert row["member"] == ["T1", "UANN"] and row["topic"] == TOPIC and row["asked_on"] == "2026-12-07"
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    upgrade(target)
    copy = Database(target)
    try:
        counts = import_data(copy, data)
        assert counts["asked_topics"]["added"] == 1
        assert import_data(copy, data)["asked_topics"]["added"] == 0  # nothing counted twice
        restored = Progress(copy, bank=progress.bank)
        prompt = restored.next_question(ANN, now=MON + timedelta(days=1))
        assert isinstance(prompt, QuizPrompt) and prompt.asked is not None and prompt.asked.asked_on == MON.date()
    finally:
        copy.dispose()


def test_migration_0005_keeps_members_and_turns_the_checks_on(db_url):
    from alembic import command

    command.upgrade(alembic_config(db_url), "0004")
    db = Database(db_url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO members (team_id, user_id, display_name, tz, level, joined_at, active, nudges_enabled, "
                "nudge_time, leaderboard_opt_out, placed) VALUES ('T1', 'UANN', 'Ann', 'UTC', 1, :at, :t, :t, "
                "'09:00', :f, :f)"), {"at": MON - timedelta(days=30), "t": True, "f": False})
        upgrade(db_url)
        progress = Progress(db)
        assert progress.member(ANN).asked_reviews is True
        asked_answer(progress, TOPIC)
        assert quiz(progress, MON + timedelta(days=1)).kind == "asked"
    finally:
        db.dispose()
