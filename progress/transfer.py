"""Export and import of the progress database as JSON (`mlpath export FILE` / `mlpath import FILE`).

For moving a team from SQLite to PostgreSQL, or restoring a backup, without losing progress:
members, quiz deliveries (attempts), FSRS cards, XP events (streaks and the leaderboard come from them),
habit check-ins, the answer log with its 👍/👎, the exactly-once claims (so a reminder already sent is
not sent again after a move), and the mentoring tables (plan settings, goals, projects, certifications,
checklist ticks, topics marked done).

- Surrogate ids are not exported: rows point at their member by (team id, user id), so the file is the same
  whichever database it came from, and a round trip (export → import into an empty database → export) gives
  the identical file.
- Import is idempotent and never overwrites: a row whose unique key is already there is skipped
  (members by team + user, deliveries by token, cards by member + question, check-ins by member + habit +
  period, answers by public id, claims by kind + key). XP events have no natural key, so they are compared
  as a multiset: an event is added only as many times as the file has it more often than the database.
- One transaction: an import that fails half-way imports nothing.
- Every value is checked before anything is written (`check_values`): its column's type, length and integer
  range, no NUL in text (PostgreSQL refuses both and SQLite would store them, so a file imports into either
  database or neither), and the rules the app itself applies when it writes the field (levels of the
  catalogue, its Level 4 tracks, IANA time zones, HH:MM reminder times, known XP kinds and statuses, no
  negative XP, FSRS state that parses). A file the app could not have written is refused with one line naming
  the row and field, so it cannot crash the scheduler later.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Integer, SmallInteger, String
from sqlalchemy.exc import DataError, IntegrityError

from errors import UserError
from knowledge.catalogue import catalogue
from progress import repository as repo
from progress import service
from progress.clock import parse_hhmm
from progress.db import Database
from progress.models import (
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

FORMAT = "mlpath-export"
VERSION = 1

# (name in the file, model, unique key columns; None = compared as a multiset)
TABLES: list[tuple[str, type[Base], list[str] | None]] = [
    ("members", Member, ["team_id", "user_id"]),
    ("deliveries", Delivery, ["token"]),
    ("cards", Card, ["member_id", "question_id"]),
    ("xp_events", XpEvent, None),
    ("habit_checkins", HabitCheckin, ["member_id", "habit_id", "period"]),
    ("answers", AnswerRecord, ["public_id"]),
    ("claims", Claim, ["kind", "key"]),
    # mentoring (progress/mentoring.py); an older export simply has none of these lists
    ("mentoring_profiles", MentoringProfile, ["member_id"]),
    ("goals", Goal, ["member_id", "horizon"]),
    ("project_progress", ProjectProgress, ["member_id", "project_id"]),
    ("cert_progress", CertProgress, ["member_id", "cert_id"]),
    ("checklist_ticks", ChecklistTick, ["member_id", "item_id"]),
    ("topics_done", TopicDone, ["member_id", "topic_id"]),
    # topics a member asked about, with their origin (progress/asked.py); older exports have none
    ("asked_topics", AskedTopic, ["member_id", "topic"]),
    # buddy offers (progress/buddies.py): both members by their Slack ids
    ("buddy_offers", BuddyOffer, ["token"]),
]
MEMBER_COLUMNS = {"member_id": "member", "buddy_id": "buddy"}
"""Columns that point at a member, written in the file as [team, user] under these names."""


def _columns(model: type[Base]) -> list[Any]:
    return [c for c in model.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _encode_row(model: type[Base], obj: Any, members: dict[int, list[str]]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for col in _columns(model):
        value = getattr(obj, col.key)
        if col.name in MEMBER_COLUMNS:
            row[MEMBER_COLUMNS[col.name]] = members.get(value) if value is not None else None
        else:
            row[col.name] = _encode_value(value)
    return row


def _canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False)


def export_data(db: Database, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything as a JSON-ready dict, rows sorted so equal databases give equal files."""
    out: dict[str, Any] = {"format": FORMAT, "version": VERSION,
                           "exported_at": (now or datetime.now(UTC)).isoformat()}
    with db.session() as s:
        members = {m.id: [m.team_id, m.user_id] for m in repo.all_rows(s, Member)}
        for name, model, _ in TABLES:
            rows = [_encode_row(model, obj, members) for obj in repo.all_rows(s, model)]
            out[name] = sorted(rows, key=_canonical)
    return out


