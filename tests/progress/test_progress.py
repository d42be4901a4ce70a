"""Members, quizzes (FSRS, exactly once), placement, levels, habits, streaks and the leaderboard."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from progress import repository as repo
from progress.models import Base, Member
from progress.service import MemberRef, QuizBlocked, streak_length, streak_state

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ANN = MemberRef("T1", "UANN", "Ann", "Europe/Berlin")
BOB = MemberRef("T1", "UBOB", "Bob", "America/New_York")


def test_migrations_match_the_models(progress):
    with progress.db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []


def test_a_member_is_created_once_even_under_concurrent_first_contact(progress):
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(lambda _: progress.member(ANN, now=T0).id, range(16)))
    assert len(ids) == 1
    with progress.db.session() as s:
        assert len(repo.team_members(s, team_id="T1")) == 1
    assert progress.member(ANN).tz == "Europe/Berlin" and progress.member(ANN).level == 1


def test_quiz_questions_are_at_or_below_the_level_and_answers_count_once(progress):
    prompt = progress.next_question(ANN, now=T0)
    assert prompt and prompt.question.level == 1 and prompt.kind == "new"
    right = prompt.question.answer
    result = progress.answer(prompt.token, ANN, right, now=T0)
    assert result.status == "recorded" and result.correct and result.xp == 10 + 5  # + first activity today
    again = progress.answer(prompt.token, ANN, (right + 1) % 4, now=T0)
    assert again.status == "duplicate" and again.correct  # the first answer stands
    assert progress.answer(prompt.token, BOB, right, now=T0).status == "not_yours"
    assert progress.answer("nope", ANN, 0, now=T0).status == "unknown"


def test_concurrent_clicks_on_one_question_count_once(progress):
    prompt = progress.next_question(ANN, now=T0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: progress.answer(prompt.token, ANN, prompt.question.answer, now=T0).status,
                                 range(12)))
    assert statuses.count("recorded") == 1 and statuses.count("duplicate") == 11
    board = progress.leaderboard("T1", week_start=date(2026, 11, 23))
    assert [(r.user_id, r.xp) for r in board] == [("UANN", 15)]


def test_fsrs_schedules_reviews_and_mixes_new_questions(progress):
    first = progress.next_question(ANN, now=T0)
    progress.answer(first.token, ANN, (first.question.answer + 1) % 4, now=T0)  # wrong → Again → due soon
    with progress.db.session() as s:
        card = repo.get_card(s, member_id=progress.member(ANN).id, question_id=first.question.id)
        assert card is not None and not card.last_correct
    later = T0 + timedelta(hours=1)
    review = progress.next_question(ANN, now=later)
    assert review.kind == "review" and review.question.id == first.question.id and review.due_reviews == 1
    result = progress.answer(review.token, ANN, review.question.answer, now=later)
    assert result.xp == 10 + 5  # correct + due review (streak XP already earned today)
    nxt = progress.next_question(ANN, now=later)
    assert nxt.kind == "new" and nxt.question.id != first.question.id


def test_topic_and_level_filters(progress):
    prompt = progress.next_question(ANN, topic="window-functions", now=T0)
    assert prompt.question.topic == "window-functions"
    locked = progress.next_question(ANN, level=3, now=T0)  # above the member's level
    assert isinstance(locked, QuizBlocked) and locked.reason == "locked" and locked.level == 3
    assert (locked.current_level, locked.mastered) == (1, 0) and locked.needed == progress.progress(ANN, now=T0).needed


def test_habits_check_in_once_per_period_in_the_members_time_zone(progress):
    # 23:30 in New York on Nov 25 is already Nov 26 in UTC: the check-in belongs to Nov 25 for Bob
    late = datetime(2026, 11, 26, 4, 30, tzinfo=UTC)
    first = progress.check_in(BOB, "read-paper", now=late)
    assert first.status == "recorded" and first.xp == 10 + 5
    assert progress.check_in(BOB, "Read 1 research paper or blog post", now=late).status == "already"
    next_day = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    assert progress.check_in(BOB, "read-paper", now=next_day).status == "recorded"
    assert progress.check_in(BOB, "build-personal-project", now=next_day).xp == 25
    assert progress.check_in(BOB, "build-personal-project", now=next_day + timedelta(days=1)).status == "already"
    unknown = progress.check_in(BOB, "juggling", now=next_day)
    assert unknown.status == "unknown" and "read-paper" in unknown.suggestions
    today = dict((h.id, done) for h, done in progress.habits_today(BOB, now=next_day))
    assert today["read-paper"] and today["build-personal-project"] and not today["practice-coding"]
    assert progress.streak(progress.member(BOB), next_day) == 2


def test_streak_counts_consecutive_local_days():
    today = date(2026, 11, 26)
    days = {today, today - timedelta(days=1), today - timedelta(days=2), today - timedelta(days=4)}
    assert streak_length(days, today) == 3
    assert streak_length(days - {today}, today) == 2  # today not done yet: yesterday's streak still counts
    assert streak_length({today - timedelta(days=3)}, today) == 0


def run_of(start: date, n: int) -> set[date]:
    return {start + timedelta(days=i) for i in range(n)}


def test_streak_freezes_are_earned_weekly_held_at_most_two_and_cover_a_missed_day():
    start = date(2026, 10, 1)
    assert streak_state(run_of(start, 6), start + timedelta(days=5)) == (6, 0)
    assert streak_state(run_of(start, 7), start + timedelta(days=6)) == (7, 1)
    assert streak_state(run_of(start, 21), start + timedelta(days=20)) == (21, 2)  # 3 earned, 2 held
    # one missed day after a week: the freeze covers it, the streak goes on (the missed day adds nothing)
    days = run_of(start, 7) | run_of(start + timedelta(days=8), 3)
    assert streak_state(days, start + timedelta(days=10)) == (10, 0)
    # two missed days with one freeze: broken
    days = run_of(start, 7) | run_of(start + timedelta(days=9), 2)
    assert streak_state(days, start + timedelta(days=10)) == (2, 0)
    # without a freeze a missed day breaks the streak
    days = run_of(start, 3) | run_of(start + timedelta(days=4), 2)
    assert streak_state(days, start + timedelta(days=5)) == (2, 0)


def test_leaderboard_caps_grinding_and_hides_opted_out_members(progress):
    ann = progress.member(ANN)
    bob = progress.member(BOB)
    with progress.db.session() as s:
        for _ in range(30):  # 300 quiz XP in one day: capped at 100
            repo.add_xp(s, member_id=ann.id, kind="quiz", amount=10, local_date=date(2026, 11, 24), now=T0)
        repo.add_xp(s, member_id=bob.id, kind="quiz", amount=40, local_date=date(2026, 11, 24), now=T0)
        repo.add_xp(s, member_id=bob.id, kind="habit", amount=25, local_date=date(2026, 11, 25), now=T0)
        repo.add_xp(s, member_id=bob.id, kind="quiz", amount=50, local_date=date(2026, 11, 16), now=T0)  # last week
    board = progress.leaderboard("T1", week_start=date(2026, 11, 23))
    assert [(r.user_id, r.xp) for r in board] == [("UANN", 100), ("UBOB", 65)]
    with progress.db.session() as s:
        repo.update_member(s, member_id=ann.id, leaderboard_opt_out=True)
    assert [r.user_id for r in progress.leaderboard("T1", week_start=date(2026, 11, 23))] == ["UBOB"]


def test_progress_view_shows_only_the_members_own_details(progress):
    prompt = progress.next_question(ANN, now=T0)
    progress.answer(prompt.token, ANN, prompt.question.answer, now=T0)
    view = progress.progress(ANN, now=T0)
    assert view.level == 1 and view.streak == 1 and view.weekly_xp == 15 and view.rank == 1
    assert view.needed >= 1 and any(t.answered for t in view.topics)
    assert view.next_level_name == "Machine Learning Fundamentals"
    with progress.db.session() as s:
        assert s.query(Member).count() == 1


def test_many_members_answering_at_once_lose_nothing(progress):
    members = [MemberRef("T1", f"U{i}", f"m{i}", "UTC") for i in range(8)]
    prompts = [progress.next_question(m, now=T0) for m in members]

    def answer(pair):
        member, prompt = pair
        return progress.answer(prompt.token, member, prompt.question.answer, now=T0).status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(answer, zip(members, prompts, strict=True)))
        replays = list(pool.map(answer, zip(members, prompts, strict=True)))
    assert statuses == ["recorded"] * 8 and replays == ["duplicate"] * 8
    board = progress.leaderboard("T1", week_start=date(2026, 11, 23))
    assert len(board) == 8 and {r.xp for r in board} == {15}


def test_the_promotion_announcement_names_what_unlocks():
    from mlpath.app.commands import SLACK, phrase
    from mlpath.app.service import promotion_text
    from progress.service import resolve_scope, unlocks

    assert unlocks(3)[1][0] == "Experiment Tracking" and unlocks(4)[2]
    assert resolve_scope("level 2") == (None, 2, None) and resolve_scope("window functions")[0] == "window-functions"
    assert resolve_scope("9")[2] == "levels are 1-4" and "no single topic" in resolve_scope("learning")[2]

    assert "Level 2: Machine Learning Fundamentals" in promotion_text(2) and "Feature Engineering" in promotion_text(2)
    assert "/mlpath track A-E" in phrase(promotion_text(4), SLACK) and "Natural Language Processing" in promotion_text(4)
