"""All SQL of mlpath lives here. Functions take the session first and keyword-only arguments.

Exactly-once rules are enforced by the database, not by checks in Python: an answer is claimed with a
conditional UPDATE (`answered_at IS NULL`), a habit check-in by a unique (member, habit, period) key
inserted with ON CONFLICT DO NOTHING, a streak day by a unique (member, local date) index the same way, and a
card is written with INSERT … ON CONFLICT DO UPDATE — so concurrent clicks, replays and double deliveries
count once (and are never lost to a unique violation) on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from progress.models import (
    DEFAULT_CHECKIN_DAY,
    DEFAULT_CHECKIN_TIME,
    STREAK_ONLY,
    TERMINAL_TEAM_ID,
    AnswerRecord,
    AskedTopic,
    Base,
    BuddyOffer,
    Card,
    CertProgress,
    ChecklistTick,
    Claim,
    Delivery,
    Goal,
    HabitCheckin,
    Member,
    MentoringProfile,
    ProjectProgress,
    TopicDone,
    XpEvent,
)


def _insert(session: Session, model: type):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(model)


# ----- members -----
def get_member(session: Session, *, team_id: str, user_id: str) -> Member | None:
    return session.scalar(select(Member).where(Member.team_id == team_id, Member.user_id == user_id))


def get_or_create_member(session: Session, *, team_id: str, user_id: str, now: datetime,
                         display_name: str = "", tz: str = "UTC") -> Member:
    """Concurrent first interactions of one member create one row (unique key + ON CONFLICT)."""
    stmt = _insert(session, Member).values(
        team_id=team_id, user_id=user_id, display_name=display_name, tz=tz, level=1, joined_at=now,
        active=True, nudges_enabled=True, nudge_time="09:00", leaderboard_opt_out=False, placed=False,
    ).on_conflict_do_nothing(index_elements=["team_id", "user_id"])
    session.execute(stmt)
    member = get_member(session, team_id=team_id, user_id=user_id)
    assert member is not None
    return member


def update_member(session: Session, *, member_id: int, **fields: object) -> None:
    session.execute(update(Member).where(Member.id == member_id).values(**fields))


def team_members(session: Session, *, team_id: str) -> list[Member]:
    return list(session.scalars(select(Member).where(Member.team_id == team_id, Member.active.is_(True))))


# ----- quiz deliveries and answers -----
def create_delivery(session: Session, *, member_id: int, question_id: str, token: str, purpose: str,
                    now: datetime) -> Delivery:
    delivery = Delivery(token=token, member_id=member_id, question_id=question_id, purpose=purpose, sent_at=now)
    session.add(delivery)
    session.flush()
    return delivery


def get_delivery(session: Session, *, token: str) -> Delivery | None:
    return session.scalar(select(Delivery).where(Delivery.token == token))


def claim_answer(session: Session, *, token: str, member_id: int, chosen: int, correct: bool,
                 now: datetime) -> bool:
    """True for the one call that records the answer; False for every later click or replay."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.token == token, Delivery.member_id == member_id, Delivery.answered_at.is_(None))
        .values(answered_at=now, chosen=chosen, correct=correct)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def count_deliveries(session: Session, *, member_id: int, purpose: str | None = None) -> int:
    stmt = select(func.count()).select_from(Delivery).where(Delivery.member_id == member_id)
    if purpose:
        stmt = stmt.where(Delivery.purpose == purpose)
    return int(session.scalar(stmt) or 0)


def answered_deliveries(session: Session, *, member_id: int, purpose: str) -> list[Delivery]:
    return list(session.scalars(select(Delivery).where(
        Delivery.member_id == member_id, Delivery.purpose == purpose, Delivery.answered_at.is_not(None))))


def sent_question_ids(session: Session, *, member_id: int, purpose: str) -> set[str]:
    return set(session.scalars(select(Delivery.question_id).where(
        Delivery.member_id == member_id, Delivery.purpose == purpose)))


# ----- FSRS cards -----
def cards(session: Session, *, member_id: int) -> list[Card]:
    return list(session.scalars(select(Card).where(Card.member_id == member_id)))


def get_card(session: Session, *, member_id: int, question_id: str) -> Card | None:
    return session.get(Card, (member_id, question_id))


def save_card(session: Session, *, member_id: int, question_id: str, topic: str, fsrs: str, due: datetime,
              last_review: datetime, last_correct: bool) -> None:
    """Insert the card or update it, in one statement: two answers to the same question landing together
    (the member got it twice) both count, where an INSERT after a read lost one to a unique violation on
    PostgreSQL."""
    stmt = _insert(session, Card).values(
        member_id=member_id, question_id=question_id, topic=topic, fsrs=fsrs, due=due, last_review=last_review,
        last_correct=last_correct, reviews=1)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["member_id", "question_id"],
        set_={"fsrs": stmt.excluded.fsrs, "due": stmt.excluded.due, "last_review": stmt.excluded.last_review,
              "last_correct": stmt.excluded.last_correct, "reviews": Card.reviews + 1}))
    loaded = session.identity_map.get(session.identity_key(Card, (member_id, question_id)))
    if loaded is not None:  # a Card read earlier in this session must not shadow the row just written
        session.expire(loaded)


