"""Per-process guards: event de-duplication and the per-member question rate limit."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class Deduper:
    """Remembers keys (Slack `event_id`s) for `ttl` seconds; `first_time(key)` is True once per key.

    Slack retries an event up to three times within about five minutes, so an hour of memory covers every
    retry. Several bot processes need a shared claim instead (the deployment issue moves this to the
    database)."""

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


class RateLimiter:
    """At most `limit` questions per member in any sliding hour."""

    def __init__(self, limit: int, window: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, member: str) -> tuple[bool, int]:
        """(allowed, seconds until the next question is allowed)."""
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(member, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False, int(hits[0] + self.window - now) + 1
            hits.append(now)
            return True, 0
