"""The application layer hands the mentor the asking member's state (issue 13), for Slack and the terminal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlpath.app import results as res
from tests.app.test_application import ANN, TERMINAL, make_app, progress  # noqa: F401 - the SQLite fixture


@pytest.mark.model
def test_guidance_answers_use_the_members_level_and_track(curriculum_mentor, progress):  # noqa: F811
    app = make_app(curriculum_mentor, progress)
    progress.set_level(ANN.member, 4, track="B", create=True)
    view = app.ask(ANN, "what should i do next?")
    assert isinstance(view, res.AnswerView)
    assert "Track B" in view.answer.text and "Level 4" in view.answer.text  # the member's own level and track
    other = app.ask(TERMINAL, "what should i do next?")  # a new member, never placed: no level is claimed
    assert isinstance(other, res.AnswerView) and "placement quiz" in other.answer.text
    assert "You're at Level" not in other.answer.text


def test_the_context_carries_missed_quiz_topics_and_time_since_joining(progress):  # noqa: F811
    joined = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    progress.member(ANN.member, now=joined)
    prompt = progress.next_question(ANN.member, now=joined)
    wrong = (prompt.question.answer + 1) % 4
    progress.answer(prompt.token, ANN.member, wrong, now=joined)
    context = progress.mentor_context(ANN.member, now=joined + timedelta(days=40))
    # never placed, promoted or set: the level is unknown, whatever the default row holds
    assert context.level is None and context.placement_level is None and context.days_since_joined == 40
    assert context.weak_topics == (prompt.question.topic,)
