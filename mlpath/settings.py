"""The one place that reads the environment (and an optional `.env` file).

Every setting has an environment variable (its first validation alias). Invalid values fail at start with one
line naming the variable (`settings_error_line`). Each field's `description` is the configuration reference:
`python -m mlpath.settings --markdown` prints it as the table of docs/configuration.md, and
tests/test_configuration_doc.py fails when `Settings`, `.env.example` and that table disagree — so a new
setting needs a description, a line in `.env.example` and `python -m mlpath.settings --update-doc`.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from errors import UserError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = re.compile(r"^\s*([01]?[0-9]|2[0-3]):([0-5][0-9])\s*$")
"""A local time as the settings take it: "9:30" or "09:30" (the shell parses its own values; the core's
members' times are parsed in progress/clock.py)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(
        default=Path("data"),
        validation_alias=AliasChoices("MLPATH_DATA_DIR"),
        description="Where the embedded Chroma store (`data/chroma`), the SQLite database (`data/mlpath.db`, which "
                    "also holds the answer log) and quiz drafts (`data/quiz-drafts/`) live.",
    )
    chroma_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CHROMA_URL"),
        description="`http(s)://host:port` of a Chroma server (`chroma run …`); unset means the embedded store "
                    "under `MLPATH_DATA_DIR`. Unreachable → one-line error, exit 2. Several processes must "
                    "share a server, never one directory.",
    )
    chroma_collection: str = Field(
        default="mlpath",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$",
        validation_alias=AliasChoices("CHROMA_COLLECTION"),
        description="Chroma collection name (3–512 characters of `a-zA-Z0-9._-`).",
    )
    embedding_model: str | None = Field(
        default=None,
        validation_alias=AliasChoices("EMBEDDING_MODEL"),
        description="Path of another local sentence-transformers model; unset means the bundled all-MiniLM-L6-v2. "
                    "Nothing is ever downloaded. Changing it needs `mlpath ingest --reset`.",
    )
    max_question_chars: int = Field(
        default=500, ge=20, le=4000, validation_alias=AliasChoices("MLPATH_MAX_QUESTION_CHARS"),
        description="Questions are trimmed to this many characters (20–4000), at a word boundary.",
    )
    top_k: int = Field(default=5, ge=1, le=50, validation_alias=AliasChoices("MLPATH_TOP_K"),
                       description="Sections returned by `search` and considered by `ask` (1–50).")
    refusal_threshold: float = Field(
        default=0.26,
        ge=-1.0,
        le=1.0,
        validation_alias=AliasChoices("MLPATH_REFUSAL_THRESHOLD"),
        description="Retrieval confidence below which `mlpath eval` on a retrieval set counts a question as not "
                    "covered; answers are scoped by the fitted scope model instead (-1 to 1; see docs/retrieval.md).",
    )

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL"),
        description="Progress database: `sqlite:///path.db` or `postgresql+psycopg://user:pass@host/db`; unset "
                    "means SQLite at `MLPATH_DATA_DIR/mlpath.db` (one process only).",
    )

    local_tz: str | None = Field(
        default=None, validation_alias=AliasChoices("TZ"),
        description="IANA time zone of the terminal member of `mlpath chat` (streaks, habits, the LLM budget's "
                    "day); UTC if unset. Slack members use their Slack time zone.",
    )

    # ----- Slack (only `mlpath serve` needs these; see bot/app.py for the start-up checks) -----
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"),
        description="Bot token `xoxb-…` (OAuth & Permissions); needed by `mlpath serve` and the scheduler.",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET"),
        description="32 hex characters (Basic Information); HTTP mode verifies every request with it.",
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN"),
        description="App-level token `xapp-…` with `connections:write`; Socket Mode.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias=AliasChoices("SLACK_API_URL"),
        description="Base URL of every Slack Web API call (a proxy, or the local fake Slack in tests).",
    )
    question_rate_limit: int = Field(
        default=30, ge=1, le=10_000, validation_alias=AliasChoices("MLPATH_QUESTIONS_PER_HOUR"),
        description="Questions one member may ask the bot per sliding hour (1–10000).",
    )
    admin_user_ids: str = Field(default="", validation_alias=AliasChoices("ADMIN_USER_IDS"),
                                description="Comma-separated Slack user ids allowed to run the admin commands "
                                            "(`/mlpath ingest`, `/mlpath setlevel`).")
    port: int = Field(default=3000, ge=1, le=65535, validation_alias=AliasChoices("PORT"),
                      description="HTTP port of `mlpath serve --http` (`/slack/events`, `/healthz`, `/metrics`).")
    http_threads: int = Field(
        default=8, ge=1, le=256, validation_alias=AliasChoices("MLPATH_HTTP_THREADS"),
        description="Threads of `mlpath serve --http` that read requests and send the acks (1–256); answers "
                    "run in `MLPATH_ANSWER_THREADS`.",
    )
    http_connection_limit: int = Field(
        default=1000, ge=1, le=100_000, validation_alias=AliasChoices("MLPATH_HTTP_CONNECTION_LIMIT"),
        description="Open connections `mlpath serve --http` accepts at once (1–100000); beyond it, new "
                    "connections wait in the kernel's queue. Keep it under the process's open-file limit.",
    )
    answer_threads: int = Field(
        default=2, ge=1, le=64, validation_alias=AliasChoices("MLPATH_ANSWER_THREADS"),
        description="Threads that compute answers and other work after the ack (1–64); requests beyond them "
                    "wait in memory. The embedding model runs one inference at a time on every core, so more "
                    "threads add no throughput and slow the acks.",
    )

    # ----- reminders and the weekly leaderboard (mlpath scheduler) -----
    leaderboard_channel: str | None = Field(
        default=None, validation_alias=AliasChoices("LEADERBOARD_CHANNEL"),
        description="Channel id (`C…`) of the weekly leaderboard post; unset = no post. Invite the bot to it.",
    )
    team_channel: str | None = Field(
        default=None, validation_alias=AliasChoices("TEAM_CHANNEL"),
        description="Channel id (C…) where `/mlpath project share ID` posts projects for feedback; unset = off.",
    )
    leaderboard_day: str = Field(
        default="mon", validation_alias=AliasChoices("LEADERBOARD_DAY"),
        description="Weekday of the leaderboard post (`mon` … `sun`), in `TEAM_TZ`.",
    )
    leaderboard_time: str = Field(
        default="09:00", validation_alias=AliasChoices("LEADERBOARD_TIME"),
        description="Local time `HH:MM` of the leaderboard post, in `TEAM_TZ`.",
    )
    team_tz: str = Field(
        default="UTC", validation_alias=AliasChoices("TEAM_TZ"),
        description="The team's IANA time zone for the weekly post, e.g. `Europe/Berlin`.",
    )
    nudge_cutoff_hours: float = Field(
        default=4.0, gt=0, le=24, validation_alias=AliasChoices("MLPATH_NUDGE_CUTOFF_HOURS"),
        description="A reminder more than this many hours late (scheduler down) is skipped for that day (0–24].",
    )
    send_rate: float = Field(
        default=2.0, gt=0, le=50, validation_alias=AliasChoices("MLPATH_SEND_RATE"),
        description="Reminder DMs per second per scheduler process (Slack: about 1 message per second per "
                    "channel plus a workspace limit).",
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
        parsed = HHMM.match(value)
        if parsed is None:
            raise ValueError("must be a time HH:MM such as 09:00")
        return f"{int(parsed[1]):02d}:{parsed[2]}"

    @field_validator("team_tz")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as Europe/Berlin") from exc
        return value.strip()

    @field_validator("leaderboard_channel", "team_channel")
    @classmethod
    def _check_channel(cls, value: str | None) -> str | None:
        return value.strip() or None if value else None
    # ----- operations: logs, metrics, several replicas -----
    log_format: Literal["text", "json"] = Field(
        default="text", validation_alias=AliasChoices("LOG_FORMAT"),
        description="`json`: one JSON object per line (`ts`, `level`, `logger`, `msg`, extra fields, `exc`; the "
                    "image's default); `text`: one readable line per event.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias=AliasChoices("LOG_LEVEL"),
        description="Least severe level logged: `DEBUG`, `INFO`, `WARNING` or `ERROR`. What members write is "
                    "logged only at `DEBUG`.",
    )
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, validation_alias=AliasChoices("METRICS_PORT"),
        description="Serve `/metrics` and `/healthz` on this port in processes without an HTTP server "
                    "(the scheduler, a Socket Mode bot); unset: not served. docker compose sets 9100.",
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
    # ----- LLM answers (knowledge/llm.py). Unset or "none" means extractive answers only -----
    llm: str | None = Field(
        default=None, validation_alias=AliasChoices("MLPATH_LLM"),
        description="`provider:model` for langchain's `init_chat_model`, e.g. `openai:gpt-4o-mini`, "
                    "`anthropic:claude-sonnet-4-5`, `ollama:llama3.1`; unset or `none` = extractive answers only "
                    "(see docs/llm.md).",
    )
    llm_timeout: float = Field(default=30.0, gt=0, le=600, validation_alias=AliasChoices("MLPATH_LLM_TIMEOUT"),
                               description="Seconds an LLM answer may take in all (streaming included) before the "
                                           "extractive answer is given instead.")
    llm_daily_budget: int = Field(default=50, ge=0, le=100_000,
                                  validation_alias=AliasChoices("MLPATH_LLM_DAILY_BUDGET"),
                                  description="LLM-written answers per member per day (their local day); past it, "
                                              "extractive answers with a note (`0` = never the LLM).")
    llm_history_tokens: int = Field(default=1500, ge=0, le=100_000,
                                    validation_alias=AliasChoices("MLPATH_LLM_HISTORY_TOKENS"),
                                    description="Budget (about 4 characters a token) for the earlier turns of a "
                                                "thread or chat sent as history.")
    llm_max_tokens: int = Field(default=700, ge=16, le=32_000, validation_alias=AliasChoices("MLPATH_LLM_MAX_TOKENS"),
                                description="Most tokens one LLM answer may have (OpenAI, Anthropic, Ollama; quiz "
                                            "drafts get more, per question).")
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY"),
        description="Key for `openai:` models; for a local server without authentication any value.",
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "OPENAI_API_BASE"),
        description="An OpenAI-compatible server for `openai:` models, e.g. `http://localhost:8000/v1` (vLLM), "
                    "`http://localhost:1234/v1` (LM Studio), `http://localhost:8080/v1` (llama.cpp server); "
                    "unset = OpenAI.",
    )
    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY"),
                                          description="Key for `anthropic:` models.")
    google_api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("GOOGLE_API_KEY"),
                                       description="Key for `google_genai:` models.")

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


