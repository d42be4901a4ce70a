"""Progress: members, quizzes with FSRS, mastery, placement, levels, habits, streaks, XP and the leaderboard.

Takes and returns plain objects; no Slack. Every public operation is one database transaction (the member
row is read, created or refreshed inside it). The rules are written out for members in docs/progress.md:
- Quiz choice: questions at or below the member's level (at Level 4 only the chosen track; none before a
  track is chosen). Due reviews come first, but every 4th question is a new one while new ones remain.
  Nothing due and nothing new: the card due soonest ("practice ahead"). A level above the member's, or
  Level 4 without a track, is a `QuizBlocked` saying what unlocks it.
- FSRS: a correct answer is rated Good, a wrong one Again (which brings the question back within minutes).
- Mastery of a topic (`topic_states`): correct recalls on at least 2 different local days, the latest
  answer on the topic correct, and one of its questions answered correctly with FSRS stability of at least
  5 days and retrievability still at least 0.8. States: new, learning, mastered, slipping.
- Promotion: 80 % of the current level's topics (that have questions) mastered → one level up, never down.
- Placement: adaptive, level by level, up to 5 questions a level (Level 4: one per track); 4 right passes a
  level, a 2nd wrong fails it and ends the test; the member starts at the first level they did not pass.
- XP, caps, streaks: see the constants below and docs/progress.md.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler
from rapidfuzz import fuzz, process
from sqlalchemy.orm import Session

from errors import MlpathError
from knowledge.catalogue import Catalogue, Habit, catalogue
from knowledge.member import MemberContext
from knowledge.quizzes import Question, SectionText, question_bank, section_texts
from progress import repository as repo
from progress.asked import ASKED_MAX_DAYS, ASKED_MIN_DAYS, AskedOrigin
from progress.charts import TeamChart, TeamChartRow
from progress.clock import parse_hhmm
from progress.db import Database
from progress.models import Delivery, Member

XP_CORRECT, XP_WRONG, XP_REVIEW, XP_STREAK = 10, 2, 5, 5
XP_HABIT = {"daily": 10, "weekly": 25, "monthly": 50}
DAILY_CAPS = {"quiz": 100, "review": 50, "habit": 60, "streak": 5}
KIND_CAPS = {**DAILY_CAPS, "habit_daily": DAILY_CAPS["habit"]}
"""The cap of each XP kind per member and local day (daily habits share the habit cap)."""
ACTIVITY_KINDS = ("quiz", "habit_daily")
"""XP kinds that make a local day count for the streak."""
MASTERY_DAYS = 2
"""Correct recalls on at least this many different local days."""
MASTERY_STABILITY_DAYS = 5.0
"""FSRS stability (days until predicted recall falls to 90 %) one correct answer of the topic must reach.
One correct answer gives 2.3 days and same-day repeats keep it there; a correct recall a day or more later
lifts it to 7 days or more (docs/progress.md has the table), so 5 days can only be earned by spaced recall."""
MASTERY_RETRIEVABILITY = 0.8
"""Below this predicted recall (about 2-3 x the stability without a review) a mastered topic is slipping."""
PROMOTION_SHARE = 0.8
NEW_EVERY = 4
MAX_SNOOZE_DAYS = 90
PLACEMENT_PER_LEVEL = 5
PLACEMENT_PASS = 4
PLACEMENT_FRESH_DAYS = 7
"""Placement never asks a question the member answered in the last 7 days."""

TopicState = Literal["new", "learning", "mastered", "slipping"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone=True columns; they are stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_date(member: Member, now: datetime) -> date:
    return now.astimezone(zone(member.tz)).date()


def period_of(cadence: str, day: date) -> str:
    if cadence == "daily":
        return day.isoformat()
    if cadence == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


class UnknownMember(MlpathError):
    """A member id progress has never seen (see Progress.set_level)."""


@dataclass(frozen=True)
class MemberRef:
    team_id: str
    user_id: str
    display_name: str = ""
    tz: str | None = None


@dataclass(frozen=True)
class QuizPrompt:
    token: str
    question: Question
    kind: str
    """"review", "new", "ahead" or "placement"."""
    due_reviews: int
    placement_step: int = 0
    """Placement: the question's number within its level (1-5)."""
    placement_total: int = 0
    """Placement: the most questions the level can take."""
    asked: AskedOrigin | None = None
    """kind "asked": the member asked about the question's topic (progress/asked.py)."""


@dataclass(frozen=True)
class QuizBlocked:
    """No question, and why: `locked` (a level above the member's: `level` is what they asked for,
    `current_level`/`mastered`/`needed` say how far promotion is), `needs_track` (Level 4 before a track is
    chosen: `tracks` lists them), `other_track` (a Level 4 topic outside the member's track) or `empty`
    (nothing to ask in that scope)."""

    reason: Literal["locked", "needs_track", "other_track", "empty"]
    level: int | None = None
    current_level: int = 1
    mastered: int = 0
    needed: int = 0
    tracks: tuple[tuple[str, str], ...] = ()
    """(track id, title) for `needs_track` / `other_track`."""
    track: str | None = None

    @property
    def message(self) -> str:
        """The reason in plain words (front ends escape it and add their own command syntax)."""
        if self.reason == "locked":
            then = f", then Level {self.level - 1}'s" if self.level and self.level > self.current_level + 1 else ""
            return (f"Level {self.level} is locked: you are at Level {self.current_level}. It opens when you master "
                    f"{self.needed} of your Level {self.current_level} topics{then} "
                    f"({self.mastered} mastered so far).")
        tracks = ", ".join(f"{t} {title}" for t, title in self.tracks)
        if self.reason == "needs_track":
            return f"Level 4 questions come from your specialization track: choose one first ({tracks})."
        if self.reason == "other_track":
            return f"That topic belongs to Level 4 track {self.track}, not to your track."
        return "No questions there at your level yet."


@dataclass(frozen=True)
class LevelScore:
    level: int
    right: int
    asked: int
    passed: bool


