"""Composition: the one place where `Settings` become the objects everything else takes — the mentor, the
progress store, the application, the Slack app and the scheduler with its check-ins. The command line
(mlpath/cli.py) calls these; nothing below the composition root imports this module (import-linter).

Each front end gets the application built here: `mlpath serve` hands it to `bot.app.build_app`, `mlpath chat`
and `mlpath ask` to the terminal — so every surface asks through the same rate limit, LLM budget and answer log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.embedding import Embedder
from knowledge.mentor import Mentor
from mlpath.app import AppConfig, Application
from mlpath.settings import Settings
from progress.answer_log import AnswerLog
from progress.service import Progress
from progress.setup import open_progress

if TYPE_CHECKING:  # Slack's packages load only for `mlpath serve` and the scheduler, never for a question
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.nudges import SlackSender
    from bot.services import BotServices
    from progress.scheduler import Scheduler


def build_mentor(settings: Settings, *, embedder: Embedder | None = None, rebuild: bool = False) -> Mentor:
    """`rebuild=True` drops the stored collection (after changing EMBEDDING_MODEL)."""
    return Mentor.from_settings(settings, embedder=embedder, rebuild=rebuild)


def app_config(settings: Settings) -> AppConfig:
    return AppConfig(question_rate_limit=settings.question_rate_limit, llm_daily_budget=settings.llm_daily_budget,
                     admins=settings.admins, team_channel=settings.team_channel or "")


def build_application(settings: Settings, mentor: Mentor, *, progress: Progress | None = None,
                      answer_log: AnswerLog | None = None, legacy_answers: Path | None = None) -> Application:
    """The application over the progress database at DATABASE_URL (SQLite is migrated on open). An answer log
    of earlier versions (`data/answers.jsonl`) is imported once when named."""
    progress = progress or open_progress(settings.database)
    answer_log = answer_log or AnswerLog(progress.db)
    if legacy_answers is not None:
        answer_log.import_jsonl(legacy_answers)
    return Application(mentor, progress, answer_log, app_config(settings))


def build_slack_app(settings: Settings, mentor: Mentor, *,
                    client: WebClient | None = None) -> tuple[App, BotServices]:
    """The Slack front end over its application (built here, once)."""
    from bot.app import build_app

    application = build_application(settings, mentor, legacy_answers=settings.data_dir / "answers.jsonl")
    return build_app(settings, application, client=client)


def serve(settings: Settings, mentor: Mentor, *, http: bool, host: str = "0.0.0.0", port: int | None = None) -> None:
    """`mlpath serve`: the Slack bot over HTTP or Socket Mode (the caller has checked the tokens with
    `bot.app.check_slack_settings` before loading the mentor)."""
    from bot.app import serve_http, serve_socket_mode

    app, services = build_slack_app(settings, mentor)
    if http:
        serve_http(settings, app, services, host=host, port=port or settings.port)
    else:
        serve_socket_mode(settings, app, services)


def build_scheduler(settings: Settings, *, progress: Progress | None = None, sender: SlackSender | None = None,
                    clock: Callable[[], datetime] | None = None) -> Scheduler:
    """The scheduler over Slack's Web API with its weekly check-ins: needs SLACK_BOT_TOKEN only (no mentor, no
    embedding model). Deliveries are counted as metrics."""
    from bot.app import check_slack_settings
    from bot.nudges import SlackSender, scheduler_client
    from mlpath import metrics
    from progress.checkins import Checkins
    from progress.mentoring import Mentoring
    from progress.scheduler import Scheduler

    if sender is None:
        check_slack_settings(settings, http=None)
        sender = SlackSender(scheduler_client(settings), rate=settings.send_rate)
    progress = progress or open_progress(settings.database)
    checkins = Checkins(Mentoring(progress), sender)
    if clock is None:
        return Scheduler(progress, sender, settings, observe=metrics.observe_delivery, checkins=checkins)
    return Scheduler(progress, sender, settings, observe=metrics.observe_delivery, checkins=checkins, clock=clock)
