"""The weekly check-in DM: one per member per local week, on the weekday and at the time they choose
(`checkins day|time|off|on`; default Monday 08:30 in their time zone).

Sent exactly once by the daily reminder's machinery (progress/scheduler.py, `Scheduler.run_dms`): the claim
key is "<member>:<ISO week of the local date>" of kind "checkin", so a member who moves their check-in day
after this week's was sent gets nothing more this week; a scheduler that dies between claim and send, or
during the send, is recovered the same way (lease, takeover, looking for the message's metadata first).
The check-in is due on the chosen weekday from the chosen time until MLPATH_NUDGE_CUTOFF_HOURS later, on
that local date; daylight-saving days are handled as for reminders (per local date, never per tick).

What it says: last week in numbers (quiz answers, habit check-ins, XP, streak), the plan for the coming
week (progress/mentoring.py), and buttons to adjust the weekly hours or mark a plan topic done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from progress import repository as repo
from progress.clock import WEEKDAYS, parse_hhmm
from progress.mentoring import Mentoring, MentoringError, WeeklyPlan
from progress.models import DEFAULT_CHECKIN_DAY, DEFAULT_CHECKIN_TIME
from progress.scheduler import ClaimState, DmJob, Due, SendResult, due_instant, stale
from progress.service import MemberRef, _aware, period_of, zone

DAYS = WEEKDAYS
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class CheckinSettings:
    enabled: bool
    day: str
    time: str
    tz: str

    def describe(self) -> str:
        if not self.enabled:
            return "off"
        return f"{self.day.capitalize()} {self.time} ({self.tz})"


@dataclass(frozen=True)
class WeekNumbers:
    week: str
    quiz_answers: int
    habits: int
    xp: int
    streak: int


@dataclass(frozen=True)
class CheckinMessage:
    member_id: int
    user_id: str
    key: str
    """The claim key, carried in the message so a takeover can find it."""
    local_date: date
    name: str
    last_week: WeekNumbers
    plan: WeeklyPlan


class CheckinSender(Protocol):
    def send_checkin(self, message: CheckinMessage) -> SendResult: ...

    def find_checkin(self, user_id: str, key: str, since: datetime) -> str | None:
        """The ts of an already-delivered check-in carrying `key`; raises scheduler.CannotCheck."""
        ...


def parse_weekday(text: str) -> str:
    """"mon" / "Monday" → "mon"; raises MentoringError otherwise."""
    key = text.strip().lower()
    for name in DAY_NAMES:
        if key in (name, name[:3]):
            return name[:3]
    raise MentoringError(f"“{text.strip()[:20]}” is not a weekday: mon, tue, wed, thu, fri, sat or sun")


def checkin_settings(mentoring: Mentoring, ref: MemberRef, *, now: datetime | None = None) -> CheckinSettings:
    member = mentoring.progress.member(ref, now=now)
    with mentoring.db.session() as s:
        profile = repo.get_profile(s, member_id=member.id)
    if profile is None:
        return CheckinSettings(True, DEFAULT_CHECKIN_DAY, DEFAULT_CHECKIN_TIME, member.tz)
    return CheckinSettings(profile.checkins_enabled, profile.checkin_day, profile.checkin_time, member.tz)


def set_checkins(mentoring: Mentoring, ref: MemberRef, action: str, value: str = "", *,
                 now: datetime | None = None) -> CheckinSettings:
    """`checkins day DAY|time HH:MM|off|on`. Raises MentoringError (nothing changed) for anything else."""
    action = action.strip().lower()
    fields: dict[str, object]
    if action == "day":
        fields = {"checkin_day": parse_weekday(value), "checkins_enabled": True}
    elif action == "time":
        hm = parse_hhmm(value)
        if hm is None:
            raise MentoringError(f"“{value.strip()[:20]}” is not a time such as 08:30 or 17:00")
        fields = {"checkin_time": f"{hm[0]:02d}:{hm[1]:02d}", "checkins_enabled": True}
    elif action in ("off", "on"):
        fields = {"checkins_enabled": action == "on"}
    else:
        raise MentoringError("use checkins day mon, checkins time 08:30, checkins off or checkins on")
    now = now or datetime.now(UTC)
    member = mentoring.progress.member(ref, now=now)
    with mentoring.db.session() as s:
        repo.save_profile(s, member_id=member.id, now=now, **fields)
    return checkin_settings(mentoring, ref, now=now)


def plan_checkins(candidates: Iterable[tuple[int, str, str, str, str]], claims: dict[tuple[int, str], ClaimState],
                  now: datetime, cutoff: timedelta) -> list[Due]:
    """Who gets their check-in at `now`: pure computation over two queries' rows (see `Checkins.plan`)."""
    now = _aware(now)
    today_in: dict[str, date] = {}  # one time-zone conversion per zone, whatever the team size
    out: list[Due] = []
    for member_id, user_id, tz, day, at in candidates:
        today = today_in.setdefault(tz, now.astimezone(zone(tz)).date())
        start = due_instant(today, at, tz)
        if DAYS[today.weekday()] != day or not start <= now < start + cutoff:
            continue
        week = period_of("weekly", today)
        claim = claims.get((member_id, week))
        if claim is None:
            out.append(Due(member_id, user_id, today, period=week))
        elif stale(claim, now):
            out.append(Due(member_id, user_id, today, claim[3], claim[0], period=week))
    out.sort(key=lambda d: (d.local_date, d.member_id))
    return out


