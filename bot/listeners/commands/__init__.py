"""`/mlpath` router: help, ask, admin commands; progress, habits and reminders in progress.py."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.listeners.commands.progress import run_progress_command
from bot.services import BotServices
from progress.service import MemberRef, UnknownMember

PROGRESS = {"quiz", "progress", "done", "habits", "leaderboard", "join", "leave", "track", "nudges"}
HELP = """*mlpath* — your mentor for the “Becoming an AI/ML Expert” learning path.
• `/mlpath ask &lt;question&gt;` — an answer from the curriculum with numbered sources (only you see it)
• `/mlpath quiz [topic|level|placement]` — the next question for you (spaced repetition)
• `/mlpath progress` — your level, topics, streak, reviews due and XP (only you see it)
• `/mlpath habits` — today's habits with check-in buttons · `/mlpath done <habit>` — check one off
• `/mlpath leaderboard [off|on]` — this week's XP, or hide yourself from it · `/mlpath join` / `leave`
• `/mlpath track A-E` — pick your Level 4 track
• `/mlpath nudges [off|on|time HH:MM|snooze N]` — your daily reminder DM (default 09:00 your time)
• `/mlpath help` — this help
• Mention me in a channel (`@mlpath what is PCA?`) and I answer in a thread; reply in that thread to follow up.
• Send me a direct message, or open me in the assistant side panel."""
ADMIN_HELP = ("• `/mlpath ingest` — re-ingest the bundled curriculum (admins only)\n"
              "• `/mlpath setlevel @member N` — set a member's level 1-4 (admins only)")


def parse(text: str | None) -> tuple[str, str]:
    words = (text or "").strip().split(maxsplit=1)
    if not words:
        return "help", ""
    return words[0].lower(), (words[1].strip() if len(words) > 1 else "")


def set_level(services: BotServices, command: dict[str, Any], rest: str, respond: Respond,
              client: WebClient) -> None:
    words = rest.split()
    target = words[0].strip("<>@").split("|")[0] if words else ""
    if len(words) != 2 or not target.startswith(("U", "W")) or words[1] not in "1234" or not words[1]:
        respond(response_type="ephemeral", replace_original=True,
                text="Usage: `/mlpath setlevel @member N` with N from 1 to 4")
        return
    assert services.progress is not None
    try:  # a member progress has not met yet is created only when Slack knows the id
        known = not client.users_info(user=target).get("error")
    except SlackApiError:
        known = False
    try:
        services.progress.set_level(MemberRef(command.get("team_id", ""), target), int(words[1]), create=known)
    except UnknownMember:
        respond(response_type="ephemeral", replace_original=True, text="No such member in this workspace.")
        return
    respond(response_type="ephemeral", replace_original=True, text=f"<@{target}> is now at Level {words[1]}.")


def register(app: App, services: BotServices) -> None:
    def ack_command(ack: Ack, command: dict[str, Any]) -> None:
        sub, rest = parse(command.get("text"))
        is_admin = command.get("user_id") in services.settings.admins
        help_text = HELP + ("\n" + ADMIN_HELP if is_admin else "")
        if sub == "help":
            ack(blocks=blocks.build_text_mrkdwn(help_text), text="mlpath help")
        elif sub == "ask":
            if rest:
                ack(text="Looking that up in the learning path…")
            else:
                ack(text="Usage: `/mlpath ask &lt;question&gt;`, e.g. `/mlpath ask what does SMOTE actually do?`")
        elif sub == "ingest":
            ack(text="Re-ingesting the curriculum…" if is_admin
                else "Only mlpath admins (ADMIN_USER_IDS) can re-ingest the curriculum.")
        elif sub in PROGRESS:
            ack(text="One moment…")
        elif sub == "setlevel":
            ack(text="Setting the level…" if is_admin else "Only mlpath admins (ADMIN_USER_IDS) can set levels.")
        else:
            text = f"Unknown subcommand `{blocks.escape(sub[:40])}`.\n\n{help_text}"
            ack(blocks=blocks.build_text_mrkdwn(text), text="Unknown subcommand")

    def run_command(command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        sub, rest = parse(command.get("text"))
        if sub in PROGRESS or sub == "setlevel":
            member = services.member_ref(client, team_id=command.get("team_id", ""), user_id=command["user_id"],
                                         name=command.get("user_name", ""))
            if sub in PROGRESS:
                run_progress_command(services, sub, rest, member, respond, client)
            elif command.get("user_id") in services.settings.admins:
                set_level(services, command, rest, respond, client)
            return
        if sub == "ask" and rest:
            reply = services.reply_to_question(user=command["user_id"], question=rest, surface="slash",
                                               team_id=command.get("team_id", ""))
            respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=True)
        elif sub == "ingest" and command.get("user_id") in services.settings.admins:
            summary = services.mentor.ingest(None)
            respond(text=f"Curriculum re-ingested: {summary.added} added, {summary.updated} updated, "
                         f"{summary.removed} removed, {summary.unchanged} unchanged.",
                    response_type="ephemeral", replace_original=True)

    app.command("/mlpath")(ack=ack_command, lazy=[run_command])
