"""SQLAlchemy 2 typed models of the progress database. The schema changes only through Alembic
migrations (progress/migrations); a test checks that the migrations and these models agree."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

TERMINAL_TEAM_ID = "local"
"""The team of the terminal member (`mlpath chat`). It is never a target of Slack delivery (reminder DMs, time
zone look-ups) and never has a Slack leaderboard: the repository's scheduling queries leave it out. Slack team
ids start with T or E, so no Slack team can be called this."""


class Base(DeclarativeBase):
    pass


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_members_team_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    level: Mapped[int] = mapped_column(Integer, default=1)
    track: Mapped[str | None] = mapped_column(String(1), nullable=True)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    nudges_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    nudge_time: Mapped[str] = mapped_column(String(5), default="09:00")
    leaderboard_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    placed: Mapped[bool] = mapped_column(Boolean, default=False)
    snoozed_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    """No reminder DMs before this local date (`/mlpath nudges snooze N`)."""
    unreachable: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """Slack's error when a DM could not be delivered (e.g. account_inactive); cleared when they interact."""
    tz_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """When `tz` was last read from Slack (refreshed at most daily)."""
    asked_reviews: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    """Topics the member asked about come back as a quick check (`/mlpath nudges asked off` stops it)."""
    buddy_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    """Offers help on the topics they mastered (`/mlpath buddy on`, progress/buddies.py)."""


class Delivery(Base):
    """A quiz question sent to one member. Answering flips `answered_at` exactly once (see repository)."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(80))
    purpose: Mapped[str] = mapped_column(String(16), default="quiz")
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    chosen: Mapped[int | None] = mapped_column(Integer, nullable=True)
    correct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Card(Base):
    """The FSRS state of one question for one member."""

    __tablename__ = "cards"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    topic: Mapped[str] = mapped_column(String(80), index=True)
    fsrs: Mapped[str] = mapped_column(Text)
    due: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_review: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_correct: Mapped[bool] = mapped_column(Boolean)
    reviews: Mapped[int] = mapped_column(Integer, default=0)


STREAK_ONLY = text("kind = 'streak'")


class XpEvent(Base):
    """XP earned: quiz answers, habit check-ins, due reviews, streak days. `local_date` is the member's day.

    One streak row per member and local day, enforced by a partial unique index (inserted with ON CONFLICT DO
    NOTHING): a habit check-in and a quiz answer landing together earn the streak bonus once."""

    __tablename__ = "xp_events"
    __table_args__ = (
        Index("uq_xp_events_streak_day", "member_id", "local_date", unique=True,
              sqlite_where=STREAK_ONLY, postgresql_where=STREAK_ONLY),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)
    local_date: Mapped[date] = mapped_column(Date, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ref: Mapped[str] = mapped_column(String(80), default="")


class HabitCheckin(Base):
    __tablename__ = "habit_checkins"
    __table_args__ = (UniqueConstraint("member_id", "habit_id", "period", name="uq_checkin_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    habit_id: Mapped[str] = mapped_column(String(64))
    cadence: Mapped[str] = mapped_column(String(8))
    period: Mapped[str] = mapped_column(String(16))
    """The habit's period in the member's calendar: 2026-11-26 (daily), 2026-W48 (weekly), 2026-11 (monthly)."""
    local_date: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Claim(Base):
    """Exactly-once work across processes: whoever inserts the row for (kind, key) does the work.

    kind `nudge`: key "<member id>:<local date>"; `leaderboard`: "<channel>:<ISO week>"; `event`: a Slack
    event_id. `status` goes claimed -> sending -> sent (or failed / skipped); see progress/scheduler.py.
    """

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_claims_kind_key"),
        Index("ix_claims_kind_local_date", "kind", "local_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(160))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), nullable=True)
    local_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="claimed")
    owner: Mapped[str] = mapped_column(String(64), default="")
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """What was sent, e.g. the Slack message ts."""


class AnswerRecord(Base):
    """One answer given to a member: the question-and-answer log that feedback, stats and LLM budgets read."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    """The id carried in Slack feedback buttons."""
    team_id: Mapped[str] = mapped_column(String(32), default="")
    user_id: Mapped[str] = mapped_column(String(32), default="", index=True)
    surface: Mapped[str] = mapped_column(String(16), default="")
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    grounded: Mapped[bool] = mapped_column(Boolean, default=False)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    citations: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of {n, section, source}."""
    answerer: Mapped[str] = mapped_column(String(80), default="extractive")
    """`extractive` or `llm:<provider:model>`."""
    prompt_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completion_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    feedback: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """+1 / -1 from the member's buttons, last click wins."""
    feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# ----- mentoring: goals, plan, projects, certifications, checklist, weekly check-ins (progress/mentoring.py) -----