def due_count(session: Session, *, member_id: int, now: datetime, question_ids: Iterable[str]) -> int:
    ids = list(question_ids)
    if not ids:
        return 0
    return int(session.scalar(select(func.count()).select_from(Card).where(
        Card.member_id == member_id, Card.due <= now, Card.question_id.in_(ids))) or 0)


# ----- XP -----
def add_xp(session: Session, *, member_id: int, kind: str, amount: int, local_date: date, now: datetime,
           ref: str = "") -> None:
    session.add(XpEvent(member_id=member_id, kind=kind, amount=amount, local_date=local_date, at=now, ref=ref))


def add_streak_day(session: Session, *, member_id: int, amount: int, local_date: date, now: datetime) -> bool:
    """The streak bonus for `local_date`: True for the one caller that inserts it, False when the day already
    has one (unique per member and day, so concurrent first activities earn it once)."""
    stmt = _insert(session, XpEvent).values(
        member_id=member_id, kind="streak", amount=amount, local_date=local_date, at=now, ref="",
    ).on_conflict_do_nothing(index_elements=["member_id", "local_date"], index_where=STREAK_ONLY)
    return session.execute(stmt.returning(XpEvent.id)).scalar() is not None


def activity_dates(session: Session, *, member_id: int, kinds: Iterable[str]) -> set[date]:
    return set(session.scalars(select(XpEvent.local_date).where(
        XpEvent.member_id == member_id, XpEvent.kind.in_(list(kinds))).distinct()))


def xp_by_member_day_kind(session: Session, *, team_id: str, start: date, end: date
                          ) -> list[tuple[int, date, str, int]]:
    """(member id, local date, kind, XP) for the team's members in [start, end)."""
    rows = session.execute(
        select(XpEvent.member_id, XpEvent.local_date, XpEvent.kind, func.sum(XpEvent.amount))
        .join(Member, Member.id == XpEvent.member_id)
        .where(Member.team_id == team_id, XpEvent.local_date >= start, XpEvent.local_date < end)
        .group_by(XpEvent.member_id, XpEvent.local_date, XpEvent.kind)
    )
    return [(int(m), d, str(k), int(s)) for m, d, k, s in rows]


# ----- habits -----
def add_checkin(session: Session, *, member_id: int, habit_id: str, cadence: str, period: str,
                local_date: date, now: datetime) -> bool:
    """True when this check-in is new for its period; False when it was already there."""
    stmt = _insert(session, HabitCheckin).values(
        member_id=member_id, habit_id=habit_id, cadence=cadence, period=period, local_date=local_date, at=now,
    ).on_conflict_do_nothing(index_elements=["member_id", "habit_id", "period"]).returning(HabitCheckin.id)
    # RETURNING, not rowcount: psycopg reports no reliable rowcount for a skipped ON CONFLICT insert
    return session.execute(stmt).scalar() is not None


def checked_in(session: Session, *, member_id: int, periods: Iterable[str]) -> set[tuple[str, str]]:
    rows = session.execute(select(HabitCheckin.habit_id, HabitCheckin.period).where(
        HabitCheckin.member_id == member_id, HabitCheckin.period.in_(list(periods))))
    return {(h, p) for h, p in rows}


# ----- reminders: planning -----
def nudge_candidates(session: Session) -> list[tuple[int, str, str, str, date | None]]:
    """(member id, user id, tz, nudge time, snoozed until) of every member who gets reminder DMs: one query,
    whatever the team size. Who is due *now* is decided in Python per time zone (progress/scheduler.py).
    The terminal member gets no DMs (it has no Slack account)."""
    rows = session.execute(
        select(Member.id, Member.user_id, Member.tz, Member.nudge_time, Member.snoozed_until)
        .where(Member.active.is_(True), Member.nudges_enabled.is_(True), Member.unreachable.is_(None),
               Member.team_id != TERMINAL_TEAM_ID)
    )
    return [(int(i), str(u), str(tz), str(t), s) for i, u, tz, t, s in rows]


def claims_on(session: Session, *, kind: str, dates: Iterable[date]) -> list[Claim]:
    """Every claim of `kind` for the given local dates (the few dates that are 'today' somewhere)."""
    return list(session.scalars(select(Claim).where(Claim.kind == kind, Claim.local_date.in_(list(dates)))))


# ----- claims: exactly-once work across processes -----
def insert_claim(session: Session, *, kind: str, key: str, owner: str, now: datetime, member_id: int | None = None,
                 local_date: date | None = None) -> int | None:
    """The claim's id for the one caller that inserted it; None when someone already holds (kind, key)."""
    stmt = _insert(session, Claim).values(
        kind=kind, key=key, owner=owner, member_id=member_id, local_date=local_date, status="claimed",
        claimed_at=now, updated_at=now, attempts=1,
    ).on_conflict_do_nothing(index_elements=["kind", "key"]).returning(Claim.id)
    return session.execute(stmt).scalar()


def get_claim(session: Session, *, kind: str, key: str) -> Claim | None:
    return session.scalar(select(Claim).where(Claim.kind == kind, Claim.key == key))


