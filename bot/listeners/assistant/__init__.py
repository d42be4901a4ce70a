"""The Assistant side panel (Bolt's `Assistant`): suggested prompts on thread start, a status while
working, the answer in the assistant thread with the thread's earlier turns as context."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Assistant, Say, SetStatus, SetSuggestedPrompts
from slack_sdk import WebClient

from bot.services import BotServices
from knowledge.catalogue import catalogue

GREETING = ("Hi! I'm your mentor for the “Becoming an AI/ML Expert” learning path. Ask me about any topic "
            "and I'll answer from the curriculum, with the sections I used.")


def suggested_prompts(level: int = 1, count: int = 4) -> list[dict[str, str]]:
    """Prompts about the first topics of each module at `level` (from the catalogue, not hard-coded)."""
    lvl = catalogue().level(level)
    firsts = [m.topics[0] for m in lvl.modules] or [t.topics[0] for t in lvl.tracks]
    return [{"title": f"Explain {t.title.lower()}"[:75],
             "message": f"Explain {t.title.lower()} and how to practise it."}
            for t in firsts[:count]]


def register(app: App, services: BotServices) -> None:
    assistant = Assistant()

    def just_ack(ack: Any = None) -> None:
        return None

    # lazy, like every listener here: the greeting needs users.info and the database, which must not
    # delay the HTTP acknowledgement (Bolt runs non-lazy listeners before answering Slack)
    def start(event: dict[str, Any], body: dict[str, Any], client: WebClient, say: Say,
              set_suggested_prompts: SetSuggestedPrompts) -> None:
        say(GREETING)
        level = 1
        user_id = (event.get("assistant_thread") or {}).get("user_id", "")
        if services.progress is not None and user_id:
            ref = services.member_ref(client, team_id=body.get("team_id", ""), user_id=user_id)
            level = services.progress.member(ref).level
        set_suggested_prompts(prompts=suggested_prompts(level), title=f"Try one of these (Level {level})")

    def respond(payload: dict[str, Any], body: dict[str, Any], client: WebClient, say: Say,
                set_status: SetStatus) -> None:
        if payload.get("bot_id") or payload.get("user") == services.bot_user_id:
            return
        services.ensure_member(client, team_id=body.get("team_id", ""), user_id=payload["user"])
        set_status("is looking through the learning path…")
        history = services.thread_history(client, channel=payload["channel"], thread_ts=payload["thread_ts"],
                                          before_ts=payload["ts"])
        services.answer_into(client, channel=payload["channel"], thread_ts=payload["thread_ts"],
                             user=payload["user"], question=payload.get("text", ""), surface="assistant",
                             team_id=body.get("team_id", ""), history=history)

    assistant.thread_started(lazy=[start])(just_ack)
    assistant.user_message(lazy=[respond])(just_ack)
    app.use(assistant)
