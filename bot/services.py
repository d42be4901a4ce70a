"""What the Slack listeners share: the application, the Slack-side state (who the bot is, event de-duplication,
streaming support, members' time zones) and the Slack delivery helpers. The rules of asking, quizzes and every
command live in the application layer (mlpath/app); this module only translates between Slack and it."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.guards import Deduper
from bot.http import AckGate
from bot.streaming import SlackAnswerStream, StreamSupport
from knowledge.answer import Turn
from knowledge.mentor import Mentor
from mlpath.app import Application, Who
from mlpath.app.results import AnswerView, Notice, ProjectShare, Result
from mlpath.settings import Settings
from progress.answer_log import AnswerLog
from progress.service import MemberRef, Progress

log = logging.getLogger("mlpath.bot")

MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
THREAD_FETCH = 50
"""Messages of a thread read for its history (the application keeps the last HISTORY_TURNS)."""


@dataclass
class Reply:
    text: str
    blocks: list[dict[str, Any]]
    answer: Any = None
    tail: list[dict[str, Any]] = field(default_factory=list)
    """The blocks below the answer text (note, sources, 👍/👎): what a streamed answer gets at its end."""


def reply_for(result: Result) -> Reply:
    """A result as a Slack message (answers keep their tail for streaming)."""
    text, blocks_ = blocks.render(result)
    if isinstance(result, AnswerView):
        return Reply(text, blocks_, result.answer,
                     blocks.build_answer_tail(result.answer, feedback_value=result.answer_id or ""))
    return Reply(text, blocks_)


@dataclass
class BotServices:
    """Set on every request's Bolt `context["mlpath"]` by a middleware (bot/app.py), read by the listeners."""

    settings: Settings
    app: Application
    dedupe: Deduper = field(default_factory=Deduper)
    bot_user_id: str = ""
    stream_support: StreamSupport = field(default_factory=StreamSupport)
    ack_gate: AckGate = field(default_factory=AckGate)
    """Work after the ack waits for the acks in flight (bot/http.py): `wsgi_application` counts them."""
    _tz_cache: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    _chart_files: dict[tuple[str, str], str] = field(default_factory=dict)
    """(user, PNG digest) → the Slack file id of that member's chart: an unchanged chart is not uploaded again."""

    def __deepcopy__(self, memo: dict[int, Any]) -> BotServices:
        """Bolt deep-copies the context for lazy listeners; they must share these services, not copy them."""
        return self

    @property
    def mentor(self) -> Mentor:
        return self.app.mentor

    @property
    def progress(self) -> Progress:
        return self.app.progress

    @property
    def answer_log(self) -> AnswerLog:
        return self.app.answer_log

    def member_ref(self, client: WebClient, *, team_id: str, user_id: str, name: str = "") -> MemberRef:
        """The member as progress knows them; their time zone comes from users.info, refreshed at most
        once a day per process (Slack's IANA name, e.g. Europe/Berlin)."""
        today = time.strftime("%Y-%m-%d")
        cached = self._tz_cache.get(user_id)
        if cached is None or cached[1] != today:
            tz = None
            try:
                user = client.users_info(user=user_id).get("user") or {}
                tz = user.get("tz") or None
                name = name or user.get("real_name") or user.get("name") or ""
            except SlackApiError as exc:
                log.info("users.info failed: %s", exc.response.get("error"))
            cached = (tz, today)
            self._tz_cache[user_id] = cached
        return MemberRef(team_id=team_id or "T", user_id=user_id, display_name=name, tz=cached[0])

    def add_if_in_workspace(self, client: WebClient, *, team_id: str, user_id: str) -> None:
        """Make `user_id` a member when Slack's users.info knows them (an admin setting the level of someone who
        has not used mlpath yet); an id Slack does not know creates nothing (progress never makes up members)."""
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            log.info("setlevel for an id Slack does not know: %s", exc.response.get("error"))
            return
        self.progress.member(MemberRef(team_id=team_id or "T", user_id=user_id,
                                       display_name=user.get("real_name") or user.get("name") or "",
                                       tz=user.get("tz") or None))

    def who(self, client: WebClient, *, team_id: str, user_id: str, surface: str, name: str = "") -> Who:
        return Who(self.member_ref(client, team_id=team_id, user_id=user_id, name=name), surface)

    def answer_into(self, client: WebClient, who: Who, *, channel: str, thread_ts: str | None, question: str,
                    history: list[Turn] | None = None) -> Reply:
        """Answer and deliver into a conversation: streamed while an LLM writes (see bot/streaming.py),
        otherwise one post."""
        stream = SlackAnswerStream(client, channel=channel, thread_ts=thread_ts, team_id=who.member.team_id,
                                   user_id=who.member.user_id, support=self.stream_support)
        result = self.app.ask(who, MENTION.sub(" ", question or ""), history=history or [], on_text=stream.on_text)
        reply = reply_for(result)
        streamed = reply.answer.text if reply.answer is not None and reply.answer.answerer != "extractive" else None
        stream.finish(text=reply.text, blocks=reply.blocks, tail=reply.tail, final_text=streamed)
        return reply

    def publish_home(self, client: WebClient, who: Who) -> None:
        """Refresh the member's App Home tab (after opening it, a quiz answer or a check-in)."""
        view = self.app.home(who)
        chart = self.home_chart(client, who)
        try:
            client.views_publish(user_id=who.member.user_id,
                                 view=dict(blocks.build_home(view.progress, view.habits, view.mentoring, chart=chart)))
        except SlackApiError as exc:
            log.info("views.publish failed: %s", exc.response.get("error"))

    def home_chart(self, client: WebClient, who: Who) -> tuple[str, str] | None:
        """The member's chart for App Home as (Slack file id, alt text): uploaded with files_upload_v2 (no channel:
        a file of the bot's, which its image block can show), once per distinct picture (the PNG is deterministic,
        so its digest names it). None when it cannot be drawn or uploaded: the Home tab goes out without it."""
        try:
            png, alt = self.app.member_chart(who)
        except Exception as exc:  # noqa: BLE001 — a chart never keeps the Home tab from updating
            log.warning("the Home chart could not be drawn: %s", type(exc).__name__)
            return None
        key = (who.member.user_id, hashlib.sha256(png).hexdigest()[:16])
        file_id = self._chart_files.get(key)
        if file_id is None:
            try:
                resp = client.files_upload_v2(content=png, filename=f"mlpath-{who.member.user_id}.png",
                                              title="Your topics mastered", alt_txt=alt[:1000])
            except SlackApiError as exc:  # e.g. an install that has not approved files:write yet
                log.info("the Home chart was not uploaded: %s", exc.response.get("error"))
                return None
            except Exception as exc:  # noqa: BLE001 — the upload step's own error (SlackRequestError), a timeout
                log.info("the Home chart was not uploaded: %s", type(exc).__name__)
                return None
            file_id = str((resp.get("file") or {}).get("id") or "")
            if not file_id:
                return None
            if len(self._chart_files) > 2000:
                self._chart_files.clear()
            self._chart_files[key] = file_id
        return file_id, alt

    def thread_history(self, client: WebClient, *, channel: str, thread_ts: str, before_ts: str) -> list[Turn]:
        """Earlier turns of a Slack thread (members' messages and ours), oldest first."""
        try:
            resp = client.conversations_replies(channel=channel, ts=thread_ts, limit=THREAD_FETCH)
        except SlackApiError as exc:
            log.warning("conversations.replies failed: %s", exc.response.get("error"))
            return []
        turns: list[Turn] = []
        messages: list[dict[str, Any]] = resp.get("messages", [])
        for msg in messages:
            if msg.get("ts") == before_ts:
                continue
            text = MENTION.sub(" ", msg.get("text") or "").strip()
            if not text:
                continue
            mine = msg.get("user") == self.bot_user_id or bool(msg.get("bot_id"))
            turns.append(Turn("assistant" if mine else "user", text))
        return turns

    def bot_in_thread(self, client: WebClient, *, channel: str, thread_ts: str) -> bool:
        try:
            resp = client.conversations_replies(channel=channel, ts=thread_ts, limit=THREAD_FETCH)
        except SlackApiError:
            return False
        messages: list[dict[str, Any]] = resp.get("messages", [])
        return any(m.get("user") == self.bot_user_id for m in messages)