def take_over_claim(session: Session, *, claim_id: int, owner: str, now: datetime, stale_before: datetime,
                    statuses: Iterable[str] = ("claimed", "sending")) -> bool:
    """Take a claim whose owner stopped touching it (died between claim and send): a conditional UPDATE, so
    of several schedulers noticing the same stale claim exactly one wins."""
    row = session.execute(
        update(Claim)
        .where(Claim.id == claim_id, Claim.status.in_(list(statuses)), Claim.updated_at < stale_before)
        .values(owner=owner, updated_at=now, attempts=Claim.attempts + 1)
        .returning(Claim.id)
        .execution_options(synchronize_session=False)  # no Python-side evaluation of the WHERE
    ).scalar()
    return row is not None


def move_claim(session: Session, *, claim_id: int, owner: str, from_status: str, to_status: str, now: datetime,
               error: str | None = None, ref: str | None = None) -> bool:
    """Advance a claim we own (claimed → sending → sent/failed/skipped); False if it is no longer ours."""
    values: dict[str, object] = {"status": to_status, "updated_at": now, "error": error}
    if ref is not None:
        values["ref"] = ref
    row = session.execute(
        update(Claim)
        .where(Claim.id == claim_id, Claim.owner == owner, Claim.status == from_status)
        .values(**values)
        .returning(Claim.id)
        .execution_options(synchronize_session=False)  # no Python-side evaluation of the WHERE
    ).scalar()
    return row is not None


def claims_with_status(session: Session, *, kind: str, status: str) -> list[Claim]:
    return list(session.scalars(select(Claim).where(Claim.kind == kind, Claim.status == status)))


# ----- reminders: member state -----
def mark_unreachable(session: Session, *, member_id: int, error: str) -> None:
    session.execute(update(Member).where(Member.id == member_id).values(unreachable=error[:32]))


def members_by_ids(session: Session, *, ids: Iterable[int]) -> dict[int, Member]:
    return {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(list(ids))))}


def stale_time_zones(session: Session, *, now: datetime, limit: int) -> list[tuple[int, str]]:
    """(member id, user id) of Slack members whose time zone was not read from Slack in the last 24 hours."""
    cutoff = now - timedelta(days=1)
    rows = session.execute(
        select(Member.id, Member.user_id)
        .where(Member.active.is_(True), Member.unreachable.is_(None), Member.team_id != TERMINAL_TEAM_ID,
               or_(Member.tz_checked_at.is_(None), Member.tz_checked_at < cutoff))
        .order_by(Member.tz_checked_at.is_not(None), Member.tz_checked_at, Member.id)
        .limit(limit)
    )
    return [(int(i), str(u)) for i, u in rows]


