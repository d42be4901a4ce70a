"""Listeners are module-level functions: called directly here, without the HTTP stack or Bolt's dispatch
(the real Application on SQLite, the local fake Slack for users.info)."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.listeners.commands import ack_command, run_command
from bot.services import BotServices
from mlpath.app import AppConfig, Application
from progress.answer_log import AnswerLog
from progress.db import Database, upgrade
from progress.service import MemberRef, Progress
from tests.conftest import make_settings

pytestmark = [pytest.mark.model]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, **kwargs) -> None:
        self.calls.append(kwargs)


def services_for(curriculum_mentor, tmp_path, **config) -> BotServices:
    url = f"sqlite:///{tmp_path / 'unit.db'}"
    upgrade(url)
    progress = Progress(Database(url))
    app = Application(curriculum_mentor, progress, AnswerLog(progress.db), AppConfig(**config))
    return BotServices(settings=make_settings(tmp_path), app=app, bot_user_id="UBOT")


def command(text: str, user: str = "U1") -> dict:
    return {"command": "/mlpath", "text": text, "user_id": user, "user_name": "ann", "team_id": "T1"}


def test_ack_command_answers_usage_errors_and_help_in_the_ack(curriculum_mentor, tmp_path):
    services = services_for(curriculum_mentor, tmp_path, admins=frozenset({"UADMIN"}))
    context = {"mlpath": services}
    for text, expected in [("setlevel U123 12", "Usage: `/mlpath setlevel @member N` with N from 1 to 4."),
                           ("quiz", "One moment…"), ("ingest", "Only mlpath admins")]:
        ack = Recorder()
        ack_command(ack, command(text), context)  # type: ignore[arg-type]
        assert expected in ack.calls[0]["text"]
    ack = Recorder()
    ack_command(ack, command("help", user="UADMIN"), context)  # type: ignore[arg-type]
    assert "setlevel" in str(ack.calls[0]["blocks"])


@pytest.mark.server
def test_run_command_responds_with_the_rendered_result(curriculum_mentor, tmp_path, slack):
    services = services_for(curriculum_mentor, tmp_path, admins=frozenset({"UADMIN"}))
    client = WebClient(token="xoxb-test", base_url=slack.api_url)
    respond = Recorder()
    run_command(command("setlevel <@U7|bo> 3", user="UADMIN"), respond, client, {"mlpath": services})  # type: ignore[arg-type]
    assert respond.calls == [{"text": "<@U7> is now at Level 3.", "blocks": respond.calls[0]["blocks"],
                              "response_type": "ephemeral", "replace_original": True}]
    assert services.progress.member(MemberRef("T1", "U7")).level == 3
    respond = Recorder()
    run_command(command("setlevel U7 12", user="UADMIN"), respond, client, {"mlpath": services})  # type: ignore[arg-type]
    assert respond.calls == []  # the ack carried the usage line; nothing changed
    assert services.progress.member(MemberRef("T1", "U7")).level == 3
