"""Progress: members, quizzes with FSRS, placement, levels, habits, streaks, XP and the leaderboard.

Takes and returns plain objects; no Slack. Every operation is one database transaction. Rules (also in
docs/progress.md):
- Quiz choice: questions at or below the member's level (at Level 4 only the member's track, once chosen).
  Due reviews come first, but every 4th question is a new one while new ones remain, so members keep
  meeting new material. Nothing due and nothing new: the card due soonest ("practice ahead").
- FSRS: a correct answer is rated Good, a wrong one Again.
- XP: correct answer 10, wrong 2, +5 when the question was a due review; habit check-in daily 10, weekly 25,
  monthly 50; +5 for the first activity of a local day (a streak day). Leaderboard caps per member and day:
  quiz 100, review 50, habit 60, streak 5 — grinding doesn't win.
- Mastery of a topic: its latest answer was correct and FSRS retrievability is ≥ 0.8 now. Promotion: when
  at least 80 % of the current level's topics that have questions are mastered, the member moves up one
  level (never down). At Level 4 the member picks a track (`/mlpath track X`).
- Placement: 3 questions per level; the starting level is the highest level L such that at least 2 of 3 were
  right at every level up to L (Level 1 at least).
- Streak: consecutive local days (member's time zone) with a quiz answer or a daily habit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler

from knowledge.catalogue import Catalogue, Habit, catalogue
from knowledge.member import MemberContext
from knowledge.quizzes import Question, question_bank
from progress import repository as repo
from progress.clock import parse_hhmm
from progress.db import Database
from progress.models import Member

XP_CORRECT, XP_WRONG, XP_REVIEW, XP_STREAK = 10, 2, 5, 5
XP_HABIT = {"daily": 10, "weekly": 25, "monthly": 50}
DAILY_CAPS = {"quiz": 100, "review": 50, "habit": 60, "streak": 5}
MASTERY_RETRIEVABILITY = 0.8
PROMOTION_SHARE = 0.8
NEW_EVERY = 4
MAX_SNOOZE_DAYS = 90


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
    placement_total: int = 0


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


@dataclass(frozen=True)
class TopicProgress:
    topic_id: str
    title: str
    mastered: bool
    answered: int


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


@dataclass(frozen=True)
class CheckinResult:
    habit: Habit | None
    status: str
    """"recorded", "already", "unknown"."""
    xp: int = 0
    suggestions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LeaderRow:
    rank: int
    user_id: str
    display_name: str
    xp: int
    streak: int


class Progress:
    def __init__(self, db: Database, *, bank: dict[str, Question] | None = None,
                 cat: Catalogue | None = None) -> None:
        self.db = db
        self.bank = bank if bank is not None else question_bank()
        self.cat = cat or catalogue()
        self.scheduler = Scheduler(enable_fuzzing=False)

    # ----- members -----
    def member(self, ref: MemberRef, *, now: datetime | None = None) -> Member:
        now = now or utcnow()
        with self.db.session() as s:
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
                repo.update_member(s, member_id=m.id, **updates)
                for k, v in updates.items():
                    setattr(m, k, v)
            return m

    def set_level(self, ref: MemberRef, level: int, *, track: str | None = None) -> Member:
        if not 1 <= level <= 4:
            raise ValueError("level must be 1-4")
        member = self.member(ref)
        with self.db.session() as s:
            repo.update_member(s, member_id=member.id, level=level, track=track if level == 4 else None, placed=True)
        return self.member(ref)

    def set_leaderboard_opt_out(self, ref: MemberRef, hidden: bool) -> None:
        member = self.member(ref)
        with self.db.session() as s:
            repo.update_member(s, member_id=member.id, leaderboard_opt_out=hidden)

    def set_active(self, ref: MemberRef, active: bool) -> None:
        member = self.member(ref)
        with self.db.session() as s:
            repo.update_member(s, member_id=member.id, active=active)

    # ----- reminders -----
    def set_nudges(self, ref: MemberRef, enabled: bool) -> Member:
        member = self.member(ref)
        with self.db.session() as s:
            repo.update_member(s, member_id=member.id, nudges_enabled=enabled,
                               **({"snoozed_until": None} if enabled else {}))
        return self.member(ref)

    def set_nudge_time(self, ref: MemberRef, hhmm: str) -> Member:
        """Raises ValueError for anything but a time HH:MM."""
        parsed = parse_hhmm(hhmm)
        if parsed is None:
            raise ValueError(f"“{hhmm}” is not a time such as 09:00 or 17:30")
        member = self.member(ref)
        with self.db.session() as s:
            repo.update_member(s, member_id=member.id, nudge_time=f"{parsed[0]:02d}:{parsed[1]:02d}",
                               nudges_enabled=True)
        return self.member(ref)

    def snooze(self, ref: MemberRef, days: int, *, now: datetime | None = None) -> date | None:
        """Skip the next `days` reminder days (today counts while today's reminder is still ahead); 0 ends a
        snooze. Returns the local date reminders resume (None when not snoozed)."""
        if not 0 <= days <= MAX_SNOOZE_DAYS:
            raise ValueError(f"snooze takes a number of days from 0 to {MAX_SNOOZE_DAYS}")
        now = now or utcnow()
        member = self.member(ref, now=now)
        resume: date | None = None
        if days:
            local = now.astimezone(zone(member.tz))
            hm = parse_hhmm(member.nudge_time) or (9, 0)
            first = local.date() if (local.hour, local.minute) < hm else local.date() + timedelta(days=1)
            resume = first + timedelta(days=days)
        with self.db.session() as s:
            repo.update_member(s, member_id=member.id, snoozed_until=resume)
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
            if q.level == 4 and member.track and q.track != member.track:
                continue
            if topic and q.topic != topic:
                continue
            if level and q.level != level:
                continue
            out.append(q)
        return out

    def next_question(self, ref: MemberRef, *, topic: str | None = None, level: int | None = None,
                      now: datetime | None = None) -> QuizPrompt | None:
        now = now or utcnow()
        member = self.member(ref, now=now)
        with self.db.session() as s:
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
                return None
            token = secrets.token_hex(12)
            repo.create_delivery(s, member_id=member.id, question_id=chosen.id, token=token, purpose="quiz", now=now)
            return QuizPrompt(token, chosen, kind, len(due))

    def answer(self, token: str, ref: MemberRef, chosen: int, *, now: datetime | None = None) -> AnswerResult:
        """Record an answer once. Only the member the question was sent to can answer it."""
        now = now or utcnow()
        member = self.member(ref, now=now)
        promoted: int | None = None
        with self.db.session() as s:
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
            if delivery.purpose == "placement":
                return self._after_placement_answer(s, member, question, chosen, correct, xp)
            promoted = self._maybe_promote(s, member, now)
        return AnswerResult("recorded", question, chosen, correct, xp, promoted)

    def _activity_xp(self, s, member: Member, day: date, now: datetime) -> int:  # type: ignore[no-untyped-def]
        """+XP_STREAK for the first quiz answer or daily habit of a local day."""
        if day in repo.activity_dates(s, member_id=member.id, kinds=["quiz", "habit_daily"]):
            return 0
        repo.add_xp(s, member_id=member.id, kind="streak", amount=XP_STREAK, local_date=day, now=now)
        return XP_STREAK

    # ----- mastery and levels -----
    def _mastery(self, s, member: Member, now: datetime) -> dict[str, tuple[bool, int]]:  # type: ignore[no-untyped-def]
        """topic id → (mastered, answers) from the member's cards."""
        by_topic: dict[str, tuple[bool, int]] = {}
        for c in repo.cards(s, member_id=member.id):
            card = FsrsCard.from_json(c.fsrs)
            r = self.scheduler.get_card_retrievability(card, now)
            ok = bool(c.last_correct) and r >= MASTERY_RETRIEVABILITY
            was_ok, n = by_topic.get(c.topic, (False, 0))
            by_topic[c.topic] = (was_ok or ok, n + c.reviews)
        return by_topic

    def _level_topics(self, member: Member, level: int) -> list[str]:
        with_questions = {q.topic for q in self.bank.values() if q.level == level
                          and (level < 4 or not member.track or q.track == member.track)}
        lvl = self.cat.level(level)
        return [t.id for t in lvl.topics() if t.id in with_questions]

    def _maybe_promote(self, s, member: Member, now: datetime) -> int | None:  # type: ignore[no-untyped-def]
        if member.level >= 4:
            return None
        topics = self._level_topics(member, member.level)
        mastery = self._mastery(s, member, now)
        mastered = sum(1 for t in topics if mastery.get(t, (False, 0))[0])
        if topics and mastered >= PROMOTION_SHARE * len(topics):
            repo.update_member(s, member_id=member.id, level=member.level + 1)
            return member.level + 1
        return None

    # ----- placement -----
    def placement_questions(self) -> list[Question]:
        return sorted((q for q in self.bank.values() if q.placement), key=lambda q: (q.level, q.id))

    def next_placement(self, ref: MemberRef, *, now: datetime | None = None) -> QuizPrompt | None:
        now = now or utcnow()
        member = self.member(ref, now=now)
        questions = self.placement_questions()
        with self.db.session() as s:
            sent = repo.sent_question_ids(s, member_id=member.id, purpose="placement")
            if len(sent) >= len(questions):  # a new placement starts over
                sent = set()
            remaining = [q for q in questions if q.id not in sent]
            if not remaining:
                return None
            q = remaining[0]
            token = secrets.token_hex(12)
            repo.create_delivery(s, member_id=member.id, question_id=q.id, token=token, purpose="placement", now=now)
            return QuizPrompt(token, q, "placement", 0, len(questions) - len(remaining) + 1, len(questions))

    def _after_placement_answer(self, s, member: Member, question: Question, chosen: int,  # type: ignore[no-untyped-def]
                                correct: bool, xp: int) -> AnswerResult:
        questions = self.placement_questions()
        answered = {d.question_id: bool(d.correct) for d in
                    repo.answered_deliveries(s, member_id=member.id, purpose="placement")}
        if not all(q.id in answered for q in questions):
            return AnswerResult("recorded", question, chosen, correct, xp, next_placement=True)
        level = 1
        for lvl in (1, 2, 3, 4):
            at_level = [q for q in questions if q.level == lvl]
            if at_level and sum(answered[q.id] for q in at_level) >= 2:
                level = lvl
            else:
                break
        repo.update_member(s, member_id=member.id, level=level, placed=True)
        return AnswerResult("recorded", question, chosen, correct, xp, placement_done_level=level)

    # ----- habits and streaks -----
    def habits_today(self, ref: MemberRef, *, now: datetime | None = None) -> list[tuple[Habit, bool]]:
        now = now or utcnow()
        member = self.member(ref, now=now)
        day = local_date(member, now)
        habits = self.cat.habit_list()
        with self.db.session() as s:
            done = repo.checked_in(s, member_id=member.id, periods={period_of(h.cadence, day) for h in habits})
        return [(h, (h.id, period_of(h.cadence, day)) in done) for h in habits]

    def find_habit(self, text: str) -> Habit | None:
        key = text.strip().lower()
        habits = self.cat.habit_list()
        for h in habits:
            if key in (h.id, h.description.lower()):
                return h
        matches = [h for h in habits if key and (key in h.id or key in h.description.lower())]
        return matches[0] if len(matches) == 1 else None

    def check_in(self, ref: MemberRef, habit_text: str, *, now: datetime | None = None) -> CheckinResult:
        now = now or utcnow()
        habit = self.find_habit(habit_text)
        if habit is None:
            return CheckinResult(None, "unknown", suggestions=[h.id for h in self.cat.habit_list()])
        member = self.member(ref, now=now)
        day = local_date(member, now)
        with self.db.session() as s:
            if not repo.add_checkin(s, member_id=member.id, habit_id=habit.id, cadence=habit.cadence,
                                    period=period_of(habit.cadence, day), local_date=day, now=now):
                return CheckinResult(habit, "already")
            xp = self._activity_xp(s, member, day, now) if habit.cadence == "daily" else 0
            kind = "habit_daily" if habit.cadence == "daily" else "habit"
            repo.add_xp(s, member_id=member.id, kind=kind, amount=XP_HABIT[habit.cadence], local_date=day,
                        now=now, ref=habit.id)
            return CheckinResult(habit, "recorded", xp + XP_HABIT[habit.cadence])

    def streak(self, member: Member, now: datetime) -> int:
        return self.streak_and_freezes(member, now)[0]

    def streak_and_freezes(self, member: Member, now: datetime) -> tuple[int, int]:
        with self.db.session() as s:
            days = repo.activity_dates(s, member_id=member.id, kinds=["quiz", "habit_daily"])
        return streak_state(days, local_date(member, now))

    # ----- leaderboard and progress -----
    def leaderboard(self, team_id: str, *, week_start: date, now: datetime | None = None) -> list[LeaderRow]:
        end = week_start + timedelta(days=7)
        with self.db.session() as s:
            rows = repo.xp_by_member_day_kind(s, team_id=team_id, start=week_start, end=end)
            members = {m.id: m for m in repo.team_members(s, team_id=team_id)}
        totals: dict[int, int] = {}
        for member_id, _day, kind, amount in rows:
            cap_kind = "habit" if kind.startswith("habit") else kind
            totals[member_id] = totals.get(member_id, 0) + min(amount, DAILY_CAPS.get(cap_kind, amount))
        now = now or utcnow()
        ranked = sorted(((xp, mid) for mid, xp in totals.items()
                         if mid in members and not members[mid].leaderboard_opt_out), key=lambda x: (-x[0], x[1]))
        return [LeaderRow(i, members[mid].user_id, members[mid].display_name, xp, self.streak(members[mid], now))
                for i, (xp, mid) in enumerate(ranked, start=1)]

    def mentor_context(self, ref: MemberRef, *, now: datetime | None = None) -> MemberContext:
        """What the mentor's answers use about the member (knowledge.member): level, track, placement,
        topics of recently missed quiz questions, streak and time since joining."""
        now = now or utcnow()
        member = self.member(ref, now=now)
        with self.db.session() as s:
            weak = tuple(dict.fromkeys(c.topic for c in repo.cards(s, member_id=member.id) if not c.last_correct))
        joined = member.joined_at if member.joined_at.tzinfo else member.joined_at.replace(tzinfo=UTC)
        return MemberContext(level=member.level, track=member.track,
                             placement_level=member.level if member.placed else None, weak_topics=weak,
                             streak=self.streak(member, now), days_since_joined=max(0, (now - joined).days))

    def progress(self, ref: MemberRef, *, now: datetime | None = None) -> ProgressView:
        now = now or utcnow()
        member = self.member(ref, now=now)
        with self.db.session() as s:
            mastery = self._mastery(s, member, now)
            eligible_ids = {q.id for q in self._eligible(member, topic=None, level=None)}
            due = repo.due_count(s, member_id=member.id, now=now, question_ids=eligible_ids)
        lvl = self.cat.level(member.level)
        topic_ids = self._level_topics(member, member.level)
        titles = {t.id: t.title for t in lvl.topics()}
        topics = [TopicProgress(t, titles[t], mastery.get(t, (False, 0))[0], mastery.get(t, (False, 0))[1])
                  for t in topic_ids]
        mastered = sum(t.mastered for t in topics)
        needed = int(-(-PROMOTION_SHARE * len(topics) // 1)) if member.level < 4 else len(topics)
        week_start = local_date(member, now) - timedelta(days=local_date(member, now).weekday())
        board = self.leaderboard(member.team_id, week_start=week_start, now=now)
        mine = next((r for r in board if r.user_id == member.user_id), None)
        weekly_xp = mine.xp if mine else self._own_weekly_xp(member, week_start)
        next_name = self.cat.level(member.level + 1).name if member.level < 4 else None
        streak, freezes = self.streak_and_freezes(member, now)
        return ProgressView(member.level, lvl.name, member.track, topics, mastered, needed, streak, freezes,
                            due, weekly_xp, mine.rank if mine else None, len(board), next_name,
                            reminder_text(member, local_date(member, now)))

    def _own_weekly_xp(self, member: Member, week_start: date) -> int:
        with self.db.session() as s:
            rows = repo.xp_by_member_day_kind(s, team_id=member.team_id, start=week_start,
                                              end=week_start + timedelta(days=7))
        return sum(min(a, DAILY_CAPS.get("habit" if k.startswith("habit") else k, a))
                   for mid, _d, k, a in rows if mid == member.id)


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
    if text.isdigit():
        return (None, int(text), None) if 1 <= int(text) <= 4 else (None, None, "levels are 1-4")
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

