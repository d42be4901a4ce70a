"""The per-member question rate limit (every surface: Slack and the terminal)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


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
