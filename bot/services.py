"""What the listeners share: the mentor, the guards, the answer log, and the one way to answer."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.guards import Deduper, RateLimiter
from bot.observe import observe_answer
from bot.streaming import SlackAnswerStream, StreamSupport
from knowledge.answer import Answer, EmptyQuestion, TextSink, Turn
from knowledge.mentor import Mentor
from mlpath.settings import Settings
from progress.answer_log import AnswerLog
from progress.service import MemberRef, Progress

log = logging.getLogger("mlpath.bot")

MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
HISTORY_TURNS = 8


@dataclass
class Reply:
    text: str
    blocks: list[dict[str, Any]]
    answer: Answer | None = None
    tail: list[dict[str, Any]] = field(default_factory=list)
    """The blocks below the answer text (note, sources, 👍/👎): what a streamed answer gets at its end."""


@dataclass
class BotServices:
    settings: Settings
    mentor: Mentor
    answer_log: AnswerLog
    dedupe: Deduper = field(default_factory=Deduper)
    limiter: RateLimiter | None = None
    bot_user_id: str = ""
    progress: Progress | None = None
    _tz_cache: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    stream_support: StreamSupport = field(default_factory=StreamSupport)

    def __post_init__(self) -> None:
        if self.limiter is None:
            self.limiter = RateLimiter(self.settings.question_rate_limit)

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

    def reply_to_question(self, *, user: str, question: str, surface: str,
                          history: list[Turn] | None = None, team_id: str = "",
                          on_text: TextSink | None = None) -> Reply:
        """Everything between a member's words and the blocks we post: rate limit, empty question, the
        member's daily LLM budget, retrieval and answer (streamed to `on_text` when an LLM writes it), the
        answer log. Never raises for the member's input."""
        question = MENTION.sub(" ", question or "").strip()
        if not question:
            text = "Ask me anything about the learning path, e.g. “what does SMOTE actually do?”"
            return Reply(text, blocks.build_text(text))
        assert self.limiter is not None
        allowed, wait = self.limiter.allow(user)
        if not allowed:
            minutes = max(1, round(wait / 60))
            text = (f"You've asked {self.settings.question_rate_limit} questions in the last hour — "
                    f"that's the team's limit. Try again in about {minutes} min, or take the time to practise!")
            return Reply(text, blocks.build_text(text))
        allow_llm, member_level = True, None
        if self.mentor.llm is not None:
            tz = "UTC"
            if self.progress is not None:
                member = self.progress.member(MemberRef(team_id=team_id or "T", user_id=user))
                member_level, tz = member.level, member.tz
            allow_llm = self.answer_log.llm_allowed(team_id=team_id, user_id=user,
                                                    budget=self.settings.llm_daily_budget, tz=tz)
        started = time.perf_counter()
        try:
            answer = self.mentor.ask(question, history=history or [], member_level=member_level,
                                     allow_llm=allow_llm, on_text=on_text)
        except EmptyQuestion:
            text = "Ask me anything about the learning path, e.g. “what does SMOTE actually do?”"
            return Reply(text, blocks.build_text(text))
        observe_answer(surface, answer, time.perf_counter() - started)
        answer_id = self.answer_log.record(answer, team_id=team_id, user_id=user, surface=surface)
        return Reply(blocks.answer_text(answer), blocks.build_answer(answer, feedback_value=answer_id), answer,
                     blocks.build_answer_tail(answer, feedback_value=answer_id))

    def answer_into(self, client: WebClient, *, channel: str, thread_ts: str | None, user: str, question: str,
                    surface: str, team_id: str = "", history: list[Turn] | None = None) -> Reply:
        """Answer and deliver into a conversation: streamed while an LLM writes (see bot/streaming.py),
        otherwise one post."""
        stream = SlackAnswerStream(client, channel=channel, thread_ts=thread_ts, team_id=team_id, user_id=user,
                                   support=self.stream_support)
        reply = self.reply_to_question(user=user, question=question, surface=surface, history=history,
                                       team_id=team_id, on_text=stream.on_text)
        streamed = reply.answer.text if reply.answer is not None and reply.answer.answerer != "extractive" else None
        stream.finish(text=reply.text, blocks=reply.blocks, tail=reply.tail, final_text=streamed)
        return reply

    def ensure_member(self, client: WebClient, *, team_id: str, user_id: str) -> None:
        """A member is created on their first interaction, whatever it is (a question too)."""
        if self.progress is not None and user_id:
            self.progress.member(self.member_ref(client, team_id=team_id, user_id=user_id))

    def publish_home(self, client: WebClient, member: MemberRef) -> None:
        """Refresh the member's App Home tab (after opening it, a quiz answer or a check-in)."""
        if self.progress is None:
            return
        from bot.blocks import build_home

        view = build_home(self.progress.progress(member), self.progress.habits_today(member))
        try:
            client.views_publish(user_id=member.user_id, view=view)
        except SlackApiError as exc:
            log.info("views.publish failed: %s", exc.response.get("error"))

    def thread_history(self, client: WebClient, *, channel: str, thread_ts: str, before_ts: str) -> list[Turn]:
        """Earlier turns of a Slack thread (members' messages and ours), oldest first."""
        try:
            resp = client.conversations_replies(channel=channel, ts=thread_ts, limit=50)
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
        return turns[-HISTORY_TURNS:]

    def bot_in_thread(self, client: WebClient, *, channel: str, thread_ts: str) -> bool:
        try:
            resp = client.conversations_replies(channel=channel, ts=thread_ts, limit=50)
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


def react(client: WebClient, *, channel: str, ts: str, name: str, add: bool) -> None:
    """The working indicator on a member's message; failures don't matter to the answer."""
    try:
        if add:
            client.reactions_add(channel=channel, timestamp=ts, name=name)
        else:
            client.reactions_remove(channel=channel, timestamp=ts, name=name)
    except SlackApiError as exc:
        log.info("reaction %s failed: %s", name, exc.response.get("error"))
