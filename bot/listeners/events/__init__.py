"""Mentions (answer in a thread), DMs (answer in the DM), follow-ups in threads the bot is in, App Home."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.listeners import counted
from bot.payloads import MessageEvent
from bot.services import BotServices, react

WORKING = "eyes"
# message subtypes that are a member talking; everything else (bot_message, message_changed,
# message_deleted, channel_join, …) is ignored
MEMBER_SUBTYPES = {None, "file_share", "thread_broadcast"}


def just_ack(ack: Any) -> None:
    ack()


def from_a_member(services: BotServices, event: MessageEvent) -> bool:
    return (event.subtype in MEMBER_SUBTYPES and not event.bot_id and bool(event.user_id)
            and event.user_id != services.bot_user_id)


def answer_in(services: BotServices, client: WebClient, event: MessageEvent, *, thread_ts: str | None,
              surface: str) -> None:
    who = services.who(client, team_id=event.team_id, user_id=event.user_id, surface=surface)
    history = []
    if event.thread_ts:
        history = services.thread_history(client, channel=event.channel, thread_ts=event.thread_ts,
                                          before_ts=event.ts)
    react(client, channel=event.channel, ts=event.ts, name=WORKING, add=True)
    try:
        services.answer_into(client, who, channel=event.channel, thread_ts=thread_ts, question=event.text,
                             history=history)
    finally:
        react(client, channel=event.channel, ts=event.ts, name=WORKING, add=False)


def on_mention(event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    services: BotServices = context["mlpath"]
    message = MessageEvent.of(event, body)
    if from_a_member(services, message):
        answer_in(services, client, message, thread_ts=message.thread_ts or message.ts, surface="mention")


def on_message(event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    services: BotServices = context["mlpath"]
    message = MessageEvent.of(event, body)
    if not from_a_member(services, message):
        return
    if message.channel_type == "im":
        answer_in(services, client, message, thread_ts=message.thread_ts or None, surface="dm")
        return
    # In channels: a reply in a thread the bot is part of, without a new mention (a mention is
    # answered by on_mention; answering here too would reply twice).
    thread_ts = message.thread_ts
    if not thread_ts or thread_ts == message.ts or f"<@{services.bot_user_id}" in message.text:
        return
    if services.bot_in_thread(client, channel=message.channel, thread_ts=thread_ts):
        answer_in(services, client, message, thread_ts=thread_ts, surface="thread")


def on_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    services: BotServices = context["mlpath"]
    if event.get("tab") != "home":
        return
    services.publish_home(client, services.who(client, team_id=body.get("team_id", ""), user_id=event["user"],
                                               surface="home"))


def register(app: App) -> None:
    app.event("app_home_opened")(ack=just_ack, lazy=[counted(on_home_opened)])
    app.event("app_mention")(ack=just_ack, lazy=[counted(on_mention)])
    app.event("message")(ack=just_ack, lazy=[counted(on_message)])
