"""Delivering reminder DMs and the weekly post through Slack's Web API (the `Sender` of progress/scheduler.py).

- Pacing: at most MLPATH_SEND_RATE messages per second from this process (chat.postMessage allows about one
  per second per channel plus a workspace-wide limit; each DM is its own channel).
- 429: wait `Retry-After` (everything pauses, since the limit is the app's), then go on; after several
  429s in a row the message is handed back to the scheduler for the next tick.
- Per-member errors (`cannot_dm_bot`, `user_not_found`, `account_inactive`, …) are results, never exceptions:
  the scheduler marks that member unreachable and everyone else still gets their DM.
- 5xx and timeouts are *not* retried here (a retried chat.postMessage can post twice): the outcome is
  "unknown" and the scheduler checks the conversation for the message's metadata before any retry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot import blocks
from mlpath.settings import Settings, secret
from progress.checkins import CheckinMessage
from progress.scheduler import CannotCheck, LeaderboardPost, NudgeMessage, SendResult

log = logging.getLogger("mlpath.scheduler")

NUDGE_EVENT = "mlpath_nudge"
LEADERBOARD_EVENT = "mlpath_leaderboard"
CHECKIN_EVENT = "mlpath_checkin"
UNREACHABLE = frozenset({"cannot_dm_bot", "user_not_found", "account_inactive", "user_disabled"})
"""Slack errors that mean this member can't get DMs from the bot (not a problem of this one message)."""
MAX_RATE_LIMITED = 5
MAX_RETRY_AFTER = 120.0


def scheduler_client(settings: Settings) -> WebClient:
    """No 429 retry handler here: the sender honours Retry-After itself, for every message at once."""
    return WebClient(token=secret(settings.slack_bot_token), base_url=settings.slack_api_url, timeout=30,
                     retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)])


