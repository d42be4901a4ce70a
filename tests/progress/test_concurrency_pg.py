"""Exactly-once rules under real concurrency, on SQLite and PostgreSQL (issue 18, items 2 and 3).

SQLite's single writer hides races that PostgreSQL shows: two answers to the same question (the member asked for
a quiz twice) used to lose one click to a unique violation on the card, and a habit check-in landing with a quiz
answer stored the streak bonus twice. Threads start together at a barrier, over many trials, so the old code
fails almost surely on PostgreSQL; the migration test shows 0003 cleans up what the race already stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from progress import repository as repo
from progress.db import Database, alembic_config, upgrade
from progress.models import Card, Delivery, Member, XpEvent
from progress.service import XP_STREAK, MemberRef

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls on their own threads, released at once; results in order (an exception is a result)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 - the test asserts there were none
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_answers_to_the_same_question_landing_together_both_count(progress):
    ann = MemberRef("T1", "UANN", "Ann", "UTC")
    member = progress.member(ann, now=T0)
    for trial, q in enumerate(progress.eligible(member)[:12]):
        now = T0 + timedelta(minutes=trial)
        with progress.db.session() as s:  # the same question delivered twice (`/mlpath quiz` twice, no answer yet)
            for token in (f"first{trial}", f"second{trial}"):
                repo.create_delivery(s, member_id=member.id, question_id=q.id, token=token, purpose="quiz", now=now)
        results = together(lambda: progress.answer(f"first{trial}", ann, q.answer, now=now),  # noqa: B023
                           lambda: progress.answer(f"second{trial}", ann, q.answer, now=now))  # noqa: B023
        assert [getattr(r, "status", r) for r in results] == ["recorded", "recorded"], trial
        with progress.db.session() as s:
            card = s.scalar(select(Card).where(Card.question_id == q.id))
            answered = s.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.question_id == q.id, Delivery.answered_at.is_not(None)))
            assert card.reviews == 2 and answered == 2, trial


def test_a_habit_check_in_and_a_quiz_answer_together_earn_one_streak_bonus(progress):
    for i in range(10):
        member = MemberRef("T1", f"U{i}", f"m{i}", "UTC")
        prompt = progress.next_question(member, now=T0)
        results = together(lambda: progress.check_in(member, "read-paper", now=T0),  # noqa: B023 - joined in the loop
                           lambda: progress.answer(prompt.token, member, prompt.question.answer, now=T0))  # noqa: B023
        assert [r.status for r in results] == ["recorded", "recorded"]
        # exactly one of the two earned the bonus, and the member's total says so
        bonus = [r.xp for r in results]
        assert sorted(bonus) == [10, 10 + XP_STREAK], bonus
        with progress.db.session() as s:
            m = repo.get_member(s, team_id="T1", user_id=f"U{i}")
            streaks = s.scalar(select(func.count()).select_from(XpEvent).where(
                XpEvent.member_id == m.id, XpEvent.kind == "streak"))
        assert streaks == 1, i


def test_migration_0003_removes_duplicate_streak_rows_and_repairs_imported_values(db_url):
    from alembic import command

    command.upgrade(alembic_config(db_url), "0002")
    db = Database(db_url)
    try:
        with db.session() as s:
            # plain SQL: the Member model has columns that later migrations add (0005's asked_reviews)
            for user, level, hhmm in (("U1", 2, "07:30"), ("U2", 99, "99:99"), ("U3", 4, "9:00")):
                s.execute(text(
                    "INSERT INTO members (team_id, user_id, display_name, tz, level, joined_at, active, "
                    "nudges_enabled, nudge_time, leaderboard_opt_out, placed) VALUES ('T1', :u, :u, 'UTC', :lvl, "
                    ":at, :t, :t, :hhmm, :f, :t)"), {"u": user, "lvl": level, "at": T0, "t": True, "f": False,
                                                     "hhmm": hhmm})
            ids = {u: i for i, u in s.execute(text("SELECT id, user_id FROM members"))}
            for _ in range(3):  # what the race stored before the index existed
                s.add(XpEvent(member_id=ids["U1"], kind="streak", amount=5, local_date=T0.date(), at=T0))
            s.add(XpEvent(member_id=ids["U1"], kind="quiz", amount=10, local_date=T0.date(), at=T0))
            s.add(XpEvent(member_id=ids["U1"], kind="quiz", amount=10, local_date=T0.date(), at=T0))
            s.add(XpEvent(member_id=ids["U2"], kind="streak", amount=5, local_date=T0.date(), at=T0))
        if db_url.startswith("sqlite"):  # SQLite's integer column takes what an old import wrote
            with db.engine.begin() as conn:
                conn.execute(text("UPDATE members SET level = 'abc' WHERE user_id = 'U3'"))
        db.dispose()
        upgrade(db_url)
        with db.session() as s:
            kinds = sorted((e.member_id, e.kind) for e in s.scalars(select(XpEvent)))
            members = {m.user_id: (m.level, m.nudge_time) for m in s.scalars(select(Member))}
        assert kinds == sorted([(ids["U1"], "streak"), (ids["U1"], "quiz"), (ids["U1"], "quiz"),
                                (ids["U2"], "streak")])
        expected_u3 = (1, "09:00") if db_url.startswith("sqlite") else (4, "09:00")
        assert members == {"U1": (2, "07:30"), "U2": (1, "09:00"), "U3": expected_u3}
        with db.session() as s:  # and the index now refuses a second streak row for a day
            assert not repo.add_streak_day(s, member_id=ids["U1"], amount=5, local_date=T0.date(), now=T0)
    finally:
        db.dispose()
