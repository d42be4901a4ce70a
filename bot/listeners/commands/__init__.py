"""`/mlpath …`: parsed once by the application's routing table (mlpath/app/commands.py), acknowledged at once
with the command's ack text (or its one-line usage error), then run by the application after the ack."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import blocks
from bot.listeners import counted
from bot.payloads import SlashCommand
from bot.services import BotServices, reply_for, share_project
from mlpath.app import UsageError, Who, parse
from mlpath.app.commands import SLACK, Help, SetLevel
from mlpath.app.results import ProjectShare
from progress.service import MemberRef


def ack_command(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
    """Instant: parsing is pure. Help is the whole answer; a usage error is one line."""
    services: BotServices = context["mlpath"]
    cmd = SlashCommand.of(command)
    try:
        spec, parsed = parse(cmd.text, surface=SLACK)
    except UsageError as exc:
        text = blocks.ours(str(exc))
        ack(text=text, blocks=blocks.build_text_mrkdwn(text))
        return
    if isinstance(parsed, Help):
        # help needs no users.info round trip, so it is the ack itself
        who = Who(MemberRef(cmd.team_id or "T", cmd.user_id), "slash")
        text, help_blocks = blocks.render(services.app.run(who, parsed))
        ack(text=text, blocks=help_blocks)
        return
    ack(text=blocks.ours(services.app.ack_text(spec, cmd.user_id)))


def run_command(command: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext) -> None:
    """After the ack: the application runs the command; the result replaces the ack, visible only to the member."""
    services: BotServices = context["mlpath"]
    cmd = SlashCommand.of(command)
    try:
        spec, parsed = parse(cmd.text, surface=SLACK)
    except UsageError:
        return  # the ack said it
    if isinstance(parsed, Help) or (spec.admin and cmd.user_id not in services.app.config.admins):
        return  # the ack was the whole answer
    who = services.who(client, team_id=cmd.team_id, user_id=cmd.user_id, surface="slash", name=cmd.user_name)
    if isinstance(parsed, SetLevel) and cmd.user_id in services.app.config.admins:
        services.add_if_in_workspace(client, team_id=cmd.team_id, user_id=parsed.user_id)
    result = services.app.run(who, parsed)
    if isinstance(result, ProjectShare):
        result = share_project(client, result)
    reply = reply_for(result)
    respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=True)
    if spec.name in ("done", "goal", "plan", "project", "cert", "checklist"):
        services.publish_home(client, who)


def register(app: App) -> None:
    app.command("/mlpath")(ack=ack_command, lazy=[counted(run_command)])
