"""Quiz answer buttons, "Next question", "Read the section" and habit check-in / undo buttons."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import blocks
from bot.listeners.commands.progress import send_next_question
from bot.services import BotServices
from knowledge.quizzes import section_texts
from mlpath import metrics

REPLIES = {
    "duplicate": "You already answered this one — your first answer counts. `/mlpath quiz` for another.",
    "not_yours": "This question was sent to someone else; `/mlpath quiz` gets you your own.",
    "unknown": "This question is no longer available; `/mlpath quiz` gets you a new one.",
}


def register(app: App, services: BotServices) -> None:
    def just_ack(ack: Ack) -> None:
        ack()

    def ref(body: dict[str, Any], client: WebClient):  # type: ignore[no-untyped-def]
        return services.member_ref(client, team_id=(body.get("team") or {}).get("id", ""),
                                   user_id=body["user"]["id"], name=body["user"].get("name", ""))

    def on_answer(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
        assert services.progress is not None
        token, _, rest = str(action.get("value", "")).partition(":")
        chosen_text, _, scope = rest.partition(":")
        if not chosen_text.isdigit():
            return
        member = ref(body, client)
        result = services.progress.answer(token, member, int(chosen_text))
        metrics.QUIZ_ANSWERS.labels(result=("correct" if result.correct else "wrong")
                                    if result.status == "recorded" else result.status).inc()
        if result.status == "recorded":
            respond(replace_original=True, text="Quiz result", blocks=blocks.build_quiz_result(result, scope=scope))
            services.publish_home(client, member)
        else:
            respond(replace_original=False, response_type="ephemeral", text=REPLIES[result.status])

    def on_next(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
        scope = str(action.get("value") or "")
        send_next_question(services, ref(body, client), "" if scope == "-" else scope, respond)

    def on_nudge_quiz(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """"Take today's quiz" in the reminder DM: the question comes as a new message; the DM stays."""
        send_next_question(services, ref(body, client), "", respond, replace=False)

    def on_habit(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
        assert services.progress is not None
        member = ref(body, client)
        result = services.progress.check_in(member, str(action.get("value") or ""))
        habits = services.progress.habits_today(member)
        note = f"+{result.xp} XP for “{blocks.escape(result.habit.description)}”" if (
            result.status == "recorded" and result.habit) else "Already checked in — nice."
        respond(replace_original=True, text="Your habits",
                blocks=blocks.build_text_mrkdwn(note) + blocks.build_habits(habits))
        services.publish_home(client, member)

    def on_section(action: dict[str, Any], respond: Respond) -> None:
        """"Read the section" under a wrong answer: the section as a new message (the result stays)."""
        section = section_texts().get(str(action.get("value") or ""))
        if section is None:
            respond(replace_original=False, response_type="ephemeral", text="That section is no longer there.")
            return
        respond(replace_original=False, response_type="ephemeral", text=section.title,
                blocks=blocks.build_section(section))

    def on_undo(body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
        assert services.progress is not None
        member = ref(body, client)
        result = services.progress.undo_check_in(member, str(action.get("value") or ""))
        respond(replace_original=True, text=blocks.checkin_text(result), blocks=blocks.checkin_blocks(result))
        if result.status == "undone":
            services.publish_home(client, member)

    app.action(re.compile(rf"^{blocks.QUIZ_ANSWER}_[0-3]$"))(ack=just_ack, lazy=[on_answer])
    app.action(blocks.QUIZ_SECTION)(ack=just_ack, lazy=[on_section])
    app.action(blocks.HABIT_UNDO)(ack=just_ack, lazy=[on_undo])
    app.action(blocks.QUIZ_NEXT)(ack=just_ack, lazy=[on_next])
    app.action(re.compile(rf"^{blocks.HABIT_DONE}_"))(ack=just_ack, lazy=[on_habit])
    app.action(blocks.NUDGE_QUIZ)(ack=just_ack, lazy=[on_nudge_quiz])
