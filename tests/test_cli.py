"""The `mlpath` command line: in-process for speed, plus the installed console script end to end."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlpath import cli
from mlpath.settings import get_settings


@pytest.fixture
def use_data(monkeypatch, curriculum_mentor):
    monkeypatch.setenv("MLPATH_DATA_DIR", str(curriculum_mentor.settings.data_dir))
    monkeypatch.delenv("CHROMA_URL", raising=False)
    get_settings.cache_clear()
    yield curriculum_mentor
    get_settings.cache_clear()


def run(argv, capsys, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.model
def test_ask_json_has_the_documented_shape(use_data, capsys):
    code, out, _ = run(["ask", "--json", "what does SMOTE actually do?"], capsys)
    data = json.loads(out)
    assert code == 0 and data["grounded"] is True
    assert data["citations"][0] == {"n": 1, "section": "Level 2 › Feature Engineering › Handling imbalanced data",
                                    "source": "curriculum/level-2/feature-engineering.md"}


@pytest.mark.model
def test_ask_prints_sources_or_nearest_sections(use_data, capsys):
    code, out, _ = run(["ask", "how", "do", "I", "detect", "data", "drift?"], capsys)
    assert code == 0 and "Sources:\n  [1] Level 3 ›" in out
    code, out, _ = run(["ask", "what are graph neural networks?"], capsys)
    assert code == 0 and "doesn't cover that" in out and "Sources:" not in out
    # a refusal names the nearest sections only when the scope model leans towards the path (docs/retrieval.md)
    code, out, _ = run(["ask", "--json", "what are graph neural networks?"], capsys)
    refusal = json.loads(out)
    assert refusal["grounded"] is False and bool(refusal["citations"]) == ("nearest sections are" in
                                                                           refusal["answer"].lower())


@pytest.mark.model
def test_batch_mode_reads_stdin_and_writes_one_json_line_each(use_data, capsys, monkeypatch):
    code, out, _ = run(["ask"], capsys, stdin="what is PCA?\n\nhow do I center a div in CSS?\n",
                       monkeypatch=monkeypatch)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [d.get("grounded") for d in lines] == [True, None, False]  # one line per input line
    assert lines[1] == {"line": 2, "question": "", "error": "empty question"}
    code, out, _ = run(["search", "-k", "2"], capsys, stdin="window functions\nACID\n", monkeypatch=monkeypatch)
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["query"] for r in results] == ["window functions", "ACID"]
    assert all(len(r["hits"]) == 2 for r in results)
    assert "Window functions" in results[0]["hits"][0]["section"]


@pytest.mark.model
def test_ask_goes_through_the_application_its_answers_are_logged_and_its_rate_limit_applies(
        use_data, capsys, monkeypatch):
    """`mlpath ask`, one-shot and batch, is a surface like Slack's: the answer log has each answer (surface
    "cli"), and the rate limit of the person at the terminal holds within a run."""
    from progress.answer_log import AnswerLog
    from progress.setup import open_progress

    code, out, _ = run(["ask", "--json", "what is PCA?"], capsys)
    assert code == 0 and json.loads(out)["grounded"]
    monkeypatch.setenv("MLPATH_QUESTIONS_PER_HOUR", "1")
    get_settings.cache_clear()
    code, out, _ = run(["ask"], capsys, stdin="what does SMOTE actually do?\nwhat is drift?\n",
                       monkeypatch=monkeypatch)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and lines[0]["grounded"] and lines[1]["line"] == 2
    assert lines[1]["error"].startswith("You've asked 1 questions in the last hour")
    progress = open_progress(get_settings().database)
    logged = [(r.question, r.surface) for r in AnswerLog(progress.db).recent(limit=10)]
    progress.db.dispose()
    assert ("what is PCA?", "cli") in logged and ("what does SMOTE actually do?", "cli") in logged
    assert all(question != "what is drift?" for question, _ in logged)


@pytest.mark.model
def test_search_json_with_level_filter(use_data, capsys):
    code, out, _ = run(["search", "--json", "-k", "3", "--level", "2", "random forest"], capsys)
    hits = json.loads(out)["hits"]
    assert code == 0 and len(hits) == 3 and {h["level"] for h in hits} == {2}
    assert set(hits[0]) >= {"rank", "score", "section", "source", "text"}


@pytest.mark.model
def test_eval_prints_the_metrics(use_data, capsys, tmp_path):
    evalset = tmp_path / "e.jsonl"
    evalset.write_text('{"q": "what is SMOTE?", "expect": ["synthetic"]}\n'
                       '{"q": "best sourdough recipe?", "expect": []}\n', encoding="utf-8")
    code, out, _ = run(["eval", str(evalset), "-k", "3"], capsys)
    assert code == 0 and "hit@1          1.000" in out and "refusal acc.   1.000" in out


@pytest.mark.parametrize("argv, message", [
    (["ask", ""], "ask a question"),
    (["ingest", "/no/such/folder"], "no such file or folder: /no/such/folder"),
    (["eval", "/no/such.jsonl"], "no such eval file"),
])
@pytest.mark.model
def test_user_errors_are_one_line_with_exit_code_2(use_data, capsys, argv, message):
    code, out, err = run(argv, capsys)
    assert code == 2 and err.startswith("mlpath: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_configuration_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("MLPATH_TOP_K", "lots")
    get_settings.cache_clear()
    code, _, err = run(["ask", "what is PCA?"], capsys)
    get_settings.cache_clear()
    assert code == 2 and "MLPATH_TOP_K" in err and err.count("\n") == 1


@pytest.mark.model
def test_chat_answers_and_handles_commands(use_data):
    inputs = iter(["/help", "/level 9", "/level 2", "what does SMOTE actually do?", "/sources", "/nope", "/quit"])
    output: list[str] = []
    code = cli.run_chat(use_data, level=None, read=lambda _prompt: next(inputs), write=output.append)
    text = "\n".join(output)
    assert code == 0
    assert "/level N" in text and "error: Usage: `/level N` with N from 1 to 4" in text and "favour Level 2" in text
    assert "mentor › " in text and "Handling imbalanced data" in text
    assert "error: Unknown command `nope`; `/help` lists them." in text


@pytest.mark.model
def test_chat_ends_on_ctrl_d(use_data):
    def eof(_prompt):
        raise EOFError

    assert cli.run_chat(use_data, level=None, read=eof, write=lambda _s: None) == 0


@pytest.mark.subprocess
def test_console_script_on_a_fresh_data_dir_ingests_then_answers(tmp_path):
    """The real installed `mlpath` in a subprocess: first use ingests the bundled curriculum."""
    exe = Path(sys.executable).parent / "mlpath"
    env = {**os.environ, "MLPATH_DATA_DIR": str(tmp_path / "data")}
    env.pop("CHROMA_URL", None)
    done = subprocess.run([str(exe), "ask", "--json", "how long is level 3 supposed to take?"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["grounded"] and "12-18 months" in answer["answer"]
    assert "first use, ingesting the bundled curriculum" in done.stderr

    again = subprocess.run([str(exe), "ingest", "--json"], capture_output=True, text=True, env=env, timeout=300)
    summary = json.loads(again.stdout)
    assert summary["added"] == 0 and summary["unchanged"] == summary["chunks"] > 200

    bad = subprocess.run([str(exe), "ask", "hi"], capture_output=True, text=True, timeout=120,
                         env={**env, "CHROMA_URL": "http://127.0.0.1:9"})
    assert bad.returncode == 2 and bad.stderr.startswith("mlpath: error: cannot reach the Chroma server")
    assert "Traceback" not in bad.stderr


def test_embedding_model_must_be_a_local_folder(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("MLPATH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EMBEDDING_MODEL", str(tmp_path / "no-model"))
    get_settings.cache_clear()
    code, _, err = run(["ask", "what is PCA?"], capsys)
    get_settings.cache_clear()
    assert code == 2 and "EMBEDDING_MODEL=" in err and "no such model folder" in err


@pytest.mark.model
def test_changing_the_embedding_model_needs_ingest_reset(monkeypatch, capsys, tmp_path):
    """Another local model (here the bundled one under another folder name) can't silently reuse vectors
    made by the first; `mlpath ingest --reset` rebuilds the collection for it."""
    from knowledge.embedding import default_model_path

    other = tmp_path / "minilm-copy"
    other.symlink_to(default_model_path(), target_is_directory=True)
    monkeypatch.setenv("MLPATH_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe team standup is at 9:30.\n", encoding="utf-8")
    assert run(["ingest", "--json", str(notes)], capsys)[0] == 0
    monkeypatch.setenv("EMBEDDING_MODEL", str(other))
    get_settings.cache_clear()
    code, _, err = run(["ingest", str(notes)], capsys)
    assert code == 2 and "mlpath ingest --reset" in err
    code, out, _ = run(["ingest", "--json", "--reset", str(notes)], capsys)
    get_settings.cache_clear()
    assert code == 0 and json.loads(out)["added"] == 1


@pytest.mark.model
def test_chat_runs_the_quiz_progress_and_habit_loop(use_data, tmp_path):
    from progress.db import Database, upgrade
    from progress.service import Progress

    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    progress = Progress(Database(url))
    inputs = iter(["/quiz window functions", "z", "B", "/progress", "/done read-paper", "/done read-paper",
                   "/habits", "/quiz level 9", "/quit"])
    output: list[str] = []
    code = cli.run_chat(use_data, level=None, read=lambda _p: next(inputs), write=output.append, progress=progress)
    text = "\n".join(output)
    assert code == 0
    assert "[new, Level 1]" in text and "  A. " in text and "source: Level 1 › SQL and Databases › Window functions" in text
    assert "Level 1: Foundations" in text and "streak 1" in text
    assert "✅ Read 1 research paper or blog post — +10 XP." in text
    assert "Already checked in for this period: Read 1 research paper or blog post." in text
    assert "[x] read-paper" in text and "error: Sorry: levels are 1-4." in text


@pytest.mark.model
def test_chat_explains_locked_levels_wrong_answers_tracks_and_habit_undo(use_data, tmp_path):
    from progress.db import Database, upgrade
    from progress.service import Progress

    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    progress = Progress(Database(url))
    wrong = "ABCD"[(progress.bank["l1-window-functions-1"].answer + 1) % 4]
    inputs = iter(["/quiz 2", "/track b", "/quiz window functions", wrong, "/progress",
                   "/done I read a paper on arxiv", "/undo read-paper", "/undo read-paper", "/quit"])
    output: list[str] = []
    code = cli.run_chat(use_data, level=None, read=lambda _p: next(inputs), write=output.append, progress=progress)
    text = "\n".join(output)
    assert code == 0
    assert "Level 2 is locked: you are at Level 1. It opens when you master 16 of your Level 1 topics" in text
    assert "error: Tracks are chosen at Level 4; you are not there yet. The tracks: A (Deep Learning" in text
    assert "read the section: Level 1 › SQL and Databases › Window functions" in text
    assert "**What it is.** A window function computes a value over rows" in text
    assert "[learning] Window functions" in text and "[new] Data structures" in text
    assert "✅ Read 1 research paper or blog post — +10 XP (matched “read, paper, arxiv”). " \
           "`/undo read-paper` takes it back." in text
    assert "↩️ Undone: Read 1 research paper or blog post — 10 XP removed." in text  # the quiz keeps the streak day
    assert "Nothing to undo for Read 1 research paper or blog post in this period." in text


def test_db_upgrade_command(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    get_settings.cache_clear()
    code, out, _ = run(["db", "upgrade"], capsys)
    assert code == 0 and "up to date" in out and (tmp_path / "x.db").exists()
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    get_settings.cache_clear()
    code, _, err = run(["db", "upgrade"], capsys)
    get_settings.cache_clear()
    assert code == 2 and err.startswith("mlpath: error: cannot open the database at DATABASE_URL")


@pytest.mark.parametrize("env, argv, message", [
    ({}, ["nudges", "run"], "SLACK_BOT_TOKEN is not set"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, ["leaderboard", "post"], "LEADERBOARD_CHANNEL is not set"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "LEADERBOARD_DAY": "someday"}, ["scheduler", "--once"], "LEADERBOARD_DAY"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "TEAM_TZ": "Mars/Olympus"}, ["scheduler", "--once"], "TEAM_TZ"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "LEADERBOARD_TIME": "9am"}, ["scheduler", "--once"], "LEADERBOARD_TIME"),
])
def test_scheduler_commands_fail_with_one_line_naming_what_is_missing(monkeypatch, capsys, tmp_path, env, argv,
                                                                      message):
    for name in ("SLACK_BOT_TOKEN", "LEADERBOARD_CHANNEL", "LEADERBOARD_DAY", "TEAM_TZ", "LEADERBOARD_TIME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLPATH_DATA_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    code, _, err = run(argv, capsys)
    get_settings.cache_clear()
    assert code == 2 and err.startswith("mlpath: error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["nudges", "run", "--at", "tomorrow-ish"], "is not an ISO-8601 time"),
    (["leaderboard", "post", "--week", "2026-W99"], "is not an ISO week"),
])
def test_scheduler_commands_reject_bad_arguments(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
