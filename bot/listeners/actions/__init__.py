"""👍/👎 on an answer: stored in the answer log (the latest click wins, a replay changes nothing); the
buttons are replaced by a thank-you."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, Respond

from bot import blocks
from bot.services import BotServices
from mlpath import metrics


def click_time(action: dict[str, Any]) -> datetime | None:
    """When the member clicked (Slack's `action_ts`), so a replayed older click can't undo a newer one."""
    try:
        return datetime.fromtimestamp(float(action.get("action_ts") or ""), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def register(app: App, services: BotServices) -> None:
    def just_ack(ack: Ack) -> None:
        ack()

    def on_feedback(body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        helpful = action.get("action_id") == blocks.FEEDBACK_UP
        answer_id = str(action.get("value") or "")
        if not answer_id:
            return
        clicker = str((body.get("user") or {}).get("id") or "")
        record = services.answer_log.get(answer_id)
        if record is None or record.user_id != clicker:  # the verdict is the asker's; nobody else can overwrite it
            respond(replace_original=False, response_type="ephemeral",
                    text="Only the member who asked can rate this answer. Ask your own question to rate yours.")
            return
        services.answer_log.record_feedback(answer_id=answer_id, helpful=helpful, clicked_at=click_time(action),
                                            user_id=clicker)
        metrics.FEEDBACK.labels(vote="up" if helpful else "down").inc()
        original = (body.get("message") or {}).get("blocks")
        if original:
            kept = [b for b in original if b.get("block_id") != "answer_feedback"]
            respond(replace_original=True, blocks=kept + blocks.build_feedback_thanks(helpful),
                    text=(body.get("message") or {}).get("text", "mlpath answer"))
        else:  # ephemeral answers carry no message body
            respond(replace_original=False, response_type="ephemeral",
                    blocks=blocks.build_feedback_thanks(helpful), text="Thanks for the feedback")

    for action_id in (blocks.FEEDBACK_UP, blocks.FEEDBACK_DOWN):
        app.action(action_id)(ack=just_ack, lazy=[on_feedback])

    from bot.listeners.actions import quiz

    quiz.register(app, services)
