"""Daily reminder DMs and the weekly post, exactly once: time injected, the real Slack sender talking to the
local fake Slack Web API, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.nudges import NUDGE_EVENT, SlackSender, scheduler_client
from mlpath.testing.fake_slack import FakeSlack
from progress import repository as repo
from progress.scheduler import CLAIM_LEASE, Scheduler, due_instant, featured_habits, last_complete_week
from progress.service import MemberRef
from tests.conftest import make_settings

pytestmark = [pytest.mark.server]

T = "T1"


class Env:
    def __init__(self, progress, slack, tmp_path) -> None:
        self.progress = progress
        self.slack = slack
        self.tmp_path = tmp_path
        self.sleeps: list[float] = []

    def settings(self, **overrides):
        return make_settings(self.tmp_path, slack_bot_token="xoxb-test", slack_api_url=self.slack.api_url,
                             **overrides)

    def scheduler(self, **overrides) -> Scheduler:
        settings = self.settings(**overrides)
        sender = SlackSender(scheduler_client(settings), rate=1000, sleep=self.sleeps.append)
        return Scheduler(self.progress, sender, settings)

    def member(self, user: str, tz: str, at: str = "09:00", name: str = "Ann Lee"):
        m = self.progress.member(MemberRef(T, user, name, tz), now=datetime(2026, 1, 1, tzinfo=UTC))
        if at != "09:00":
            self.progress.set_nudge_time(MemberRef(T, user), at)
        return m


@pytest.fixture
def env(progress, slack, tmp_path):
    return Env(progress, slack, tmp_path)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def sweep(scheduler: Scheduler, start: datetime, end: datetime, step: timedelta) -> None:
    now = start
    while now <= end:
        scheduler.run_nudges(now)
        now += step


def dm_times(slack: FakeSlack, user: str) -> list[str]:
    return [c.params["metadata"]["event_payload"]["key"] for c in slack.dms(user)]


def test_members_in_many_time_zones_get_one_dm_per_local_day_at_their_time(env, slack):
    zones = {"UBER": "Europe/Berlin", "UNYC": "America/New_York", "UKOL": "Asia/Kolkata",
             "UTYO": "Asia/Tokyo", "UUTC": "UTC", "UAKL": "Pacific/Auckland", "UHNL": "Pacific/Honolulu"}
    for user, tz in zones.items():
        env.member(user, tz)
    sched = env.scheduler()
    sent_at: dict[tuple[str, str], datetime] = {}
    now, end = utc(2026, 11, 10, 0, 0), utc(2026, 11, 13, 0, 0)
    while now < end:
        before = len(slack.dms())
        sched.run_nudges(now)
        for call in slack.dms()[before:]:
            key = call.params["metadata"]["event_payload"]["key"]
            assert (call.params["channel"], key) not in sent_at, "a second DM for the same local day"
            sent_at[(call.params["channel"], key)] = now
        now += timedelta(minutes=10)
    for user, tz in zones.items():
        days = sorted(k.split(":")[1] for u, k in sent_at if u == user)
        local_days = {(d + timedelta(days=i)).isoformat() for d in [date(2026, 11, 10)] for i in range(-1, 4)}
        assert set(days) <= local_days and len(days) == len(set(days))
        for (u, key), at in sent_at.items():
            if u != user:
                continue
            local = at.astimezone(ZoneInfo(tz))
            assert local.date().isoformat() == key.split(":")[1]
            assert (local.hour, local.minute) >= (9, 0) and local.hour == 9 and local.minute < 10
        # three full local days lie inside the sweep for every zone
        assert len(days) >= 2


@pytest.mark.parametrize("tz, day, times", [
    ("Europe/Berlin", date(2026, 3, 29), ["02:30", "02:00", "03:00", "09:00"]),   # spring forward: 02:00-03:00 skipped
    ("Europe/Berlin", date(2026, 10, 25), ["02:30", "02:00", "03:00", "09:00"]),  # fall back: 02:00-03:00 twice
    ("America/New_York", date(2026, 3, 8), ["02:30", "09:00"]),
    ("America/New_York", date(2026, 11, 1), ["01:30", "09:00"]),
    ("Asia/Kolkata", date(2026, 3, 29), ["02:30", "09:00"]),                      # no DST at all
])
def test_exactly_one_dm_per_local_date_on_daylight_saving_days(env, slack, tz, day, times):
    users = []
    for i, at in enumerate(times):
        users.append(f"U{i}")
        env.member(f"U{i}", tz, at)
    sched = env.scheduler()
    zone = ZoneInfo(tz)
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    sweep(sched, start, start + timedelta(hours=72), timedelta(minutes=5))
    for user, at in zip(users, times, strict=True):
        keys = dm_times(slack, user)
        per_day = Counter(k.split(":")[1] for k in keys)
        assert per_day[day.isoformat()] == 1, (user, at, per_day)
        assert all(n == 1 for n in per_day.values())
    # inside a skipped hour the DM comes when the wall clock has jumped past it: 02:30 → 03:30 CEST
    if tz == "Europe/Berlin" and day.month == 3:
        assert due_instant(day, "02:30", tz).astimezone(UTC) == utc(2026, 3, 29, 1, 30)
    if tz == "Europe/Berlin" and day.month == 10:  # a repeated time is due at its first occurrence
        assert due_instant(day, "02:30", tz).astimezone(UTC) == utc(2026, 10, 25, 0, 30)


def test_running_twice_and_two_schedulers_at_once_send_nothing_new(env, slack):
    for i in range(30):
        env.member(f"U{i:02d}", "Europe/Berlin")
    at = utc(2026, 11, 26, 8, 5)
    a, b = env.scheduler(), env.scheduler()
    reports = []
    threads = [threading.Thread(target=lambda s=s: reports.append(s.run_nudges(at))) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(slack.dms()) == 30
    assert sum(r.sent for r in reports) == 30
    assert a.run_nudges(at).sent == 0 and b.run_nudges(at + timedelta(minutes=30)).sent == 0
    assert len({c.params["channel"] for c in slack.dms()}) == 30


def test_downtime_sends_once_within_the_cutoff_and_never_a_backlog(env, slack):
    env.member("UA", "Europe/Berlin")             # 09:00 CET = 08:00 UTC
    sched = env.scheduler(nudge_cutoff_hours=4)
    sched.run_nudges(utc(2026, 11, 24, 10, 30))   # back 2.5 h late: sent
    assert len(slack.dms("UA")) == 1
    sched.run_nudges(utc(2026, 11, 25, 13, 0))    # back 5 h late: past the cut-off, skipped for the day
    assert len(slack.dms("UA")) == 1
    sched.run_nudges(utc(2026, 11, 25, 22, 0))
    assert len(slack.dms("UA")) == 1
    for hour in range(0, 24):                      # the next day: exactly one, no backlog for the 25th
        sched.run_nudges(utc(2026, 11, 26, hour, 1))
    assert dm_times(slack, "UA") == [f"{env.progress.member(MemberRef(T, 'UA')).id}:2026-11-24",
                                     f"{env.progress.member(MemberRef(T, 'UA')).id}:2026-11-26"]


def test_off_on_time_and_snooze_take_effect_from_the_next_send(env, slack):
    env.member("UA", "UTC")
    ref = MemberRef(T, "UA")
    sched = env.scheduler()
    env.progress.set_nudges(ref, False)
    sched.run_nudges(utc(2026, 11, 20, 9, 1))
    assert slack.dms("UA") == []
    env.progress.set_nudges(ref, True)
    env.progress.set_nudge_time(ref, "18:30")
    sched.run_nudges(utc(2026, 11, 21, 9, 1))
    assert slack.dms("UA") == []
    sched.run_nudges(utc(2026, 11, 21, 18, 31))
    assert len(slack.dms("UA")) == 1
    # snooze 2 on the 22nd before 18:30: the 22nd and 23rd are skipped, the 24th comes
    resume = env.progress.snooze(ref, 2, now=utc(2026, 11, 22, 12, 0))
    assert resume == date(2026, 11, 24)
    for day in (22, 23, 24):
        sched.run_nudges(utc(2026, 11, day, 18, 45))
    assert [k.split(":")[1] for k in dm_times(slack, "UA")] == ["2026-11-21", "2026-11-24"]
    with pytest.raises(ValueError):
        env.progress.set_nudge_time(ref, "25:00")
    with pytest.raises(ValueError):
        env.progress.snooze(ref, 400)


def test_429_waits_retry_after_and_per_member_errors_do_not_stop_the_others(env, slack):
    for user in ("UA", "UB", "UC", "UD"):
        env.member(user, "UTC")
    slack.force("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"})
    slack.user_errors["UB"] = "account_inactive"
    slack.user_errors["UC"] = "cannot_dm_bot"
    sched = env.scheduler()
    report = sched.run_nudges(utc(2026, 11, 26, 9, 0))
    assert 7.0 in env.sleeps
    assert {c.params["channel"] for c in slack.dms()} == {"UA", "UD"}
    assert report.sent == 2 and report.unreachable == 2
    with env.progress.db.session() as s:
        members = {m.user_id: m for m in s.scalars(repo.select(repo.Member))}
    assert members["UB"].unreachable == "account_inactive" and members["UC"].unreachable == "cannot_dm_bot"
    # the next day they are not even planned; writing to the bot makes them reachable again
    assert {d.user_id for d in sched.plan(utc(2026, 11, 27, 9, 0))} == {"UA", "UD"}
    env.progress.member(MemberRef(T, "UB"))
    assert {d.user_id for d in sched.plan(utc(2026, 11, 27, 9, 0))} == {"UA", "UB", "UD"}


def test_rate_limited_too_often_hands_the_dm_back_for_the_next_tick(env, slack):
    env.member("UA", "UTC")
    for _ in range(5):
        slack.force("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
    sched = env.scheduler()
    assert sched.run_nudges(utc(2026, 11, 26, 9, 0)).retry == 1
    assert slack.dms("UA") == []
    assert sched.run_nudges(utc(2026, 11, 26, 9, 1)).sent == 1
    assert len(slack.dms("UA")) == 1


def _stale_claim(env, user: str, day: date, status: str) -> int:
    member = env.progress.member(MemberRef(T, user))
    old = utc(2026, 11, 26, 9, 0) - CLAIM_LEASE - timedelta(minutes=1)
    with env.progress.db.session() as s:
        claim_id = repo.insert_claim(s, kind="nudge", key=f"{member.id}:{day.isoformat()}", owner="dead:1:x",
                                     now=old, member_id=member.id, local_date=day)
        if status != "claimed":
            repo.move_claim(s, claim_id=claim_id, owner="dead:1:x", from_status="claimed", to_status=status, now=old)
    return member.id


def test_a_process_that_died_between_claim_and_send_is_recovered_without_a_duplicate(env, slack):
    day = date(2026, 11, 26)
    env.member("UA", "UTC")
    env.member("UB", "UTC")
    env.member("UC", "UTC")
    _stale_claim(env, "UA", day, "claimed")   # died before the Slack call: send it
    b = _stale_claim(env, "UB", day, "sending")  # died during the call, and the DM did get through
    _stale_claim(env, "UC", day, "sending")   # died during the call, nothing was posted
    slack.history["DUB"] = [{"type": "message", "ts": "1900000000.000001", "user": "UBOT", "text": "Hi",
                             "metadata": {"event_type": NUDGE_EVENT, "event_payload": {"key": f"{b}:{day}"}}}]
    sched = env.scheduler()
    # inside the lease the claims still belong to the (maybe slow) first owner
    fresh = env.scheduler()
    report = sched.run_nudges(utc(2026, 11, 26, 9, 10))
    assert report.sent == 2 and report.recovered == 1
    assert {c.params["channel"] for c in slack.dms()} == {"UA", "UC"}
    assert fresh.run_nudges(utc(2026, 11, 26, 9, 20)).sent == 0
    with env.progress.db.session() as s:
        statuses = {c.key: (c.status, c.attempts) for c in repo.claims_with_status(s, kind="nudge", status="sent")}
    assert len(statuses) == 3 and all(attempts == 2 for _, attempts in statuses.values())


def test_a_5xx_leaves_the_outcome_unknown_and_the_retry_checks_the_dm_first(env, slack):
    env.member("UA", "UTC")
    slack.force("chat.postMessage", 500, {"ok": False, "error": "internal_error"})
    sched = env.scheduler()
    assert sched.run_nudges(utc(2026, 11, 26, 9, 0)).failed == 1
    assert sched.run_nudges(utc(2026, 11, 26, 9, 2)).sent == 0      # within the lease: hands off
    assert sched.run_nudges(utc(2026, 11, 26, 9, 7)).sent == 1      # after: checked history, then sent
    assert len(slack.dms("UA")) == 1
    assert slack.calls_to("conversations.history")


def test_the_dm_has_a_habit_buttons_reviews_due_and_streak_and_its_wording_varies(env, slack):
    env.member("UA", "UTC", name="Ann Lee")
    sched = env.scheduler()
    for day in range(23, 30):
        sched.run_nudges(utc(2026, 11, day, 9, 0))
    dms = slack.dms("UA")
    assert len(dms) == 7
    first = dms[0].params
    blocks_text = str(first["blocks"])
    assert "Ann" in blocks_text and "habit_done_" in blocks_text and "nudge_quiz" in blocks_text
    assert "Take today's quiz" in blocks_text and "streak" in blocks_text.lower()
    greetings = [str(d.params["blocks"][0]) for d in dms]
    assert all(a != b for a, b in zip(greetings, greetings[1:], strict=False))
    # Monday the 23rd also brings the weekly habit; the 1st of a month the monthly one
    member = env.progress.member(MemberRef(T, "UA"))
    assert [h.cadence for h in featured_habits(env.progress, date(2026, 11, 23), member.id)] == ["daily", "weekly"]
    assert [h.cadence for h in featured_habits(env.progress, date(2026, 12, 1), member.id)] == ["daily", "monthly"]
    daily = {featured_habits(env.progress, date(2026, 11, d), member.id)[0].id for d in range(23, 27)}
    assert len(daily) == 4  # rotates through the daily habits


def test_the_dm_counts_due_reviews_and_the_streak(env, slack):
    env.member("UA", "UTC")
    ref = MemberRef(T, "UA")
    day1 = utc(2026, 11, 20, 12, 0)
    prompt = env.progress.next_question(ref, now=day1)
    env.progress.answer(prompt.token, ref, (prompt.question.answer + 1) % 4, now=day1)  # wrong: due again soon
    env.progress.check_in(ref, "read-paper", now=utc(2026, 11, 21, 12, 0))
    env.scheduler().run_nudges(utc(2026, 11, 22, 9, 0))
    blocks_text = str(slack.dms("UA")[0].params["blocks"])
    assert "Take today's quiz (1 due)" in blocks_text
    assert "2-day streak" in blocks_text or "2 days in a row" in blocks_text or "Streak: 2 day" in blocks_text


def test_time_zone_changes_in_slack_are_picked_up_at_most_daily(env, slack):
    env.member("UA", "Europe/Berlin")
    slack.users["UA"] = {"tz": "America/New_York"}
    sched = env.scheduler()
    assert sched.refresh_time_zones(utc(2026, 11, 26, 6, 0)) == 1
    assert env.progress.member(MemberRef(T, "UA")).tz == "America/New_York"
    calls = len(slack.calls_to("users.info"))
    assert sched.refresh_time_zones(utc(2026, 11, 26, 18, 0)) == 0
    assert len(slack.calls_to("users.info")) == calls
    # 09:00 Berlin (08:00 UTC) is no longer their time; 09:00 New York (14:00 UTC) is
    sched.run_nudges(utc(2026, 11, 26, 8, 30))
    assert slack.dms("UA") == []
    sched.run_nudges(utc(2026, 11, 26, 14, 5))
    assert len(slack.dms("UA")) == 1


def test_weekly_leaderboard_posts_once_per_week_and_only_when_configured(env, slack):
    env.member("UA", "UTC", name="Ann")
    env.member("UB", "UTC", name="Bob")
    ref = MemberRef(T, "UA")
    for day in range(17, 23):
        env.progress.check_in(ref, "read-paper", now=utc(2026, 11, day, 12, 0))
    assert env.scheduler().post_leaderboard(now=utc(2026, 11, 23, 9, 0)) == [("", "not configured")]
    sched = env.scheduler(leaderboard_channel="CLEAD", leaderboard_day="mon", leaderboard_time="09:00",
                          team_tz="Europe/Berlin")
    assert sched.leaderboard_due(utc(2026, 11, 23, 7, 59)) is None      # 08:59 in Berlin
    assert sched.leaderboard_due(utc(2026, 11, 23, 8, 0)) == "2026-W47"
    assert sched.leaderboard_due(utc(2026, 11, 24, 8, 0)) is None      # Tuesday
    a, b = sched, env.scheduler(leaderboard_channel="CLEAD", team_tz="Europe/Berlin")
    for now in (utc(2026, 11, 23, 8, 0), utc(2026, 11, 23, 8, 1), utc(2026, 11, 23, 20, 0)):
        a.tick(now)
        b.tick(now)
    posts = [c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "CLEAD"]
    assert len(posts) == 1
    text = str(posts[0].params["blocks"])
    assert "2026-W47" in text and "Ann — 90 XP · 🔥 6" in text and "Bob" not in text
    assert b.post_leaderboard("2026-W47") == [(T, "already posted")]
    assert last_complete_week(date(2026, 11, 23)) == "2026-W47"


def test_leaderboard_channel_errors_are_reported_and_an_explicit_retry_posts(env, slack):
    env.member("UA", "UTC")
    sched = env.scheduler(leaderboard_channel="CLEAD")
    slack.force("chat.postMessage", 200, {"ok": False, "error": "not_in_channel"})
    assert sched.post_leaderboard("2026-W47") == [(T, "failed: not_in_channel")]
    def posts() -> int:
        return len([c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "CLEAD"])

    sched.tick(utc(2026, 11, 23, 9, 30))  # the scheduler does not retry a failed post on its own
    assert posts() == 1
    assert sched.post_leaderboard("2026-W47", retry_failed=True) == [(T, "posted")]
    assert posts() == 2
    assert sched.post_leaderboard("2026-W47", retry_failed=True) == [(T, "already posted")]


def test_planning_is_a_constant_number_of_queries(env):
    from sqlalchemy import event

    for i in range(200):
        env.member(f"U{i:03d}", ["UTC", "Europe/Berlin", "Asia/Tokyo", "America/Chicago"][i % 4])
    sched = env.scheduler()
    statements: list[str] = []
    engine = env.progress.db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        due = sched.plan(utc(2026, 11, 26, 9, 0))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(due) == 100  # UTC (09:00) and Berlin (10:00, within the cut-off); not Tokyo (18:00), Chicago (03:00)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2


def test_when_the_dm_history_cannot_be_read_the_takeover_does_not_risk_a_second_dm(env, slack):
    env.member("UA", "UTC")
    slack.force("chat.postMessage", 500, {"ok": False, "error": "internal_error"})
    sched = env.scheduler()
    sched.run_nudges(utc(2026, 11, 26, 9, 0))                          # outcome unknown: stays `sending`
    slack.force("conversations.history", 200, {"ok": False, "error": "missing_scope"})
    assert sched.run_nudges(utc(2026, 11, 26, 9, 7)).sent == 0         # can't check: does not send
    assert slack.dms("UA") == []
    with env.progress.db.session() as s:
        [claim] = repo.claims_with_status(s, kind="nudge", status="sending")
        assert claim.error == "cannot_check" and claim.attempts == 2
    assert sched.run_nudges(utc(2026, 11, 26, 9, 14)).sent == 1        # history readable again: checked, sent
    assert len(slack.dms("UA")) == 1
    with env.progress.db.session() as s:
        assert [c.attempts for c in repo.claims_with_status(s, kind="nudge", status="sent")] == [3]
