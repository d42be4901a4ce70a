"""All SQL of mlpath lives here. Functions take the session first and keyword-only arguments.

Exactly-once rules are enforced by the database, not by checks in Python: an answer is claimed with a
conditional UPDATE (`answered_at IS NULL`), a habit check-in by a unique (member, habit, period) key
inserted with ON CONFLICT DO NOTHING — so concurrent clicks, replays and double deliveries count once on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from progress.models import (
    TERMINAL_TEAM_ID,
    AnswerRecord,
    Base,
    Card,
    Claim,
    Delivery,
    HabitCheckin,
    Member,
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
    card = get_card(session, member_id=member_id, question_id=question_id)
    if card is None:
        session.add(Card(member_id=member_id, question_id=question_id, topic=topic, fsrs=fsrs, due=due,
                         last_review=last_review, last_correct=last_correct, reviews=1))
    else:
        card.fsrs, card.due, card.last_review, card.last_correct = fsrs, due, last_review, last_correct
        card.reviews += 1


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


# ----- claims: exactly-once work across processes -----
def claim_event(session: Session, *, event_id: str, owner: str, now: datetime) -> bool:
    """True for the one process that inserts the claim of a Slack `event_id`; False for every other delivery
    of it, in this process or another replica (unique (kind, key) + ON CONFLICT DO NOTHING)."""
    stmt = _insert(session, Claim).values(
        kind="event", key=event_id[:160], status="done", owner=owner[:64], claimed_at=now, updated_at=now,
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


def set_answer_feedback(session: Session, *, public_id: str, value: int, at: datetime) -> bool:
    """Record a 👍 (+1) or 👎 (-1) clicked at `at`. The latest click wins: a click older than (or as old as)
    the stored one — a replay, a redelivery — changes nothing and returns False."""
    result = session.execute(
        update(AnswerRecord)
        .where(AnswerRecord.public_id == public_id,
               (AnswerRecord.feedback_at.is_(None)) | (AnswerRecord.feedback_at < at))
        .values(feedback=value, feedback_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def count_llm_answers(session: Session, *, team_id: str, user_id: str, since: datetime) -> int:
    """Answers an LLM wrote for one member since `since` (the daily budget)."""
    return int(session.scalar(select(func.count()).select_from(AnswerRecord).where(
        AnswerRecord.team_id == team_id, AnswerRecord.user_id == user_id, AnswerRecord.created_at >= since,
        AnswerRecord.answerer.like("llm:%"))) or 0)


def recent_answers(session: Session, *, limit: int = 100) -> list[AnswerRecord]:
    return list(session.scalars(select(AnswerRecord).order_by(AnswerRecord.id.desc()).limit(limit)))
