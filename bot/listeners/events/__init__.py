"""Mentions (answer in a thread), DMs (answer in the DM) and follow-ups in threads the bot is in."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.services import BotServices, react

WORKING = "eyes"
# message subtypes that are a member talking; everything else (bot_message, message_changed,
# message_deleted, channel_join, …) is ignored
MEMBER_SUBTYPES = {None, "file_share", "thread_broadcast"}


def _just_ack(ack: Any) -> None:
    ack()


def register(app: App, services: BotServices) -> None:
    def from_a_member(event: dict[str, Any]) -> bool:
        return (event.get("subtype") in MEMBER_SUBTYPES and not event.get("bot_id")
                and bool(event.get("user")) and event.get("user") != services.bot_user_id)

    def answer_in(client: WebClient, event: dict[str, Any], *, thread_ts: str | None, surface: str,
                  team_id: str) -> None:
        channel, ts = event["channel"], event["ts"]
        services.ensure_member(client, team_id=team_id, user_id=event["user"])
        history = []
        if event.get("thread_ts"):
            history = services.thread_history(client, channel=channel, thread_ts=event["thread_ts"], before_ts=ts)
        react(client, channel=channel, ts=ts, name=WORKING, add=True)
        try:
            services.answer_into(client, channel=channel, thread_ts=thread_ts, user=event["user"],
                                 question=event.get("text", ""), surface=surface, team_id=team_id,
                                 history=history)
        finally:
            react(client, channel=channel, ts=ts, name=WORKING, add=False)

    def on_mention(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if from_a_member(event):
            answer_in(client, event, thread_ts=event.get("thread_ts") or event["ts"], surface="mention",
                      team_id=body.get("team_id", ""))

    def on_message(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if not from_a_member(event):
            return
        if event.get("channel_type") == "im":
            answer_in(client, event, thread_ts=event.get("thread_ts"), surface="dm", team_id=body.get("team_id", ""))
            return
        # In channels: a reply in a thread the bot is part of, without a new mention (a mention is
        # answered by on_mention; answering here too would reply twice).
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event["ts"] or f"<@{services.bot_user_id}" in (event.get("text") or ""):
            return
        if services.bot_in_thread(client, channel=event["channel"], thread_ts=thread_ts):
            answer_in(client, event, thread_ts=thread_ts, surface="thread", team_id=body.get("team_id", ""))

    def on_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") != "home" or services.progress is None:
            return
        member = services.member_ref(client, team_id=body.get("team_id", ""), user_id=event["user"])
        services.publish_home(client, member)

    app.event("app_home_opened")(ack=_just_ack, lazy=[on_home_opened])
    app.event("app_mention")(ack=_just_ack, lazy=[on_mention])
    app.event("message")(ack=_just_ack, lazy=[on_message])
