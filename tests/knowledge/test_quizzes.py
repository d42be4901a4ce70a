"""The question bank: enough questions, every topic covered, strict validation."""

import re
from collections import Counter
from pathlib import Path

import pytest

from errors import UserError
from knowledge import content_dir
from knowledge.catalogue import catalogue
from knowledge.quizzes import load_bank, question_bank


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


POSITION = re.compile(
    r"\b(?:the\s+)?(?:first|second|third|fourth|last|other|previous|next)\s+(?:option|answer|choice)s?\b"
    r"|\b(?:option|answer|choice)s?\s+\(?[A-D1-4]\b\)?"
    r"|(?:^|\s)\(?[A-D]\)(?=\s)"
    r"|\b(?:above|below)\s+(?:option|answer)s?\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize("text", ["The last option describes ETL.", "Option B is wrong", "A) is a trap",
                                  "answer 2 confuses", "the other options miss it", "unlike (C) here"])
def test_the_position_check_catches_references_to_option_positions(text):
    assert POSITION.search(text)


def test_explanations_never_refer_to_option_positions():
    """Options can be shown in any order, so an explanation names the idea, never its place."""
    offenders = {q.id: m.group(0) for q in question_bank().values() if (m := POSITION.search(q.explanation))}
    assert offenders == {}


def test_the_psi_threshold_is_one_value_everywhere():
    """Level 3's rule (below 0.1 stable, 0.1-0.25 moderate, above 0.25 significant) is the only one the content,
    the correct options and the explanations use (wrong options may quote wrong values on purpose)."""
    texts = [p.read_text(encoding="utf-8") for p in content_dir().rglob("*.md")]
    texts += [f"{q.options[q.answer]} {q.explanation}" for q in question_bank().values()]
    thresholds = {m.group(1) for t in texts for m in re.finditer(r"PSI[^.]{0,60}?\b(0\.\d+)", t)}
    assert thresholds and thresholds <= {"0.1", "0.25"}, thresholds


def test_level_durations_have_one_reading():
    """Each level's range is that level's own time (the overview says so once); no page reads them as a
    timeline, and every level page states its own range from the catalogue."""
    overview = (content_dir() / "overview.md").read_text(encoding="utf-8")
    assert "time that level takes on its own" in overview and "timeline of" not in overview
    for level in catalogue().levels:
        page = (content_dir() / f"level-{level.number}" / "index.md").read_text(encoding="utf-8")
        assert level.duration in page, level.number
    for q in question_bank().values():
        assert "timeline" not in q.explanation.lower(), q.id