@dataclass(frozen=True)
class PlacementOutcome:
    """Where placement put the member and why: each level's score, in the order it was asked."""

    level: int
    scores: tuple[LevelScore, ...]
    tracks: tuple[tuple[str, bool], ...] = ()
    """Level 4: (track id, answered correctly) per track question."""

    @property
    def scores_text(self) -> str:
        """"Level 1 4/4, Level 2 2/4"."""
        return ", ".join(f"Level {s.level} {s.right}/{s.asked}" for s in self.scores)

    @property
    def summary(self) -> str:
        return f"placed at Level {self.level}: {self.scores_text}"


@dataclass(frozen=True)
class AnswerResult:
    status: str
    """"recorded", "duplicate", "not_yours" or "unknown"."""
    question: Question | None = None
    chosen: int | None = None
    correct: bool = False
    xp: int = 0
    promoted_to: int | None = None
    placement_done_level: int | None = None
    next_placement: bool = False
    placement: PlacementOutcome | None = None
    """Set on the answer that ends a placement."""
    section: SectionText | None = None
    """After a wrong answer: the curriculum section the question comes from ("Read the section")."""
    review_due: datetime | None = None
    """After a wrong answer: when the question comes back as a due review (minutes later)."""


@dataclass(frozen=True)
class TopicProgress:
    topic_id: str
    title: str
    state: TopicState
    answered: int
    correct_days: int = 0

    @property
    def mastered(self) -> bool:
        return self.state == "mastered"


@dataclass
class ProgressView:
    level: int
    level_name: str
    track: str | None
    topics: list[TopicProgress]
    mastered: int
    needed: int
    streak: int
    freezes: int
    due_reviews: int
    weekly_xp: int
    rank: int | None
    team_size: int
    next_level_name: str | None = None
    reminder: str = ""
    """The member's daily reminder in words: "09:00 (Europe/Berlin)", "off", "snoozed until Mon 30 Nov"."""
    needs_track: bool = False
    """Level 4 without a track: nothing counts until one is chosen (`tracks` lists them)."""
    tracks: tuple[tuple[str, str], ...] = ()
    asked_topics: int = 0
    """Topics the member asked about that come back as reviews (progress/asked.py)…"""
    asked_mastered: int = 0
    """…and how many of them are mastered now."""


@dataclass(frozen=True)
class CheckinResult:
    habit: Habit | None
    status: str
    """"recorded", "already", "unknown", "ambiguous" (`suggestions` lists the candidates), "undone" or
    "nothing" (undo with no check-in to take back)."""
    xp: int = 0
    """XP gained (recorded) or removed (undone)."""
    suggestions: list[str] = field(default_factory=list)
    matched: str = ""
    """The member's words that matched the habit, e.g. "watched, talk" — shown so a wrong match is seen."""


@dataclass(frozen=True)
class TrackResult:
    status: Literal["chosen", "locked", "unknown"]
    track: str | None = None
    title: str = ""
    tracks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LeaderRow:
    rank: int
    user_id: str
    display_name: str
    xp: int
    streak: int


@dataclass
class _TopicEvidence:
    answered: int = 0
    correct_days: set[date] = field(default_factory=set)
    latest_at: datetime | None = None
    latest_correct: bool = False
    strong: bool = False
    """A question answered correctly last with stability ≥ the threshold and retrievability still high."""
    was_strong: bool = False
    """…with stability ≥ the threshold, whatever its retrievability now."""


