"""`/mlpath` router: help, ask, admin re-ingest, and honest "coming soon" answers for what isn't built."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot import blocks
from bot.services import BotServices

COMING = {
    "quiz": "spaced-repetition quizzes at your level",
    "progress": "your level and progress",
    "done": "checking off a habit",
    "habits": "today's habits",
    "leaderboard": "the team leaderboard",
    "nudges": "your daily reminder settings",
    "join": "joining the team's learning path",
    "leave": "leaving it",
}
HELP = """*mlpath* — your mentor for the “Becoming an AI/ML Expert” learning path.
• `/mlpath ask &lt;question&gt;` — an answer from the curriculum with numbered sources (only you see it)
• `/mlpath help` — this help
• Mention me in a channel (`@mlpath what is PCA?`) and I answer in a thread; reply in that thread to follow up.
• Send me a direct message, or open me in the assistant side panel.
Coming soon: `quiz`, `progress`, `done`, `habits`, `leaderboard`, `nudges`."""
ADMIN_HELP = "• `/mlpath ingest` — re-ingest the bundled curriculum (admins only)"


def parse(text: str | None) -> tuple[str, str]:
    words = (text or "").strip().split(maxsplit=1)
    if not words:
        return "help", ""
    return words[0].lower(), (words[1].strip() if len(words) > 1 else "")


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
        elif sub in COMING:
            ack(text=f"`/mlpath {sub}` ({COMING[sub]}) is coming soon. Today you can use `ask`; "
                     "`/mlpath help` lists what works.")
        else:
            text = f"Unknown subcommand `{blocks.escape(sub[:40])}`.\n\n{help_text}"
            ack(blocks=blocks.build_text_mrkdwn(text), text="Unknown subcommand")

    def run_command(command: dict[str, Any], respond: Respond) -> None:
        sub, rest = parse(command.get("text"))
        if sub == "ask" and rest:
            reply = services.reply_to_question(user=command["user_id"], question=rest, surface="slash")
            respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=True)
        elif sub == "ingest" and command.get("user_id") in services.settings.admins:
            summary = services.mentor.ingest(None)
            respond(text=f"Curriculum re-ingested: {summary.added} added, {summary.updated} updated, "
                         f"{summary.removed} removed, {summary.unchanged} unchanged.",
                    response_type="ephemeral", replace_original=True)

    app.command("/mlpath")(ack=ack_command, lazy=[run_command])
