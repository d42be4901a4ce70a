"""Quiz answer buttons, "Next question", "Read the section", the reminder's "Take today's quiz" and habit
check-in and Undo buttons."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import blocks
from bot.listeners import counted
from bot.payloads import BlockAction, QuizAnswerValue
from bot.services import BotServices, reply_for
from mlpath.app import Who
from mlpath.app.results import Notice, QuizOutcome


def just_ack(ack: Ack) -> None:
    ack()


def _who(services: BotServices, client: WebClient, click: BlockAction) -> Who:
    return services.who(client, team_id=click.team_id, user_id=click.user_id, surface="slash", name=click.user_name)


def send_next_question(services: BotServices, who: Who, scope: str, respond: Respond, *, replace: bool = True) -> None:
    """`replace=False` posts the question as a new message (from the reminder DM, which stays)."""
    result = services.app.next_question(who, scope)
    reply = reply_for(result)
    if isinstance(result, Notice) and not result.ok:
        replace = False  # an error never replaces the message it came from
    respond(replace_original=replace, response_type="ephemeral", text=reply.text, blocks=reply.blocks)


def on_answer(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
              context: BoltContext) -> None:
    services: BotServices = context["mlpath"]
    click = BlockAction.of(body, action)
    choice = QuizAnswerValue.decode(click.value)
    if choice is None:
        return
    who = _who(services, client, click)
    result = services.app.answer_quiz(who, choice.token, choice.chosen, choice.scope)
    reply = reply_for(result)
    if isinstance(result, QuizOutcome):
        # a question inside the reminder DM: the verdict comes below it and the DM (habits, quiz button) stays
        respond(replace_original=action.get("block_id") != blocks.ASKED_ANSWERS, text=reply.text, blocks=reply.blocks)
        services.publish_home(client, who)
    else:
        respond(replace_original=False, response_type="ephemeral", text=reply.text, blocks=reply.blocks)


def on_next(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
            context: BoltContext) -> None:
    services: BotServices = context["mlpath"]
    click = BlockAction.of(body, action)
    send_next_question(services, _who(services, client, click), "" if click.value == "-" else click.value, respond)


def on_nudge_quiz(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
                  context: BoltContext) -> None:
    """"Take today's quiz" in the reminder DM: the question comes as a new message; the DM stays."""
    services: BotServices = context["mlpath"]
    send_next_question(services, _who(services, client, BlockAction.of(body, action)), "", respond, replace=False)


def on_habit(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
             context: BoltContext) -> None:
    services: BotServices = context["mlpath"]
    who = _who(services, client, BlockAction.of(body, action))
    reply = reply_for(services.app.check_in_habit(who, str(action.get("value") or "")))
    respond(replace_original=True, text=reply.text, blocks=reply.blocks)
    services.publish_home(client, who)


def on_section(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
               context: BoltContext) -> None:
    """"Read the section" under a wrong answer: the section as a new message (the result stays)."""
    services: BotServices = context["mlpath"]
    click = BlockAction.of(body, action)
    reply = reply_for(services.app.read_section(_who(services, client, click), click.value))
    respond(replace_original=False, response_type="ephemeral", text=reply.text, blocks=reply.blocks)


def on_undo(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
            context: BoltContext) -> None:
    """The Undo button of a check-in: takes it back once (a replayed click finds nothing to undo)."""
    services: BotServices = context["mlpath"]
    click = BlockAction.of(body, action)
    who = _who(services, client, click)
    result = services.app.undo_check_in(who, click.value)
    reply = reply_for(result)
    respond(replace_original=True, text=reply.text, blocks=reply.blocks)
    if result.result.status == "undone":
        services.publish_home(client, who)


def register(app: App) -> None:
    app.action(re.compile(rf"^{blocks.QUIZ_ANSWER}_[0-3]$"))(ack=just_ack, lazy=[counted(on_answer)])
    app.action(blocks.QUIZ_NEXT)(ack=just_ack, lazy=[counted(on_next)])
    app.action(blocks.QUIZ_SECTION)(ack=just_ack, lazy=[counted(on_section)])
    app.action(blocks.HABIT_UNDO)(ack=just_ack, lazy=[counted(on_undo)])
    app.action(re.compile(rf"^{blocks.HABIT_DONE}_"))(ack=just_ack, lazy=[counted(on_habit)])
    app.action(blocks.NUDGE_QUIZ)(ack=just_ack, lazy=[counted(on_nudge_quiz)])