class Progress:
    def __init__(self, db: Database, *, bank: dict[str, Question] | None = None,
                 cat: Catalogue | None = None) -> None:
        self.db = db
        self.bank = bank if bank is not None else question_bank()
        self.cat = cat or catalogue()
        self.scheduler = Scheduler(enable_fuzzing=False)

    # ----- members -----
    def _member(self, s: Session, ref: MemberRef, now: datetime) -> Member:
        """The member row inside the caller's transaction: created on first contact (concurrent first
        contacts create one row), display name and time zone refreshed. One SELECT when nothing changed."""
        m = repo.get_member(s, team_id=ref.team_id, user_id=ref.user_id)
        if m is None:
            m = repo.get_or_create_member(s, team_id=ref.team_id, user_id=ref.user_id, now=now,
                                          display_name=ref.display_name, tz=ref.tz or "UTC")
        updates: dict[str, object] = {}
        if ref.display_name and ref.display_name != m.display_name:
            updates["display_name"] = ref.display_name
        if ref.tz and ref.tz != m.tz:
            updates["tz"] = ref.tz
        if ref.tz and (m.tz_checked_at is None or _aware(m.tz_checked_at) < now - timedelta(days=1)):
            updates["tz_checked_at"] = now  # the bot read it from users.info today
        if m.unreachable:  # they talk to the bot again, so DMs reach them
            updates["unreachable"] = None
        if updates:
            self._update(s, m, **updates)
        return m

    @staticmethod
    def _update(s: Session, m: Member, **updates: object) -> None:
        repo.update_member(s, member_id=m.id, **updates)
        for k, v in updates.items():
            setattr(m, k, v)

    def member(self, ref: MemberRef, *, now: datetime | None = None) -> Member:
        now = now or utcnow()
        with self.db.session() as s:
            return self._member(s, ref, now)

    def set_level(self, ref: MemberRef, level: int, *, track: str | None = None, create: bool = False) -> Member:
        """Raises UnknownMember for an id progress has never seen, unless `create` (the front end checked with
        Slack that the id is a real user): an admin's typo must not create a phantom member."""
        if not 1 <= level <= 4:
            raise ValueError("level must be 1-4")
        if not create:
            with self.db.session() as s:
                if repo.get_member(s, team_id=ref.team_id, user_id=ref.user_id) is None:
                    raise UnknownMember(ref.user_id)
        with self.db.session() as s:
            m = self._member(s, ref, utcnow())
            self._update(s, m, level=level, track=track if level == 4 else None, placed=True)
            return m

    def choose_track(self, ref: MemberRef, track: str) -> TrackResult:
        """Pick the Level 4 specialization (`/mlpath track X`, `/track X`)."""
        tracks: tuple[tuple[str, str], ...] = tuple((t.id, t.title) for t in self.cat.level(4).tracks)
        letter = track.strip().upper()
        with self.db.session() as s:
            m = self._member(s, ref, utcnow())
            if m.level < 4:
                return TrackResult("locked", tracks=tracks)
            title = dict(tracks).get(letter)
            if title is None:
                return TrackResult("unknown", tracks=tracks)
            self._update(s, m, track=letter)
            return TrackResult("chosen", letter, title, tracks)

    def set_leaderboard_opt_out(self, ref: MemberRef, hidden: bool) -> None:
        with self.db.session() as s:
            self._update(s, self._member(s, ref, utcnow()), leaderboard_opt_out=hidden)

    def set_active(self, ref: MemberRef, active: bool) -> None:
        with self.db.session() as s:
            self._update(s, self._member(s, ref, utcnow()), active=active)

    # ----- reminders -----
    def set_nudges(self, ref: MemberRef, enabled: bool) -> Member:
        with self.db.session() as s:
            m = self._member(s, ref, utcnow())
            self._update(s, m, nudges_enabled=enabled, **({"snoozed_until": None} if enabled else {}))
            return m

    def set_nudge_time(self, ref: MemberRef, hhmm: str) -> Member:
        """Raises ValueError for anything but a time HH:MM."""
        parsed = parse_hhmm(hhmm)
        if parsed is None:
            raise ValueError(f"“{hhmm}” is not a time such as 09:00 or 17:30")
        with self.db.session() as s:
            m = self._member(s, ref, utcnow())
            self._update(s, m, nudge_time=f"{parsed[0]:02d}:{parsed[1]:02d}", nudges_enabled=True)
            return m

    def snooze(self, ref: MemberRef, days: int, *, now: datetime | None = None) -> date | None:
        """Skip the next `days` reminder days (today counts while today's reminder is still ahead); 0 ends a
        snooze. Returns the local date reminders resume (None when not snoozed)."""
        if not 0 <= days <= MAX_SNOOZE_DAYS:
            raise ValueError(f"snooze takes a number of days from 0 to {MAX_SNOOZE_DAYS}")
        now = now or utcnow()
        with self.db.session() as s:
            member = self._member(s, ref, now)
            resume: date | None = None
            if days:
                local = now.astimezone(zone(member.tz))
                hm = parse_hhmm(member.nudge_time) or (9, 0)
                first = local.date() if (local.hour, local.minute) < hm else local.date() + timedelta(days=1)
                resume = first + timedelta(days=days)
            self._update(s, member, snoozed_until=resume)
            return resume

    # ----- quizzes -----
    def eligible(self, member: Member) -> list[Question]:
        """Every question the member can get (their level and below, their track at Level 4)."""
        return self._eligible(member, topic=None, level=None)

    def _eligible(self, member: Member, *, topic: str | None, level: int | None) -> list[Question]:
        out = []
        for q in self.bank.values():
            if q.level > member.level:
                continue
            if q.level == 4 and q.track != member.track:  # no track yet: no Level 4 questions
                continue
            if topic and q.topic != topic:
                continue
            if level and q.level != level:
                continue
            out.append(q)
        return out

    def _blocked(self, s: Session, member: Member, *, topic: str | None, level: int | None,
                 now: datetime) -> QuizBlocked | None:
        """Why the scope asked for is closed to the member, or None when it is open."""
        tracks = tuple((t.id, t.title) for t in self.cat.level(4).tracks)
        topic_q = next((q for q in self.bank.values() if q.topic == topic), None) if topic else None
        wanted = level or (topic_q.level if topic_q else None)
        if wanted and wanted > member.level:
            topics = self._level_topics(member, member.level)
            states = self._topic_states(s, member, now)
            mastered = sum(1 for t in topics if states.get(t, _NEW)[0] == "mastered")
            return QuizBlocked("locked", wanted, member.level, mastered, self._needed(member, topics))
        if wanted == 4 and not member.track:
            return QuizBlocked("needs_track", 4, member.level, tracks=tracks)
        if topic_q and topic_q.level == 4 and topic_q.track != member.track:
            return QuizBlocked("other_track", 4, member.level, tracks=tracks, track=topic_q.track)
        return None

    def next_question(self, ref: MemberRef, *, topic: str | None = None, level: int | None = None,
                      now: datetime | None = None) -> QuizPrompt | QuizBlocked:
        now = now or utcnow()
        with self.db.session() as s:
            member = self._member(s, ref, now)
            blocked = self._blocked(s, member, topic=topic, level=level, now=now)
            if blocked:
                return blocked
            if topic is None and level is None:
                asked = self._asked_check(s, member, now, again=False)
                if asked is not None:
                    return asked
            eligible = self._eligible(member, topic=topic, level=level)
            ids = {q.id for q in eligible}
            member_cards = {c.question_id: c for c in repo.cards(s, member_id=member.id) if c.question_id in ids}
            due = sorted((c for c in member_cards.values() if _aware(c.due) <= now), key=lambda c: _aware(c.due))
            new = [q for q in eligible if q.id not in member_cards]
            # the member's own level first, then lower levels, in bank order
            new.sort(key=lambda q: (q.level != member.level, -q.level))
            count = repo.count_deliveries(s, member_id=member.id, purpose="quiz")
            if due and (not new or count % NEW_EVERY != NEW_EVERY - 1):
                chosen, kind = self.bank[due[0].question_id], "review"
            elif new:
                chosen, kind = new[0], "new"
            elif member_cards:
                soonest = min(member_cards.values(), key=lambda c: _aware(c.due))
                chosen, kind = self.bank[soonest.question_id], "ahead"
            else:
                return QuizBlocked("empty", level, member.level)
            token = secrets.token_hex(12)
            repo.create_delivery(s, member_id=member.id, question_id=chosen.id, token=token, purpose="quiz", now=now)
            return QuizPrompt(token, chosen, kind, len(due))

    # ----- asked topics (progress/asked.py) -----
    def set_asked_reviews(self, ref: MemberRef, enabled: bool) -> Member:
        with self.db.session() as s:
            m = self._member(s, ref, utcnow())
            self._update(s, m, asked_reviews=enabled)
            return m

    def record_asked(self, ref: MemberRef, topic: str, answer_id: str, *, now: datetime | None = None) -> bool:
        """Remember that the member asked about `topic` (an answer cited it). Nothing is remembered while they
        have it off, or for a topic with no question they can get; True when a new topic was remembered."""
        now = now or utcnow()
        with self.db.session() as s:
            member = self._member(s, ref, now)
            if not member.asked_reviews or not self._eligible(member, topic=topic, level=None):
                return False
            return repo.add_asked_topic(s, member_id=member.id, topic=topic, answer_id=answer_id[:32], now=now,
                                        asked_on=local_date(member, now))

    def asked_check(self, member: Member, now: datetime) -> QuizPrompt | None:
        """Today's check of an asked topic for the daily DM: a new one, or today's again while unanswered (a
        DM composed twice after a failed send carries the same question)."""
        with self.db.session() as s:
            return self._asked_check(s, member, now, again=True)

    def _asked_check(self, s: Session, member: Member, now: datetime, *, again: bool) -> QuizPrompt | None:
        if not member.asked_reviews:
            return None
        today = local_date(member, now)
        current = repo.asked_checked_on(s, member_id=member.id, day=today)
        if current is not None:
            if not again or current.token is None:
                return None
            d = repo.get_delivery(s, token=current.token)
            if d is None or d.answered_at is not None or d.question_id not in self.bank:
                return None
            return QuizPrompt(d.token, self.bank[d.question_id], "asked", 0,
                              asked=self._origin(current.topic, current.asked_on, today))
        waiting = repo.asked_waiting(s, member_id=member.id, asked_before=today - timedelta(days=ASKED_MIN_DAYS - 1),
                                     asked_since=today - timedelta(days=ASKED_MAX_DAYS))
        for row in waiting:
            question = self._asked_question(s, member, row.topic)
            if question is None:  # e.g. a Level 4 topic of another track after a track change
                continue
            token = secrets.token_hex(12)
            if not repo.mark_asked_checked(s, asked_id=row.id, day=today, token=token):
                return None  # another process gave today's check a moment ago
            repo.create_delivery(s, member_id=member.id, question_id=question.id, token=token, purpose="asked",
                                 now=now)
            return QuizPrompt(token, question, "asked", 0, asked=self._origin(row.topic, row.asked_on, today))
        return None

    def _origin(self, topic: str, asked_on: date, today: date) -> AskedOrigin:
        try:
            title = self.cat.topic(topic).title
        except KeyError:  # a topic gone from the catalogue still has its id to show
            title = topic
        return AskedOrigin(topic, title, asked_on, today)

    def _asked_question(self, s: Session, member: Member, topic: str) -> Question | None:
        """A question of the topic the member can get: one never asked first, else the card due soonest."""
        eligible = self._eligible(member, topic=topic, level=None)
        if not eligible:
            return None
        member_cards = {c.question_id: c for c in repo.cards(s, member_id=member.id)}
        fresh = [q for q in eligible if q.id not in member_cards]
        if fresh:
            return fresh[0]
        return min(eligible, key=lambda q: _aware(member_cards[q.id].due))

    def answer(self, token: str, ref: MemberRef, chosen: int, *, now: datetime | None = None) -> AnswerResult:
        """Record an answer once. Only the member the question was sent to can answer it."""
        now = now or utcnow()
        with self.db.session() as s:
            member = self._member(s, ref, now)
            delivery = repo.get_delivery(s, token=token)
            if delivery is None or delivery.question_id not in self.bank:
                return AnswerResult("unknown")
            question = self.bank[delivery.question_id]
            if delivery.member_id != member.id:
                return AnswerResult("not_yours", question)
            correct = chosen == question.answer
            if not repo.claim_answer(s, token=token, member_id=member.id, chosen=chosen, correct=correct, now=now):
                return AnswerResult("duplicate", question, delivery.chosen, bool(delivery.correct))
            day = local_date(member, now)
            xp = self._activity_xp(s, member, day, now)
            card_row = repo.get_card(s, member_id=member.id, question_id=question.id)
            was_due = card_row is not None and _aware(card_row.due) <= now
            card = FsrsCard.from_json(card_row.fsrs) if card_row else FsrsCard()
            card, _ = self.scheduler.review_card(card, Rating.Good if correct else Rating.Again, now)
            repo.save_card(s, member_id=member.id, question_id=question.id, topic=question.topic,
                           fsrs=card.to_json(), due=card.due, last_review=now, last_correct=correct)
            gained = XP_CORRECT if correct else XP_WRONG
            repo.add_xp(s, member_id=member.id, kind="quiz", amount=gained, local_date=day, now=now, ref=token)
            xp += gained
            if was_due:
                repo.add_xp(s, member_id=member.id, kind="review", amount=XP_REVIEW, local_date=day, now=now, ref=token)
                xp += XP_REVIEW
            section = None if correct else section_texts().get(question.section)
            review_due = None if correct else card.due
            if delivery.purpose == "placement":
                outcome, _ = self._placement_state(s, member, now)
                if outcome is None:
                    return AnswerResult("recorded", question, chosen, correct, xp, next_placement=True,
                                        section=section, review_due=review_due)
                self._update(s, member, level=outcome.level, placed=True,
                             **({} if outcome.level == 4 else {"track": None}))
                return AnswerResult("recorded", question, chosen, correct, xp, placement_done_level=outcome.level,
                                    placement=outcome, section=section, review_due=review_due)
            promoted = self._maybe_promote(s, member, now)
            return AnswerResult("recorded", question, chosen, correct, xp, promoted, section=section,
                                review_due=review_due)

    def _activity_xp(self, s: Session, member: Member, day: date, now: datetime) -> int:
        """+XP_STREAK for the first quiz answer or daily habit of a local day."""
        if day in repo.activity_dates(s, member_id=member.id, kinds=ACTIVITY_KINDS):
            return 0
        return XP_STREAK if repo.add_streak_day(s, member_id=member.id, amount=XP_STREAK, local_date=day,
                                                now=now) else 0

    # ----- mastery and levels -----
    def topic_states(self, ref: MemberRef, *, now: datetime | None = None) -> dict[str, TopicState]:
        """Every topic the member has met → its state (topics never answered are "new")."""
        now = now or utcnow()
        with self.db.session() as s:
            member = self._member(s, ref, now)
            return {t: st for t, (st, _, _) in self._topic_states(s, member, now).items()}

    def _topic_states(self, s: Session, member: Member, now: datetime
                      ) -> dict[str, tuple[TopicState, int, int]]:
        """topic id → (state, answers, days with a correct answer), from the member's answered deliveries
        and FSRS cards (two queries). Existing history counts as it is: nothing is stored for mastery."""
        tz = zone(member.tz)
        evidence: dict[str, _TopicEvidence] = {}
        seen_questions: set[str] = set()
        for qid, at, correct in repo.answer_history(s, member_id=member.id):
            q = self.bank.get(qid)
            if q is None:
                continue
            seen_questions.add(qid)
            ev = evidence.setdefault(q.topic, _TopicEvidence())
            at = _aware(at)
            ev.answered += 1
            if correct:
                ev.correct_days.add(at.astimezone(tz).date())
            ev.latest_at, ev.latest_correct = at, correct
        for c in repo.cards(s, member_id=member.id):
            ev = evidence.setdefault(c.topic, _TopicEvidence())
            last = _aware(c.last_review)
            if c.question_id not in seen_questions:  # a card without its deliveries (e.g. imported)
                ev.answered += c.reviews
                if c.last_correct:
                    ev.correct_days.add(last.astimezone(tz).date())
                if ev.latest_at is None or last > ev.latest_at:
                    ev.latest_at, ev.latest_correct = last, bool(c.last_correct)
            if not c.last_correct:
                continue
            card = FsrsCard.from_json(c.fsrs)
            if (card.stability or 0) >= MASTERY_STABILITY_DAYS:
                ev.was_strong = True
                if self.scheduler.get_card_retrievability(card, now) >= MASTERY_RETRIEVABILITY:
                    ev.strong = True
        out: dict[str, tuple[TopicState, int, int]] = {}
        for topic, ev in evidence.items():
            days = len(ev.correct_days)
            state: TopicState
            if days >= MASTERY_DAYS and ev.latest_correct and ev.strong:
                state = "mastered"
            elif days >= MASTERY_DAYS and (not ev.latest_correct or ev.was_strong):
                state = "slipping"
            elif ev.answered:
                state = "learning"
            else:
                state = "new"
            out[topic] = (state, ev.answered, days)
        return out

    def _mastery_dates(self, s: Session, member: Member) -> dict[str, date]:
        """topic id → the member's local date it was first mastered, replaying their answers through FSRS (the
        same scheduler, no fuzzing, so the same stabilities as when they answered): the first correct answer
        after which the topic had correct days on 2 dates, its latest answer right and a question whose latest
        review was right with stability ≥ 5 days. Cards without answers (imported) have no history: left out."""
        tz = zone(member.tz)
        cards: dict[str, FsrsCard] = {}
        days: dict[str, set[date]] = {}
        strong: dict[str, set[str]] = {}
        out: dict[str, date] = {}
        for qid, at, correct in repo.answer_history(s, member_id=member.id):
            q = self.bank.get(qid)
            if q is None:
                continue
            at = _aware(at).astimezone(UTC)  # FSRS wants UTC itself; PostgreSQL gives a fixed +00:00 offset
            card, _ = self.scheduler.review_card(cards.get(qid) or FsrsCard(), Rating.Good if correct else Rating.Again,
                                                 at)
            cards[qid] = card
            topic_strong = strong.setdefault(q.topic, set())
            if correct and (card.stability or 0) >= MASTERY_STABILITY_DAYS:
                topic_strong.add(qid)
            else:
                topic_strong.discard(qid)
            if not correct:
                continue
            day = at.astimezone(tz).date()
            days.setdefault(q.topic, set()).add(day)
            if q.topic not in out and len(days[q.topic]) >= MASTERY_DAYS and topic_strong:
                out[q.topic] = day
        return out

    def mastery_dates(self, ref: MemberRef, *, now: datetime | None = None) -> dict[str, date]:
        with self.db.session() as s:
            return self._mastery_dates(s, self._member(s, ref, now or utcnow()))

    def team_chart(self, team_id: str, *, week_start: date, now: datetime | None = None) -> TeamChart:
        """The weekly chart's data: active members per level; for the board's named members (never one who
        opted out) XP this week and the week before, streak and topics first mastered this week; the team's
        topics mastered this week and the week before (everyone active counts, named or not)."""
        now = now or utcnow()
        this_week = self.leaderboard(team_id, week_start=week_start, now=now)
        last_week = {r.user_id: r.xp for r in self.leaderboard(team_id, week_start=week_start - timedelta(days=7),
                                                                  now=now)}
        end, previous = week_start + timedelta(days=7), week_start - timedelta(days=7)
        with self.db.session() as s:
            members = repo.team_members(s, team_id=team_id)
            mastered = {m.user_id: self._mastery_dates(s, m) for m in members}
        levels = [0, 0, 0, 0]
        for m in members:
            levels[min(4, max(1, m.level)) - 1] += 1

        def count(user_id: str, start: date, stop: date) -> int:
            return sum(1 for d in mastered.get(user_id, {}).values() if start <= d < stop)

        rows = tuple(TeamChartRow(r.display_name or r.user_id, r.xp, last_week.get(r.user_id, 0), r.streak,
                                  count(r.user_id, week_start, end)) for r in this_week)
        year, week, _ = week_start.isocalendar()
        return TeamChart(f"{year}-W{week:02d}", (levels[0], levels[1], levels[2], levels[3]), rows,
                         sum(count(m.user_id, week_start, end) for m in members),
                         sum(count(m.user_id, previous, week_start) for m in members))

    def mastered_topics(self, member: Member, now: datetime) -> set[str]:
        """The topics the member has mastered now (the rule above: evidence on two days, stable memory)."""
        with self.db.session() as s:
            return {topic for topic, (state, _, _) in self._topic_states(s, member, now).items()
                    if state == "mastered"}

    def _level_topics(self, member: Member, level: int) -> list[str]:
        """The topics that count for `level`: those with questions; at Level 4 only the member's track
        (none before a track is chosen)."""
        if level == 4 and not member.track:
            return []
        with_questions = {q.topic for q in self.bank.values() if q.level == level
                          and (level < 4 or q.track == member.track)}
        return [t.id for t in self.cat.level(level).topics() if t.id in with_questions]

    @staticmethod
    def _needed(member: Member, topics: list[str]) -> int:
        return math.ceil(PROMOTION_SHARE * len(topics) - 1e-9) if member.level < 4 else len(topics)

    def _maybe_promote(self, s: Session, member: Member, now: datetime) -> int | None:
        if member.level >= 4:
            return None
        topics = self._level_topics(member, member.level)
        states = self._topic_states(s, member, now)
        mastered = sum(1 for t in topics if states.get(t, _NEW)[0] == "mastered")
        if topics and mastered >= self._needed(member, topics):
            promoted = member.level + 1
            self._update(s, member, level=promoted)
            return promoted
        return None

    # ----- placement -----
    def placement_questions(self) -> list[Question]:
        """The questions marked for placement (asked first; any question of a level can stand in)."""
        return sorted((q for q in self.bank.values() if q.placement), key=lambda q: (q.level, q.id))

    def next_placement(self, ref: MemberRef, *, now: datetime | None = None) -> QuizPrompt | QuizBlocked:
        """The next placement question (a finished placement starts over). The question still waiting for
        an answer is sent again rather than a second one; `QuizBlocked("empty")` only when the bank has
        nothing to ask."""
        now = now or utcnow()
        with self.db.session() as s:
            member = self._member(s, ref, now)
            outcome, run = self._placement_state(s, member, now)
            if outcome is not None:
                run = _PlacementRun()
            level = run.current_level
            step = run.asked_at(level) + 1
            total = self._level_capacity(level)
            if run.pending is not None:
                return QuizPrompt(run.pending.token, self.bank[run.pending.question_id], "placement", 0, step, total)
            pool = self._candidates(s, member, run, now)
            if not pool:
                return QuizBlocked("empty", level, member.level)
            q = pool[0]
            token = secrets.token_hex(12)
            repo.create_delivery(s, member_id=member.id, question_id=q.id, token=token, purpose="placement", now=now)
            return QuizPrompt(token, q, "placement", 0, step, total)

    def _level_capacity(self, level: int) -> int:
        return len(self.cat.level(4).tracks) if level == 4 else PLACEMENT_PER_LEVEL

    def _placement_state(self, s: Session, member: Member, now: datetime
                         ) -> tuple[PlacementOutcome | None, _PlacementRun]:
        """Replay the member's placement answers in the order given: the outcome when the latest run has
        just ended (None while it is under way) and the current run, with the question still waiting for an
        answer (`pending`; an unanswered question followed by answered ones was abandoned)."""
        run = _PlacementRun()
        outcome: PlacementOutcome | None = None
        pending: Delivery | None = None
        for d in repo.placement_deliveries(s, member_id=member.id):
            q = self.bank.get(d.question_id)
            if q is None:
                continue
            if d.answered_at is None:
                pending = d
                continue
            pending = None
            if outcome is not None:  # a new run began after the last one ended
                run, outcome = _PlacementRun(), None
            run.add(q, bool(d.correct))
            outcome = self._decide(run)
        if pending is not None and outcome is not None:  # a new run's first question
            run, outcome = _PlacementRun(), None
        run.pending = pending
        if outcome is None and run.results and not self._candidates(s, member, run, now) and pending is None:
            outcome = self._decide(run, force=True)  # nothing left to ask at this level
        return outcome, run

    def _decide(self, run: _PlacementRun, *, force: bool = False) -> PlacementOutcome | None:
        """The outcome once the run has failed a level or finished Level 4, else None (and the run's
        current level is the one to ask next). `force`: the current level has no question left to ask,
        so it is judged on the answers it has (80 % right passes)."""
        scores: list[LevelScore] = []
        run.current_level = 1
        for level in sorted(run.results):
            answers = run.results[level]
            right, asked = sum(answers), len(answers)
            capacity = self._level_capacity(level)
            if level == 4:  # every track gets its question; the member starts at Level 4 either way
                if asked >= capacity or force:
                    scores.append(LevelScore(4, right, asked, right >= math.ceil(PROMOTION_SHARE * asked - 1e-9)))
                    return PlacementOutcome(4, tuple(scores), tuple(run.tracks))
                run.current_level = 4
                return None
            need = PLACEMENT_PASS
            if force and asked < capacity:
                capacity, need = asked, math.ceil(PROMOTION_SHARE * asked - 1e-9)
            if right >= need:
                scores.append(LevelScore(level, right, asked, True))
                run.current_level = level + 1
                continue
            if asked - right > capacity - need:
                scores.append(LevelScore(level, right, asked, False))
                return PlacementOutcome(level, tuple(scores), tuple(run.tracks))
            run.current_level = level
            return None
        return PlacementOutcome(run.current_level, tuple(scores), tuple(run.tracks)) if force else None

    def _candidates(self, s: Session, member: Member, run: _PlacementRun, now: datetime) -> list[Question]:
        level = run.current_level
        recent = repo.answered_since(s, member_id=member.id, since=now - timedelta(days=PLACEMENT_FRESH_DAYS))
        asked_tracks = {t for t, _ in run.tracks}
        pool = [q for q in self.bank.values() if q.level == level and q.id not in recent
                and q.id not in run.asked and (level < 4 or q.track not in asked_tracks)]
        # marked placement questions first, then topics the run has not touched, in bank order
        pool.sort(key=lambda q: (q.track or "", not q.placement, q.topic in run.topics))
        return pool

    # ----- habits and streaks -----
    def habits_today(self, ref: MemberRef, *, now: datetime | None = None) -> list[tuple[Habit, bool]]:
        now = now or utcnow()
        habits = self.cat.habit_list()
        with self.db.session() as s:
            member = self._member(s, ref, now)
            day = local_date(member, now)
            done = repo.checked_in(s, member_id=member.id, periods={period_of(h.cadence, day) for h in habits})
        return [(h, (h.id, period_of(h.cadence, day)) in done) for h in habits]

    def match_habit(self, text: str) -> tuple[list[Habit], str]:
        """The habits that best match a member's words, and the words that matched.

        An id or the exact description wins outright. Otherwise each word of the text (short function words
        dropped) is fuzzy-matched (rapidfuzz, ≥ 80 %: "watched" ~ "watch", "meetups" ~ "meetup") against
        each habit's description and keywords; the habits matching the most words win. One habit: a match;
        several: ambiguous; none: unknown."""
        key = text.strip().lower()
        habits = self.cat.habit_list()
        for h in habits:
            if key in (h.id, h.description.lower()):
                return [h], h.description
        words = [w for w in re.findall(r"[a-z0-9+#]+", key) if w not in _STOP_WORDS and len(w) > 1]
        best: list[Habit] = []
        best_words: list[str] = []
        for h in habits:
            vocab = {w for phrase in (h.description, h.id.replace("-", " "), *h.keywords)
                     for w in re.findall(r"[a-z0-9+#]+", phrase.lower()) if w not in _STOP_WORDS and len(w) > 1}
            hits = [w for w in words if process.extractOne(w, vocab, scorer=fuzz.ratio, score_cutoff=80)]
            if hits and len(hits) > len(best_words):
                best, best_words = [h], hits
            elif hits and len(hits) == len(best_words):
                best.append(h)
        return best, ", ".join(best_words)

    def find_habit(self, text: str) -> Habit | None:
        found, _ = self.match_habit(text)
        return found[0] if len(found) == 1 else None

    def _on_habit(self, ref: MemberRef, text: str, now: datetime | None,
                  op: Callable[[Session, Member, Habit, str, datetime], CheckinResult]) -> CheckinResult:
        """Run `op` in one transaction on the one habit the words match; unknown/ambiguous words answer
        without touching the database."""
        found, matched = self.match_habit(text)
        if len(found) != 1:
            return CheckinResult(None, "ambiguous" if found else "unknown",
                                 suggestions=[h.id for h in (found or self.cat.habit_list())])
        now = now or utcnow()
        with self.db.session() as s:
            return op(s, self._member(s, ref, now), found[0], matched, now)

    def check_in(self, ref: MemberRef, habit_text: str, *, now: datetime | None = None) -> CheckinResult:
        return self._on_habit(ref, habit_text, now, self._check_in)

    def undo_check_in(self, ref: MemberRef, habit_text: str, *, now: datetime | None = None) -> CheckinResult:
        """Take back this period's check-in of a habit and exactly the XP it earned (a second undo, or a
        replayed click, finds nothing). The streak day's XP goes too when nothing else was done that day."""
        return self._on_habit(ref, habit_text, now, self._undo_check_in)

    def _check_in(self, s: Session, member: Member, habit: Habit, matched: str, now: datetime) -> CheckinResult:
        day = local_date(member, now)
        if not repo.add_checkin(s, member_id=member.id, habit_id=habit.id, cadence=habit.cadence,
                                period=period_of(habit.cadence, day), local_date=day, now=now):
            return CheckinResult(habit, "already", matched=matched)
        xp = self._activity_xp(s, member, day, now) if habit.cadence == "daily" else 0
        kind = "habit_daily" if habit.cadence == "daily" else "habit"
        repo.add_xp(s, member_id=member.id, kind=kind, amount=XP_HABIT[habit.cadence], local_date=day,
                    now=now, ref=habit.id)
        return CheckinResult(habit, "recorded", xp + XP_HABIT[habit.cadence], matched=matched)

    def _undo_check_in(self, s: Session, member: Member, habit: Habit, matched: str, now: datetime
                       ) -> CheckinResult:
        day = repo.delete_checkin(s, member_id=member.id, habit_id=habit.id,
                                  period=period_of(habit.cadence, local_date(member, now)))
        if day is None:
            return CheckinResult(habit, "nothing", matched=matched)
        kind = "habit_daily" if habit.cadence == "daily" else "habit"
        repo.delete_xp(s, member_id=member.id, kinds=[kind], local_date=day, ref=habit.id)
        removed = XP_HABIT[habit.cadence]
        if kind == "habit_daily" and day not in repo.activity_dates(s, member_id=member.id, kinds=ACTIVITY_KINDS):
            removed += XP_STREAK * repo.delete_xp(s, member_id=member.id, kinds=["streak"], local_date=day, ref="")
        return CheckinResult(habit, "undone", removed, matched=matched)

    def streak(self, member: Member, now: datetime) -> int:
        return self.streak_and_freezes(member, now)[0]

    def streak_and_freezes(self, member: Member, now: datetime) -> tuple[int, int]:
        with self.db.session() as s:
            days = repo.activity_dates(s, member_id=member.id, kinds=ACTIVITY_KINDS)
        return streak_state(days, local_date(member, now))

    # ----- leaderboard and progress -----
    def leaderboard(self, team_id: str, *, week_start: date, now: datetime | None = None) -> list[LeaderRow]:
        """The team's board for the week from `week_start`: capped XP, opted-out and inactive members left
        out, with streaks. Three statements whatever the team size (totals, members, activity days)."""
        now = now or utcnow()
        end = week_start + timedelta(days=7)
        with self.db.session() as s:
            rows = repo.weekly_board(s, team_id=team_id, start=week_start, end=end, caps=KIND_CAPS)
            members = repo.members_by_ids(s, ids=[r[0] for r in rows])
            days = repo.activity_dates_of(s, member_ids=[r[0] for r in rows], kinds=ACTIVITY_KINDS)
        return [LeaderRow(i, user_id, name, xp, streak_state(days.get(mid, set()), local_date(members[mid], now))[0])
                for i, (mid, user_id, name, xp) in enumerate(rows, start=1)]

    def mentor_context(self, ref: MemberRef, *, now: datetime | None = None) -> MemberContext:
        """What the mentor's answers use about the member (knowledge.member): level, track, placement,
        topics of recently missed quiz questions, streak and time since joining."""
        now = now or utcnow()
        member = self.member(ref, now=now)
        with self.db.session() as s:
            weak = tuple(dict.fromkeys(c.topic for c in repo.cards(s, member_id=member.id) if not c.last_correct))
        joined = member.joined_at if member.joined_at.tzinfo else member.joined_at.replace(tzinfo=UTC)
        # a level is known once placed, promoted or set; before that, answers make no claim about it
        return MemberContext(level=member.level if member.placed else None, track=member.track,
                             placement_level=member.level if member.placed else None, weak_topics=weak,
                             streak=self.streak(member, now), days_since_joined=max(0, (now - joined).days))

    def progress(self, ref: MemberRef, *, now: datetime | None = None) -> ProgressView:
        """The member's own view. A bounded number of statements whatever the team size: the member (1-2),
        topic evidence (2), due reviews (1), weekly XP and rank (1), activity days (1), asked topics (1); the board
        itself is never built."""
        now = now or utcnow()
        with self.db.session() as s:
            member = self._member(s, ref, now)
            states = self._topic_states(s, member, now)
            eligible_ids = {q.id for q in self._eligible(member, topic=None, level=None)}
            due = repo.due_count(s, member_id=member.id, now=now, question_ids=eligible_ids)
            today = local_date(member, now)
            week_start = today - timedelta(days=today.weekday())
            weekly_xp, rank, size = repo.weekly_rank(s, team_id=member.team_id, member_id=member.id,
                                                     start=week_start, end=week_start + timedelta(days=7),
                                                     caps=KIND_CAPS)
            streak, freezes = streak_state(repo.activity_dates(s, member_id=member.id, kinds=ACTIVITY_KINDS), today)
            asked = {row.topic for row in repo.asked_topics(s, member_id=member.id)}
        asked_mastered = sum(1 for t in asked if states.get(t, _NEW)[0] == "mastered")
        lvl = self.cat.level(member.level)
        topic_ids = self._level_topics(member, member.level)
        titles = {t.id: t.title for t in lvl.topics()}
        topics = [TopicProgress(t, titles[t], *states.get(t, _NEW)) for t in topic_ids]
        mastered = sum(t.mastered for t in topics)
        next_name = self.cat.level(member.level + 1).name if member.level < 4 else None
        needs_track = member.level == 4 and not member.track
        tracks = tuple((t.id, t.title) for t in self.cat.level(4).tracks) if needs_track else ()
        return ProgressView(member.level, lvl.name, member.track, topics, mastered, self._needed(member, topic_ids),
                            streak, freezes, due, weekly_xp, rank, size, next_name,
                            reminder_text(member, today), needs_track, tracks, len(asked), asked_mastered)


