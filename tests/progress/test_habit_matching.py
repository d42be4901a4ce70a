"""Habit check-ins in the member's own words (rapidfuzz over each habit's description and keywords), the
match shown, and an undo that removes exactly the XP the check-in earned, once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from progress.service import MemberRef

T0 = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
BOB = MemberRef("T1", "UBOB", "Bob", "America/New_York")
WEEK = date(2026, 11, 23)


@pytest.mark.parametrize(("said", "habit"), [
    ("I watched a PyData talk", "watch-talks"),
    ("read a paper on arxiv", "read-paper"),
    ("did two leetcode problems", "practice-coding"),
    ("went to the PyData meetup", "attend-meetups"),
    ("wrote a blog post about embeddings", "write-posts"),
    ("taught a colleague how PCA works", "mentor-someone"),
    ("reviewed a PR on scikit-learn's GitHub", "review-open-source"),
    ("finished a Coursera module", "course-module"),
    ("tried polars, a new library", "try-new-tools"),
    ("watch-talks", "watch-talks"),
])
def test_free_text_finds_the_habit(progress, said, habit):
    found, matched = progress.match_habit(said)
    assert [h.id for h in found] == [habit] and matched


def test_the_check_in_shows_what_matched_and_unknown_words_list_the_habits(progress):
    result = progress.check_in(BOB, "I watched a PyData talk", now=T0)
    assert result.status == "recorded" and result.habit.id == "watch-talks" and result.xp == 25
    assert set(result.matched.split(", ")) == {"watched", "talk"}
    unknown = progress.check_in(BOB, "went juggling in the park", now=T0)
    assert unknown.status == "unknown" and "watch-talks" in unknown.suggestions
    vague = progress.check_in(BOB, "conference", now=T0)  # a talk or a meetup?
    assert vague.status == "ambiguous" and set(vague.suggestions) == {"watch-talks", "attend-meetups"}


def test_undo_removes_the_check_in_and_its_xp_exactly_once(progress):
    before = progress.progress(BOB, now=T0).weekly_xp
    done = progress.check_in(BOB, "read a paper", now=T0)
    assert done.status == "recorded" and done.xp == 10 + 5  # habit + first activity of the day
    assert progress.progress(BOB, now=T0).weekly_xp == before + 15
    undone = progress.undo_check_in(BOB, "read a paper", now=T0 + timedelta(minutes=1))
    assert (undone.status, undone.habit.id, undone.xp) == ("undone", "read-paper", 15)
    assert progress.progress(BOB, now=T0).weekly_xp == before and progress.streak(progress.member(BOB), T0) == 0
    assert progress.undo_check_in(BOB, "read a paper", now=T0).status == "nothing"
    assert progress.progress(BOB, now=T0).weekly_xp == before
    today = dict((h.id, d) for h, d in progress.habits_today(BOB, now=T0))
    assert not today["read-paper"]
    assert progress.check_in(BOB, "read-paper", now=T0).status == "recorded"  # can check in again


def test_undo_keeps_the_streak_day_when_something_else_was_done(progress):
    progress.check_in(BOB, "read-paper", now=T0)
    progress.check_in(BOB, "practice-coding", now=T0)
    assert progress.undo_check_in(BOB, "read-paper", now=T0).xp == 10  # the day stays active
    assert progress.streak(progress.member(BOB), T0) == 1
    assert [r.xp for r in progress.leaderboard("T1", week_start=WEEK, now=T0)] == [15]


def test_undo_of_last_weeks_check_in_is_not_possible_this_week(progress):
    progress.check_in(BOB, "watch-talks", now=T0)
    assert progress.undo_check_in(BOB, "watch-talks", now=T0 + timedelta(days=7)).status == "nothing"
    assert progress.leaderboard("T1", week_start=WEEK, now=T0)[0].xp == 25


def test_concurrent_undos_remove_the_xp_once(progress):
    progress.check_in(BOB, "read-paper", now=T0)
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: progress.undo_check_in(BOB, "read-paper", now=T0).status, range(6)))
    assert statuses.count("undone") == 1 and statuses.count("nothing") == 5
    assert progress.leaderboard("T1", week_start=WEEK, now=T0) == []
