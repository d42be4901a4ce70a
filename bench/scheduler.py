"""Scheduler scale: planning the daily DMs for 10,000 members (SQLite and PostgreSQL), and send throughput
against the local fake Slack at a configured pace.

    python -m bench.scheduler [--quick]

PostgreSQL is measured when MLPATH_BENCH_POSTGRES_URL (or MLPATH_TEST_POSTGRES_URL) names a server; a
throwaway database is created and dropped there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ZONES = ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Kolkata",
         "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo", "Africa/Lagos", "Pacific/Auckland", "Asia/Dubai"]
TIMES = ["07:30", "08:00", "08:30", "09:00", "09:30", "12:00", "18:00"]


@contextmanager
def _database(kind: str) -> Iterator[str | None]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    base = os.environ.get("MLPATH_BENCH_POSTGRES_URL") or os.environ.get("MLPATH_TEST_POSTGRES_URL")
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


def planning(kind: str, members: int, runs: int) -> dict[str, Any] | None:
    from progress.scheduler import Scheduler
    from tests.conftest import make_settings

    with _database(kind) as url:
        if url is None:
            return None
        progress = _seed(url, members)
        with tempfile.TemporaryDirectory() as tmp:
            settings = make_settings(Path(tmp))
            scheduler = Scheduler(progress, sender=None, settings=settings)  # type: ignore[arg-type]
            at = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
            timings, due = [], 0
            for i in range(runs):
                start = time.perf_counter()
                due = len(scheduler.plan(at + timedelta(minutes=i)))
                timings.append(time.perf_counter() - start)
        progress.db.dispose()
    return {"database": kind, "members": members, "due now": due,
            "plan median ms": round(statistics.median(timings) * 1000, 1),
            "plan max ms": round(max(timings) * 1000, 1)}


def sending(members: int, rate: float) -> dict[str, Any]:
    from bot.nudges import SlackSender, scheduler_client
    from progress.scheduler import Scheduler
    from tests.bot.fake_slack import FakeSlack
    from tests.conftest import make_settings

    slack = FakeSlack()
    try:
        with _database("sqlite") as url:
            assert url is not None
            progress = _seed(url, members)
            with tempfile.TemporaryDirectory() as tmp:
                settings = make_settings(Path(tmp), slack_bot_token="xoxb-bench", slack_api_url=slack.api_url,
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


def run(quick: bool = False) -> list[tuple[str, list[dict[str, Any]]]]:
    """The section's tables: (title, rows)."""
    members = 1_000 if quick else 10_000
    runs = 3 if quick else 7
    plans = [r for r in (planning("sqlite", members, runs), planning("postgresql", members, runs)) if r]
    sends = [sending(100 if quick else 500, 50.0), sending(20 if quick else 60, 2.0)]
    return [("Scheduler: planning who is due (median of runs)", plans),
            ("Scheduler: sending against the local fake Slack (pace = MLPATH_SEND_RATE)", sends)]


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    cols = list(rows[0])
    widths = [max(len(str(c)), *(len(str(r[c])) for r in rows)) for c in cols]
    line = lambda vals: "| " + " | ".join(str(v).ljust(w) for v, w in zip(vals, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(cols), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line([r[c] for c in cols]) for r in rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scheduler")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    for title, rows in run(args.quick):
        print(f"\n{title}\n{_table(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
