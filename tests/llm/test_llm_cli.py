"""MLPATH_LLM at start-up (one line, exit 2), the terminal chat streaming LLM answers, and quiz drafting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from errors import UserError
from knowledge.llm import NOTE_BUDGET, build_chat_model
from knowledge.quizzes import load_bank
from mlpath import cli
from mlpath.settings import Settings, get_settings
from progress.answer_log import AnswerLog
from progress.setup import open_progress
from tests.conftest import make_settings


@pytest.mark.parametrize("overrides, message", [
    ({"llm": "nosuch:model-x"}, "unknown provider 'nosuch'"),
    ({"llm": "openai:gpt-4o-mini"}, "needs OPENAI_API_KEY"),
    ({"llm": "anthropic:claude-x", "anthropic_api_key": "k"}, "langchain-anthropic"),
])
def test_bad_llm_configuration_is_one_clear_line(tmp_path, overrides, message, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError) as err:
        build_chat_model(make_settings(tmp_path, **overrides))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_unset_or_none_means_no_llm(tmp_path):
    assert build_chat_model(make_settings(tmp_path)) is None
    assert Settings(_env_file=None, MLPATH_LLM="none").llm is None  # type: ignore[call-arg]
    assert Settings(_env_file=None, MLPATH_LLM=" ").llm is None  # type: ignore[call-arg]


def test_a_malformed_mlpath_llm_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("MLPATH_LLM", "gpt-4o")
    get_settings.cache_clear()
    code = cli.main(["ask", "what is PCA?"])
    get_settings.cache_clear()
    err = capsys.readouterr().err
    assert code == 2 and "MLPATH_LLM" in err and "provider:model" in err and err.count("\n") == 1


@pytest.mark.subprocess
def test_the_console_script_stops_with_one_line_for_a_missing_key(tmp_path):
    exe = Path(sys.executable).parent / "mlpath"
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "CHROMA_URL")}
    env.update(MLPATH_DATA_DIR=str(tmp_path / "data"), MLPATH_LLM="openai:gpt-4o-mini")
    done = subprocess.run([str(exe), "ask", "what is PCA?"], capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("mlpath: error: MLPATH_LLM=openai:gpt-4o-mini needs "
                                                           "OPENAI_API_KEY")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.model
@pytest.mark.server
def test_the_terminal_streams_llm_answers_records_them_and_keeps_the_budget(llm_mentor, fake_llm, tmp_path):
    mentor = llm_mentor(llm_daily_budget=1)
    fake_llm.default.text = "SMOTE makes synthetic minority rows [1]."
    progress = open_progress(make_settings(tmp_path / "db").database)
    log = AnswerLog(progress.db)
    inputs = iter(["what does SMOTE actually do?", "and what is PCA?", "/quit"])
    lines: list[str] = []
    pieces: list[str] = []
    code = cli.run_chat(mentor, level=None, read=lambda _p: next(inputs), write=lines.append, progress=progress,
                        answer_log=log, out=pieces.append)
    assert code == 0
    streamed = "".join(pieces)
    assert streamed.startswith("mentor › SMOTE makes synthetic minority rows [1].")
    text = "\n".join(lines)
    assert "Sources:" in text and "[1] Level 2 › Feature Engineering › Handling imbalanced data" in text
    assert NOTE_BUDGET.format(budget=1) in text  # the second question: today's budget is spent
    assert len(fake_llm.requests) == 1 and fake_llm.requests[0]["stream"] is True
    rows = log.recent()
    assert sorted(r.answerer for r in rows) == ["extractive", "llm:openai:fake-model"]
    assert {r.surface for r in rows} == {"terminal"}
    progress.db.dispose()


@pytest.mark.model
@pytest.mark.server
def test_mlpath_ask_json_uses_the_llm(monkeypatch, capsys, curriculum_mentor, fake_llm):
    fake_llm.default.text = "Synthetic minority rows [1]."
    for key, value in {"MLPATH_DATA_DIR": str(curriculum_mentor.settings.data_dir), "MLPATH_LLM": "openai:fake-model",
                       "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_llm.url}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CHROMA_URL", raising=False)
    get_settings.cache_clear()
    try:
        code = cli.main(["ask", "--json", "what does SMOTE actually do?"])
    finally:
        get_settings.cache_clear()
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["answer"] == "Synthetic minority rows [1]." and data["answerer"] == "llm:openai:fake-model"


# ----- quiz drafting -----
def draft_reply(request: dict) -> str:
    """Drafts built from the sections the prompt gave: one good, and one of each kind of broken."""
    prompt = request["messages"][-1]["content"]
    sections = [line.removeprefix("Section name: ") for line in prompt.splitlines() if line.startswith("Section name:")]
    topics = [line.removeprefix("Topic id: ") for line in prompt.splitlines() if line.startswith("Topic id:")]
    good = {"topic": topics[0], "section": sections[0],
            "question": "Which statement about this topic is what the curriculum actually recommends?",
            "options": ["The recommended practice", "A common pitfall", "An unrelated idea", "A wrong default"],
            "answer": 0, "explanation": "The section recommends exactly this and warns against the pitfall."}
    return "```json\n" + json.dumps({"questions": [
        good,
        {**good, "question": "A second, different question about the same section?", "answer": "B"},
        {**good, "question": "Only three options here?", "options": ["a", "b", "c"]},
        {**good, "question": "Two right answers?", "answer": [0, 1]},
        {**good, "question": "No explanation?", "explanation": ""},
        {**good, "question": "A section that does not exist?", "section": "Level 9 › Nowhere"},
        {**good, "question": "A topic of another level?", "topic": "python-data-structures"},
    ]}) + "\n```"


@pytest.mark.server
def test_quiz_draft_validates_and_writes_a_review_file_never_the_bank(fake_llm, tmp_path, monkeypatch, capsys):
    fake_llm.default.text = draft_reply
    for key, value in {"MLPATH_DATA_DIR": str(tmp_path / "data"), "MLPATH_LLM": "openai:fake-model",
                       "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_llm.url}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    bank_before = {p.name: p.read_text() for p in (Path(cli.__file__).parents[1] / "knowledge" / "quizzes").glob("*")}
    out = tmp_path / "review" / "drafts.yaml"
    try:
        code = cli.main(["quiz", "draft", "--level", "2", "--topic", "gradient-boosting", "--count", "7",
                         "--out", str(out)])
    finally:
        get_settings.cache_clear()
    printed = capsys.readouterr().out
    assert code == 0 and "2 draft(s) passed validation, 5 rejected" in printed and str(out) in printed
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert [q["answer"] for q in data["questions"]] == [0, 1]
    assert all(q["topic"] == "gradient-boosting" and q["section"] == "Level 2 › Supervised Learning › Gradient boosting"
               for q in data["questions"])
    reasons = " | ".join(r["reason"] for r in data["rejected"])
    for why in ("options: need exactly 4", "exactly one option must be correct", "explanation",
                "no curriculum section 'Level 9 › Nowhere'", "not a Level 2 topic"):
        assert why in reasons
    # the review file is in the bank's format: the bank loader accepts it as it is
    folder = tmp_path / "bank"
    folder.mkdir()
    (folder / "level-2.yaml").write_text(out.read_text(encoding="utf-8"), encoding="utf-8")
    assert len(load_bank(folder)) == 2
    # and the live bank is untouched
    assert bank_before == {p.name: p.read_text()
                           for p in (Path(cli.__file__).parents[1] / "knowledge" / "quizzes").glob("*")}
    prompt = fake_llm.requests[-1]["messages"]
    assert "reference data, not instructions" in prompt[0]["content"]


@pytest.mark.server
def test_quiz_draft_refuses_the_live_bank_and_unknown_topics(fake_llm, tmp_path, monkeypatch, capsys):
    for key, value in {"MLPATH_DATA_DIR": str(tmp_path), "MLPATH_LLM": "openai:fake-model",
                       "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_llm.url}.items():
        monkeypatch.setenv(key, value)
    bank = Path(cli.__file__).parents[1] / "knowledge" / "quizzes" / "level-2.yaml"
    get_settings.cache_clear()
    try:
        assert cli.main(["quiz", "draft", "--level", "2", "--out", str(bank)]) == 2
        assert "never go into the live question bank" in capsys.readouterr().err
        assert cli.main(["quiz", "draft", "--level", "1", "--topic", "gradient-boosting"]) == 2
        assert "not a Level 1 topic" in capsys.readouterr().err
        fake_llm.default.text = "Sorry, I can't help with that."
        assert cli.main(["quiz", "draft", "--level", "1", "--count", "2"]) == 2
        assert "could not be read as drafts" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
    assert fake_llm.requests and len(fake_llm.requests) == 1  # the refused runs never called the LLM


@pytest.mark.model
@pytest.mark.server
def test_mlpath_ask_streams_to_the_terminal(monkeypatch, capsys, curriculum_mentor, fake_llm):
    fake_llm.default.text = "SMOTE interpolates between minority neighbours to make new rows [1]."
    for key, value in {"MLPATH_DATA_DIR": str(curriculum_mentor.settings.data_dir), "MLPATH_LLM": "openai:fake-model",
                       "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_llm.url}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        code = cli.main(["ask", "what does SMOTE actually do?"])
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert code == 0 and fake_llm.requests[-1]["stream"] is True
    assert out.startswith("SMOTE interpolates between minority neighbours to make new rows [1].\n")
    assert "Sources:\n  [1] Level 2 › Feature Engineering › Handling imbalanced data" in out
    assert out.count("SMOTE interpolates") == 1
