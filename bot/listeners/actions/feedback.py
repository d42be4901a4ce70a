"""👍/👎 on an answer: stored in the answer log (the latest click wins, a replay changes nothing); the
buttons are replaced by a thank-you."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot import blocks
from bot.listeners import counted
from bot.payloads import BlockAction
from bot.services import BotServices
from mlpath import metrics


def just_ack(ack: Ack) -> None:
    ack()


def on_feedback(body: dict[str, Any], action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    services: BotServices = context["mlpath"]
    click = BlockAction.of(body, action)
    helpful = click.action_id == blocks.FEEDBACK_UP
    if not click.value:
        return
    record = services.answer_log.get(click.value)
    if record is None or record.user_id != click.user_id:  # the verdict is the asker's; nobody else overwrites it
        respond(replace_original=False, response_type="ephemeral",
                text="Only the member who asked can rate this answer. Ask your own question to rate yours.")
        return
    services.answer_log.record_feedback(answer_id=click.value, helpful=helpful, clicked_at=click.clicked_at,
                                        user_id=click.user_id)
    metrics.FEEDBACK.labels(vote="up" if helpful else "down").inc()
    original = click.message.get("blocks")
    if original:
        kept = [b for b in original if b.get("block_id") != "answer_feedback"]
        respond(replace_original=True, blocks=kept + blocks.build_feedback_thanks(helpful),
                text=click.message.get("text", "mlpath answer"))
    else:  # ephemeral answers carry no message body
        respond(replace_original=False, response_type="ephemeral",
                blocks=blocks.build_feedback_thanks(helpful), text="Thanks for the feedback")


def register(app: App) -> None:
    for action_id in (blocks.FEEDBACK_UP, blocks.FEEDBACK_DOWN):
        app.action(action_id)(ack=just_ack, lazy=[counted(on_feedback)])
