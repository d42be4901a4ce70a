"""An answer delivered to Slack while the LLM writes it.

Where the workspace supports it, Slack's chat streaming (slack_sdk `chat_stream`: chat.startStream,
chat.appendStream, chat.stopStream) shows the text as it comes, and the sources and 👍/👎 buttons are added
when the stream stops. Otherwise (startStream refused — remembered for the process — or no thread to stream
into, as for a top-level DM) the first words are posted once and the message is updated at most once per
second, because repeated chat.update calls are rate-limited. When the final answer differs from what was
shown (the LLM failed halfway, or its reply could not be tied to a passage and the extractive answer
replaces it) the message is replaced by the final answer. Answers that never stream (extractive, refusals)
are posted once, exactly as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.blocks import clip, escape

log = logging.getLogger("mlpath.bot")

STREAM_BUFFER = 120
"""Characters buffered before a chat.appendStream call (fewer calls, same text)."""
UPDATE_INTERVAL = 1.0
"""Seconds between chat.update calls on the post-then-update path."""
WORKING = " …"


@dataclass
class StreamSupport:
    """Whether this workspace accepted chat.startStream; None until the first try (one per process)."""

    supported: bool | None = None


class SlackAnswerStream:
    def __init__(self, client: WebClient, *, channel: str, thread_ts: str | None, team_id: str, user_id: str,
                 support: StreamSupport, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.team_id = team_id
        self.user_id = user_id
        self.support = support
        self.clock = clock
        self.sleep = sleep
        self.mode: str | None = None
        """None (nothing shown yet), "stream" (chat streaming) or "update" (post, then chat.update)."""
        self.shown = ""
        self.ts: str | None = None
        self.failed = False
        self._stream: Any = None
        self._last_update = 0.0

    # ----- while the answer is written -----
    def on_text(self, piece: str) -> None:
        """Show more of the answer. Never raises: a Slack problem here must not cost the member the answer,
        which `finish` then delivers in one piece."""
        if self.failed or not piece:
            return
        try:
            self._show(piece)
        except Exception as exc:  # noqa: BLE001 - e.g. Slack unreachable after the client's retries
            log.warning("showing the answer as it is written failed (%s): it will be posted when done",
                        type(exc).__name__)
            self.failed = True

    def _show(self, piece: str) -> None:
        text = escape(piece)
        self.shown += text
        if self.mode is None:
            if self.thread_ts and self.support.supported is not False:
                self.mode = "stream"
                self._stream = self.client.chat_stream(
                    channel=self.channel, thread_ts=self.thread_ts, recipient_team_id=self.team_id or None,
                    recipient_user_id=self.user_id or None, buffer_size=STREAM_BUFFER)
            else:
                self.mode = "update"
        if self.mode == "stream":
            try:
                self._stream.append(markdown_text=text)
                if self._stream.ts:
                    self.support.supported = True
            except (SlackApiError, SlackRequestError) as exc:
                self._stream_broke(exc)
            return
        if self.ts is None:
            self._post_first()
        elif self.clock() - self._last_update >= UPDATE_INTERVAL:
            self._update(text=clip(self.shown, 39_000) + WORKING)

    def _stream_broke(self, exc: Exception) -> None:
        error = exc.response.get("error") if isinstance(exc, SlackApiError) else str(exc)
        if self._stream.ts is None:
            log.info("chat.startStream refused (%s): posting and updating instead", error)
            self.support.supported = False
            self.mode, self._stream = "update", None
            self._post_first()
        else:
            log.warning("chat.appendStream failed (%s): updating the message instead", error)
            self.ts, self.mode, self._stream = self._stream.ts, "update", None

    def _post_first(self) -> None:
        try:
            resp = self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts,
                                                text=clip(self.shown, 39_000) + WORKING,
                                                unfurl_links=False, unfurl_media=False)
            self.ts = str(resp.get("ts") or "") or None
            self._last_update = self.clock()
        except SlackApiError as exc:
            log.error("chat.postMessage to %s failed: %s", self.channel, exc.response.get("error"))
            self.failed = True

    def _update(self, *, text: str, blocks: list[dict[str, Any]] | None = None) -> bool:
        assert self.ts is not None
        try:
            self.client.chat_update(channel=self.channel, ts=self.ts, text=text, blocks=blocks)
            self._last_update = self.clock()
            return True
        except SlackApiError as exc:
            log.warning("chat.update in %s failed: %s", self.channel, exc.response.get("error"))
            return False

    # ----- the final answer -----
    def finish(self, *, text: str, blocks: list[dict[str, Any]], tail: list[dict[str, Any]],
               final_text: str | None) -> None:
        """`text`/`blocks`: the whole final message; `tail`: its blocks below the answer text; `final_text`:
        the answer text as it was streamed (None when the final answer is not the streamed one)."""
        try:
            self._finish(text=text, blocks=blocks, tail=tail, final_text=final_text)
        except Exception as exc:  # noqa: BLE001 - logged; Slack itself is what failed
            log.error("delivering the answer in %s failed: %s", self.channel, type(exc).__name__)

    def _finish(self, *, text: str, blocks: list[dict[str, Any]], tail: list[dict[str, Any]],
                final_text: str | None) -> None:
        same = final_text is not None and escape(final_text).strip() == self.shown.strip()
        if self.mode == "stream" and self._stream is not None:
            try:
                if same:
                    self._stream.stop(blocks=tail)
                    self.support.supported = True
                    return
                self._stream.stop()
                self.ts = self._stream.ts
            except (SlackApiError, SlackRequestError) as exc:
                if self._stream.ts is None:  # it never started: this workspace doesn't stream
                    self.support.supported = False
                    self._post(text, blocks)
                    return
                log.warning("chat.stopStream failed (%s)", exc)
                self.ts = self._stream.ts
            if self.ts and self._update(text=text, blocks=blocks):
                return
            self._post(text, blocks)
            return
        if self.mode == "update" and self.ts:
            wait = UPDATE_INTERVAL - (self.clock() - self._last_update)
            if wait > 0:
                self.sleep(wait)  # at most one update a second, the last one too
            if self._update(text=text, blocks=blocks):
                return
        self._post(text, blocks)

    def _post(self, text: str, blocks: list[dict[str, Any]]) -> None:
        try:
            self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, text=text, blocks=blocks,
                                         unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            log.error("chat.postMessage to %s failed: %s", self.channel, exc.response.get("error"))
