"""A newcomer's first hour with the installed `mlpath` (issue 16), in subprocesses: the terminal member is never
a Slack target, input that is not UTF-8 never stops a command, batch output matches its input line by line,
the leaderboard refuses weeks that have not ended, the outline of the path, the version and help for every
option, and `make test` finding PostgreSQL exactly as CI does."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pytest

from knowledge.catalogue import catalogue
from mlpath import cli
from progress.models import TERMINAL_TEAM_ID
from progress.service import MemberRef
from tests.progress.conftest import db_url, progress  # noqa: F401 - the SQLite + PostgreSQL fixtures

ROOT = Path(__file__).resolve().parents[1]
MLPATH = Path(sys.executable).parent / "mlpath"


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "MLPATH_", "LEADERBOARD_", "DATABASE_URL", "CHROMA_", "TEAM_TZ"))}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's code, whichever checkout installed the console script
    env.update(extra)
    return env


def mlpath(*args: str, env: dict[str, str], stdin: bytes | None = None,
           timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(MLPATH), *args], env=env, input=stdin, capture_output=True, timeout=timeout)


@pytest.fixture
def data_env(curriculum_mentor, tmp_path) -> dict[str, str]:
    """The session's ingested curriculum (read only) and a progress database of this test's own."""
    return base_env(MLPATH_DATA_DIR=str(curriculum_mentor.settings.data_dir),
                    DATABASE_URL=f"sqlite:///{tmp_path / 'progress.db'}")


# ----- 1: the terminal member is not a Slack member -----
def slack_env(db: str, slack, tmp_path: Path, **extra: str) -> dict[str, str]:
    return base_env(DATABASE_URL=db, SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=slack.api_url,
                    MLPATH_DATA_DIR=str(tmp_path / "data"), MLPATH_SEND_RATE="50", LEADERBOARD_CHANNEL="CLEAD",
                    **extra)


@pytest.mark.server
@pytest.mark.subprocess
def test_the_terminal_member_gets_no_dm_and_no_leaderboard(db_url, progress, slack, tmp_path):  # noqa: F811
    terminal = MemberRef(TERMINAL_TEAM_ID, "root", "root", "UTC")  # what `make run` creates
    progress.member(terminal)
    earned = progress.check_in(terminal, "read-paper", now=datetime(2026, 11, 26, 12, tzinfo=UTC))
    assert earned.status == "recorded"  # XP in week 2026-W48
    progress.member(MemberRef("T1", "U1", "Ann", "UTC"))
    env = slack_env(db_url, slack, tmp_path)

    nudges = mlpath("nudges", "run", "--at", "2026-11-26T09:05:00Z", "--json", env=env)
    assert nudges.returncode == 0, nudges.stderr.decode()
    assert json.loads(nudges.stdout)["sent"] == 1
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == ["U1"]
    assert not [c for c in slack.calls_to("users.info") if c.params.get("user") == "root"]

    checkins = mlpath("checkins", "run", "--at", "2026-11-30T08:35:00Z", "--json", env=env)  # Monday 08:30
    assert checkins.returncode == 0, checkins.stderr.decode()
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == ["U1", "U1"]

    board = mlpath("leaderboard", "post", "--week", "2026-W48", "--at", "2026-12-01T10:00:00Z", env=env)
    assert board.returncode == 0, board.stderr.decode()
    assert board.stdout.decode().splitlines() == ["leaderboard T1: posted"]
    posts = [c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "CLEAD"]
    assert len(posts) == 1 and "root" not in json.dumps(posts[0].params)


# ----- 3: only a week that has ended is posted -----
@pytest.mark.server
@pytest.mark.subprocess
def test_leaderboard_refuses_a_week_that_has_not_ended_unless_forced(db_url, progress, slack,  # noqa: F811
                                                                     tmp_path):
    progress.member(MemberRef("T1", "U1", "Ann", "UTC"))
    env = slack_env(db_url, slack, tmp_path, TEAM_TZ="Europe/Berlin")
    thursday = "2026-11-26T09:00:00Z"  # in week 2026-W48

    running = mlpath("leaderboard", "post", "--week", "2026-W48", "--at", thursday, env=env)
    assert running.returncode == 2
    err = running.stderr.decode()
    assert err.startswith("mlpath: error: 2026-W48 has not ended yet") and "--force" in err
    assert len(err.splitlines()) == 1
    future = mlpath("leaderboard", "post", "--week", "2026-W49", "--force", "--at", thursday, env=env)
    assert future.returncode == 2 and "2026-W49 has not started yet" in future.stderr.decode()
    sunday_night = "2026-11-29T22:30:00Z"  # 23:30 on Sunday in Berlin: the week is still running there
    assert mlpath("leaderboard", "post", "--week", "2026-W48", "--at", sunday_night, env=env).returncode == 2
    assert slack.calls_to("chat.postMessage") == []  # nothing posted, no claim used up

    ended = mlpath("leaderboard", "post", "--week", "2026-W48", "--at", "2026-11-29T23:30:00Z", env=env)
    assert ended.returncode == 0 and ended.stdout.decode().strip() == "leaderboard T1: posted"
    forced = mlpath("leaderboard", "post", "--week", "2026-W49", "--force", "--at", "2026-12-02T09:00:00Z",
                    env=env)
    assert forced.returncode == 0 and forced.stdout.decode().strip() == "leaderboard T1: posted"
    assert len(slack.calls_to("chat.postMessage")) == 2


# ----- 2 and 9: input that is not UTF-8; batch output that matches its input -----
@pytest.mark.model
@pytest.mark.subprocess
def test_bytes_that_are_not_utf8_are_replaced_and_the_command_answers(data_env):
    piped = mlpath("ask", env=data_env, stdin=b"how do I\xff handle missing values?\n")
    assert piped.returncode == 0, piped.stderr.decode()
    answer = json.loads(piped.stdout)
    assert answer["question"] == "how do I\ufffd handle missing values?" and answer["grounded"]
    assert "missing" in answer["citations"][0]["section"].lower()

    argument = mlpath("search", "--json", "-k", "2", b"window\xff functions".decode("utf-8", "surrogateescape"),
                      env=data_env)
    assert argument.returncode == 0, argument.stderr.decode()
    result = json.loads(argument.stdout)
    assert result["query"] == "window\ufffd functions" and len(result["hits"]) == 2
    assert "window functions" in result["hits"][0]["section"].lower()

    searched = mlpath("search", env=data_env, stdin=b"gradient \xfe\xffboosting\n")
    assert searched.returncode == 0 and json.loads(searched.stdout)["hits"]


@pytest.mark.model
@pytest.mark.subprocess
def test_batch_output_keeps_blank_lines_and_says_what_was_trimmed(data_env):
    env = {**data_env, "MLPATH_MAX_QUESTION_CHARS": "40"}
    questions = ["what does SMOTE actually do?", "", "   ",
                 "why would my model be great on train data and bad on test data, and what do I do about it?"]
    done = mlpath("ask", env=env, stdin=("\n".join(questions) + "\n").encode())
    assert done.returncode == 0, done.stderr.decode()
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [line["line"] for line in lines] == [1, 2, 3, 4]
    assert [line["question"] for line in lines] == [q.strip() for q in questions]
    assert lines[1]["error"] == lines[2]["error"] == "empty question" and "answer" not in lines[1]
    assert lines[0]["trimmed"] is False and lines[3]["trimmed"] is True and lines[3]["answer"]

    one = mlpath("ask", "--json", questions[3], env=env)
    assert json.loads(one.stdout)["trimmed"] is True and json.loads(one.stdout)["question"] == questions[3]

    searches = mlpath("search", "-k", "1", env=env, stdin=b"window functions\n\nSMOTE\n")
    rows = [json.loads(line) for line in searches.stdout.decode().splitlines()]
    assert [(r["line"], r["query"], "error" in r) for r in rows] == [
        (1, "window functions", False), (2, "", True), (3, "SMOTE", False)]


@pytest.mark.model
@pytest.mark.subprocess
def test_eval_files_that_are_not_utf8_run_and_file_errors_are_one_line(data_env, tmp_path):
    good = tmp_path / "set.jsonl"
    good.write_bytes(b'{"q": "what does SMOTE do\xff?", "expect": ["SMOTE"]}\n'
                     b'{"q": "how do I bake bread", "expect": []}\n')
    done = mlpath("eval", str(good), "--json", env=data_env)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["questions"] == 2

    cases = [
        (b'{"question": "no q here"}\n', 'set.jsonl:1: expected an object with a question "q"'),
        (b'{"q": "fine", "expect": []}\n{"q": \n', "set.jsonl:2: not a line of JSON (Expecting value"),
    ]
    for content, message in cases:
        good.write_bytes(content)
        bad = mlpath("eval", str(good), env=data_env)
        err = bad.stderr.decode()
        assert bad.returncode == 2 and message in err and len(err.splitlines()) == 1, err
    missing = mlpath("eval", str(tmp_path / "nope.jsonl"), env=data_env)
    assert missing.returncode == 2 and missing.stderr.decode().startswith("mlpath: error: no such eval file")


# ----- 11: the path, the version, help for every option -----
@pytest.mark.subprocess
def test_path_prints_the_catalogue_outline(tmp_path):
    env = base_env(MLPATH_DATA_DIR=str(tmp_path))
    done = mlpath("path", "--json", env=env)
    assert done.returncode == 0, done.stderr.decode()
    outline = json.loads(done.stdout)
    levels = catalogue().levels
    assert [lvl["name"] for lvl in outline["levels"]] == [lvl.name for lvl in levels]
    for shown, level in zip(outline["levels"], levels, strict=True):
        assert [m["topics"] for m in shown["modules"]] == [[t.title for t in m.topics] for m in level.modules]
        assert [t["title"] for t in shown["tracks"]] == [t.title for t in level.tracks]

    text = mlpath("path", "--level", "4", env=env).stdout.decode()
    assert "Level 4: " + levels[3].name in text and "Level 1" not in text
    assert all(f"Track {t.id}: {t.title}" in text for t in levels[3].tracks)
    assert not (tmp_path / "chroma").exists()  # no model, no store: the outline is the catalogue's data


@pytest.mark.subprocess
def test_version_and_help_for_every_option():
    done = subprocess.run([str(MLPATH), "--version"], capture_output=True, text=True, env=base_env(), timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"mlpath {version('mlpath')}"
    parser = cli.build_parser()
    missing = []
    for name, sub in _subparsers(parser):
        for action in sub._actions:
            if action.help is None and not isinstance(action, argparse._SubParsersAction):
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def _subparsers(parser, prefix: str = "mlpath"):
    yield prefix, parser
    for action in parser._actions:
        if action.choices and isinstance(action.choices, dict):
            for name, sub in action.choices.items():
                yield from _subparsers(sub, f"{prefix} {name}")


# ----- 12: wording -----
@pytest.mark.subprocess
def test_export_counts_read_as_words_and_a_cut_export_says_so(progress, tmp_path, db_url):  # noqa: F811
    progress.member(MemberRef("T1", "U1", "Ann", "UTC"))
    env = base_env(DATABASE_URL=db_url, MLPATH_DATA_DIR=str(tmp_path / "data"))
    file = tmp_path / "team.json"
    done = mlpath("export", str(file), env=env, timeout=120)
    assert done.returncode == 0 and "exported 1 member, 0 deliveries, 0 cards" in done.stderr.decode()
    file.write_text(file.read_text()[:-40])
    cut = mlpath("import", str(file), env=env, timeout=120)
    err = cut.stderr.decode()
    assert cut.returncode == 2 and "at at" not in err and "was the export cut short?" in err
    assert err.startswith("mlpath: error: not a JSON file: ") and len(err.splitlines()) == 1


# ----- 4: `make test` finds PostgreSQL as CI does -----
@pytest.mark.subprocess
def test_make_test_uses_the_same_postgresql_detection_as_ci(tmp_path):
    """The real Makefile's test recipe with stub tools in a stand-in virtualenv: pytest gets the URL that
    .ci/postgres-url prints (the detection CI uses, since .ci/run is `make test`)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for tool in ("python", "ruff", "mypy", "lint-imports", "deptry"):
        (venv / "bin" / tool).write_text("#!/bin/sh\nexit 0\n")
    (venv / "bin" / "pytest").write_text('#!/bin/sh\necho "pytest sees [$MLPATH_TEST_POSTGRES_URL] $*"\n')
    for tool in (venv / "bin").iterdir():
        tool.chmod(0o755)
    for stamp in (".installed", ".test-installed"):
        (venv / stamp).touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLPATH_TEST_POSTGRES_URL")}
    detected = subprocess.run([str(ROOT / ".ci" / "postgres-url")], capture_output=True, text=True, env=env,
                              timeout=30).stdout.strip()
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "test", f"VENV={venv}"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"pytest sees [{detected}] -q" in done.stdout
    assert f"PostgreSQL for tests: {detected or 'none (SQLite only)'}" in done.stdout
    given = subprocess.run(["make", "-s", "-C", str(ROOT), "test", f"VENV={venv}"], capture_output=True, text=True,
                           env={**env, "MLPATH_TEST_POSTGRES_URL": "postgresql+psycopg://u@db:5432/x"}, timeout=60)
    assert "pytest sees [postgresql+psycopg://u@db:5432/x] -q" in given.stdout
    assert "make test" in (ROOT / ".ci" / "run").read_text() and "pg_isready" not in (ROOT / ".ci" / "run").read_text()


