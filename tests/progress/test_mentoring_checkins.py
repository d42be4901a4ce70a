"""The weekly check-in DM, exactly once per member per local week: time injected, the real Slack sender
talking to the local fake Slack, on SQLite and PostgreSQL; two schedulers at once, daylight-saving weeks,
settings changes mid-week, recovery of an unknown outcome, and two `mlpath checkins run` processes at once."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.blocks import PLAN_HOURS, PLAN_TOPIC_DONE
from bot.nudges import CHECKIN_EVENT, SlackSender, scheduler_client
from mlpath.wiring import build_scheduler
from progress import repository as repo
from progress.checkins import checkin_settings, set_checkins
from progress.mentoring import Mentoring, MentoringError
from progress.scheduler import CLAIM_LEASE, Scheduler
from progress.service import MemberRef, period_of
from tests.conftest import make_settings
from tests.progress.test_scheduler_processes import env_for

pytestmark = [pytest.mark.server]

T = "T1"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Env:
    def __init__(self, progress, slack, tmp_path) -> None:
        self.progress, self.slack, self.tmp_path = progress, slack, tmp_path
        self.mentoring = Mentoring(progress)

    def checkins(self, **overrides) -> Scheduler:
        """The scheduler as `mlpath scheduler` wires it, with its check-ins (mlpath/wiring.py)."""
        settings = make_settings(self.tmp_path, slack_bot_token="xoxb-test", slack_api_url=self.slack.api_url,
                                 **overrides)
        sender = SlackSender(scheduler_client(settings), rate=1000, sleep=lambda _: None)
        return build_scheduler(settings, progress=self.progress, sender=sender)

    def member(self, user: str, tz: str, **checkins: str) -> MemberRef:
        ref = MemberRef(T, user, f"Name {user}", tz)
        self.progress.member(ref, now=utc(2026, 1, 1))
        for action, value in checkins.items():
            set_checkins(self.mentoring, ref, action, value, now=utc(2026, 1, 1))
        return ref


@pytest.fixture
def env(progress, slack, tmp_path):
    return Env(progress, slack, tmp_path)


def checkins_sent(slack, user: str | None = None) -> list:
    sent = slack.dms(user, checkins=True)
    assert all(c.params["metadata"]["event_type"] == CHECKIN_EVENT for c in sent)
    return sent


def weeks(slack, user: str) -> Counter:
    return Counter(c.params["metadata"]["event_payload"]["key"].split(":")[1] for c in checkins_sent(slack, user))


def test_the_check_in_has_last_week_in_numbers_the_plan_and_buttons(env, slack):
    ref = env.member("UANN", "Europe/Berlin")
    last_week = utc(2026, 11, 25, 12, 0)  # Wednesday of week 48
    for i in range(3):
        prompt = env.progress.next_question(ref, now=last_week + timedelta(minutes=i))
        assert prompt is not None
        env.progress.answer(prompt.token, ref, prompt.question.answer, now=last_week + timedelta(minutes=i))
    env.progress.check_in(ref, "read-paper", now=last_week)
    env.progress.check_in(ref, "build-personal-project", now=last_week)
    with env.progress.db.session() as s:
        member = repo.get_member(s, team_id=T, user_id="UANN")
        xp = repo.week_numbers(s, member_id=member.id, start=date(2026, 11, 23), end=date(2026, 11, 30))[2]
    assert xp > 0
    runner = env.checkins()
    assert runner.run_checkins(utc(2026, 11, 30, 7, 29)).sent == 0  # 08:29 in Berlin: not yet
    report = runner.run_checkins(utc(2026, 11, 30, 7, 31))
    assert report.sent == 1
    [dm] = checkins_sent(slack, "UANN")
    text = str(dm.params["blocks"])
    assert "Last week (2026-W48):* 3 quiz answers · 2 habits · " + f"{xp} XP" in text
    assert "week 2026-W49" in dm.params["text"]
    plan = env.mentoring.weekly_plan(ref, now=utc(2026, 11, 30, 7, 31))
    for topic in plan.topics:
        assert topic.title in text
    actions = [b for b in dm.params["blocks"] if b.get("accessory")]
    assert {b["accessory"]["value"] for b in actions} == {t.topic_id for t in plan.topics}
    assert all(b["accessory"]["action_id"].startswith(PLAN_TOPIC_DONE) for b in actions)
    assert any(e.get("action_id") == PLAN_HOURS for b in dm.params["blocks"] if b["type"] == "actions"
               for e in b["elements"])
    # again the same day, and later that week: nothing new
    assert runner.run_checkins(utc(2026, 11, 30, 9, 0)).sent == 0
    assert len(checkins_sent(slack)) == 1


def test_two_schedulers_send_each_check_in_once(env, slack):
    users = [f"U{i:02d}" for i in range(20)]
    for i, user in enumerate(users):
        env.member(user, ["Europe/Berlin", "America/New_York", "Asia/Tokyo"][i % 3])
    a, b = env.checkins(), env.checkins()
    start, end = utc(2026, 11, 29, 0, 0), utc(2026, 12, 15, 0, 0)
    step = timedelta(minutes=20)
    now = start
    while now < end:
        threads = [threading.Thread(target=r.run_checkins, args=(now,)) for r in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        now += step
    for user in users:
        per_week = weeks(slack, user)
        assert set(per_week) == {"2026-W49", "2026-W50", "2026-W51"} and set(per_week.values()) == {1}, user


@pytest.mark.parametrize("tz, sunday, at", [
    ("Europe/Berlin", date(2026, 3, 29), "02:30"),    # spring forward: 02:00-03:00 does not exist
    ("Europe/Berlin", date(2026, 10, 25), "02:30"),   # fall back: 02:00-03:00 happens twice
    ("America/New_York", date(2026, 11, 1), "01:30"),
])
def test_one_check_in_per_local_week_across_a_daylight_saving_change(env, slack, tz, sunday, at):
    env.member("UDST", tz, day="sun", time=at)
    env.member("UMON", tz)  # the default: Monday 08:30, the day after the change
    runner = env.checkins()
    zone = ZoneInfo(tz)
    now = datetime.combine(sunday - timedelta(days=8), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    end = now + timedelta(days=16)
    sent_at: list[datetime] = []
    while now < end:
        before = len(checkins_sent(slack, "UDST"))
        runner.run_checkins(now)
        sent_at += [now] * (len(checkins_sent(slack, "UDST")) - before)
        now += timedelta(minutes=10)
    for user in ("UDST", "UMON"):
        per_week = weeks(slack, user)
        assert set(per_week.values()) == {1} and len(per_week) >= 2, (user, per_week)
        assert period_of("weekly", sunday) in per_week
    hour, minute = map(int, at.split(":"))
    for when in sent_at:  # on a Sunday, within the run step of the time (an hour later inside a skipped hour)
        local = when.astimezone(zone)
        assert local.weekday() == 6
        assert timedelta(0) <= local.replace(tzinfo=None) - local.replace(hour=hour, minute=minute,
                                                                          tzinfo=None) < timedelta(hours=1, minutes=10)


def test_day_time_off_and_on_and_moving_the_day_after_this_weeks_check_in(env, slack):
    ref = env.member("UA", "UTC")
    runner = env.checkins()
    assert runner.run_checkins(utc(2026, 11, 30, 8, 31)).sent == 1          # Monday 08:30: this week's
    settings = set_checkins(env.mentoring, ref, "day", "Wednesday")
    assert (settings.day, settings.time, settings.enabled) == ("wed", "08:30", True)
    assert runner.run_checkins(utc(2026, 12, 2, 8, 31)).sent == 0            # already had week 49's
    set_checkins(env.mentoring, ref, "time", "17:00")
    assert runner.run_checkins(utc(2026, 12, 9, 8, 31)).sent == 0            # not yet 17:00
    assert runner.run_checkins(utc(2026, 12, 9, 17, 1)).sent == 1            # week 50, Wednesday 17:00
    set_checkins(env.mentoring, ref, "off")
    assert runner.run_checkins(utc(2026, 12, 16, 17, 1)).due == 0
    assert checkin_settings(env.mentoring, ref).describe() == "off"
    set_checkins(env.mentoring, ref, "on")
    assert runner.run_checkins(utc(2026, 12, 23, 17, 1)).sent == 1
    assert dict(weeks(slack, "UA")) == {"2026-W49": 1, "2026-W50": 1, "2026-W52": 1}
    for action, value in (("day", "someday"), ("time", "25:00"), ("weekly", ""), ("day", "")):
        with pytest.raises(MentoringError):
            set_checkins(env.mentoring, ref, action, value)
    assert checkin_settings(env.mentoring, ref).describe() == "Wed 17:00 (UTC)"


def test_an_unknown_outcome_is_checked_before_sending_again(env, slack):
    env.member("UA", "UTC")
    runner = env.checkins()
    slack.force("chat.postMessage", 500, {"ok": False, "error": "internal_error"})
    at = utc(2026, 11, 30, 8, 31)
    report = runner.run_checkins(at)
    assert report.failed == 1 and checkins_sent(slack) == []
    assert runner.run_checkins(at + timedelta(minutes=1)).sent == 0          # within the lease: nothing
    later = runner.run_checkins(at + CLAIM_LEASE + timedelta(minutes=2))     # takeover: not in the DM, so sent once
    assert later.sent == 1 and len(checkins_sent(slack, "UA")) == 1
    assert slack.calls_to("conversations.history")
    assert runner.run_checkins(at + 2 * CLAIM_LEASE + timedelta(minutes=3)).sent == 0
    with env.progress.db.session() as s:
        assert [c.status for c in repo.claims_with_status(s, kind="checkin", status="sent")] == ["sent"]


def test_the_scheduler_tick_sends_check_ins(env, slack):
    env.member("UA", "UTC")
    runner = env.checkins()
    runner.tick(utc(2026, 11, 30, 8, 45))
    assert len(checkins_sent(slack, "UA")) == 1


@pytest.mark.subprocess
def test_two_checkins_run_processes_at_once_send_each_once(db_url, env, slack, tmp_path):
    for i in range(24):
        env.member(f"U{i:03d}", ["Europe/Berlin", "Africa/Lagos", "Europe/London"][i % 3])
    cmd = [sys.executable, "-m", "mlpath.cli", "checkins", "run", "--at", "2026-11-30T09:45:00+01:00"]
    environ = env_for(db_url, slack, tmp_path)
    procs = [subprocess.Popen(cmd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    sent = checkins_sent(slack)
    assert len(sent) == 24 and len({c.params["channel"] for c in sent}) == 24
    again = subprocess.run([*cmd, "--json"], env=environ, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0 and '"sent": 0' in again.stdout, again
    assert len(checkins_sent(slack)) == 24
