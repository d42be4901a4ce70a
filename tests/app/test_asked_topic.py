"""Which topic an answer was about (mlpath/app/asked.py): the coupling of the answer's citations to the quiz
bank, in one function."""

from __future__ import annotations

from knowledge.answer import Answer, Citation
from knowledge.quizzes import question_bank
from mlpath.app.asked import asked_topic

WINDOW = "Level 1 › SQL and Databases › Window functions"


def answer(*sections: str, grounded: bool = True) -> Answer:
    return Answer("q", "a", [Citation(i + 1, s, "x.md") for i, s in enumerate(sections)], grounded, 0.5)


def test_the_first_cited_section_with_questions_names_the_topic():
    bank = question_bank()
    assert any(q.section == WINDOW for q in bank.values())
    assert asked_topic(answer(WINDOW), bank) == "window-functions"
    assert asked_topic(answer("Overview › Who this is for", WINDOW), bank) == "window-functions"
    assert asked_topic(answer(WINDOW + " › ROW_NUMBER"), bank) == "window-functions"  # a subsection


def test_a_refusal_or_a_section_without_questions_names_none():
    bank = question_bank()
    assert asked_topic(answer(WINDOW, grounded=False), bank) is None
    assert asked_topic(answer("Overview › Who this is for"), bank) is None
    assert asked_topic(answer(), bank) is None