def claim_tz_check(session: Session, *, member_id: int, now: datetime) -> bool:
    """Mark a member's time zone as being checked now; False if another process just did (at most daily)."""
    cutoff = now - timedelta(days=1)
    row = session.execute(
        update(Member)
        .where(Member.id == member_id, or_(Member.tz_checked_at.is_(None), Member.tz_checked_at < cutoff))
        .values(tz_checked_at=now)
        .returning(Member.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    return row is not None


def team_ids(session: Session) -> list[str]:
    """The Slack teams with active members (each gets its own leaderboard post); never the terminal team."""
    return sorted(set(session.scalars(select(Member.team_id).where(
        Member.active.is_(True), Member.team_id != TERMINAL_TEAM_ID).distinct())))
# ----- health -----
def ping(session: Session) -> None:
    """One round trip to the database (for /healthz); raises when it does not answer."""
    session.execute(select(1))


def probe_write(session: Session) -> None:
    """A write that changes nothing (the caller rolls back): raises on a store that cannot be written — a
    read-only SQLite file, a PostgreSQL standby or read-only role — so start-up fails instead of acking forever."""
    session.execute(text("UPDATE alembic_version SET version_num = version_num"))


# ----- claims: exactly-once work across processes -----
def claim_event(session: Session, *, event_id: str, owner: str, now: datetime, kind: str = "event") -> bool:
    """True for the one process that inserts the claim of a Slack `event_id`; False for every other delivery
    of it, in this process or another replica (unique (kind, key) + ON CONFLICT DO NOTHING). Kind `request`:
    the hash of a signed slash command or interaction, so a replay of it is dropped the same way."""
    stmt = _insert(session, Claim).values(
        kind=kind, key=event_id[:160], status="done", owner=owner[:64], claimed_at=now, updated_at=now,
        attempts=1,
    ).on_conflict_do_nothing(index_elements=["kind", "key"]).returning(Claim.id)
    return session.execute(stmt).scalar() is not None


def prune_claims(session: Session, *, kind: str, before: datetime) -> int:
    """Delete claims of `kind` made before `before` (event claims only matter while Slack may retry)."""
    result = session.execute(delete(Claim).where(Claim.kind == kind, Claim.claimed_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ----- stats (the curriculum-gaps report) -----
def count_members(session: Session, *, active_only: bool = False) -> int:
    stmt = select(func.count()).select_from(Member)
    if active_only:
        stmt = stmt.where(Member.active.is_(True))
    return int(session.scalar(stmt) or 0)


def members_with_xp_since(session: Session, *, since: datetime) -> set[tuple[str, str]]:
    """(team id, user id) of members who answered a quiz question or checked in a habit since `since`."""
    rows = session.execute(select(Member.team_id, Member.user_id).join(XpEvent, XpEvent.member_id == Member.id)
                           .where(XpEvent.at >= since).distinct())
    return {(str(t), str(u)) for t, u in rows}


def askers_since(session: Session, *, since: datetime) -> set[tuple[str, str]]:
    rows = session.execute(select(AnswerRecord.team_id, AnswerRecord.user_id)
                           .where(AnswerRecord.created_at >= since, AnswerRecord.user_id != "").distinct())
    return {(str(t), str(u)) for t, u in rows}


def count_answers(session: Session, *, since: datetime | None = None, refused: bool | None = None) -> int:
    stmt = select(func.count()).select_from(AnswerRecord)
    if since is not None:
        stmt = stmt.where(AnswerRecord.created_at >= since)
    if refused is not None:
        stmt = stmt.where(AnswerRecord.grounded.is_(not refused))
    return int(session.scalar(stmt) or 0)


def count_feedback(session: Session, *, vote: int) -> int:
    return int(session.scalar(select(func.count()).select_from(AnswerRecord)
                              .where(AnswerRecord.feedback == vote)) or 0)


def top_downvoted_questions(session: Session, *, limit: int = 10) -> list[tuple[str, int, bool, datetime]]:
    """(question, 👎 count, whether the latest such answer was a refusal, latest 👎 answer time), most 👎
    first. Questions are grouped case-insensitively."""
    key = func.lower(AnswerRecord.question)
    rows = session.execute(
        select(func.min(AnswerRecord.question), func.count(), func.max(AnswerRecord.created_at),
               func.min(case((AnswerRecord.grounded.is_(True), 1), else_=0)))
        .where(AnswerRecord.feedback == -1)
        .group_by(key)
        .order_by(func.count().desc(), func.max(AnswerRecord.created_at).desc(), key)
        .limit(limit)
    )
    return [(str(q), int(n), not bool(g), at) for q, n, at, g in rows]


# ----- export / import (progress/transfer.py turns these rows into JSON and back) -----
def all_rows(session: Session, model: type[Base]) -> list[Any]:
    return list(session.scalars(select(model)))


def member_ids(session: Session) -> dict[tuple[str, str], int]:
    return {(str(t), str(u)): int(i) for i, t, u in session.execute(select(Member.id, Member.team_id, Member.user_id))}


def insert_if_absent(session: Session, model: type[Base], *, values: dict[str, Any], key: list[str]) -> bool:
    """Insert one row unless a row with the same unique `key` columns exists. True when inserted."""
    pk = list(model.__table__.primary_key.columns)[0]  # type: ignore[attr-defined]
    stmt = _insert(session, model).values(**values).on_conflict_do_nothing(index_elements=key).returning(pk)
    return session.execute(stmt).first() is not None


def insert_row(session: Session, model: type[Base], *, values: dict[str, Any]) -> None:
    session.execute(insert(model).values(**values))
# ----- the answer log (answers given to members, their 👍/👎, LLM budgets) -----
def add_answer(session: Session, *, public_id: str, team_id: str, user_id: str, surface: str, question: str,
               answer: str, grounded: bool, confidence: float, citations: str, answerer: str,
               prompt_tokens: int | None, completion_tokens: int | None, latency_ms: int | None,
               created_at: datetime, feedback: int | None = None, feedback_at: datetime | None = None) -> bool:
    """Insert one answer; False when `public_id` is already there (re-importing a log adds nothing)."""
    stmt = _insert(session, AnswerRecord).values(
        public_id=public_id, team_id=team_id, user_id=user_id, surface=surface, question=question, answer=answer,
        grounded=grounded, confidence=confidence, citations=citations, answerer=answerer,
        prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_ms=latency_ms,
        created_at=created_at, feedback=feedback, feedback_at=feedback_at,
    ).on_conflict_do_nothing(index_elements=["public_id"]).returning(AnswerRecord.id)
    return session.execute(stmt).scalar() is not None


def get_answer(session: Session, *, public_id: str) -> AnswerRecord | None:
    return session.scalar(select(AnswerRecord).where(AnswerRecord.public_id == public_id))


def set_answer_feedback(session: Session, *, public_id: str, value: int, at: datetime,
                        user_id: str | None = None) -> bool:
    """Record a 👍 (+1) or 👎 (-1) clicked at `at`. The latest click wins: a click older than (or as old as)
    the stored one — a replay, a redelivery — changes nothing and returns False. With `user_id`, only the member
    the answer was given to can set it (others who see it in a channel cannot overwrite the asker's verdict)."""
    stmt = update(AnswerRecord).where(AnswerRecord.public_id == public_id,
                                      (AnswerRecord.feedback_at.is_(None)) | (AnswerRecord.feedback_at < at))
    if user_id is not None:
        stmt = stmt.where(AnswerRecord.user_id == user_id)
    result = session.execute(stmt.values(feedback=value, feedback_at=at))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def count_llm_answers(session: Session, *, team_id: str, user_id: str, since: datetime) -> int:
    """Answers an LLM wrote for one member since `since` (the daily budget)."""
    return int(session.scalar(select(func.count()).select_from(AnswerRecord).where(
        AnswerRecord.team_id == team_id, AnswerRecord.user_id == user_id, AnswerRecord.created_at >= since,
        AnswerRecord.answerer.like("llm:%"))) or 0)


def recent_answers(session: Session, *, limit: int = 100) -> list[AnswerRecord]:
    return list(session.scalars(select(AnswerRecord).order_by(AnswerRecord.id.desc()).limit(limit)))


# ----- mastery and placement (review history: the deliveries and cards tables) -----
def answer_history(session: Session, *, member_id: int) -> list[tuple[str, datetime, bool]]:
    """(question id, answered at, correct) of every answered delivery of a member, oldest first."""
    rows = session.execute(
        select(Delivery.question_id, Delivery.answered_at, Delivery.correct)
        .where(Delivery.member_id == member_id, Delivery.answered_at.is_not(None))
        .order_by(Delivery.answered_at, Delivery.id)
    )
    return [(str(q), at, bool(c)) for q, at, c in rows if at is not None]


def placement_deliveries(session: Session, *, member_id: int) -> list[Delivery]:
    """Every placement delivery of a member in the order they were sent."""
    return list(session.scalars(select(Delivery).where(
        Delivery.member_id == member_id, Delivery.purpose == "placement").order_by(Delivery.id)))


def answered_since(session: Session, *, member_id: int, since: datetime) -> set[str]:
    """Question ids the member answered (quiz or placement) at or after `since`."""
    return set(session.scalars(select(Delivery.question_id).where(
        Delivery.member_id == member_id, Delivery.answered_at >= since)))


# ----- the weekly board: capped XP totals in SQL, one statement per question asked -----
def _weekly_totals(*, team_id: str, start: date, end: date, caps: dict[str, int]):  # type: ignore[no-untyped-def]
    """A CTE (member id, xp): XP per member in [start, end), each (day, kind) sum capped at caps[kind]."""
    daily = (
        select(XpEvent.member_id.label("member_id"), XpEvent.kind.label("kind"),
               func.sum(XpEvent.amount).label("amount"))
        .join(Member, Member.id == XpEvent.member_id)
        .where(Member.team_id == team_id, XpEvent.local_date >= start, XpEvent.local_date < end)
        .group_by(XpEvent.member_id, XpEvent.local_date, XpEvent.kind)
        .subquery()
    )
    capped = case(*((and_(daily.c.kind == kind, daily.c.amount > cap), cap) for kind, cap in caps.items()),
                  else_=daily.c.amount) if caps else daily.c.amount
    return (select(daily.c.member_id, func.sum(capped).label("xp"))
            .group_by(daily.c.member_id).cte("weekly_totals"))


def weekly_board(session: Session, *, team_id: str, start: date, end: date, caps: dict[str, int]
                 ) -> list[tuple[int, str, str, int]]:
    """(member id, user id, display name, XP) of the active, visible members with XP in [start, end), best
    first (ties: earliest member). One statement whatever the team size."""
    totals = _weekly_totals(team_id=team_id, start=start, end=end, caps=caps)
    rows = session.execute(
        select(Member.id, Member.user_id, Member.display_name, totals.c.xp)
        .join(totals, totals.c.member_id == Member.id)
        .where(Member.active.is_(True), Member.leaderboard_opt_out.is_(False))
        .order_by(totals.c.xp.desc(), Member.id)
    )
    return [(int(i), str(u), str(n), int(x)) for i, u, n, x in rows]


def weekly_rank(session: Session, *, team_id: str, member_id: int, start: date, end: date,
                caps: dict[str, int]) -> tuple[int, int | None, int]:
    """(the member's XP, their rank on the board or None when they are not on it, board size) in one
    statement: the rank is 1 + the visible members ahead (more XP, or as much and an earlier id)."""
    totals = _weekly_totals(team_id=team_id, start=start, end=end, caps=caps)
    visible = (select(totals.c.member_id, totals.c.xp).join(Member, Member.id == totals.c.member_id)
               .where(Member.active.is_(True), Member.leaderboard_opt_out.is_(False)).subquery())
    mine = select(totals.c.xp).where(totals.c.member_id == member_id).scalar_subquery()
    ahead = or_(visible.c.xp > mine, and_(visible.c.xp == mine, visible.c.member_id < member_id))
    row = session.execute(select(
        func.coalesce(mine, 0), func.count(visible.c.member_id),
        func.coalesce(func.sum(case((ahead, 1), else_=0)), 0),
        func.coalesce(func.max(case((visible.c.member_id == member_id, 1), else_=0)), 0),
    ).select_from(visible)).one()
    xp, size, n_ahead, on_board = (int(v or 0) for v in row)
    return xp, (n_ahead + 1 if on_board else None), size


def activity_dates_of(session: Session, *, member_ids: Iterable[int], kinds: Iterable[str]) -> dict[int, set[date]]:
    """member id → local dates with activity of `kinds`, for many members in one statement."""
    out: dict[int, set[date]] = {}
    ids = list(member_ids)
    if not ids:
        return out
    rows = session.execute(select(XpEvent.member_id, XpEvent.local_date).where(
        XpEvent.member_id.in_(ids), XpEvent.kind.in_(list(kinds))).distinct())
    for m, d in rows:
        out.setdefault(int(m), set()).add(d)
    return out


# ----- habit check-in undo -----
def delete_checkin(session: Session, *, member_id: int, habit_id: str, period: str) -> date | None:
    """Delete the member's check-in of a habit in a period; its local date for the one caller that deleted
    it, None when there was none (an undo replayed or clicked twice removes nothing more)."""
    return session.execute(
        delete(HabitCheckin)
        .where(HabitCheckin.member_id == member_id, HabitCheckin.habit_id == habit_id, HabitCheckin.period == period)
        .returning(HabitCheckin.local_date)
        .execution_options(synchronize_session=False)
    ).scalar()


def delete_xp(session: Session, *, member_id: int, kinds: Iterable[str], local_date: date, ref: str) -> int:
    """Delete the XP events of `kinds` a member earned on a local date for `ref`; how many were deleted."""
    result = session.execute(delete(XpEvent).where(
        XpEvent.member_id == member_id, XpEvent.kind.in_(list(kinds)), XpEvent.local_date == local_date,
        XpEvent.ref == ref).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ----- mentoring (progress/mentoring.py): plan settings, goals, projects, certifications, checklist -----
def get_profile(session: Session, *, member_id: int) -> MentoringProfile | None:
    return session.get(MentoringProfile, member_id)


def save_profile(session: Session, *, member_id: int, now: datetime, **fields: object) -> None:
    """Create the member's profile row with the defaults (concurrent first calls make one row), then set
    `fields`."""
    session.execute(_insert(session, MentoringProfile).values(
        member_id=member_id, plan_hours=None, checkins_enabled=True, checkin_day=DEFAULT_CHECKIN_DAY,
        checkin_time=DEFAULT_CHECKIN_TIME,
        updated_at=now).on_conflict_do_nothing(index_elements=["member_id"]))
    session.execute(update(MentoringProfile).where(MentoringProfile.member_id == member_id)
                    .values(updated_at=now, **fields).execution_options(synchronize_session=False))


def profiles(session: Session, *, member_ids: Iterable[int]) -> dict[int, MentoringProfile]:
    return {p.member_id: p for p in session.scalars(select(MentoringProfile).where(
        MentoringProfile.member_id.in_(list(member_ids))))}


def set_goal(session: Session, *, member_id: int, horizon: str, text: str, now: datetime) -> None:
    """One goal per horizon: insert, or replace the text of the existing one (upsert on the unique key)."""
    stmt = _insert(session, Goal).values(member_id=member_id, horizon=horizon, text=text, set_at=now)
    session.execute(stmt.on_conflict_do_update(index_elements=["member_id", "horizon"],
                                               set_={"text": text, "set_at": now}))


def goals(session: Session, *, member_id: int) -> list[Goal]:
    return list(session.scalars(select(Goal).where(Goal.member_id == member_id)))


def project_rows(session: Session, *, member_ids: Iterable[int]) -> list[ProjectProgress]:
    return list(session.scalars(select(ProjectProgress).where(ProjectProgress.member_id.in_(list(member_ids)))))


def save_project(session: Session, *, member_id: int, project_id: str, status: str, url: str | None,
                 now: datetime) -> None:
    """Start or finish a project. Starting again keeps the original start; a new URL replaces the old one,
    no URL keeps it; finishing stamps done_at once."""
    row = session.scalar(select(ProjectProgress).where(ProjectProgress.member_id == member_id,
                                                       ProjectProgress.project_id == project_id))
    if row is None:
        session.execute(_insert(session, ProjectProgress).values(
            member_id=member_id, project_id=project_id, status=status, url=url, started_at=now,
            done_at=now if status == "done" else None,
        ).on_conflict_do_nothing(index_elements=["member_id", "project_id"]))
        return
    values: dict[str, object] = {"status": "done" if "done" in (row.status, status) else status}
    if url is not None:
        values["url"] = url
    if status == "done" and row.done_at is None:
        values["done_at"] = now
    session.execute(update(ProjectProgress).where(ProjectProgress.id == row.id).values(**values))


def cert_rows(session: Session, *, member_ids: Iterable[int]) -> list[CertProgress]:
    return list(session.scalars(select(CertProgress).where(CertProgress.member_id.in_(list(member_ids)))))


def save_cert(session: Session, *, member_id: int, cert_id: str, status: str, on_date: date | None,
              now: datetime) -> None:
    stmt = _insert(session, CertProgress).values(member_id=member_id, cert_id=cert_id, status=status,
                                                 on_date=on_date, updated_at=now)
    session.execute(stmt.on_conflict_do_update(index_elements=["member_id", "cert_id"],
                                               set_={"status": status, "on_date": on_date, "updated_at": now}))


def checklist_ticks(session: Session, *, member_id: int) -> list[ChecklistTick]:
    return list(session.scalars(select(ChecklistTick).where(ChecklistTick.member_id == member_id)))


def tick_item(session: Session, *, member_id: int, item_id: str, evidence: str, now: datetime) -> None:
    """Tick a checklist item; ticking it again replaces the evidence."""
    stmt = _insert(session, ChecklistTick).values(member_id=member_id, item_id=item_id, evidence=evidence, at=now)
    session.execute(stmt.on_conflict_do_update(index_elements=["member_id", "item_id"],
                                               set_={"evidence": evidence, "at": now}))


def topics_done(session: Session, *, member_id: int) -> set[str]:
    return set(session.scalars(select(TopicDone.topic_id).where(TopicDone.member_id == member_id)))


def mark_topic_done(session: Session, *, member_id: int, topic_id: str, now: datetime) -> bool:
    """True when the topic is newly marked done; False when it already was."""
    stmt = _insert(session, TopicDone).values(member_id=member_id, topic_id=topic_id, at=now) \
        .on_conflict_do_nothing(index_elements=["member_id", "topic_id"]).returning(TopicDone.id)
    return session.execute(stmt).scalar() is not None


def topic_misses(session: Session, *, member_id: int, question_topics: dict[str, str]) -> dict[str, int]:
    """topic id → wrong quiz answers of the member (question ids mapped to topics by the caller's bank)."""
    rows = session.execute(select(Delivery.question_id, func.count()).where(
        Delivery.member_id == member_id, Delivery.correct.is_(False)).group_by(Delivery.question_id))
    out: dict[str, int] = {}
    for question_id, n in rows:
        topic = question_topics.get(str(question_id))
        if topic:
            out[topic] = out.get(topic, 0) + int(n)
    return out


def answer_times_by_question(session: Session, *, member_id: int) -> list[tuple[str, datetime]]:
    """(question id, answered at) of the member's quiz answers (not placement), oldest first."""
    rows = session.execute(select(Delivery.question_id, Delivery.answered_at).where(
        Delivery.member_id == member_id, Delivery.purpose == "quiz", Delivery.answered_at.is_not(None))
        .order_by(Delivery.answered_at))
    return [(str(q), at) for q, at in rows if at is not None]


def week_numbers(session: Session, *, member_id: int, start: date, end: date) -> tuple[int, int, int]:
    """(quiz answers, habit check-ins, XP) of a member in the local dates [start, end)."""
    answers = session.scalar(select(func.count()).select_from(XpEvent).where(
        XpEvent.member_id == member_id, XpEvent.kind == "quiz", XpEvent.local_date >= start,
        XpEvent.local_date < end)) or 0
    habits = session.scalar(select(func.count()).select_from(HabitCheckin).where(
        HabitCheckin.member_id == member_id, HabitCheckin.local_date >= start, HabitCheckin.local_date < end)) or 0
    xp = session.scalar(select(func.sum(XpEvent.amount)).where(
        XpEvent.member_id == member_id, XpEvent.local_date >= start, XpEvent.local_date < end)) or 0
    return int(answers), int(habits), int(xp)


def last_activity(session: Session, *, team_id: str) -> dict[int, datetime]:
    """member id → time of their last XP event (quiz answer, habit, review), for the team's members."""
    rows = session.execute(select(XpEvent.member_id, func.max(XpEvent.at)).join(Member, Member.id == XpEvent.member_id)
                           .where(Member.team_id == team_id).group_by(XpEvent.member_id))
    return {int(m): at for m, at in rows}


def checkin_candidates(session: Session) -> list[tuple[int, str, str, str, str]]:
    """(member id, user id, tz, check-in day, check-in time) of every member who gets the weekly check-in:
    active, reachable, not turned off (no profile row = the defaults); never the terminal member."""
    rows = session.execute(
        select(Member.id, Member.user_id, Member.tz, MentoringProfile.checkin_day, MentoringProfile.checkin_time)
        .outerjoin(MentoringProfile, MentoringProfile.member_id == Member.id)
        .where(Member.active.is_(True), Member.unreachable.is_(None), Member.team_id != TERMINAL_TEAM_ID,
               or_(MentoringProfile.checkins_enabled.is_(None), MentoringProfile.checkins_enabled.is_(True)))
    )
    return [(int(i), str(u), str(tz), str(d or DEFAULT_CHECKIN_DAY), str(t or DEFAULT_CHECKIN_TIME))
            for i, u, tz, d, t in rows]


# ----- asked topics (progress/asked.py) -----
def add_asked_topic(session: Session, *, member_id: int, topic: str, answer_id: str, now: datetime,
                    asked_on: date) -> bool:
    """Remember a topic the member asked about; False when it is already remembered (the first origin stays)."""
    stmt = _insert(session, AskedTopic).values(
        member_id=member_id, topic=topic, answer_id=answer_id, asked_at=now, asked_on=asked_on,
    ).on_conflict_do_nothing(index_elements=["member_id", "topic"]).returning(AskedTopic.id)
    return session.execute(stmt).scalar() is not None


def asked_topics(session: Session, *, member_id: int) -> list[AskedTopic]:
    return list(session.scalars(select(AskedTopic).where(AskedTopic.member_id == member_id)
                                .order_by(AskedTopic.asked_at, AskedTopic.id)))


def asked_checked_on(session: Session, *, member_id: int, day: date) -> AskedTopic | None:
    return session.scalar(select(AskedTopic).where(AskedTopic.member_id == member_id, AskedTopic.checked_on == day))


def asked_waiting(session: Session, *, member_id: int, asked_before: date, asked_since: date) -> list[AskedTopic]:
    """Asked topics not checked yet, asked on a local date in [asked_since, asked_before), oldest first, leaving
    out those whose answer the member rated 👎 (an answer no longer in the log does not block the check)."""
    rows = session.scalars(
        select(AskedTopic)
        .outerjoin(AnswerRecord, AnswerRecord.public_id == AskedTopic.answer_id)
        .where(AskedTopic.member_id == member_id, AskedTopic.checked_on.is_(None),
               AskedTopic.asked_on < asked_before, AskedTopic.asked_on >= asked_since,
               or_(AnswerRecord.feedback.is_(None), AnswerRecord.feedback > 0))
        .order_by(AskedTopic.asked_at, AskedTopic.id))
    return list(rows)


def mark_asked_checked(session: Session, *, asked_id: int, day: date, token: str) -> bool:
    """Give the check of one asked topic on local date `day`: a conditional UPDATE under the unique (member,
    checked_on) key, so of a DM and a quiz asking at the same moment exactly one wins (the other gets False)."""
    try:
        with session.begin_nested():
            row = session.execute(
                update(AskedTopic).where(AskedTopic.id == asked_id, AskedTopic.checked_on.is_(None))
                .values(checked_on=day, token=token).returning(AskedTopic.id)
                .execution_options(synchronize_session=False)).scalar()
    except IntegrityError:
        return False
    return row is not None


# ----- buddies (progress/buddies.py) -----
def wrong_answer_times(session: Session, *, member_id: int, question_ids: Iterable[str]) -> list[datetime]:
    """When the member answered these questions wrong (quiz, review, placement or asked-topic deliveries)."""
    rows = session.scalars(select(Delivery.answered_at).where(
        Delivery.member_id == member_id, Delivery.correct.is_(False), Delivery.question_id.in_(list(question_ids)),
        Delivery.answered_at.is_not(None)))
    return [at for at in rows if at is not None]


def last_buddy_offer(session: Session, *, member_id: int, topic: str) -> datetime | None:
    return session.scalar(select(func.max(BuddyOffer.offered_at)).where(
        BuddyOffer.member_id == member_id, BuddyOffer.topic == topic))


def buddy_candidates(session: Session, *, team_id: str, exclude: int) -> list[Member]:
    """Teammates who offer help and may be named: active, opted in, visible on the leaderboard, reachable."""
    return list(session.scalars(select(Member).where(
        Member.team_id == team_id, Member.id != exclude, Member.active.is_(True), Member.buddy_opt_in.is_(True),
        Member.leaderboard_opt_out.is_(False), Member.unreachable.is_(None)).order_by(Member.id)))


def lock_member(session: Session, *, member_id: int) -> Member | None:
    """The member row, locked until the transaction ends (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serialises writers): offers naming one buddy are counted and added one transaction at a time."""
    return session.scalar(select(Member).where(Member.id == member_id).with_for_update())


def offers_naming(session: Session, *, buddy_id: int, since: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(BuddyOffer).where(
        BuddyOffer.buddy_id == buddy_id, BuddyOffer.offered_at >= since)) or 0)


def add_buddy_offer(session: Session, *, token: str, member_id: int, buddy_id: int, topic: str, offered_on: date,
                    now: datetime) -> bool:
    stmt = _insert(session, BuddyOffer).values(
        token=token, member_id=member_id, buddy_id=buddy_id, topic=topic, offered_on=offered_on, offered_at=now,
        status="offered",
    ).on_conflict_do_nothing(index_elements=["member_id", "topic", "offered_on"]).returning(BuddyOffer.id)
    return session.execute(stmt).scalar() is not None


def get_buddy_offer(session: Session, *, token: str) -> BuddyOffer | None:
    return session.scalar(select(BuddyOffer).where(BuddyOffer.token == token))


def answer_buddy_offer(session: Session, *, token: str, status: str, now: datetime) -> bool:
    """offered → accepted/declined, once: of two replicas handling the same click exactly one gets True."""
    row = session.execute(
        update(BuddyOffer).where(BuddyOffer.token == token, BuddyOffer.status == "offered")
        .values(status=status, answered_at=now).returning(BuddyOffer.id)
        .execution_options(synchronize_session=False)).scalar()
    return row is not None


def answer_buddy_offer_back(session: Session, *, token: str) -> None:
    """An accepted offer whose buddy left meanwhile: marked `withdrawn` (no intro was made)."""
    session.execute(update(BuddyOffer).where(BuddyOffer.token == token).values(status="withdrawn")
                    .execution_options(synchronize_session=False))


def buddy_counts(session: Session, *, team_id: str, since: datetime) -> tuple[int, int, int]:
    """(members offering help, offers made since, intros accepted since) of a team's active members."""
    helpers = session.scalar(select(func.count()).select_from(Member).where(
        Member.team_id == team_id, Member.active.is_(True), Member.buddy_opt_in.is_(True)))
    offers = session.execute(
        select(func.count(), func.sum(case((BuddyOffer.status == "accepted", 1), else_=0)))
        .select_from(BuddyOffer).join(Member, Member.id == BuddyOffer.member_id)
        .where(Member.team_id == team_id, BuddyOffer.offered_at >= since)).one()
    return int(helpers or 0), int(offers[0] or 0), int(offers[1] or 0)
