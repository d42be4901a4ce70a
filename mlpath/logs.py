"""Logging for long-running processes (`mlpath serve`, the scheduler): one line per event.

`LOG_FORMAT=json` writes one JSON object per line (`ts`, `level`, `logger`, `msg`, extra fields, `exc` for an
exception with its traceback inside the string), for log shippers; `text` writes one readable line.

Nothing secret reaches a log line: every record passes `Redactor`, which replaces Slack tokens (`xoxb-…`,
`xapp-…`, …), LLM provider keys (`sk-…`, `AIza…`, bearer tokens), the configured secrets, credentials in URLs
(`scheme://user:password@`, `?token=…`) by `[redacted]` — in the message, its arguments and the traceback.

Redaction is linear in the text and the text is bounded: a log line is cut at `MAX_CHARS` first, and every
pattern has bounded repeats, so no input (anyone can make Bolt log a rejected request) can make a log call
slow. (The earlier URL pattern backtracked quadratically: 128 KB of `what+is+pca+…` took 10.8 s under the GIL
and froze every request.)

What members write is logged by our code only at DEBUG. Bolt's own loggers get `bolt_logger()` as their base:
its filter replaces the rejected-request line (which carries the whole body) by one line without the body.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from mlpath.settings import Settings, secret_values

TOKEN = re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]{1,500}")
# provider keys: OpenAI/Anthropic (sk-…, sk-ant-…, sk-proj-…), Google (AIza…), and any bearer token
PROVIDER_KEY = re.compile(r"\b(?:sk-[A-Za-z0-9_-]{16,500}|AIza[0-9A-Za-z_-]{30,100})"
                          r"|(?i:\bbearer\s+)[A-Za-z0-9._~+/=-]{8,2000}")
# scheme://userinfo@ — the scheme and userinfo have bounded lengths, so a failed match scans at most a few hundred
# characters from each start (linear), unlike `[a-z0-9+.-]*://` which rescans to the end of a long run
URL_USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]{0,31}://)([^/@\s]{1,256})@", re.IGNORECASE)
SECRET_PARAM = re.compile(r"(?i)\b((?:api[_-]?key|access[_-]?token|token|secret|password|passwd|sig|signature)=)"
                          r"[^&\s\"']{1,1000}")
REDACTED = "[redacted]"
MAX_CHARS = 65_536
"""A longer message or traceback is cut (with a note); a log line is for people, not a dump."""
SECRET_ENV = re.compile(r"(?:_KEY|_TOKEN|_SECRET|_PASSWORD)$")
# attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field
_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}
_NOISY = {"waitress": logging.WARNING, "httpx": logging.WARNING, "chromadb": logging.ERROR,
          "sentence_transformers": logging.ERROR, "transformers": logging.ERROR, "urllib3": logging.WARNING,
          "slack_bolt": logging.WARNING, "slack_sdk": logging.WARNING, "alembic": logging.WARNING}


class Redactor(logging.Filter):
    """Scrubs tokens and secrets from a record (message, args and exception text) before any handler."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        if len(text) > MAX_CHARS:
            text = text[:MAX_CHARS] + f" … [{len(text) - MAX_CHARS} characters cut]"
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = TOKEN.sub(REDACTED, text)
        text = PROVIDER_KEY.sub(REDACTED, text)
        text = URL_USERINFO.sub(_userinfo, text)
        return SECRET_PARAM.sub(r"\1" + REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a logging call with mismatched arguments must not break the caller
            message = f"{record.msg} {record.args}"
        record.msg = self.scrub(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for key, val in list(vars(record).items()):
            if key not in _STANDARD and isinstance(val, str):
                setattr(record, key, self.scrub(val))
        return True


def _userinfo(match: re.Match[str]) -> str:
    """Keep the user name (useful when reading a connection error), drop the password; a bare userinfo
    (`https://token@host`) is a credential as a whole."""
    user, sep, _password = match.group(2).partition(":")
    return match.group(1) + (f"{user}:{REDACTED}@" if sep else f"{REDACTED}@")


def settings_secrets(settings: Settings | None = None) -> list[str]:
    """Every secret value mlpath knows of: the secret settings, and any environment variable whose name ends
    in _KEY, _TOKEN, _SECRET or _PASSWORD (provider keys the settings don't name, e.g. MISTRAL_API_KEY)."""
    values = [v for k, v in os.environ.items() if SECRET_ENV.search(k)]
    if settings is not None:
        values += secret_values(settings)  # every `SecretStr` setting: a new secret is redacted by its type
    return values


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """One line for a person (a start-up error): the same scrubbing as the logs."""
    return Redactor([*settings_secrets(), *secrets]).scrub(text)


class _BoltFilter(logging.Filter):
    """Bolt logs a rejected request with its whole body at INFO: anyone who can reach the URL chooses that
    text, and it may be member text. Keep the line, drop the body. Also drop Bolt's start-up warning that the
    token it read from SLACK_BOT_TOKEN is unused: we hand Bolt a WebClient holding that same token."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.msg if isinstance(record.msg, str) else ""
        if msg.startswith("Invalid request signature detected"):
            record.msg, record.args = "rejected a request with an invalid or stale signature (body not logged)", None
        elif "`token` will be unused" in msg:
            return False
        return True


def bolt_logger() -> logging.Logger:
    """The base logger to give Bolt's `App(logger=...)`: Bolt copies its level (unset: every Bolt logger
    inherits `slack_bolt`'s level from `configure_logging`) and its filter to each logger it creates."""
    logger = logging.getLogger("slack_bolt.mlpath")
    if not any(isinstance(f, _BoltFilter) for f in logger.filters):
        logger.addFilter(_BoltFilter())
    return logger


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, val in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = val if isinstance(val, str | int | float | bool | type(None)) else str(val)
        if record.exc_info:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exc"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`2026-11-26T10:00:00.123Z INFO mlpath.bot: message key=value` — tracebacks folded onto the line."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
            f"{int(record.msecs):03d}Z"
        extra = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_"))
        line = f"{ts} {record.levelname} {record.name}: {record.getMessage()}" + (f" {extra}" if extra else "")
        if record.exc_info:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += " | " + record.exc_text.replace("\n", " | ")
        return line.replace("\n", " ")


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Route every logger through one handler on stderr with our format and the redactor. Idempotent."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_mlpath", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._mlpath = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(Redactor(settings_secrets(settings)))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name, level in _NOISY.items():
        logging.getLogger(name).setLevel(max(level, logging.getLevelName(settings.log_level)))
    return handler
