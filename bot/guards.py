"""Guards: event de-duplication, per process and across replicas through the database; the drop of replayed
signed requests; and the cleaning of every incoming payload (`clean_inputs`). (The per-member question rate
limit is an application rule: mlpath/app/limits.py.)"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

log = logging.getLogger("mlpath.bot")


def replay_key(req: Any) -> str:
    """For a signed HTTP slash command or interaction: a key naming the exact signed request (its timestamp and
    body), "" for anything else. Slack never retries these (only events, which carry `event_id`), so a second
    request with the same key is a replay of a captured one, which the signature alone allows for 5 minutes."""
    import hashlib

    if req.mode != "http" or req.body.get("event_id") or req.body.get("type") in ("url_verification",
                                                                                   "event_callback"):
        return ""
    timestamp = (req.headers.get("x-slack-request-timestamp") or [""])[0]
    digest = hashlib.sha256(f"{timestamp}:{req.raw_body}".encode("utf-8", "surrogatepass")).hexdigest()
    return digest


CLAIM = "mlpath_claim"
"""Bolt context key: the (kind, key) a request's work must claim across replicas before it runs, after the ack
(bot/app.py `ClaimingLazyRunner`). The ack path itself only asks this process's memory: no database round trip."""


def drop_replays(req: Any, context: Any, next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's argument name
    """Bolt middleware: acknowledge and drop a replayed slash command or interaction (see `replay_key`) that this
    process has seen; one that reached another replica first is dropped after the ack, by the claim in the
    database (`CLAIM`), like events."""
    from slack_bolt import BoltResponse

    key = replay_key(req)
    if key:
        if context["mlpath"].dedupe.check_here(key, kind="request"):
            log.info("replayed request dropped")
            return BoltResponse(status=200, body="")
        context[CLAIM] = ("request", key)  # claimed across replicas after the ack, before the work
    return next()


def clean_inputs(req: Any, resp: Any, next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's argument name
    """Bolt middleware: every string of the request body through mlpath.inputs.clean_text (NUL, control
    characters, lone surrogates), before any listener sees it — in HTTP and Socket Mode alike.

    Bolt's lazy listeners (where answers are computed) re-parse `raw_body` in HTTP mode, so the cleaned body is
    stored there too, as JSON (which Bolt parses whatever the content type). The signature was verified on the
    original bytes before this runs."""
    from mlpath.inputs import clean_tree

    cleaned = clean_tree(req.body)
    if cleaned != req.body:
        req.body.clear()
        req.body.update(cleaned)
        if req.mode == "http":
            req.raw_body = json.dumps(cleaned, ensure_ascii=False)
    return next()


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

    def check_here(self, key: str, *, kind: str = "event") -> str:
        """The in-process half, cheap enough for the ack path: "" the first time this process sees `key`, else
        "process". `kind` names what the key is (an `event` id, a `request` hash)."""
        return "" if Deduper.first_time(self, f"{kind}:{key}") else "process"

    def claim(self, key: str, *, kind: str = "event") -> str:
        """The shared half, run after the ack (bot/app.py `ClaimingLazyRunner`): "" when this process should
        do the work. One process shares nothing, so always ""."""
        return ""

    def check(self, key: str, *, kind: str = "event") -> str:
        """Both halves at once: "" when this process should handle `key`; else where the repeat was caught
        ("process", or "database" for `SharedDeduper`)."""
        return self.check_here(key, kind=kind) or self.claim(key, kind=kind)


class SharedDeduper(Deduper):
    """Event de-duplication across bot replicas: the in-process memory (`Deduper`) answers repeats it has seen at
    no cost, on the ack path; a key it has not seen is claimed in the database after the ack, before the work
    (a unique claim row, INSERT … ON CONFLICT DO NOTHING), and only the replica whose insert wins does it.
    Claims older than a day are pruned now and then (Slack stops retrying after minutes).

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

    def claim(self, key: str, *, kind: str = "event") -> str:
        """"" when this replica's insert of the claim wins (or the database does not answer); "database" when
        another delivery claimed `key` first. A database round trip: called after the ack, never before."""
        from datetime import UTC, datetime

        from progress import repository as repo

        now = self.wall_clock()
        try:
            with self.db.session() as s:
                won = repo.claim_event(s, event_id=key, owner=self.owner, now=datetime.fromtimestamp(now, UTC),
                                       kind=kind)
                if now - self._last_prune > self.PRUNE_EVERY:
                    self._last_prune = now
                    for old in ("event", "request"):
                        repo.prune_claims(s, kind=old, before=datetime.fromtimestamp(now - self.KEEP, UTC))
        except Exception as exc:  # noqa: BLE001 - see the class docstring
            log.warning("event claim failed, handling %s anyway: %s", key, type(exc).__name__)
            return ""
        return "" if won else "database"
