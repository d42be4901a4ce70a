"""The Assistant side panel (Bolt's `Assistant`): suggested prompts on thread start, a status while
working, the answer in the assistant thread with the thread's earlier turns as context."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Assistant, BoltContext, Say, SetStatus, SetSuggestedPrompts
from slack_sdk import WebClient

from bot.listeners import counted
from bot.payloads import MessageEvent
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


def just_ack(ack: Any = None) -> None:
    return None


# lazy, like every listener here: the greeting needs users.info and the database, which must not
# delay the HTTP acknowledgement (Bolt runs non-lazy listeners before answering Slack)
def start(event: dict[str, Any], body: dict[str, Any], client: WebClient, say: Say,
          set_suggested_prompts: SetSuggestedPrompts, context: BoltContext) -> None:
    services: BotServices = context["mlpath"]
    say(GREETING)
    level = 1
    user_id = (event.get("assistant_thread") or {}).get("user_id", "")
    if user_id:
        level = services.app.member_level(services.who(client, team_id=body.get("team_id", ""), user_id=user_id,
                                                       surface="assistant"))
    set_suggested_prompts(prompts=suggested_prompts(level), title=f"Try one of these (Level {level})")


def respond(payload: dict[str, Any], body: dict[str, Any], client: WebClient, set_status: SetStatus,
            context: BoltContext) -> None:
    services: BotServices = context["mlpath"]
    message = MessageEvent.of(payload, body)
    if message.bot_id or message.user_id == services.bot_user_id:
        return
    who = services.who(client, team_id=message.team_id, user_id=message.user_id, surface="assistant")
    set_status("is looking through the learning path…")
    history = services.thread_history(client, channel=message.channel, thread_ts=message.thread_ts,
                                      before_ts=message.ts)
    services.answer_into(client, who, channel=message.channel, thread_ts=message.thread_ts, question=message.text,
                         history=history)


def register(app: App) -> None:
    assistant = Assistant()
    assistant.thread_started(lazy=[counted(start)])(just_ack)
    assistant.user_message(lazy=[counted(respond)])(just_ack)
    app.use(assistant)