def _decode_row(model: type[Base], row: Any, ids: dict[tuple[str, str], int], where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise UserError(f"{where}: expected an object, got {type(row).__name__}")
    values: dict[str, Any] = {}
    known = {c.name for c in _columns(model)}
    extra = set(row) - known - {MEMBER_COLUMNS[c] for c in known if c in MEMBER_COLUMNS}
    if extra:
        raise UserError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
    for col in _columns(model):
        if col.name in MEMBER_COLUMNS:
            ref = row.get(MEMBER_COLUMNS[col.name])
            if ref is None:
                if not col.nullable:
                    raise UserError(f"{where}: no {MEMBER_COLUMNS[col.name]}")
                values[col.name] = None
                continue
            if not (isinstance(ref, list) and len(ref) == 2) or (str(ref[0]), str(ref[1])) not in ids:
                raise UserError(f"{where}: refers to member {ref!r}, which is not in the file")
            values[col.name] = ids[(str(ref[0]), str(ref[1]))]
            continue
        if col.name not in row:
            continue  # an older export: the column's default applies
        value = row[col.name]
        try:
            if value is not None and isinstance(col.type, DateTime):
                value = datetime.fromisoformat(value)
                value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            elif value is not None and isinstance(col.type, Date):
                value = date.fromisoformat(value)
        except (TypeError, ValueError):
            raise UserError(f"{where}: {col.name} is not a valid date/time ({str(value)[:40]!r})") from None
        values[col.name] = value
    return values


CLAIM_STATUSES = {"claimed", "sending", "sent", "failed", "skipped", "done"}
XP_KINDS = {"quiz", "review", "streak", "habit", "habit_daily"}


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _valid_fsrs(text: str) -> bool:
    from fsrs import Card as FsrsCard

    try:
        FsrsCard.from_json(text)
    except (ValueError, TypeError, KeyError):
        return False
    return True


def _hhmm(text: str) -> bool:
    parsed = parse_hhmm(text)
    return parsed is not None and text == f"{parsed[0]:02d}:{parsed[1]:02d}"


def _rules() -> dict[tuple[str, str], tuple[Any, str]]:
    """(table, column) → (check, what it must be): the rules the app applies when it writes these fields."""
    cat = catalogue()
    levels = {lvl.number for lvl in cat.levels}
    tracks = {t.id for lvl in cat.levels for t in lvl.tracks}
    return {
        ("members", "level"): (lambda v: v in levels, f"a level {min(levels)}-{max(levels)}"),
        ("members", "track"): (lambda v: v is None or v in tracks, f"a track ({', '.join(sorted(tracks))})"),
        ("members", "tz"): (_valid_zone, "an IANA time zone such as Europe/Berlin"),
        ("members", "nudge_time"): (_hhmm, "a time HH:MM such as 09:00"),
        ("deliveries", "purpose"): (lambda v: v in ("quiz", "placement", "asked"), "quiz, placement or asked"),
        ("deliveries", "chosen"): (lambda v: v is None or v >= 0, "an option number"),
        ("cards", "fsrs"): (_valid_fsrs, "FSRS card state"),
        ("cards", "reviews"): (lambda v: v >= 0, "a count"),
        ("xp_events", "kind"): (lambda v: v in XP_KINDS, ", ".join(sorted(XP_KINDS))),
        ("xp_events", "amount"): (lambda v: v >= 0, "0 or more (the app never takes XP away)"),
        ("habit_checkins", "cadence"): (lambda v: v in service.XP_HABIT, ", ".join(service.XP_HABIT)),
        ("answers", "feedback"): (lambda v: v in (None, 1, -1), "1, -1 or null"),
        ("claims", "status"): (lambda v: v in CLAIM_STATUSES, ", ".join(sorted(CLAIM_STATUSES))),
    }


def check_values(table: str, model: type[Base], values: dict[str, Any], where: str,
                 rules: dict[tuple[str, str], tuple[Any, str]]) -> None:
    """Raise UserError naming `where` and the field when a decoded row is something the app never writes."""
    for col in _columns(model):
        if col.name not in values or col.name in MEMBER_COLUMNS:
            continue
        value = values[col.name]
        if value is None:
            if not col.nullable:
                raise UserError(f"{where}: {col.name} is missing")
            continue
        kind = col.type
        ok = (isinstance(value, bool) if isinstance(kind, Boolean)
              else isinstance(value, int) and not isinstance(value, bool) if isinstance(kind, Integer)
              else isinstance(value, int | float) and not isinstance(value, bool) if isinstance(kind, Float)
              else isinstance(value, str) and (kind.length is None or len(value) <= kind.length)
              if isinstance(kind, String) else True)
        if not ok:
            what = type(kind).__name__.lower() + (f" of at most {kind.length} characters"
                                                  if isinstance(kind, String) and kind.length else "")
            raise UserError(f"{where}: {col.name} must be a {what}, got {str(value)[:40]!r}")
        # what PostgreSQL refuses, refused on SQLite too (which would store it), so a file imports into
        # either database or into neither
        if isinstance(kind, String) and "\x00" in value:
            raise UserError(f"{where}: {col.name} contains a NUL character (\\u0000), which no text column holds")
        if isinstance(kind, Integer) and not isinstance(kind, Boolean):
            bits = 64 if isinstance(kind, BigInteger) else 16 if isinstance(kind, SmallInteger) else 32
            if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
                raise UserError(f"{where}: {col.name} must be a {bits}-bit integer, got {str(value)[:40]!r}")
        rule = rules.get((table, col.name))
        if rule and not rule[0](value):
            raise UserError(f"{where}: {col.name} must be {rule[1]}, got {str(value)[:40]!r}")


def read_export(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"not a JSON file: {exc.msg} (line {exc.lineno}, column {exc.colno}; "
                        "was the export cut short?)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError("not an mlpath export (no \"format\": \"mlpath-export\")")
    if data.get("version") != VERSION:
        raise UserError(f"export version {data.get('version')!r} is not supported (this mlpath reads {VERSION})")
    for name, _, _ in TABLES:
        if not isinstance(data.get(name, []), list):
            raise UserError(f"{name}: expected a list")
    return data


def import_data(db: Database, data: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Insert what is missing; returns {table: {"added": n, "present": m}}. All or nothing."""
    report: dict[str, dict[str, int]] = {}
    rules = _rules()
    try:
        with db.session() as s:
            for name, model, key in TABLES:
                rows = data.get(name, [])
                added = 0
                ids = repo.member_ids(s)
                members = {v: [t, u] for (t, u), v in ids.items()}
                if key is None:
                    existing = Counter(_canonical(_encode_row(model, obj, members)) for obj in repo.all_rows(s, model))
                for i, row in enumerate(rows):
                    values = _decode_row(model, row, ids, f"{name}[{i}]")
                    check_values(name, model, values, f"{name}[{i}]", rules)
                    if key is None:
                        canon = _canonical(_encode_row(model, _Row(values), members))
                        if existing[canon] > 0:
                            existing[canon] -= 1
                            continue
                        repo.insert_row(s, model, values=values)
                        added += 1
                    elif repo.insert_if_absent(s, model, values=values, key=key):
                        added += 1
                report[name] = {"added": added, "present": len(rows) - added}
    except (IntegrityError, DataError) as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        raise UserError(f"the file does not fit the database, nothing was imported ({reason[:200]})") from None
    return report


class _Row:
    """Attribute access over decoded values, so a file row is encoded exactly like a database row."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        return None
