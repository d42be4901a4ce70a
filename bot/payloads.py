"""Typed views of the Slack payloads the listeners read, parsed once (no dict digging in the listeners)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class SlashCommand:
    team_id: str
    user_id: str
    user_name: str
    text: str

    @classmethod
    def of(cls, command: dict[str, Any]) -> SlashCommand:
        return cls(_s(command.get("team_id")), _s(command.get("user_id")), _s(command.get("user_name")),
                   _s(command.get("text")))


@dataclass(frozen=True)
class MessageEvent:
    """A message or app_mention event (or an Assistant-thread message)."""

    team_id: str
    user_id: str
    channel: str
    channel_type: str
    ts: str
    thread_ts: str
    text: str
    subtype: str | None
    bot_id: str

    @classmethod
    def of(cls, event: dict[str, Any], body: dict[str, Any] | None = None) -> MessageEvent:
        return cls(_s((body or {}).get("team_id")), _s(event.get("user")), _s(event.get("channel")),
                   _s(event.get("channel_type")), _s(event.get("ts")), _s(event.get("thread_ts")),
                   _s(event.get("text")), event.get("subtype"), _s(event.get("bot_id")))


@dataclass(frozen=True)
class BlockAction:
    """A click on one of our buttons."""

    team_id: str
    user_id: str
    user_name: str
    action_id: str
    value: str
    clicked_at: datetime | None
    """Slack's `action_ts`, so a replayed older click can't undo a newer one."""
    message: dict[str, Any]
    """The message the button was in ({} for ephemeral messages)."""

    @classmethod
    def of(cls, body: dict[str, Any], action: dict[str, Any]) -> BlockAction:
        user = body.get("user") or {}
        try:
            clicked_at: datetime | None = datetime.fromtimestamp(float(action.get("action_ts") or ""), UTC)
        except (TypeError, ValueError, OverflowError):
            clicked_at = None
        return cls(_s((body.get("team") or {}).get("id")), _s(user.get("id")), _s(user.get("name")),
                   _s(action.get("action_id")), _s(action.get("value")), clicked_at, body.get("message") or {})


@dataclass(frozen=True)
class QuizAnswerValue:
    """The value of a quiz answer button, written by bot/blocks.py and read by bot/listeners/actions/quiz.py:
    the delivery's token (only that delivery can be answered, once), the option chosen (0-3) and the scope of
    the quiz (`quiz <topic>`), so "Next question" stays on it. One format, `token:chosen:scope`."""

    token: str
    chosen: int
    scope: str = ""

    def encode(self) -> str:
        return f"{self.token}:{self.chosen}:{self.scope}"[:2000]  # Slack's limit for a button value

    @classmethod
    def decode(cls, value: str) -> QuizAnswerValue | None:
        """None for a value we did not write (a forged or damaged click)."""
        token, _, rest = value.partition(":")
        chosen, _, scope = rest.partition(":")
        if not token or not (chosen.isascii() and chosen.isdigit()):
            return None
        return cls(token, int(chosen), scope)
