"""The question bank: enough questions, every topic covered, strict validation."""

from collections import Counter
from pathlib import Path

import pytest

from knowledge.catalogue import catalogue
from knowledge.quizzes import load_bank, question_bank
from mlpath.errors import UserError


def test_the_bank_covers_every_topic_of_every_level_and_track():
    bank = question_bank()
    assert len(bank) >= 120
    per_topic = Counter(q.topic for q in bank.values())
    for _, topic in catalogue().all_topics():
        assert per_topic[topic.id] >= 1, topic.id
    assert {q.track for q in bank.values() if q.level == 4} == {"A", "B", "C", "D", "E"}
    placement = Counter(q.level for q in bank.values() if q.placement)
    assert all(placement[level] >= 5 for level in (1, 2, 3))  # up to 5 a level, with spares
    assert {q.track for q in bank.values() if q.placement and q.level == 4} == {"A", "B", "C", "D", "E"}
    # correct answers are spread over A-D, so guessing a position doesn't pay
    assert min(Counter(q.answer for q in bank.values()).values()) >= len(bank) // 6


def test_a_bad_question_names_the_file_and_the_question(tmp_path: Path):
    good = {"id": "x-1", "topic": "window-functions", "section": "Level 1 › SQL and Databases › Window functions",
            "question": "What is a window function?", "options": ["a", "b", "c", "d"], "answer": 0,
            "explanation": "Because."}
    import yaml

    cases = [
        ({**good, "options": ["a", "b", "c"]}, "question x-1: options"),
        ({**good, "answer": 4}, "question x-1: answer"),
        ({**good, "topic": "astrology"}, "unknown topic 'astrology'"),
        ({**good, "section": "Level 9 › Nowhere"}, "no curriculum section"),
        ({**good, "options": ["a", "a", "c", "d"]}, "different"),
    ]
    for item, message in cases:
        (tmp_path / "bank.yaml").write_text(yaml.safe_dump({"questions": [item]}), encoding="utf-8")
        with pytest.raises(UserError) as err:
            load_bank(tmp_path)
        assert "bank.yaml" in str(err.value) and message in str(err.value), str(err.value)
    assert len(load_bank(tmp_path.parent / "missing-folder")) == 0