class SlackSender:
    def __init__(self, client: WebClient, *, rate: float, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.interval = 1.0 / rate
        self.sleep = sleep
        self.monotonic = monotonic
        self._next = 0.0
        self._lock = threading.Lock()
        self._dm_channels: dict[str, str] = {}
        self.rate_limited = 0

    def _pace(self) -> None:
        with self._lock:
            now = self.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            self.sleep(wait)

    def _pause(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, self.monotonic() + seconds)
        self.sleep(seconds)

    def _call(self, method: str, paced: bool = True, **kwargs: Any) -> tuple[dict[str, Any] | None, SendResult | None]:
        """(response data, None) or (None, the failure as a SendResult)."""
        for _ in range(MAX_RATE_LIMITED):
            if paced:
                self._pace()
            try:
                resp = getattr(self.client, method)(**kwargs)
                return dict(resp.data) if isinstance(resp.data, dict) else {}, None
            except SlackApiError as exc:
                status = exc.response.status_code
                error = str(exc.response.get("error") or f"http_{status}")
                if status == 429:
                    retry_after = _retry_after(exc.response.headers)
                    self.rate_limited += 1
                    log.warning("%s rate limited: waiting %.0f s (Retry-After)", method, retry_after)
                    self._pause(retry_after)
                    continue
                if status >= 500:
                    return None, SendResult("unknown", error=error[:64])
                if error in UNREACHABLE:
                    return None, SendResult("unreachable", error=error)
                return None, SendResult("failed", error=error[:64])
            except (OSError, TimeoutError) as exc:  # connection refused/reset, timeouts
                return None, SendResult("unknown", error=type(exc).__name__[:64])
        return None, SendResult("retry", error="ratelimited")

    def _post(self, channel: str, *, text: str, blocks_: list[dict[str, Any]], event_type: str,
              key: str) -> tuple[dict[str, Any] | None, SendResult]:
        """One paced chat.postMessage carrying the claim `key` as message metadata (for `_find`)."""
        data, failure = self._call(
            "chat_postMessage", channel=channel, text=text, blocks=blocks_, unfurl_links=False, unfurl_media=False,
            metadata={"event_type": event_type, "event_payload": {"key": key}})
        if failure:
            return None, failure
        assert data is not None
        return data, SendResult("sent", ref=str(data.get("ts") or ""))

    # ----- Sender -----
    def send_nudge(self, message: NudgeMessage) -> SendResult:
        return self._send_dm(message.user_id, blocks.nudge_text(message), blocks.build_nudge(message), NUDGE_EVENT,
                             message.key)

    def _send_dm(self, user_id: str, text: str, blocks_: list[dict[str, Any]], event_type: str, key: str) -> SendResult:
        data, result = self._post(user_id, text=text, blocks_=blocks_, event_type=event_type, key=key)
        if data and data.get("channel"):
            self._dm_channels[user_id] = str(data["channel"])  # for a later `_find_dm`
        return result

    def find_nudge(self, user_id: str, key: str, since: datetime) -> str | None:
        return self._find_dm(user_id, NUDGE_EVENT, key, since)

    def send_checkin(self, message: CheckinMessage) -> SendResult:
        return self._send_dm(message.user_id, blocks.checkin_text(message), blocks.build_checkin(message),
                             CHECKIN_EVENT, message.key)

    def find_checkin(self, user_id: str, key: str, since: datetime) -> str | None:
        return self._find_dm(user_id, CHECKIN_EVENT, key, since)

    def _find_dm(self, user_id: str, event_type: str, key: str, since: datetime) -> str | None:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            data, failure = self._call("conversations_open", paced=False, users=user_id)
            channel = str(((data or {}).get("channel") or {}).get("id") or "")
            if failure or not channel:
                raise CannotCheck(f"conversations.open: {failure.error if failure else 'no channel'}")
        return self._find(channel, event_type, key, since)

    def post_leaderboard(self, post: LeaderboardPost) -> SendResult:
        """The post, then its chart beside it (files_upload_v2 to the same channel, with alt text). The chart is
        uploaded only after the post went out, once: a failed upload is logged and never retried, since a
        retry of the post would post twice (the claim is about the post)."""
        _, result = self._post(post.channel, text=blocks.leaderboard_post_text(post),
                               blocks_=blocks.build_leaderboard_post(post), event_type=LEADERBOARD_EVENT, key=post.key)
        if result.status == "unreachable":  # a channel error is the channel's, not a member's
            return SendResult("failed", error=result.error)
        if result.status == "sent" and post.chart:
            self.upload_chart(post.channel, post.chart, filename=f"mlpath-{post.week}.png",
                              title=f"mlpath week {post.week}", alt=post.chart_alt)
        return result

    def upload_chart(self, channel: str, png: bytes, *, filename: str, title: str, alt: str) -> str | None:
        """Upload a PNG to `channel` (files:write); the file id, or None when Slack refused it (logged)."""
        try:
            data, failure = self._call("files_upload_v2", channel=channel, content=png, filename=filename,
                                       title=title, alt_txt=alt[:1000])
        except Exception as exc:  # noqa: BLE001 — e.g. the upload step's own error (SlackRequestError)
            log.warning("chart upload to %s failed: %s", channel, type(exc).__name__)
            return None
        if failure or data is None:
            log.warning("chart upload to %s failed: %s", channel, failure.error if failure else "no answer")
            return None
        return str((data.get("file") or {}).get("id") or "") or None

    def find_post(self, channel: str, key: str, since: datetime) -> str | None:
        return self._find(channel, LEADERBOARD_EVENT, key, since)

    def _find(self, channel: str, event_type: str, key: str, since: datetime) -> str | None:
        """A message of ours in `channel` since `since` whose metadata carries `key`; CannotCheck when Slack
        does not let us look (missing im:history/channels:history scope, an error, a 5xx)."""
        data, failure = self._call("conversations_history", paced=False, channel=channel,
                                   oldest=f"{since.timestamp():.6f}", include_all_metadata=True, limit=100)
        if failure or data is None:
            raise CannotCheck(f"conversations.history: {failure.error if failure else 'no answer'}")
        for msg in data.get("messages") or []:
            meta = msg.get("metadata") or {}
            if meta.get("event_type") == event_type and (meta.get("event_payload") or {}).get("key") == key:
                return str(msg.get("ts") or "") or None
        return None

    def time_zone(self, user_id: str) -> str | None:
        data, failure = self._call("users_info", paced=False, user=user_id)
        if failure or not data:
            return None
        return (data.get("user") or {}).get("tz") or None


def _retry_after(headers: Any) -> float:
    for name in ("Retry-After", "retry-after"):
        value = (headers or {}).get(name)
        if value is not None:
            try:
                return min(MAX_RETRY_AFTER, max(0.0, float(value[0] if isinstance(value, list) else value)))
            except (TypeError, ValueError):
                break
    return 1.0
