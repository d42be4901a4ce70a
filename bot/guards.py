"""Guards: event de-duplication, per process and across replicas through the database. (The per-member
question rate limit is an application rule: mlpath/app/limits.py.)"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

log = logging.getLogger("mlpath.bot")


class Deduper:
    """Remembers keys (Slack `event_id`s) for `ttl` seconds; `first_time(key)` is True once per key.

    Slack retries an event up to three times within about five minutes, so an hour of memory covers every
    retry. Several bot processes share a claim in the database instead (`SharedDeduper`)."""

    def __init__(self, ttl: float = 3600.0, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_keys = max_keys
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) < now - self.ttl
                                  or len(self._seen) > self.max_keys):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def check(self, key: str) -> str:
        """"" when this process should handle `key`; else where the repeat was caught ("process")."""
        return "" if Deduper.first_time(self, key) else "process"


class SharedDeduper(Deduper):
    """Event de-duplication across bot replicas: the in-process memory (`Deduper`) answers repeats it has seen at
    no cost; a key it has not seen is claimed in the database (a unique claim row, INSERT … ON CONFLICT DO
    NOTHING), and only the replica whose insert wins handles the event. Claims older than a day are pruned
    now and then (Slack stops retrying after minutes).

    If the database does not answer, the event is handled (a rare duplicate beats a lost question) and the
    failure is logged."""

    PRUNE_EVERY = 3600.0
    KEEP = 86400.0

    def __init__(self, db: Any, *, owner: str, wall_clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.db = db
        self.owner = owner
        self.wall_clock = wall_clock
        self._last_prune = 0.0

    def first_time(self, key: str) -> bool:
        return self.check(key) == ""

    def check(self, key: str) -> str:
        """"" when this process should handle `key`; otherwise where the repeat was caught:
        "process" (seen here) or "database" (another delivery claimed it)."""
        from datetime import UTC, datetime

        from progress import repository as repo

        if not Deduper.first_time(self, key):
            return "process"
        now = self.wall_clock()
        try:
            with self.db.session() as s:
                won = repo.claim_event(s, event_id=key, owner=self.owner, now=datetime.fromtimestamp(now, UTC))
                if now - self._last_prune > self.PRUNE_EVERY:
                    self._last_prune = now
                    repo.prune_claims(s, kind="event", before=datetime.fromtimestamp(now - self.KEEP, UTC))
        except Exception as exc:  # noqa: BLE001 - see the class docstring
            log.warning("event claim failed, handling %s anyway: %s", key, type(exc).__name__)
            return ""
        return "" if won else "database"
