"""All SQL of mlpath lives here. Functions take the session first and keyword-only arguments.

Exactly-once rules are enforced by the database, not by checks in Python: an answer is claimed with a
conditional UPDATE (`answered_at IS NULL`), a habit check-in by a unique (member, habit, period) key
inserted with ON CONFLICT DO NOTHING — so concurrent clicks, replays and double deliveries count once on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from progress.models import AnswerRecord, Card, Delivery, HabitCheckin, Member, XpEvent


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
