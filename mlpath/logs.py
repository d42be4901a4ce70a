"""Logging for long-running processes (`mlpath serve`, the scheduler): one line per event.

`LOG_FORMAT=json` writes one JSON object per line (`ts`, `level`, `logger`, `msg`, extra fields, `exc` for an
exception with its traceback inside the string), for log shippers; `text` writes one readable line.

Nothing secret reaches a log line: every record passes `Redactor`, which replaces Slack tokens (`xoxb-…`,
`xapp-…`, …), the configured secrets and passwords in database URLs by `[redacted]` — in the message, its
arguments and the traceback. What members write is logged by our code only at DEBUG.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from mlpath.settings import Settings

TOKEN = re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]+")
URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@")
REDACTED = "[redacted]"
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
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = TOKEN.sub(REDACTED, text)
        return URL_PASSWORD.sub(r"\1" + REDACTED + "@", text)

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
    handler.addFilter(Redactor([settings.slack_bot_token or "", settings.slack_app_token or "",
                                settings.slack_signing_secret or ""]))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name, level in _NOISY.items():
        logging.getLogger(name).setLevel(max(level, logging.getLevelName(settings.log_level)))
    return handler
