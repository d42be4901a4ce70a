"""The application layer: the rules both front ends share (real Progress on SQLite, the real curriculum)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.answer import Turn
from mlpath.app import AppConfig, Application, Who
from mlpath.app import commands as c
from mlpath.app import results as res
from mlpath.app.service import HISTORY_TURNS, TERMINAL_TEAM
from progress.answer_log import AnswerLog
from progress.db import Database, upgrade
from progress.service import MemberRef, Progress

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def progress(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    store = Progress(Database(url))
    yield store
    store.db.dispose()


def make_app(mentor, progress, **config) -> Application:
    return Application(mentor, progress, AnswerLog(progress.db), AppConfig(**config))


ANN = Who(MemberRef("T1", "U1", "Ann"), "dm")
TERMINAL = Who(MemberRef(TERMINAL_TEAM, "me", "me"), "terminal")


@pytest.mark.model
@pytest.mark.subprocess
def test_every_answer_is_logged_with_its_surface_including_the_terminal(curriculum_mentor, progress):
    app = make_app(curriculum_mentor, progress)
    view = app.ask(TERMINAL, "what does SMOTE actually do?")
    assert isinstance(view, res.AnswerView) and view.answer.grounded
    [row] = app.answer_log.recent()
    assert row.surface == "terminal" and row.public_id == view.answer_id and row.user_id == "me"
    assert progress.member(TERMINAL.member).team_id == TERMINAL_TEAM  # created on first contact


class RecordingMentor:
    """Stands in for the Mentor where the test is about what the application passes to it."""

    llm = None

    def __init__(self, real) -> None:
        self.real = real
        self.calls: list[dict] = []

    def ask(self, question, **kwargs):
        self.calls.append(kwargs)
        return self.real.ask(question, level=kwargs.get("level"))


@pytest.mark.model
def test_the_history_window_is_applied_once_for_every_surface(curriculum_mentor, progress):
    mentor = RecordingMentor(curriculum_mentor)
    app = make_app(mentor, progress)
    history = [Turn("user" if i % 2 == 0 else "assistant", f"turn {i}") for i in range(20)]
    for who in (ANN, TERMINAL):
        app.ask(who, "what is PCA?", history=history)
    assert [len(call["history"]) for call in mentor.calls] == [HISTORY_TURNS, HISTORY_TURNS]
    assert mentor.calls[0]["history"][-1].text == "turn 19"


@pytest.mark.model
def test_the_rate_limit_answers_in_one_line_and_asks_nothing(curriculum_mentor, progress):
    mentor = RecordingMentor(curriculum_mentor)
    app = make_app(mentor, progress, question_rate_limit=2)
    assert isinstance(app.ask(ANN, "what is PCA?"), res.AnswerView)
    assert isinstance(app.ask(ANN, "what is SMOTE?"), res.AnswerView)
    third = app.ask(ANN, "what is drift?")
    assert isinstance(third, res.Notice) and not third.ok and "You've asked 2 questions" in third.text
    assert len(mentor.calls) == 2
    assert isinstance(app.ask(TERMINAL, "what is drift?"), res.AnswerView)  # per member


@pytest.mark.model
def test_an_empty_question_gets_an_example_not_an_answer(curriculum_mentor, progress):
    app = make_app(curriculum_mentor, progress)
    assert app.ask(ANN, "   ") == res.Notice("Ask me anything about the learning path, e.g. “what does SMOTE "
                                             "actually do?”")
    assert not app.answer_log.recent()


@pytest.mark.model
def test_setlevel_is_for_admins_and_only_for_slack(curriculum_mentor, progress):
    app = make_app(curriculum_mentor, progress, admins=frozenset({"UADMIN"}))
    refused = app.run(ANN, c.SetLevel("U7", 3))
    assert isinstance(refused, res.Notice) and not refused.ok and "Only mlpath admins" in refused.text
    assert progress.member(MemberRef("T1", "U7")).level == 1
    admin = Who(MemberRef("T1", "UADMIN"), "slash")
    assert app.run(admin, c.SetLevel("U7", 3)) == res.LevelSet("U7", 3)
    assert progress.member(MemberRef("T1", "U7")).level == 3
    terminal_admin = Who(MemberRef(TERMINAL_TEAM, "UADMIN"), "terminal")
    assert not app.is_admin(terminal_admin)


@pytest.mark.model
def test_a_quiz_answer_is_counted_once_and_says_so_the_second_time(curriculum_mentor, progress):
    app = make_app(curriculum_mentor, progress)
    view = app.next_question(ANN, "window functions")
    assert isinstance(view, res.QuizView)
    first = app.answer_quiz(ANN, view.prompt.token, view.prompt.question.answer)
    assert isinstance(first, res.QuizOutcome) and first.result.correct and first.result.xp > 0
    again = app.answer_quiz(ANN, view.prompt.token, 0)
    assert isinstance(again, res.Notice) and "already answered" in c.phrase(again.text, c.SLACK)
    other = app.answer_quiz(TERMINAL, view.prompt.token, 0)
    assert isinstance(other, res.Notice)


@pytest.mark.model
def test_commands_the_member_mistyped_in_the_core_get_one_line(curriculum_mentor, progress):
    app = make_app(curriculum_mentor, progress)
    assert app.run(ANN, c.Quiz("level 9")) == res.Notice("Sorry: levels are 1-4.", ok=False)
    track = app.run(ANN, c.ChooseTrack("E"))
    assert isinstance(track, res.Notice) and not track.ok and "chosen at Level 4" in track.text
    bad_time = app.run(ANN, c.Nudges("time", "25:99"))
    assert isinstance(bad_time, res.Notice) and not bad_time.ok and "09:00" in bad_time.text


def _python_sources() -> list[Path]:
    return [p for folder in ("bot", "mlpath", "knowledge", "progress", "ingest")
            for p in (ROOT / folder).rglob("*.py")]


@pytest.mark.parametrize("pattern, home", [
    (r"\bllm_allowed\(", {"mlpath/app/service.py", "progress/answer_log.py"}),
    (r"\bHISTORY_TURNS\s*=", {"mlpath/app/service.py"}),
    (r"You reached \*?Level", {"mlpath/app/service.py"}),
    (r"\.record\(answer", {"mlpath/app/service.py"}),
])
def test_each_rule_is_written_once(pattern, home):
    """The budget check, the history window, the promotion wording and the answer log live in the
    application layer only (no front end carries its own copy)."""
    found = {p.relative_to(ROOT).as_posix() for p in _python_sources() if re.search(pattern, p.read_text())}
    assert found == home