_NEW: tuple[TopicState, int, int] = ("new", 0, 0)
_STOP_WORDS = frozenset({
    "a", "an", "the", "i", "me", "my", "we", "our", "you", "your", "it", "its", "this", "that", "these",
    "those", "and", "or", "but", "of", "on", "in", "at", "to", "for", "from", "with", "by", "about", "as",
    "is", "was", "were", "be", "been", "am", "are", "did", "do", "does", "done", "have", "has", "had",
    "just", "today", "yesterday", "some", "one", "two", "also", "got", "went",
})


@dataclass
class _PlacementRun:
    """One placement test in progress: answers per level in the order given."""

    results: dict[int, list[bool]] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)
    topics: set[str] = field(default_factory=set)
    tracks: list[tuple[str, bool]] = field(default_factory=list)
    pending: Delivery | None = None
    current_level: int = 1

    def add(self, q: Question, correct: bool) -> None:
        self.results.setdefault(q.level, []).append(correct)
        self.asked.add(q.id)
        self.topics.add(q.topic)
        if q.track:
            self.tracks.append((q.track, correct))

    def asked_at(self, level: int) -> int:
        return len(self.results.get(level, []))


FREEZE_EVERY = 7
MAX_FREEZES = 2


def reminder_text(member: Member, today: date) -> str:
    if not member.nudges_enabled:
        return "off"
    if member.unreachable:
        return f"paused: Slack said {member.unreachable} (write to the bot to resume)"
    if member.snoozed_until and member.snoozed_until > today:
        return f"snoozed until {member.snoozed_until:%a %d %b}"
    return f"{member.nudge_time} ({member.tz})"


