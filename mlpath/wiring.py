"""Composition: settings → the mentor, the progress store and the application. The only place (with the
Slack specifics in bot/app.py) where settings become the values the core and the application take."""

from __future__ import annotations

from pathlib import Path

from knowledge.embedding import Embedder
from knowledge.mentor import Mentor
from mlpath.app import AppConfig, Application
from mlpath.settings import Settings
from progress.answer_log import AnswerLog
from progress.service import Progress
from progress.setup import open_progress


def build_mentor(settings: Settings, *, embedder: Embedder | None = None, rebuild: bool = False) -> Mentor:
    """`rebuild=True` drops the stored collection (after changing EMBEDDING_MODEL)."""
    return Mentor.from_settings(settings, embedder=embedder, rebuild=rebuild)


def app_config(settings: Settings) -> AppConfig:
    return AppConfig(question_rate_limit=settings.question_rate_limit, llm_daily_budget=settings.llm_daily_budget,
                     admins=settings.admins, team_channel=settings.team_channel or "")


def build_application(settings: Settings, mentor: Mentor, *, progress: Progress | None = None,
                      legacy_answers: Path | None = None) -> Application:
    """The application over the progress database at DATABASE_URL (SQLite is migrated on open). An answer log
    of earlier versions (`data/answers.jsonl`) is imported once when named."""
    progress = progress or open_progress(settings.database)
    answer_log = AnswerLog(progress.db)
    if legacy_answers is not None:
        answer_log.import_jsonl(legacy_answers)
    return Application(mentor, progress, answer_log, app_config(settings))