# ----- the configuration reference: docs/configuration.md's table is generated from the fields above -----

DOC_PATH = Path("docs/configuration.md")
DOC_BEGIN = "<!-- settings table: generated from mlpath/settings.py by `python -m mlpath.settings --update-doc` -->"
DOC_END = "<!-- end of the generated settings table -->"


@dataclass(frozen=True)
class SettingDoc:
    """One row of the configuration reference."""

    field: str
    env: tuple[str, ...]  # the variable, then any other name it is also read from
    default: object
    description: str
    secret: bool


def is_secret(name: str) -> bool:
    """A `SecretStr` field: no default, never shown (repr, the reference) and redacted from every log line."""
    annotation = Settings.model_fields[name].annotation
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


def secret(value: SecretStr | None) -> str:
    """A secret setting's value, unwrapped for the one call that needs it ("" when unset)."""
    return value.get_secret_value() if value is not None else ""


def secret_values(settings: Settings) -> list[str]:
    """The values of every secret setting that is set (what the log redactor scrubs)."""
    values = (getattr(settings, name) for name in Settings.model_fields if is_secret(name))
    return [value.get_secret_value() for value in values if isinstance(value, SecretStr)]


def settings_reference() -> list[SettingDoc]:
    """Every setting in declaration order (which groups them: storage, Slack, reminders, operations, LLM)."""
    rows = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        env = tuple(str(c) for c in alias.choices) if isinstance(alias, AliasChoices) else (name.upper(),)
        rows.append(SettingDoc(field=name, env=env, default=field.default, description=field.description or "",
                               secret=is_secret(name)))
    return rows


