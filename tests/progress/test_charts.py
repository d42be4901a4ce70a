"""Progress as pictures (issue 25, part 2): the weekly chart beside the leaderboard post, uploaded once under
the post's claim across two schedulers (SQLite and PostgreSQL, the real sender and the fake Slack on 127.0.0.1);
the member's chart; deterministic PNGs of a fixed size that decode."""

from __future__ import annotations

import io
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image

from progress.charts import MemberChart, TeamChart, TeamChartRow, render_member, render_team
from progress.mentoring import Mentoring
from progress.service import MemberRef
from tests.progress.test_scheduler import Env

pytestmark = [pytest.mark.server]

T = "T1"
WEEK = date(2026, 11, 16)  # Monday of 2026-W47


def size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()  # decodes the whole image, not only the header
        return image.size


@pytest.fixture
def env(progress, slack, tmp_path):
    return Env(progress, slack, tmp_path)


def active_team(env: Env) -> None:
    env.member("UA", "UTC", name="Ann")
    env.member("UB", "UTC", name="Bob")
    env.member("UH", "UTC", name="Hidden Hannah")
    env.progress.set_leaderboard_opt_out(MemberRef(T, "UH"), True)
    for user in ("UA", "UB", "UH"):
        for day in range(17, 17 + (6 if user != "UB" else 2)):
            env.progress.check_in(MemberRef(T, user), "read-paper", now=datetime(2026, 11, day, 12, tzinfo=UTC))
    env.progress.check_in(MemberRef(T, "UA"), "read-paper", now=datetime(2026, 11, 10, 12, tzinfo=UTC))


def test_the_weekly_post_carries_one_chart_across_two_schedulers(env, slack):
    active_team(env)
    a = env.scheduler(leaderboard_channel="CLEAD")
    b = env.scheduler(leaderboard_channel="CLEAD")
    barrier = threading.Barrier(2)
    outcomes: list[list[tuple[str, str]]] = []

    def run(scheduler) -> None:
        barrier.wait()
        outcomes.append(scheduler.post_leaderboard("2026-W47", now=datetime(2026, 11, 23, 9, tzinfo=UTC)))

    threads = [threading.Thread(target=run, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o[0][1] for o in outcomes) in (["already posted", "posted"], ["posted", "skipped (claimed elsewhere)"],
                                                 ["posted", "skipped (sending)"], ["posted", "skipped (claimed)"])
    assert b.post_leaderboard("2026-W47") == [(T, "already posted")]
    posts = [c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "CLEAD"]
    assert len(posts) == 1
    [chart] = slack.files
    assert chart["channel"] == "CLEAD" and chart["title"] == "mlpath week 2026-W47"
    assert size(chart["content"]) == (720, 1080)
    assert "Members per level: Level 1: 3" in chart["alt"] and "Ann 90 XP (last week 15), streak 6" in chart["alt"]
    assert "Hannah" not in chart["alt"]  # opted out: counted per level, never named


def test_the_team_chart_names_only_visible_members_and_counts_mastery_by_week(env):
    active_team(env)
    ref = MemberRef(T, "UA")
    mon = datetime(2026, 11, 16, 9, tzinfo=UTC)
    for day in (0, 2):  # two spaced correct recalls of one topic: mastered on Wednesday
        prompt = env.progress.next_question(ref, topic="window-functions", now=mon + timedelta(days=day))
        env.progress.answer(prompt.token, ref, prompt.question.answer, now=mon + timedelta(days=day))
    assert env.progress.mastery_dates(ref) == {"window-functions": date(2026, 11, 18)}
    chart = env.progress.team_chart(T, week_start=WEEK, now=datetime(2026, 11, 23, 9, tzinfo=UTC))
    assert chart.week == "2026-W47" and chart.levels == (3, 0, 0, 0)
    assert [r.name for r in chart.rows] == ["Ann", "Bob"]
    assert (chart.rows[0].mastered, chart.mastered, chart.mastered_last) == (1, 1, 0)
    earlier = env.progress.team_chart(T, week_start=WEEK + timedelta(days=7), now=datetime(2026, 11, 30, tzinfo=UTC))
    assert (earlier.mastered, earlier.mastered_last) == (0, 1)


def test_a_failed_chart_upload_never_posts_twice(env, slack):
    active_team(env)
    sched = env.scheduler(leaderboard_channel="CLEAD")
    slack.force("files.getUploadURLExternal", 200, {"ok": False, "error": "missing_scope"})
    assert sched.post_leaderboard("2026-W47") == [(T, "posted")]
    assert sched.post_leaderboard("2026-W47") == [(T, "already posted")]
    assert len([c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "CLEAD"]) == 1
    assert slack.files == []


def test_the_member_chart_shows_mastery_per_level_and_the_plan_pace(env):
    env.member("UA", "UTC", name="Ann")
    ref = MemberRef(T, "UA")
    mon = datetime(2026, 11, 16, 9, tzinfo=UTC)
    for day in (0, 2):
        prompt = env.progress.next_question(ref, topic="window-functions", now=mon + timedelta(days=day))
        env.progress.answer(prompt.token, ref, prompt.question.answer, now=mon + timedelta(days=day))
    data = Mentoring(env.progress).member_chart(ref, now=mon + timedelta(days=3))
    assert data.mastered == {1: [date(2026, 11, 18)]} and data.level == 1 and data.level_total > 0
    assert data.pace_months > 0 and data.level_start is not None
    png = render_member(data)
    assert size(png) == (720, 480)
    assert "Level 1: 1" in data.alt_text()


def test_charts_are_deterministic_and_decode_even_when_empty():
    team = TeamChart("2026-W47", (3, 1, 0, 0), (TeamChartRow("Ann", 90, 40, 6, 1), TeamChartRow("Bo", 5, 0, 1, 0)), 1, 0)
    assert render_team(team) == render_team(team)
    assert size(render_team(TeamChart("2026-W47", (0, 0, 0, 0), (), 0, 0))) == (720, 1080)
    member = MemberChart(date(2026, 12, 7), date(2026, 12, 1))
    assert render_member(member) == render_member(member) and size(render_member(member)) == (720, 480)
