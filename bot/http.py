"""The HTTP edge in front of Bolt: a WSGI wrapper that turns away what Bolt should never have to read.

- **Size.** A body over `MAX_BODY_BYTES` gets 413 before anything reads it (Content-Length is checked; a
  body without one is read at most one byte past the limit). Slack's payloads are small: a message's text is
  capped at 40,000 characters and a modal or App Home view at 100 blocks of at most 3,000 characters, so even
  the largest interactive payload (the view state plus the message it came from, URL-encoded) stays far below
  1 MiB. The limit keeps a forged 5 MB POST from costing more than the syscalls that refuse it.
- **Headers.** `X-Slack-Request-Timestamp` that is not a number gets 401 (slack_sdk's verifier would raise
  on `int()` and Bolt would answer 500 with a traceback in the log).
- **Shape.** A body Bolt cannot take apart — not UTF-8, not JSON where JSON is expected, not an object, or
  fields Bolt dereferences (`event`, `user`, `team`, `channel`, `actions`, …) of the wrong type — gets 400
  and one log line, never a 500. Whether the signature is valid is still Bolt's decision, for every request
  that passes here.

Nothing here logs the body: a rejected request is member text or an attacker's text, and neither belongs in
the logs (mlpath/logs.py).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

log = logging.getLogger("mlpath.bot")

MAX_BODY_BYTES = 1 << 20
"""1 MiB: far above any Slack payload (see the module docstring), far below what hurts a 2-core host."""

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# fields Bolt's request parsing and listener matching dereference: each must be a string, an object or absent
_STR_OR_OBJECT = ("user", "team", "channel", "enterprise", "view", "container", "message", "previous_message",
                  "organization", "item")
_STRINGS = ("type", "command", "user_id", "team_id", "channel_id", "enterprise_id", "callback_id",
            "trigger_id", "response_url", "event_id", "api_app_id", "token", "ts", "thread_ts", "subtype",
            "bot_id", "event_ts", "channel_type", "action_id", "block_id", "value", "user_team", "tab")


def malformed(body: dict[str, Any]) -> str:
    """Why a parsed Slack body cannot be handled ("" when it can): the type errors that would otherwise surface
    as exceptions deep inside Bolt's matchers or our listeners."""
    problem = _object_problem(body, "body")
    if problem:
        return problem
    event = body.get("event")
    if event is not None:
        if not isinstance(event, dict):
            return "event is not an object"
        problem = _object_problem(event, "event")
        if problem:
            return problem
    for key in ("actions", "authorizations"):
        items = body.get(key)
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return f"{key} is not a list of objects"
        for item in items:
            problem = _object_problem(item, key)
            if problem:
                return problem
    return ""


def _object_problem(obj: dict[str, Any], where: str) -> str:
    if where != "actions" and obj.get("text") is not None and not isinstance(obj["text"], str):
        return f"{where}.text is not a string"  # (a button's `text` in `actions` is an object)
    for key in _STR_OR_OBJECT:
        value = obj.get(key)
        if value is not None and not isinstance(value, str | dict):
            return f"{where}.{key} has the wrong type"
        if isinstance(value, dict) and value.get("id") is not None and not isinstance(value["id"], str):
            return f"{where}.{key}.id is not a string"
    for key in _STRINGS:
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            return f"{where}.{key} is not a string"
    return ""


