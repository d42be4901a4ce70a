"""The terminal shows the asked-topic check and the asked count like Slack does (issue 25, part 1)."""

from __future__ import annotations

from datetime import date

from knowledge.quizzes import question_bank
from mlpath.app import results as res
from mlpath.terminal import render
from progress.asked import AskedOrigin
from progress.service import ProgressView, QuizPrompt


def test_the_quiz_says_when_the_member_asked_and_progress_counts_the_asked_topics():
    q = question_bank()["l1-window-functions-1"]
    origin = AskedOrigin("window-functions", "Window functions", date(2026, 12, 7), date(2026, 12, 8))
    shown = render(res.QuizView(QuizPrompt("t", q, "asked", 0, asked=origin)))
    assert shown.splitlines()[0] == "On Monday you asked about Window functions — quick check?"
    assert "  A. " in shown
    view = ProgressView(1, "Foundations", None, [], 0, 4, 0, 0, 0, 0, None, 1, asked_topics=3, asked_mastered=1)
    assert "Topics you asked about: 1 of 3 mastered" in render(res.ProgressReport(view))
    view = ProgressView(1, "Foundations", None, [], 0, 4, 0, 0, 0, 0, None, 1)
    assert "asked about" not in render(res.ProgressReport(view))
