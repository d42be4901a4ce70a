"""The one place that reads the environment (and an optional `.env` file).

Every setting has an environment variable of the same name in upper case (see the README's configuration
table). Invalid values fail at start with one line naming the variable (`settings_error_line`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlpath.errors import UserError
from progress.clock import WEEKDAYS, parse_hhmm


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(
        default=Path("data"),
        validation_alias=AliasChoices("MLPATH_DATA_DIR"),
        description="Where the embedded Chroma store (and later the SQLite database) live.",
    )
    chroma_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CHROMA_URL"),
        description="http(s)://host:port of a Chroma server; unset means the embedded store under data_dir.",
    )
    chroma_collection: str = Field(
        default="mlpath",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$",
        validation_alias=AliasChoices("CHROMA_COLLECTION"),
    )
    embedding_model: str | None = Field(
        default=None,
        validation_alias=AliasChoices("EMBEDDING_MODEL"),
        description="Local path of a sentence-transformers model; unset means the bundled all-MiniLM-L6-v2.",
    )
    max_question_chars: int = Field(
        default=500, ge=20, le=4000, validation_alias=AliasChoices("MLPATH_MAX_QUESTION_CHARS")
    )
    top_k: int = Field(default=5, ge=1, le=50, validation_alias=AliasChoices("MLPATH_TOP_K"))
    refusal_threshold: float = Field(
        default=0.26,
        ge=-1.0,
        le=1.0,
        validation_alias=AliasChoices("MLPATH_REFUSAL_THRESHOLD"),
        description="Below this retrieval confidence the mentor says the path does not cover the question.",
    )

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL"),
        description="SQLAlchemy URL of the progress database; unset means SQLite at data_dir/mlpath.db.",
    )

    local_tz: str | None = Field(
        default=None, validation_alias=AliasChoices("TZ"),
        description="IANA time zone of the terminal member of `mlpath chat` (streaks, habits); UTC if unset.",
    )

    # ----- Slack (only `mlpath serve` needs these; see bot/app.py for the start-up checks) -----
    slack_bot_token: str | None = Field(default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"))
    slack_signing_secret: str | None = Field(default=None,
                                             validation_alias=AliasChoices("SLACK_SIGNING_SECRET"))
    slack_app_token: str | None = Field(default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN"))
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias=AliasChoices("SLACK_API_URL"),
        description="Base URL of the Slack Web API (a proxy, or the local fake Slack in tests).",
    )
    question_rate_limit: int = Field(
        default=30, ge=1, le=10_000, validation_alias=AliasChoices("MLPATH_QUESTIONS_PER_HOUR"),
        description="Questions one member may ask the bot per hour.",
    )
    admin_user_ids: str = Field(default="", validation_alias=AliasChoices("ADMIN_USER_IDS"),
                                description="Comma-separated Slack user ids allowed to run admin commands.")
    port: int = Field(default=3000, ge=1, le=65535, validation_alias=AliasChoices("PORT"))

    # ----- reminders and the weekly leaderboard (mlpath scheduler) -----
    leaderboard_channel: str | None = Field(
        default=None, validation_alias=AliasChoices("LEADERBOARD_CHANNEL"),
        description="Channel id (C…) for the weekly leaderboard post; unset = no post.",
    )
    leaderboard_day: str = Field(
        default="mon", validation_alias=AliasChoices("LEADERBOARD_DAY"),
        description="Weekday of the leaderboard post (mon … sun), in TEAM_TZ.",
    )
    leaderboard_time: str = Field(
        default="09:00", validation_alias=AliasChoices("LEADERBOARD_TIME"),
        description="Local time HH:MM of the leaderboard post, in TEAM_TZ.",
    )
    team_tz: str = Field(
        default="UTC", validation_alias=AliasChoices("TEAM_TZ"),
        description="The team's IANA time zone for the weekly post, e.g. Europe/Berlin.",
    )
    nudge_cutoff_hours: float = Field(
        default=4.0, gt=0, le=24, validation_alias=AliasChoices("MLPATH_NUDGE_CUTOFF_HOURS"),
        description="A reminder more than this late (scheduler down) is skipped for that day.",
    )
    send_rate: float = Field(
        default=2.0, gt=0, le=50, validation_alias=AliasChoices("MLPATH_SEND_RATE"),
        description="Reminder DMs per second (Slack allows about 1 message per second per channel).",
    )
    scheduler_interval: float = Field(
        default=60.0, gt=0, le=3600, validation_alias=AliasChoices("MLPATH_SCHEDULER_INTERVAL"),
        description="Seconds between the scheduler's checks for due reminders.",
    )

    @field_validator("leaderboard_day")
    @classmethod
    def _check_day(cls, value: str) -> str:
        day = value.strip().lower()[:3]
        if day not in WEEKDAYS:
            raise ValueError("must be a weekday: mon, tue, wed, thu, fri, sat or sun")
        return day

    @field_validator("leaderboard_time")
    @classmethod
    def _check_time(cls, value: str) -> str:
        parsed = parse_hhmm(value)
        if parsed is None:
            raise ValueError("must be a time HH:MM such as 09:00")
        return f"{parsed[0]:02d}:{parsed[1]:02d}"

    @field_validator("team_tz")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as Europe/Berlin") from exc
        return value.strip()

    @field_validator("leaderboard_channel")
    @classmethod
    def _check_channel(cls, value: str | None) -> str | None:
        return value.strip() or None if value else None
    # ----- operations (issue 7): logs, metrics, several replicas -----
    log_format: Literal["text", "json"] = Field(
        default="text", validation_alias=AliasChoices("LOG_FORMAT"),
        description="`json`: one JSON object per line (for log shippers); `text`: one readable line per event.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias=AliasChoices("LOG_LEVEL"),
        description="Least severe level that is logged. Member text is logged only at DEBUG.",
    )
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, validation_alias=AliasChoices("METRICS_PORT"),
        description="Serve /metrics and /healthz on this port in processes without an HTTP server "
                    "(the scheduler, a Socket Mode bot); unset: not served.",
    )

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _case_insensitive(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            return value.strip().lower() if info.field_name == "log_format" else value.strip().upper()
        return value

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
    # ----- LLM answers (issue 6; knowledge/llm.py). Unset or "none" means extractive answers only -----
    llm: str | None = Field(
        default=None, validation_alias=AliasChoices("MLPATH_LLM"),
        description="provider:model for langchain's init_chat_model, e.g. openai:gpt-4o-mini; unset/none = no LLM.",
    )
    llm_timeout: float = Field(default=30.0, gt=0, le=600, validation_alias=AliasChoices("MLPATH_LLM_TIMEOUT"),
                               description="Seconds an LLM answer may take before the extractive answer is used.")
    llm_daily_budget: int = Field(default=50, ge=0, le=100_000,
                                  validation_alias=AliasChoices("MLPATH_LLM_DAILY_BUDGET"),
                                  description="LLM answers per member per local day; past it, extractive answers.")
    llm_history_tokens: int = Field(default=1500, ge=0, le=100_000,
                                    validation_alias=AliasChoices("MLPATH_LLM_HISTORY_TOKENS"),
                                    description="Token budget for earlier turns of the thread sent as history.")
    llm_max_tokens: int = Field(default=700, ge=16, le=32_000, validation_alias=AliasChoices("MLPATH_LLM_MAX_TOKENS"),
                                description="Most tokens one LLM answer may use (quiz drafts get more, per question).")
    openai_api_key: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "OPENAI_API_BASE"),
        description="An OpenAI-compatible server (vLLM, LM Studio, llama.cpp server), e.g. http://localhost:8000/v1.",
    )
    anthropic_api_key: str | None = Field(default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY"))
    google_api_key: str | None = Field(default=None, validation_alias=AliasChoices("GOOGLE_API_KEY"))

    @field_validator("llm")
    @classmethod
    def _check_llm(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() in ("", "none", "off"):
            return None
        value = value.strip()
        if ":" not in value or not all(part.strip() for part in value.split(":", 1)):
            raise ValueError("must look like provider:model, e.g. openai:gpt-4o-mini (or none)")
        return value

    @field_validator("openai_base_url")
    @classmethod
    def _check_openai_base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parsed = urlparse(value.strip())
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("must be an http(s) URL such as http://localhost:8000/v1")
        return value.strip()

    @field_validator("slack_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.admin_user_ids.split(",") if u.strip())

    @field_validator("chroma_url")
    @classmethod
    def _check_chroma_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parsed = urlparse(value.strip())
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("must look like http://host:port")
        try:
            _ = parsed.port
        except ValueError as exc:
            raise ValueError("has an invalid port") from exc
        return value.strip()

    @property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mlpath.db').resolve()}"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"


_ENV_NAMES = {
    name: (field.validation_alias.choices[0] if isinstance(field.validation_alias, AliasChoices) else name)
    for name, field in Settings.model_fields.items()
}


def settings_error_line(exc: ValidationError) -> str:
    """Turn pydantic's multi-line report into one line that names the environment variable."""
    parts = []
    for err in exc.errors():
        loc = str(err["loc"][0]) if err["loc"] else "?"
        env = _ENV_NAMES.get(loc, loc.upper())
        parts.append(f"{env}: {err['msg']}")
    return "invalid configuration: " + "; ".join(parts)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise UserError(settings_error_line(exc)) from None
