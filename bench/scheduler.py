"""Scheduler scale: planning the daily DMs for 10,000 members (SQLite, and PostgreSQL with --postgres-url),
and send throughput against the local fake Slack at a configured pace (MLPATH_SEND_RATE).

Members are spread over 12 time zones and 7 reminder times; "plan" is `Scheduler.plan` — the two queries and
the per-zone computation of who is due now — timed warm at several instants. On PostgreSQL a throwaway
database is created and dropped on the given server.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Context, Row

ZONES = ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Kolkata",
         "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo", "Africa/Lagos", "Pacific/Auckland", "Asia/Dubai"]
TIMES = ["07:30", "08:00", "08:30", "09:00", "09:30", "12:00", "18:00"]


def _settings(data_dir: Path, **overrides: Any) -> Any:
    from mlpath.settings import Settings

    return Settings(_env_file=None, data_dir=data_dir, **overrides)  # type: ignore[call-arg, arg-type]


@contextmanager
def _database(kind: str, postgres_url: str | None = None) -> Iterator[str | None]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    base = postgres_url
    if not base:
        yield None
        return
    from sqlalchemy import create_engine, text

    name = f"mlpath_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _seed(url: str, members: int) -> Any:
    from progress import repository as repo
    from progress.db import Database, upgrade
    from progress.service import Progress

    upgrade(url)
    db = Database(url)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with db.session() as s:
        for i in range(members):
            m = repo.get_or_create_member(s, team_id="T1", user_id=f"U{i:06d}", now=now, display_name=f"M {i}",
                                          tz=ZONES[i % len(ZONES)])
            if TIMES[i % len(TIMES)] != "09:00":
                repo.update_member(s, member_id=m.id, nudge_time=TIMES[i % len(TIMES)])
    return Progress(db)


def planning(kind: str, members: int, runs: int, postgres_url: str | None = None) -> dict[str, Any] | None:
    from progress.scheduler import Scheduler

    with _database(kind, postgres_url) as url:
        if url is None:
            return None
        progress = _seed(url, members)
        with tempfile.TemporaryDirectory() as tmp:
            settings = _settings(Path(tmp))
            scheduler = Scheduler(progress, sender=None, settings=settings)  # type: ignore[arg-type]
            at = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
            timings, due = [], 0
            statements: list[str] = []

            def count(*args: Any) -> None:
                statements.append(str(args[2]))

            from sqlalchemy import event

            event.listen(progress.db.engine, "before_cursor_execute", count)
            for i in range(runs):
                start = time.perf_counter()
                due = len(scheduler.plan(at + timedelta(minutes=i)))
                timings.append(time.perf_counter() - start)
            event.remove(progress.db.engine, "before_cursor_execute", count)
            queries = sum(1 for q in statements if q.lstrip().upper().startswith("SELECT")) / runs
        progress.db.dispose()
    return {"database": kind, "members": members, "due now": due, "queries": queries,
            "plan median ms": round(statistics.median(timings) * 1000, 1),
            "plan max ms": round(max(timings) * 1000, 1)}


def sending(members: int, rate: float) -> dict[str, Any]:
    from bot.nudges import SlackSender, scheduler_client
    from mlpath.testing.fake_slack import FakeSlack
    from progress.scheduler import Scheduler

    slack = FakeSlack()
    try:
        with _database("sqlite") as url:
            assert url is not None
            progress = _seed(url, members)
            with tempfile.TemporaryDirectory() as tmp:
                settings = _settings(Path(tmp), slack_bot_token="xoxb-bench", slack_api_url=slack.api_url,
                                         send_rate=rate, nudge_cutoff_hours=24)
                with progress.db.session() as s:
                    from progress import repository as repo

                    for member_id, *_ in repo.nudge_candidates(s):
                        repo.update_member(s, member_id=member_id, nudge_time="00:00", tz="UTC")
                scheduler = Scheduler(progress, SlackSender(scheduler_client(settings), rate=rate), settings)
                start = time.perf_counter()
                report = scheduler.run_nudges(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
                seconds = time.perf_counter() - start
            progress.db.dispose()
    finally:
        slack.close()
    return {"members": members, "pace /s": rate, "sent": report.sent, "seconds": round(seconds, 2),
            "DMs/s": round(report.sent / seconds, 1), "DMs recorded by fake": len(slack.dms())}


def run(ctx: Context) -> list[Row]:
    members = 1_000 if ctx.quick else 10_000
    runs = 3 if ctx.quick else 9
    rows: list[Row] = []
    for kind in ("sqlite", "postgresql"):
        plan = planning(kind, members, runs, ctx.postgres_url)
        if plan is None:
            rows.append((f"plan who is due, {members:,} members, PostgreSQL", "not measured (no --postgres-url)"))
            continue
        rows.append((f"plan who is due, {members:,} members, {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}"
                     f" (median / max of {runs})",
                     f"{plan['plan median ms']} ms / {plan['plan max ms']} ms "
                     f"({plan['due now']} due, {plan['queries']:g} queries)"))
    for count, rate in ((50, 50.0), (6, 2.0)) if ctx.quick else ((500, 50.0), (60, 2.0)):
        sent = sending(count, rate)
        rows.append((f"send {count} DMs at MLPATH_SEND_RATE={rate:g} (fake Slack)",
                     f"{sent['DMs/s']} DMs/s, {sent['sent']} sent, {sent['DMs recorded by fake']} received"))
    return rows