def shown_default(doc: SettingDoc) -> str:
    if doc.secret:
        return "— (secret)"
    value = doc.default
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def settings_markdown() -> str:
    """The settings table of docs/configuration.md (Markdown, one row per setting)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for doc in settings_reference():
        names = " or ".join(f"`{n}`" for n in doc.env)
        meaning = doc.description.replace("|", "\\|")
        lines.append(f"| {names} | {shown_default(doc)} | {meaning} |")
    return "\n".join(lines) + "\n"


def documented_table(text: str) -> str | None:
    """The generated part of a configuration document (between the markers), or None without markers."""
    _, begin, rest = text.partition(DOC_BEGIN + "\n")
    table, end, _ = rest.partition(DOC_END)
    return table if begin and end else None


def update_doc(path: Path = DOC_PATH) -> bool:
    """Rewrite the generated table in `path`; True when it changed."""
    text = path.read_text(encoding="utf-8")
    if documented_table(text) is None:
        raise UserError(f"{path}: no generated settings table (the lines {DOC_BEGIN!r} … {DOC_END!r})")
    before, _, rest = text.partition(DOC_BEGIN + "\n")
    _, _, after = rest.partition(DOC_END)
    new = f"{before}{DOC_BEGIN}\n{settings_markdown()}{DOC_END}{after}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlpath.settings",
                                     description="The configuration reference, generated from Settings.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the settings table as Markdown")
    group.add_argument("--update-doc", nargs="?", const=str(DOC_PATH), metavar="PATH",
                       help=f"rewrite the generated table in PATH (default {DOC_PATH})")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(settings_markdown())
        return 0
    try:
        changed = update_doc(Path(args.update_doc))
    except (UserError, OSError) as exc:
        print(f"mlpath.settings: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.update_doc}: {'updated' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