def resolve_scope(scope: str, cat: Catalogue | None = None) -> tuple[str | None, int | None, str | None]:
    """A quiz scope as a member types it → (topic id, level, error). Accepts a level ("2", "level 2"), a topic
    id or words of a topic title; the error is plain text (front ends escape it)."""
    cat = cat or catalogue()
    text = scope.strip().lower().removeprefix("level").strip()
    if not text:
        return None, None, None
    if text.isdigit():  # ASCII digits only: "²" and "١" are digits to Python, not to int()
        if not (text.isascii() and 1 <= int(text) <= 4):
            return None, None, "levels are 1-4"
        return None, int(text), None
    topics = [t for _, t in cat.all_topics()]
    for t in topics:
        if text in (t.id, t.title.lower()):
            return t.id, None, None
    matches = [t for t in topics if text in t.title.lower() or text in t.id]
    if len(matches) == 1:
        return matches[0].id, None, None
    return None, None, (f"no single topic matches “{scope.strip()}” "
                        "(try a topic id such as window-functions, or a level 1-4)")


def unlocks(level: int, cat: Catalogue | None = None) -> tuple[str, list[str], bool]:
    """What reaching `level` opens: (level name, module or track titles, True when it is a track choice)."""
    lvl = (cat or catalogue()).level(level)
    if lvl.tracks:
        return lvl.name, [f"{t.id} {t.title}" for t in lvl.tracks], True
    return lvl.name, [m.title for m in lvl.modules], False


def streak_state(days: set[date], today: date) -> tuple[int, int]:
    """(streak, freezes held) from the member's active local days.

    The Duolingo rule: every 7 active days of a streak earn a streak freeze, at most 2 held; a missed day
    uses one instead of breaking the streak (the frozen day adds nothing). Today not being done yet breaks
    nothing. Derived from the activity itself, so there is no separate state to lose or double-count."""
    if not days:
        return 0, 0
    streak = freezes = 0
    day = min(days)
    while day <= today:
        if day in days:
            streak += 1
            if streak % FREEZE_EVERY == 0:
                freezes = min(MAX_FREEZES, freezes + 1)
        elif day != today:
            if freezes:
                freezes -= 1
            else:
                streak = 0
        day += timedelta(days=1)
    return streak, freezes


def streak_length(days: set[date], today: date) -> int:
    return streak_state(days, today)[0]