def post(client: WebClient, *, channel: str, reply: Reply, thread_ts: str | None = None) -> None:
    """Post once. A failed post is logged, never retried into a duplicate (only 429s and connection
    errors are retried, by the client's retry handlers)."""
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=reply.text, blocks=reply.blocks,
                                unfurl_links=False, unfurl_media=False)
    except SlackApiError as exc:
        log.error("chat.postMessage to %s failed: %s", channel, exc.response.get("error"))


def share_project(client: WebClient, share: ProjectShare) -> Notice | ProjectShare:
    """Post a member's project to the team channel with the "Offer a review" button; a failed post is one line."""
    try:
        client.chat_postMessage(channel=share.channel, text=blocks.project_share_text(share.user_id, share.row),
                                blocks=blocks.build_project_share(share.user_id, share.row), unfurl_links=False,
                                unfurl_media=False)
    except SlackApiError as exc:
        log.error("sharing a project to %s failed: %s", share.channel, exc.response.get("error"))
        return Notice(f"I could not post to the team channel ({exc.response.get('error')}); ask an mlpath admin.",
                      ok=False)
    return share


def react(client: WebClient, *, channel: str, ts: str, name: str, add: bool) -> None:
    """The working indicator on a member's message; failures don't matter to the answer."""
    try:
        if add:
            client.reactions_add(channel=channel, timestamp=ts, name=name)
        else:
            client.reactions_remove(channel=channel, timestamp=ts, name=name)
    except SlackApiError as exc:
        log.info("reaction %s failed: %s", name, exc.response.get("error"))