def parse_slack_body(raw: bytes, content_type: str) -> tuple[dict[str, Any] | None, str]:
    """(body, "") as Bolt would parse it, or (None, reason). Mirrors slack_bolt.request.internals.parse_body."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "the body is not UTF-8"
    if not text:
        return {}, ""
    try:
        if content_type.split(";")[0].strip() == "application/json" or text.startswith("{"):
            data: Any = json.loads(text)
        elif "payload" in text:
            payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
            data = json.loads(payload) if payload is not None else {}
        else:
            data = dict(parse_qsl(text, keep_blank_values=True))
    except ValueError:  # JSONDecodeError, and parse_qsl on odd input
        return None, "the body is not valid JSON or form data"
    if not isinstance(data, dict):
        return None, "the body is not an object"
    problem = malformed(data)
    return (None, problem) if problem else (data, "")


def _reply(start_response: Callable[..., Any], status: str, text: str) -> list[bytes]:
    data = json.dumps({"error": text}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def guarded(app: WsgiApp, *, path: str = "/slack/events", max_bytes: int = MAX_BODY_BYTES) -> WsgiApp:
    """`app` behind the size, header and shape checks for POSTs to `path`; anything else passes through."""
    import io

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != path or environ.get("REQUEST_METHOD") != "POST":
            return app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            log.info("rejected a request: Content-Length is not a number")
            return _reply(start_response, "400 Bad Request", "bad Content-Length")
        if length > max_bytes:
            log.info("rejected a request of %d bytes (limit %d)", length, max_bytes)
            return _reply(start_response, "413 Content Too Large", "request body too large")
        stream = environ["wsgi.input"]
        raw = stream.read(length) if length >= 0 else stream.read(max_bytes + 1)
        if len(raw) > max_bytes:
            log.info("rejected a request of more than %d bytes", max_bytes)
            return _reply(start_response, "413 Content Too Large", "request body too large")
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "0")
        if not timestamp.isascii() or not timestamp.isdigit():
            log.info("rejected a request: X-Slack-Request-Timestamp is not a number")
            return _reply(start_response, "401 Unauthorized", "invalid request")
        _body, problem = parse_slack_body(raw, environ.get("CONTENT_TYPE") or "")
        if problem:
            log.info("rejected a malformed request: %s", problem)
            return _reply(start_response, "400 Bad Request", "malformed request")
        # Bolt reads the body again: hand it the bytes we already read
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
        return app(environ, start_response)

    return application


class AckGate:
    """Acks before answers: work after the ack (answers, quizzes, Home tabs) starts only once no Slack request
    is being acknowledged and none has been for `quiet_s`, or after `max_wait_s` at most.

    Acknowledging costs a third of a millisecond of interpreter time; an answer costs tens of milliseconds
    and, while it runs, every ack waits its turn for the interpreter lock (and the embedding model's threads
    take the cores). When 200 requests arrive at once, answers started during the burst pushed the last acks
    past 400 ms on an idle 2-core machine; held back until the burst has been acknowledged, they cost the acks
    nothing and start a few milliseconds later (docs/bench.md). Work already running is not paused, and under a
    steady stream no answer waits longer than `max_wait_s`."""

    def __init__(self, *, quiet_s: float = 0.02, max_wait_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.quiet_s, self.max_wait_s, self.clock = quiet_s, max_wait_s, clock
        self._changed = threading.Condition()
        self._acking = 0
        self._waiting = 0
        self._last_ack = -math.inf

    @property
    def acking(self) -> int:
        """Requests being acknowledged now."""
        return self._acking

    @property
    def waiting(self) -> int:
        """Jobs held back by the acks now."""
        return self._waiting

    @contextmanager
    def ack(self) -> Iterator[None]:
        """Around the acknowledgement of one request (bot/app.py `wsgi_application`)."""
        with self._changed:
            self._acking += 1
        try:
            yield
        finally:
            with self._changed:
                self._acking -= 1
                self._last_ack = self.clock()
                self._changed.notify_all()

    def wait(self) -> None:
        """Block until the acks are done (see the class docstring); called by each job before it starts."""
        deadline = self.clock() + self.max_wait_s
        with self._changed:
            self._waiting += 1
            try:
                while True:
                    now = self.clock()
                    if now >= deadline:
                        return
                    if self._acking == 0:
                        quiet_at = self._last_ack + self.quiet_s
                        if now >= quiet_at:
                            return
                        self._changed.wait(min(quiet_at, deadline) - now)
                    else:
                        self._changed.wait(deadline - now)
            finally:
                self._waiting -= 1


def acked_first(app: WsgiApp, gate: AckGate, *, path: str = "/slack/events") -> WsgiApp:
    """`app` with every POST to `path` counted by `gate` while it is acknowledged (the body is produced here,
    so what follows is only the write to the socket)."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != path or environ.get("REQUEST_METHOD") != "POST":
            return app(environ, start_response)
        with gate.ack():
            return list(app(environ, start_response))

    return application
