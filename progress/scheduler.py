"""Daily reminder DMs at each member's local time and the weekly leaderboard post — each exactly once.

No Slack here: a `Sender` (bot/nudges.py for Slack) delivers plain `NudgeMessage`/`LeaderboardPost` objects.

Exactly once, across processes, restarts and daylight-saving days:
- The unit of work is (member, *local date*), never a wall-clock tick. A member is due on local date D when
  now ≥ D at their nudge time (for a time inside a skipped hour, the instant Python's zoneinfo gives with
  fold=0, i.e. one hour later on the wall clock; for a repeated hour, its first occurrence) and now is less
  than MLPATH_NUDGE_CUTOFF_HOURS later, still on D. A scheduler that was down sends once when it is back
  within the cut-off; missed days are never sent as a backlog.
- Before sending, a row is inserted into `claims` with the unique key (kind "nudge", "<member>:<D>") by
  INSERT … ON CONFLICT DO NOTHING. Only the process whose insert succeeded sends.
- A claim moves claimed → sending (committed before the Slack call) → sent / failed / skipped. If a process
  dies between claim and send, its claim stays `claimed`; after CLAIM_LEASE another scheduler takes it over
  with a conditional UPDATE (exactly one wins) and sends: no duplicate, because nothing was sent. If it dies
  *during* the Slack call (or Slack answers 5xx, so nobody knows whether the message was posted), the claim
  stays `sending`; the scheduler that takes it over first asks the sender whether the DM is already in the
  conversation (the message carries its claim key as Slack message metadata) and only sends when it is not.
- The weekly post works the same way with the key (kind "leaderboard", "<channel>:<ISO week>:<team>").
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from errors import MlpathError
from knowledge.catalogue import Habit
from knowledge.nudges import Wording, wording
from progress import repository as repo
from progress.charts import render_team
from progress.clock import WEEKDAYS, parse_hhmm
from progress.models import Member
from progress.service import LeaderRow, Progress, QuizPrompt, _aware, period_of, utcnow, zone

log = logging.getLogger("mlpath.scheduler")

CLAIM_LEASE = timedelta(minutes=5)
"""A claim untouched this long belongs to a process that died (a send takes seconds, the HTTP timeout is 30 s)."""
MAX_ATTEMPTS = 3
BATCH = 50
"""Claims are taken in batches just before sending, so a crash strands at most a batch (recovered after the lease)."""
TZ_REFRESH_BATCH = 50


class SchedulerSettings(Protocol):
    """The values the scheduler runs on (the shell's Settings has them)."""

    nudge_cutoff_hours: float
    team_tz: str
    leaderboard_time: str
    leaderboard_day: str
    leaderboard_channel: str | None
    scheduler_interval: float


DeliveryObserver = Callable[[str, str, str | None], None]
"""(kind "daily" | "leaderboard", status "sent" | …, error) for every delivery attempt: the shell counts them
as metrics; the core only reports."""


def _ignore(kind: str, status: str, error: str | None) -> None:
    return None


def owner_id() -> str:
    return f"{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# ----- what is sent -----
@dataclass(frozen=True)
class NudgeMessage:
    member_id: int
    user_id: str
    key: str
    """The claim key, carried in the message so a takeover can find it (see the module docstring)."""
    local_date: date
    greeting: str
    lines: list[str]
    habits: list[tuple[Habit, bool]]
    """Today's featured habits (the daily one; the weekly one on Mondays; the monthly one on the 1st), done?"""
    due_reviews: int
    streak: int
    asked: QuizPrompt | None = None
    """Today's quick check of a topic the member asked about (progress/asked.py), with its answer buttons."""


@dataclass(frozen=True)
class LeaderboardPost:
    channel: str
    key: str
    week: str
    team_id: str
    rows: list[LeaderRow]
    line: str
    chart: bytes | None = None
    """The week's chart as PNG (progress/charts.py), uploaded beside the post; None when it could not be drawn."""
    chart_alt: str = ""


@dataclass(frozen=True)
class SendResult:
    status: str
    """"sent"; "unreachable" (the member can't get DMs: marked, skipped from now on); "failed" (a permanent
    error for this message); "retry" (certainly not posted, e.g. rate limited: try again next tick);
    "unknown" (maybe posted: 5xx, timeout — recovered by a takeover that checks the conversation first)."""
    ref: str | None = None
    error: str | None = None


class CannotCheck(MlpathError):
    """The sender could not look for an earlier delivery (e.g. no history scope, Slack down). Sending anyway
    could duplicate, so the claim waits for a later attempt instead."""


class DmSource(Protocol):
    """Another kind of DM the scheduler sends on every tick, exactly once per claim key, by the same machinery
    as the daily reminder: the weekly check-in (progress/checkins.py `Checkins`)."""

    def job(self) -> DmJob: ...

    def plan(self, now: datetime, cutoff: timedelta) -> list[Due]:
        """Who is due at `now` (a DM more than `cutoff` late is not sent)."""
        ...


class Sender(Protocol):
    def send_nudge(self, message: NudgeMessage) -> SendResult: ...

    def find_nudge(self, user_id: str, key: str, since: datetime) -> str | None:
        """The ts of an already-delivered DM carrying `key`, None if there is none; raises CannotCheck."""
        ...

    def post_leaderboard(self, post: LeaderboardPost) -> SendResult: ...

    def find_post(self, channel: str, key: str, since: datetime) -> str | None: ...

    def time_zone(self, user_id: str) -> str | None:
        """The member's IANA time zone as Slack reports it (None when unknown)."""
        ...


@dataclass(frozen=True)
class Due:
    member_id: int
    user_id: str
    local_date: date
    claim_id: int | None = None
    """Set when an existing stale claim is to be taken over."""
    claim_status: str = "claimed"
    period: str = ""
    """The claim's unit when it is not the local date (the ISO week of a weekly check-in)."""

    @property
    def key(self) -> str:
        return f"{self.member_id}:{self.period or self.local_date.isoformat()}"


@dataclass(frozen=True)
class DmJob:
    """One kind of DM sent exactly once per claim key by the same machinery: the daily reminder (kind
    "nudge"), the weekly check-in (kind "checkin", progress/checkins.py)."""

    kind: str
    metric: str
    label: str
    compose: Callable[[Due, datetime], object | None]
    send: Callable[[object], SendResult]
    find: Callable[[str, str, datetime], str | None]


@dataclass
class RunReport:
    due: int = 0
    sent: int = 0
    recovered: int = 0
    """Taken-over claims whose DM turned out to be delivered already (not sent again)."""
    skipped: int = 0
    failed: int = 0
    unreachable: int = 0
    retry: int = 0
    lost_race: int = 0
    """Due members another process claimed first."""
    errors: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        parts = [f"{self.due} due", f"{self.sent} sent"]
        for name in ("recovered", "skipped", "failed", "unreachable", "retry", "lost_race"):
            if getattr(self, name):
                parts.append(f"{getattr(self, name)} {name.replace('_', ' ')}")
        return ", ".join(parts)


def due_instant(day: date, nudge_time: str, tz: str) -> datetime:
    """The instant of `nudge_time` on local date `day` (fold=0: a skipped time maps past the gap, a
    repeated time to its first occurrence)."""
    hm = parse_hhmm(nudge_time) or (9, 0)
    return datetime.combine(day, time(hm[0], hm[1]), tzinfo=zone(tz))


ClaimState = tuple[str, datetime, int, int]
"""(status, updated_at, attempts, claim id) of an existing nudge claim."""


def plan(candidates: Iterable[tuple[int, str, str, str, date | None]], claims: dict[tuple[int, date], ClaimState],
         now: datetime, cutoff: timedelta) -> list[Due]:
    """Who is due at `now`: pure computation over the rows of two queries (see `Scheduler.plan`)."""
    now = _aware(now)
    by_zone: dict[str, list[tuple[int, str, str, date | None]]] = defaultdict(list)
    for member_id, user_id, tz, nudge_time, snoozed in candidates:
        by_zone[tz].append((member_id, user_id, nudge_time, snoozed))
    out: list[Due] = []
    for tz, members in by_zone.items():
        today = now.astimezone(zone(tz)).date()
        for member_id, user_id, nudge_time, snoozed in members:
            if snoozed is not None and today < snoozed:
                continue
            at = due_instant(today, nudge_time, tz)
            if not at <= now < at + cutoff:
                continue
            claim = claims.get((member_id, today))
            if claim is None:
                out.append(Due(member_id, user_id, today))
                continue
            if stale(claim, now):
                out.append(Due(member_id, user_id, today, claim[3], claim[0]))
    out.sort(key=lambda d: (d.local_date, d.member_id))
    return out


def stale(claim: ClaimState, now: datetime) -> bool:
    """A claim whose owner stopped touching it before sending for sure: to be taken over (see the docstring)."""
    status, updated_at, attempts, _ = claim
    return status in ("claimed", "sending") and _aware(updated_at) < now - CLAIM_LEASE and attempts < MAX_ATTEMPTS


def last_complete_week(today: date) -> str:
    year, week, _ = (today - timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str) -> date:
    """"2026-W48" → the Monday of that ISO week. Raises ValueError with a one-line message."""
    try:
        year_text, week_text = text.strip().upper().split("-W")
        return date.fromisocalendar(int(year_text), int(week_text), 1)
    except ValueError as exc:
        raise ValueError(f"“{text}” is not an ISO week such as 2026-W48") from exc


class Scheduler:
    def __init__(self, progress: Progress, sender: Sender, settings: SchedulerSettings, *, owner: str | None = None,
                 words: Wording | None = None, clock: Callable[[], datetime] = utcnow,
                 observe: DeliveryObserver = _ignore, checkins: DmSource | None = None) -> None:
        """`checkins`: the weekly check-in DMs, sent on every tick and by `run_checkins` (None: not sent)."""
        self.checkins = checkins
        self.observe = observe
        self.progress = progress
        self.db = progress.db
        self.sender = sender
        self.settings = settings
        self.owner = owner or owner_id()
        self.words = words or wording()
        self.clock = clock
        self.cutoff = timedelta(hours=settings.nudge_cutoff_hours)
        self._offset = timedelta(0)

    def _now(self) -> datetime:
        """The clock, shifted to the instant a run was asked for (`--at`, tests): claims are stamped on the
        same timeline as that instant, and still advance in real time during a long run."""
        return _aware(self.clock()) + self._offset

    def _at(self, now: datetime | None) -> datetime:
        now = _aware(now) if now is not None else _aware(self.clock())
        self._offset = now - _aware(self.clock())
        return now

    # ----- daily DMs -----
    def plan(self, now: datetime) -> list[Due]:
        """Two queries whatever the team size: the members who get reminders, and the nudge claims of the
        (at most three) dates that are 'today' somewhere on Earth right now."""
        now = _aware(now)
        dates = {(now.astimezone(UTC) + timedelta(days=d)).date() for d in (-1, 0, 1)}
        with self.db.session() as s:
            candidates = repo.nudge_candidates(s)
            claims: dict[tuple[int, date], ClaimState] = {
                (c.member_id, c.local_date): (c.status, c.updated_at, c.attempts, c.id)
                for c in repo.claims_on(s, kind="nudge", dates=dates)
                if c.member_id is not None and c.local_date is not None}
        return plan(candidates, claims, now, self.cutoff)

    def run_nudges(self, now: datetime | None = None, *, stop: threading.Event | None = None) -> RunReport:
        """Send every DM due at `now` (default: the clock). Safe to run concurrently and repeatedly."""
        now = self._at(now)
        return self.run_dms(self._nudge_job(), self.plan(now), now, stop=stop)

    def _nudge_job(self) -> DmJob:
        return DmJob("nudge", "daily", "reminder", self.compose,
                     lambda message: self.sender.send_nudge(message),  # type: ignore[arg-type]
                     self.sender.find_nudge)

    def run_dms(self, job: DmJob, due: list[Due], now: datetime, *,
                stop: threading.Event | None = None) -> RunReport:
        """Claim and send `due` DMs of one job, in batches (call `_at(now)` first)."""
        report = RunReport(due=len(due))
        for start in range(0, len(due), BATCH):
            if stop is not None and stop.is_set():
                break
            for item, status in self._claim(due[start:start + BATCH], report, job.kind):
                self._deliver(job, item, status, now, report)
        if report.due:
            log.info("%s DMs at %s: %s", job.kind, now.isoformat(timespec="minutes"), report.line())
        return report

    def _claim(self, batch: list[Due], report: RunReport, kind: str = "nudge") -> list[tuple[Due, str]]:
        now = self._now()
        mine: list[tuple[Due, str]] = []
        with self.db.session() as s:
            for item in batch:
                if item.claim_id is None:
                    claim_id = repo.insert_claim(s, kind=kind, key=item.key, owner=self.owner, now=now,
                                                 member_id=item.member_id, local_date=item.local_date)
                    if claim_id is None:
                        report.lost_race += 1
                        continue
                    mine.append((replace(item, claim_id=claim_id), "claimed"))
                elif repo.take_over_claim(s, claim_id=item.claim_id, owner=self.owner, now=now,
                                          stale_before=now - CLAIM_LEASE):
                    log.warning("taking over a stale %s claim for member %s on %s", item.claim_status,
                                item.member_id, item.local_date)
                    mine.append((item, item.claim_status))
                else:
                    report.lost_race += 1
        return mine

    def _deliver(self, job: DmJob, item: Due, status: str, planned_at: datetime, report: RunReport) -> None:
        assert item.claim_id is not None
        claim_id = item.claim_id
        if status == "sending":
            # the previous owner died during the Slack call (or got a 5xx): it may have been delivered
            with self.db.session() as s:
                claim = repo.get_claim(s, kind=job.kind, key=item.key)
                since = _aware(claim.claimed_at) if claim else planned_at - timedelta(days=1)
            try:
                ts = job.find(item.user_id, item.key, since - timedelta(minutes=1))
            except CannotCheck as exc:
                # never risk a second DM: leave it `sending`; the next takeover (after the lease) checks again,
                # and after MAX_ATTEMPTS the day's DM is given up
                with self.db.session() as s:
                    repo.move_claim(s, claim_id=claim_id, owner=self.owner, from_status="sending",
                                    to_status="sending", now=self._now(), error="cannot_check")
                log.warning("%s to member %s: cannot check whether it was delivered (%s); not resending yet",
                            job.label, item.member_id, exc)
                report.failed += 1
                return
            if ts:
                self._move(claim_id, "sending", "sent", ref=ts)
                report.recovered += 1
                return
        elif not self._move(claim_id, "claimed", "sending"):
            report.lost_race += 1
            return
        try:
            message = job.compose(item, planned_at)
        except Exception as exc:  # noqa: BLE001 — one member's data (say, from an old import) never stops the others
            log.warning("reminder to member %s skipped: cannot compose it from their data (%s)", item.member_id,
                        type(exc).__name__)
            self._move(claim_id, "sending", "skipped", error=f"compose:{type(exc).__name__}"[:64])
            report.skipped += 1
            return
        if message is None:  # turned off, snoozed or unreachable since planning: settings apply to the next send
            self._move(claim_id, "sending", "skipped")
            report.skipped += 1
            return
        try:
            result = job.send(message)
        except Exception as exc:  # noqa: BLE001 — one member's failure never stops the others
            log.exception("sending the %s to member %s failed", job.label, item.member_id)
            result = SendResult("unknown", error=type(exc).__name__[:64])
        self._record(job, claim_id, item, result, report)

    def _record(self, job: DmJob, claim_id: int, item: Due, result: SendResult, report: RunReport) -> None:
        if result.error:
            report.errors[result.error] = report.errors.get(result.error, 0) + 1
        self.observe(job.metric, result.status, result.error)
        if result.status == "sent":
            self._move(claim_id, "sending", "sent", ref=result.ref)
            report.sent += 1
        elif result.status == "unreachable":
            with self.db.session() as s:
                repo.mark_unreachable(s, member_id=item.member_id, error=result.error or "unreachable")
            self._move(claim_id, "sending", "failed", error=result.error)
            log.warning("member %s can't get DMs (%s): marked unreachable until they write to the bot",
                        item.member_id, result.error)
            report.unreachable += 1
        elif result.status == "retry":
            # certainly not posted: hand the claim back, stale at once, so the next tick sends it
            with self.db.session() as s:
                repo.move_claim(s, claim_id=claim_id, owner=self.owner, from_status="sending", to_status="claimed",
                                now=self._now() - CLAIM_LEASE - timedelta(seconds=1), error=result.error)
            report.retry += 1
        elif result.status == "unknown":
            # maybe posted: stays `sending`; after the lease a takeover checks the DM before sending again
            with self.db.session() as s:
                repo.move_claim(s, claim_id=claim_id, owner=self.owner, from_status="sending", to_status="sending",
                                now=self._now(), error=result.error)
            log.warning("%s to member %s: outcome unknown (%s); will check before retrying",
                        job.label, item.member_id, result.error)
            report.failed += 1
        else:
            self._move(claim_id, "sending", "failed", error=result.error)
            log.warning("%s to member %s failed: %s", job.label, item.member_id, result.error)
            report.failed += 1

    def _move(self, claim_id: int, from_status: str, to_status: str, *, error: str | None = None,
              ref: str | None = None) -> bool:
        with self.db.session() as s:
            return repo.move_claim(s, claim_id=claim_id, owner=self.owner, from_status=from_status,
                                   to_status=to_status, now=self._now(), error=error, ref=ref)

    def compose(self, item: Due, now: datetime) -> NudgeMessage | None:
        """The DM for one member, from their state at send time; None if they should not get one now."""
        day = item.local_date
        with self.db.session() as s:
            member = repo.members_by_ids(s, ids=[item.member_id]).get(item.member_id)
            if member is None or not member.active or not member.nudges_enabled or member.unreachable:
                return None
            if member.snoozed_until is not None and day < member.snoozed_until:
                return None
            featured = featured_habits(self.progress, day, member.id)
            done = repo.checked_in(s, member_id=member.id, periods={period_of(h.cadence, day) for h in featured})
            eligible = {q.id for q in self.progress.eligible(member)}
            due_reviews = repo.due_count(s, member_id=member.id, now=now, question_ids=eligible)
            name = _first_name(member)
        streak = self.progress.streak(member, now)
        asked = self.progress.asked_check(member, now)
        seed = day.toordinal() + 5 * item.member_id  # +1 a day: the next variant of every line, every day
        w = self.words
        lines: list[str] = []
        for habit in featured:
            group = {"daily": "habit", "weekly": "weekly_habit", "monthly": "monthly_habit"}[habit.cadence]
            lines.append(w.pick(group, seed + len(lines), habit=habit.description))
        lines.append(w.pick("quiz_due", seed, due=due_reviews) if due_reviews else w.pick("quiz_new", seed))
        lines.append(w.pick("streak_on", seed, streak=streak) if streak else w.pick("streak_off", seed))
        habits = [(h, (h.id, period_of(h.cadence, day)) in done) for h in featured]
        return NudgeMessage(member.id, member.user_id, item.key, day, w.pick("greeting", seed, name=name), lines,
                            habits, due_reviews, streak, asked)

    # ----- the weekly leaderboard -----
    def leaderboard_due(self, now: datetime) -> str | None:
        """The ISO week to report when the post is due at `now` (the configured weekday, from the configured
        time until the end of that day in TEAM_TZ), else None."""
        local = _aware(now).astimezone(zone(self.settings.team_tz))
        hm = parse_hhmm(self.settings.leaderboard_time) or (9, 0)
        if WEEKDAYS[local.weekday()] != self.settings.leaderboard_day:
            return None
        if local < datetime.combine(local.date(), time(*hm), tzinfo=local.tzinfo):
            return None
        return last_complete_week(local.date())

    def post_leaderboard(self, week: str | None = None, *, now: datetime | None = None,
                         retry_failed: bool = False) -> list[tuple[str, str]]:
        """Post the leaderboard of `week` (default: the last complete week in TEAM_TZ) once per channel, week
        and team. Returns (team, outcome) pairs; outcome is "posted", "already posted", "not configured",
        or "failed: <error>". A failed post is retried only when `retry_failed` (the one-shot command)."""
        channel = self.settings.leaderboard_channel
        if not channel:
            return [("", "not configured")]
        now = self._at(now)
        if week is None:
            week = last_complete_week(now.astimezone(zone(self.settings.team_tz)).date())
        week_start = parse_week(week)
        week = f"{week_start.isocalendar()[0]}-W{week_start.isocalendar()[1]:02d}"
        with self.db.session() as s:
            teams = repo.team_ids(s)
        out: list[tuple[str, str]] = []
        for team in teams:
            key = f"{channel}:{week}:{team}"
            out.append((team, self._post_once(key, channel, team, week, week_start, now, retry_failed)))
        return out

    def _post_once(self, key: str, channel: str, team: str, week: str, week_start: date, now: datetime,
                   retry_failed: bool) -> str:
        with self.db.session() as s:
            claim_id = repo.insert_claim(s, kind="leaderboard", key=key, owner=self.owner, now=now,
                                         local_date=week_start)
            status = "claimed"
            if claim_id is None:
                claim = repo.get_claim(s, kind="leaderboard", key=key)
                assert claim is not None
                statuses = ["claimed", "sending"] + (["failed"] if retry_failed else [])
                stale = now - CLAIM_LEASE if claim.status != "failed" else now + timedelta(days=1)
                if claim.status == "sent" or not repo.take_over_claim(
                        s, claim_id=claim.id, owner=self.owner, now=now, stale_before=stale, statuses=statuses):
                    return "already posted" if claim.status == "sent" else f"skipped ({claim.status})"
                claim_id, status = claim.id, claim.status
                if status == "failed":
                    repo.move_claim(s, claim_id=claim_id, owner=self.owner, from_status="failed",
                                    to_status="claimed", now=now)
                    status = "claimed"
        if status == "sending":
            try:
                ts = self.sender.find_post(channel, key, now - timedelta(days=7))
            except CannotCheck as exc:
                self._move(claim_id, "sending", "sending", error="cannot_check")
                return f"failed: cannot check {channel} for an earlier post ({exc}); not posting twice"
            if ts:
                self._move(claim_id, "sending", "sent", ref=ts)
                return "already posted"
        elif not self._move(claim_id, "claimed", "sending"):
            return "skipped (claimed elsewhere)"
        rows = self.progress.leaderboard(team, week_start=week_start, now=now)[:10]
        seed = week_start.toordinal() // 7
        line = (self.words.pick("encouragement", seed, leader=rows[0].display_name or "our leader") if rows
                else self.words.pick("empty_week", seed, week=week))
        chart, alt = None, ""
        try:  # drawn only by the claim's owner, so once; a chart that fails never holds up the post
            data = self.progress.team_chart(team, week_start=week_start, now=now)
            chart, alt = render_team(data), data.alt_text()
        except Exception:  # noqa: BLE001
            log.exception("the leaderboard chart of %s could not be drawn; posting without it", week)
        try:
            result = self.sender.post_leaderboard(LeaderboardPost(channel, key, week, team, rows, line, chart, alt))
        except Exception as exc:  # noqa: BLE001
            log.exception("posting the leaderboard failed")
            result = SendResult("unknown", error=type(exc).__name__[:64])
        self.observe("leaderboard", result.status, result.error)
        if result.status == "sent":
            self._move(claim_id, "sending", "sent", ref=result.ref)
            return "posted"
        if result.status == "unknown":
            return f"failed: {result.error} (will check the channel before retrying)"
        self._move(claim_id, "sending", "failed", error=result.error)
        log.error("leaderboard post to %s failed: %s", channel, result.error)
        return f"failed: {result.error}"

    # ----- time zones -----
    def refresh_time_zones(self, now: datetime | None = None, *, limit: int = TZ_REFRESH_BATCH) -> int:
        """Re-read up to `limit` members' time zones from Slack, each at most once a day (a conditional
        UPDATE stamps the check, so two schedulers don't both ask). Returns how many changed."""
        now = _aware(now or self.clock())
        with self.db.session() as s:
            stale = repo.stale_time_zones(s, now=now, limit=limit)
        changed = 0
        for member_id, user_id in stale:
            with self.db.session() as s:
                if not repo.claim_tz_check(s, member_id=member_id, now=now):
                    continue
            tz = self.sender.time_zone(user_id)
            if not tz:
                continue
            with self.db.session() as s:
                member = repo.members_by_ids(s, ids=[member_id]).get(member_id)
                if member is not None and member.tz != tz:
                    repo.update_member(s, member_id=member_id, tz=tz)
                    changed += 1
        return changed

    # ----- the weekly check-ins -----
    def run_checkins(self, now: datetime | None = None, *, stop: threading.Event | None = None) -> RunReport:
        """Send every check-in due at `now` (`mlpath checkins run`; every tick does too). Safe to run
        concurrently and repeatedly. Nothing is due when the scheduler was built without check-ins."""
        now = self._at(now)
        if self.checkins is None:
            return RunReport()
        return self.run_dms(self.checkins.job(), self.checkins.plan(now, self.cutoff), now, stop=stop)

    # ----- the long-running loop -----
    def tick(self, now: datetime | None = None, *, stop: threading.Event | None = None) -> RunReport:
        now = self._at(now)
        try:
            self.refresh_time_zones(now)
        except Exception:  # noqa: BLE001 — a Slack hiccup must not stop the reminders
            log.exception("time zone refresh failed")
        report = self.run_nudges(now, stop=stop)
        if self.checkins is not None:
            try:
                self.run_checkins(now, stop=stop)
            except Exception:  # noqa: BLE001 — a check-in problem must not stop reminders or the weekly post
                log.exception("weekly check-ins failed")
        week = self.leaderboard_due(now)
        if week and self.settings.leaderboard_channel:
            for team, outcome in self.post_leaderboard(week, now=now):
                if outcome == "posted":
                    log.info("leaderboard %s posted for team %s", week, team)
        return report

    def run_forever(self, stop: threading.Event, *, on_tick: Callable[[], None] | None = None) -> None:
        """Tick every `scheduler_interval` seconds until `stop`; `on_tick` is told after each tick (the shell
        counts them as a metric, which is also what tests wait on instead of sleeping)."""
        log.info("scheduler %s started: checking every %.0f s", self.owner, self.settings.scheduler_interval)
        while not stop.is_set():
            try:
                self.tick(stop=stop)
            except Exception:  # noqa: BLE001 — e.g. the database restarting; try again next tick
                log.exception("scheduler tick failed")
            if on_tick is not None:
                on_tick()
            stop.wait(self.settings.scheduler_interval)
        log.info("scheduler %s stopped", self.owner)


def featured_habits(progress: Progress, day: date, member_id: int) -> list[Habit]:
    """The habit of the day, rotating through the daily habits (offset per member so a team doesn't all get
    the same one); on Mondays also the week's weekly habit, on the 1st the month's monthly habit."""
    cat = progress.cat
    out: list[Habit] = []
    daily = cat.habit_list("daily")
    if daily:
        out.append(daily[(day.toordinal() + member_id) % len(daily)])
    weekly = cat.habit_list("weekly")
    if weekly and day.weekday() == 0:
        out.append(weekly[day.isocalendar()[1] % len(weekly)])
    monthly = cat.habit_list("monthly")
    if monthly and day.day == 1:
        out.append(monthly[day.month % len(monthly)])
    return out


def _first_name(member: Member) -> str:
    name = (member.display_name or "").strip()
    return name.split()[0] if name else "there"