class Checkins:
    """The weekly check-ins as a kind of DM the scheduler sends (`Scheduler(..., checkins=Checkins(...))`, wired
    by mlpath/wiring.py): on every tick, or once by `mlpath checkins run` (`Scheduler.run_checkins`)."""

    def __init__(self, mentoring: Mentoring, sender: CheckinSender) -> None:
        self.mentoring = mentoring
        self.sender = sender
        self.db = mentoring.db

    def job(self) -> DmJob:
        return DmJob("checkin", "checkin", "weekly check-in", self.compose,
                     lambda message: self.sender.send_checkin(message),  # type: ignore[arg-type]
                     self.sender.find_checkin)

    def plan(self, now: datetime, cutoff: timedelta) -> list[Due]:
        """Two queries: the members who get check-ins, and the check-in claims of the last nine days (this
        local week anywhere on Earth)."""
        now = _aware(now)
        today = now.astimezone(UTC).date()
        dates = [today + timedelta(days=d) for d in range(-8, 2)]
        with self.db.session() as s:
            candidates = repo.checkin_candidates(s)
            claims: dict[tuple[int, str], ClaimState] = {
                (c.member_id, c.key.split(":", 1)[1]): (c.status, c.updated_at, c.attempts, c.id)
                for c in repo.claims_on(s, kind="checkin", dates=dates) if c.member_id is not None}
        return plan_checkins(candidates, claims, now, cutoff)

    def compose(self, item: Due, now: datetime) -> CheckinMessage | None:
        with self.db.session() as s:
            member = repo.members_by_ids(s, ids=[item.member_id]).get(item.member_id)
            profile = repo.get_profile(s, member_id=item.member_id)
            if member is None or not member.active or member.unreachable:
                return None
            if profile is not None and not profile.checkins_enabled:
                return None
            day = item.local_date
            this_monday = day - timedelta(days=day.weekday())
            last_monday = this_monday - timedelta(days=7)
            answers, habits, xp = repo.week_numbers(s, member_id=member.id, start=last_monday, end=this_monday)
        streak = self.mentoring.progress.streak(member, now)
        ref = MemberRef(member.team_id, member.user_id)
        plan = self.mentoring.weekly_plan(ref, now=now, day=day)
        name = (member.display_name or "").split()[0] if (member.display_name or "").strip() else "there"
        numbers = WeekNumbers(period_of("weekly", last_monday), answers, habits, xp, streak)
        return CheckinMessage(member.id, member.user_id, item.key, day, name, numbers, plan)
