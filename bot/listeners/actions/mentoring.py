"""The plan's buttons (in `/mlpath plan`, the weekly check-in DM and App Home): "Mark done" on a topic and the
weekly-hours menu; and "Offer a review" under a project shared in the team channel, which DMs the author."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.listeners import counted
from bot.listeners.actions.quiz import just_ack
from bot.payloads import BlockAction
from bot.services import BotServices, reply_for
from mlpath.app.results import BuddyIntro, Result, ReviewOffer

log = logging.getLogger("mlpath.bot")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def _who(services: BotServices, client: WebClient, click: BlockAction) -> Any:
    return services.who(client, team_id=click.team_id, user_id=click.user_id, surface="slash", name=click.user_name)


def _answer(body: dict[str, Any], respond: Respond, client: WebClient, services: BotServices, who: Any,
            result: Result) -> None:
    """From App Home: refresh it. From a message (the check-in DM, `/mlpath plan`): a new message with the
    refreshed plan (the check-in stays as it was sent), then App Home."""
    if (body.get("container") or {}).get("type") != "view":
        reply = reply_for(result)
        respond(replace_original=False, response_type="ephemeral", text=reply.text, blocks=reply.blocks)
    services.publish_home(client, who)


def on_topic_done(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
                  context: BoltContext) -> None:
    services: BotServices = context["mlpath"]
    click = BlockAction.of(body, action)
    who = _who(services, client, click)
    _answer(body, respond, client, services, who, services.app.plan_topic_done(who, click.value))


def on_hours(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
             context: BoltContext) -> None:
    services: BotServices = context["mlpath"]
    click = BlockAction.of(body, action)
    hours = str((action.get("selected_option") or {}).get("value") or "")
    who = _who(services, client, click)
    _answer(body, respond, client, services, who, services.app.plan_hours(who, hours))


def on_offer_review(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
                    context: BoltContext) -> None:
    services: BotServices = context["mlpath"]
    click = BlockAction.of(body, action)
    author, _, project_id = click.value.partition("|")
    if not USER_ID.match(author):
        return
    who = _who(services, client, click)
    result = services.app.offer_review(who, author, project_id)
    if isinstance(result, ReviewOffer) and result.new:
        text, dm = blocks.review_offer_dm(result)
        try:
            client.chat_postMessage(channel=author, text=text, blocks=dm, unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            log.warning("review offer DM failed: %s", exc.response.get("error"))
    reply = reply_for(result)
    respond(replace_original=False, response_type="ephemeral", text=reply.text, blocks=reply.blocks)


def on_buddy(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
             context: BoltContext) -> None:
    """Yes / No thanks under a buddy offer. Yes, once (the database decides which replica's click counts): a
    group DM with both members (conversations.open with both users) and the intro in it."""
    services: BotServices = context["mlpath"]
    click = BlockAction.of(body, action)
    who = _who(services, client, click)
    result = services.app.answer_buddy(who, click.value, action.get("action_id") == blocks.BUDDY_YES)
    if isinstance(result, BuddyIntro):
        answer = result.answer
        text, intro = blocks.buddy_intro(answer)
        try:
            opened = client.conversations_open(users=f"{answer.member_user_id},{answer.buddy_user_id}")
            channel = str((opened.get("channel") or {}).get("id") or "")
            client.chat_postMessage(channel=channel, text=text, blocks=intro, unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            log.warning("buddy intro failed: %s", exc.response.get("error"))
            respond(replace_original=False, response_type="ephemeral",
                    text="Sorry — Slack would not open the group DM; please write to them directly.")
            return
    reply = reply_for(result)
    respond(replace_original=False, response_type="ephemeral", text=reply.text, blocks=reply.blocks)


def register(app: App) -> None:
    app.action(re.compile(rf"^({blocks.BUDDY_YES}|{blocks.BUDDY_NO})$"))(ack=just_ack, lazy=[counted(on_buddy)])
    app.action(re.compile(rf"^{blocks.PLAN_TOPIC_DONE}_"))(ack=just_ack, lazy=[counted(on_topic_done)])
    app.action(blocks.PLAN_HOURS)(ack=just_ack, lazy=[counted(on_hours)])
    app.action(blocks.PROJECT_REVIEW)(ack=just_ack, lazy=[counted(on_offer_review)])