DEFAULT_CHECKIN_DAY = "mon"
DEFAULT_CHECKIN_TIME = "08:30"
"""Before the daily reminder's default 09:00, so a Monday doesn't start with two DMs at once."""

class MentoringProfile(Base):
    """A member's plan and check-in settings; no row means the defaults (see progress/mentoring.py)."""

    __tablename__ = "mentoring_profiles"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    plan_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Weekly hours the member can give (1-60); None = the default from the path's habit budgets."""
    checkins_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    checkin_day: Mapped[str] = mapped_column(String(3), default=DEFAULT_CHECKIN_DAY)
    checkin_time: Mapped[str] = mapped_column(String(5), default=DEFAULT_CHECKIN_TIME)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Goal(Base):
    """The member's goal for one horizon (3m, 6m, 12m); setting it again replaces the text."""

    __tablename__ = "goals"
    __table_args__ = (UniqueConstraint("member_id", "horizon", name="uq_goals_member_horizon"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    horizon: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProjectProgress(Base):
    """A portfolio project the member started (and maybe finished), with a link to the work."""

    __tablename__ = "project_progress"
    __table_args__ = (UniqueConstraint("member_id", "project_id", name="uq_project_progress_member_project"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    """"started" or "done"."""
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CertProgress(Base):
    __tablename__ = "cert_progress"
    __table_args__ = (UniqueConstraint("member_id", "cert_id", name="uq_cert_progress_member_cert"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    cert_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    """"planned" or "passed"."""
    on_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    """The exam date planned, or the date passed."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChecklistTick(Base):
    __tablename__ = "checklist_ticks"
    __table_args__ = (UniqueConstraint("member_id", "item_id", name="uq_checklist_ticks_member_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TopicDone(Base):
    """A topic the member marked done in their plan (the plan then moves on, mastered or not)."""

    __tablename__ = "topics_done"
    __table_args__ = (UniqueConstraint("member_id", "topic_id", name="uq_topics_done_member_topic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    topic_id: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AskedTopic(Base):
    """A topic the member asked about (an answer cited a section of it) that comes back as a quick check a day or
    more later (progress/asked.py). One row per member and topic: the origin is the first time they asked.

    `checked_on` is the member's local date the check was given; the unique (member, checked_on) key makes "at
    most one such question a day" a rule of the database (NULLs never collide), so a DM and a `/quiz` landing
    together give one."""

    __tablename__ = "asked_topics"
    __table_args__ = (
        UniqueConstraint("member_id", "topic", name="uq_asked_topics_member_topic"),
        UniqueConstraint("member_id", "checked_on", name="uq_asked_topics_member_checked_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(80))
    answer_id: Mapped[str] = mapped_column(String(32), default="")
    """The answer log's public id of the answer that brought it (its 👎 cancels the check)."""
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    asked_on: Mapped[date] = mapped_column(Date)
    """The member's local date of the question ("On Monday you asked about …")."""
    checked_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The delivery of the check (deliveries.token)."""


class BuddyOffer(Base):
    """An offer to a member who keeps missing a topic: an intro to `buddy_id`, who mastered it and opted in
    (progress/buddies.py). One per member, topic and local day (a unique key: two replicas handling two misses
    at once make one offer); `status` goes offered → accepted or declined once (a conditional UPDATE)."""

    __tablename__ = "buddy_offers"
    __table_args__ = (
        UniqueConstraint("member_id", "topic", "offered_on", name="uq_buddy_offers_member_topic_day"),
        Index("ix_buddy_offers_buddy_offered_at", "buddy_id", "offered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    buddy_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(80))
    offered_on: Mapped[date] = mapped_column(Date)
    offered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12), default="offered")
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