# ----- 10: no misleading warning at every start -----
@pytest.mark.model
@pytest.mark.server
def test_the_bot_starts_without_bolts_token_unused_warning(slack, curriculum_mentor, tmp_path, monkeypatch,
                                                           caplog):
    from mlpath.wiring import build_slack_app
    from tests.conftest import make_settings

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")  # as in production: Bolt reads it too
    settings = make_settings(tmp_path, slack_bot_token="xoxb-test-token", slack_signing_secret="0" * 32,
                             slack_api_url=slack.api_url)
    with caplog.at_level("DEBUG"):
        app, _ = build_slack_app(settings, curriculum_mentor)
    assert app.client.token == "xoxb-test-token"
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []


# ----- 5: never a silent wait at a terminal -----
@pytest.mark.model
@pytest.mark.subprocess
def test_ask_at_a_terminal_says_what_it_waits_for_and_shows_loading(data_env):
    """stdin and stderr on a pseudo-terminal, as a person running `mlpath ask` with no question sees it:
    a spinner while the model loads, a usage line instead of a silent wait; the answer still goes to stdout
    as JSON lines, free of any escape codes."""
    import pty
    import select
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen([str(MLPATH), "ask"], stdin=slave, stdout=subprocess.PIPE, stderr=slave,
                            env={**data_env, "TERM": "xterm", "COLUMNS": "100"})
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 240
    while b"Ctrl-D" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            seen += os.read(master, 4096)
    assert b"mlpath: ask a question, e.g. mlpath ask" in seen and b"type one per line here, then Ctrl-D" in seen
    assert b"loading the embedding model" in seen  # the spinner was drawn before the usage line
    os.write(master, b"what does SMOTE actually do?\n")
    os.write(master, b"\x04")
    out, _ = proc.communicate(timeout=240)
    os.close(master)
    assert proc.returncode == 0
    answer = json.loads(out)
    assert answer["line"] == 1 and answer["question"] == "what does SMOTE actually do?" and answer["grounded"]
    assert b"\x1b" not in out
