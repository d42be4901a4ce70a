"""Readiness: a process is ready only when the services it needs answer (`GET /healthz`).

Used by `mlpath.ops` (the HTTP bot, and METRICS_PORT of the scheduler and a Socket Mode bot). The report
names what failed by its exception type only — never a URL with a password or a token.
"""

from __future__ import annotations

from typing import Any, Protocol

from progress import repository as repo
from progress.db import Database


class _Counts(Protocol):
    def count(self) -> int: ...


def check(*, store: _Counts | None = None, db: Database | None = None) -> tuple[bool, dict[str, Any]]:
    """(ready, report). `store`: the vector store (its chunk count is reported); `db`: the progress database."""
    ok = True
    report: dict[str, Any] = {}
    if store is not None:
        try:
            report["chunks"] = store.count()
            report["vector_store"] = "ok"
        except Exception as exc:  # noqa: BLE001 - health must answer, whatever broke
            ok = False
            report["vector_store"] = f"unavailable: {type(exc).__name__}"
    if db is not None:
        try:
            with db.session() as s:
                repo.ping(s)
            report["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            ok = False
            report["database"] = f"unavailable: {type(exc).__name__}"
    return ok, {"status": "ok" if ok else "unavailable", **report}
