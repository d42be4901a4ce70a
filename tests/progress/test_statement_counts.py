"""The leaderboard and a member's own progress cost a bounded number of SQL statements, whatever the team
size (issue 12): counted with SQLAlchemy's before_cursor_execute event on 200 members."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event

from progress import repository as repo
from progress.service import MemberRef, Progress, QuizPrompt

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
WEEK = date(2026, 11, 23)
LEADERBOARD_STATEMENTS = 3  # as progress.service.Progress.leaderboard's docstring says
PROGRESS_STATEMENTS = 8  # as progress.service.Progress.progress's docstring says (member 1, no update)


@contextmanager
def counting(progress: Progress) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            statements.append(statement)

    event.listen(progress.db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(progress.db.engine, "before_cursor_execute", count)


def team(progress: Progress, size: int) -> None:
    with progress.db.session() as s:
        for i in range(size):
            m = repo.get_or_create_member(s, team_id="T1", user_id=f"U{i:03d}", now=T0, display_name=f"m{i}",
                                          tz="UTC")
            for day in range(3):
                repo.add_xp(s, member_id=m.id, kind="quiz", amount=10 + i % 50, local_date=WEEK + timedelta(days=day),
                            now=T0)
                repo.add_xp(s, member_id=m.id, kind="streak", amount=5, local_date=WEEK + timedelta(days=day), now=T0)


def test_the_leaderboard_and_a_rank_take_a_bounded_number_of_statements(progress):
    team(progress, 200)
    with counting(progress) as statements:
        board = progress.leaderboard("T1", week_start=WEEK, now=T0)
    assert len(board) == 200 and len(statements) <= LEADERBOARD_STATEMENTS, statements
    assert [r.rank for r in board] == list(range(1, 201)) and board[0].xp == 3 * (10 + 49) + 15
    assert all(r.streak == 3 for r in board)

    me = MemberRef("T1", "U120", "m120", "UTC")
    with counting(progress) as statements:
        view = progress.progress(me, now=T0)
    assert len(statements) <= PROGRESS_STATEMENTS, statements
    mine = next(r for r in board if r.user_id == "U120")
    assert (view.rank, view.weekly_xp, view.team_size) == (mine.rank, mine.xp, 200)


def test_a_quiz_click_costs_the_same_on_a_big_team(progress):
    """Answering never builds the board: its statement count does not depend on the team's size."""
    counts = []
    for size, user in ((0, "UA"), (200, "UB")):
        team(progress, size) if size else None
        ref = MemberRef("T1", user, user, "UTC")
        prompt = progress.next_question(ref, now=T0)
        assert isinstance(prompt, QuizPrompt)
        with counting(progress) as statements:
            progress.answer(prompt.token, ref, prompt.question.answer, now=T0)
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_opted_out_and_inactive_members_have_no_rank_but_keep_their_xp(progress):
    team(progress, 3)
    with progress.db.session() as s:
        u1 = repo.get_member(s, team_id="T1", user_id="U001")
        repo.update_member(s, member_id=u1.id, leaderboard_opt_out=True)
    view = progress.progress(MemberRef("T1", "U001"), now=T0)
    assert view.rank is None and view.weekly_xp == 3 * 11 + 15 and view.team_size == 2
    top = progress.progress(MemberRef("T1", "U002"), now=T0)
    assert top.rank == 1 and [r.user_id for r in progress.leaderboard("T1", week_start=WEEK)] == ["U002", "U000"]
