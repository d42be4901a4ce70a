"""The configuration reference has one source of truth: the fields of `mlpath.settings.Settings`.

docs/configuration.md's settings table is generated from them (`python -m mlpath.settings --update-doc`) and
`.env.example` lists every one of them with its default. These tests fail when the three disagree — a setting
added to `Settings` without a description, a line in `.env.example` or a regenerated table; a default changed
in one place only; a variable in `.env.example` that nothing reads.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlpath.settings import (
    DOC_BEGIN,
    DOC_END,
    SettingDoc,
    Settings,
    documented_table,
    settings_markdown,
    settings_reference,
)

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"
ENV_EXAMPLE = ROOT / ".env.example"

# Variables in .env.example that are not Settings fields, each documented in docs/configuration.md's prose.
NOT_SETTINGS = {
    "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB",  # docker compose creates the database with them
    "MLPATH_IMAGE_TAG",  # docker compose: the tag of the image it builds
    "MLPATH_DEBUG",  # read by the command line before any setting is validated
}

_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")


def env_example_values(text: str) -> dict[str, str]:
    """`VAR=value` and commented `# VAR=value` lines of an .env file (the last one wins)."""
    values = {}
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match:
            values[match.group(1)] = match.group(2).strip()
    return values


def _parsed(doc: SettingDoc, value: str) -> object:
    """The value as Settings reads it (so `./data` equals the default `data`, `4` equals `4.0`)."""
    return getattr(Settings.model_validate({doc.env[0]: value}), doc.field)


def disagreements(env_text: str, doc_text: str) -> list[str]:
    """Everything on which Settings, an .env.example text and a configuration.md text disagree."""
    problems = []
    reference = settings_reference()
    values = env_example_values(env_text)
    table = documented_table(doc_text)
    if table is None:
        problems.append("docs/configuration.md has no generated settings table")
    elif table != settings_markdown():
        problems.append("docs/configuration.md's settings table is stale: run `python -m mlpath.settings --update-doc`")
    known = {name for doc in reference for name in doc.env}
    for doc in reference:
        if not doc.description.strip():
            problems.append(f"Settings.{doc.field} has no description")
        if doc.env[0] not in values:
            problems.append(f"{doc.env[0]} is missing from .env.example")
        elif doc.default is not None and not doc.secret and _parsed(doc, values[doc.env[0]]) != doc.default:
            problems.append(f".env.example shows {doc.env[0]}={values[doc.env[0]]}, but the default is {doc.default!r}")
        if table is not None and f"`{doc.env[0]}`" not in table:
            problems.append(f"{doc.env[0]} is missing from docs/configuration.md")
    for name in sorted(set(values) - known):
        if name not in NOT_SETTINGS:
            problems.append(f".env.example sets {name}, which no setting reads")
        elif f"`{name}`" not in doc_text:
            problems.append(f"{name} (in .env.example, not a setting) is not explained in docs/configuration.md")
    return problems


def test_settings_env_example_and_the_doc_agree():
    assert disagreements(ENV_EXAMPLE.read_text(encoding="utf-8"), DOC.read_text(encoding="utf-8")) == []


def test_every_setting_is_in_the_generated_table_with_its_default():
    table = settings_markdown()
    for doc in settings_reference():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{doc.env[0]}`"))
        if doc.secret:
            assert "secret" in row
        elif doc.default is not None:
            assert str(doc.default).removesuffix(".0") in row, row


def test_the_check_catches_each_kind_of_disagreement():
    env_text = ENV_EXAMPLE.read_text(encoding="utf-8")
    doc_text = DOC.read_text(encoding="utf-8")

    missing = env_text.replace("# MLPATH_TOP_K=5\n", "")
    assert "MLPATH_TOP_K is missing from .env.example" in disagreements(missing, doc_text)

    wrong_default = env_text.replace("# MLPATH_TOP_K=5\n", "# MLPATH_TOP_K=7\n")
    assert ".env.example shows MLPATH_TOP_K=7, but the default is 5" in disagreements(wrong_default, doc_text)

    unknown = env_text + "# MLPATH_NO_SUCH_SETTING=1\n"
    assert ".env.example sets MLPATH_NO_SUCH_SETTING, which no setting reads" in disagreements(unknown, doc_text)

    stale = doc_text.replace("| `MLPATH_TOP_K` | `5` |", "| `MLPATH_TOP_K` | `7` |")
    assert any("stale" in p for p in disagreements(env_text, stale))


@pytest.mark.subprocess
def test_update_doc_rewrites_a_stale_table_and_keeps_the_prose(tmp_path):
    doc = tmp_path / "configuration.md"
    doc.write_text(f"# Configuration\n\nprose before\n\n{DOC_BEGIN}\n| old | table |\n{DOC_END}\n\nprose after\n",
                   encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "mlpath.settings", "--update-doc", str(doc)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "updated" in run.stdout
    text = doc.read_text(encoding="utf-8")
    assert documented_table(text) == settings_markdown()
    assert text.startswith("# Configuration\n\nprose before\n") and text.endswith("\n\nprose after\n")

    again = subprocess.run([sys.executable, "-m", "mlpath.settings", "--update-doc", str(doc)],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "already up to date" in again.stdout and doc.read_text(encoding="utf-8") == text


@pytest.mark.subprocess
def test_markdown_prints_the_table():
    run = subprocess.run([sys.executable, "-m", "mlpath.settings", "--markdown"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0 and run.stdout == settings_markdown()


@pytest.mark.subprocess
def test_update_doc_without_markers_is_one_error_line(tmp_path):
    doc = tmp_path / "configuration.md"
    doc.write_text("# Configuration\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "mlpath.settings", "--update-doc", str(doc)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "mlpath.settings: error:" in run.stderr


def test_tokens_and_keys_are_secret_by_their_type(tmp_path):
    """Every token and key is a `SecretStr`: the reference marks it secret, a repr or an error never shows it,
    and the log redactor takes every such value from the type — a new secret needs no list kept by hand."""
    from mlpath.logs import Redactor, settings_secrets

    values = {"slack_bot_token": "xoxb-1-abcdefghijkl", "slack_app_token": "xapp-1-abcdefghijkl",
              "slack_signing_secret": "0123456789abcdef0123456789abcdef", "openai_api_key": "key-for-openai-123",
              "anthropic_api_key": "key-for-anthropic-1", "google_api_key": "key-for-google-12345"}
    settings = Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]
    assert {doc.field for doc in settings_reference() if doc.secret} == set(values)
    shown = repr(settings) + str(settings.model_dump())
    assert not any(value in shown for value in values.values())
    scrubbed = Redactor(settings_secrets(settings)).scrub(" ".join(values.values()))
    assert scrubbed == " ".join(["[redacted]"] * len(values))
