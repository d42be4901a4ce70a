"""Retrieval quality and grounded answers on the bundled curriculum, with the real model."""

from pathlib import Path

import pytest

from knowledge import package_dir
from knowledge.answer import EmptyQuestion, Turn, prepare_question
from knowledge.evaluation import evaluate, load_evalset
from knowledge.retrieval import mentioned_level, mentioned_track
from knowledge.sentences import sentences


@pytest.mark.model
def test_eval_set_meets_the_quality_bar(curriculum_mentor):
    items = load_evalset(package_dir() / "evalsets" / "content.jsonl")
    assert len(items) >= 60 and sum(1 for i in items if not i.expect) >= 10
    s = curriculum_mentor.settings
    report = evaluate(curriculum_mentor.retriever, items, k=3, threshold=s.refusal_threshold,
                      confidence_k=s.top_k)
    assert report.hit_at_k >= 0.95, report.misses()
    assert report.hit_at_1 >= 0.80, report.misses()
    assert report.refusal_accuracy >= 0.90, report.misses()


@pytest.mark.model
def test_smote_gets_an_explanation_with_a_numbered_citation(curriculum_mentor):
    answer = curriculum_mentor.ask("what does SMOTE actually do?")
    assert answer.grounded
    assert "synthetic" in answer.text.lower() and "[1]" in answer.text
    assert answer.citations[0].section == "Level 2 › Feature Engineering › Handling imbalanced data"
    assert answer.citations[0].source == "curriculum/level-2/feature-engineering.md"
    assert "**" not in answer.text  # Markdown labels are stripped from quoted sentences
    assert answer.as_json().keys() == {"answer", "citations", "grounded", "answerer"}  # + "note" when there is one


@pytest.mark.model
def test_every_citation_number_in_the_text_is_listed(curriculum_mentor):
    for q in ["how do I detect data drift?", "what are the daily habits?", "what is a feature store?"]:
        answer = curriculum_mentor.ask(q)
        numbers = {c.n for c in answer.citations}
        cited = {int(n) for n in __import__("re").findall(r"\[(\d+)\]", answer.text)}
        assert answer.grounded and cited == numbers, (q, answer.text)


@pytest.mark.model
def test_out_of_scope_questions_are_refused_saying_what_the_mentor_covers(curriculum_mentor):
    """Issue 13: unrelated "nearest sections" are noise; a refusal says what the mentor can help with."""
    answer = curriculum_mentor.ask("what's a good recipe for sourdough bread?")
    assert not answer.grounded
    assert answer.text.startswith("The learning path doesn't cover that")
    assert answer.citations == [] and "I can help with the path's levels" in answer.text


@pytest.mark.model
def test_level_filter_and_level_mentions(curriculum_mentor):
    hits = curriculum_mentor.search("monitoring", k=5, level=3).hits
    assert hits and all(h.level == 3 for h in hits)
    hits = curriculum_mentor.search("anomaly detection", k=5, track="D").hits
    assert hits and all(h.track == "D" for h in hits)
    assert mentioned_level("how long is Level 3?") == 3 and mentioned_level("level 2 or level 3") is None
    assert mentioned_track("what is in track b") == "B"


@pytest.mark.model
def test_a_short_follow_up_uses_the_thread_history(curriculum_mentor):
    history = [Turn("user", "how do I handle imbalanced data?"), Turn("assistant", "...")]
    answer = curriculum_mentor.ask("and class weights?", history=history)
    assert answer.grounded and "imbalanced" in answer.citations[0].section.lower()


def test_questions_are_trimmed_and_empty_ones_rejected():
    text, trimmed = prepare_question("  what   is\nPCA? " + "very " * 300, 500)
    assert trimmed and len(text) <= 500 and text.startswith("what is PCA?")
    assert prepare_question("what is PCA?", 500) == ("what is PCA?", False)
    with pytest.raises(EmptyQuestion):
        prepare_question(" \n\t ", 500)


def test_sentences_skip_code_and_labels():
    text = "**What it is.** PCA finds directions. It projects data.\n\n```python\nPCA(2)\n```\n\n- one item here\n- two items here"
    assert sentences(text) == ["PCA finds directions.", "It projects data.", "one item here", "two items here"]


def test_the_eval_file_errors_name_the_line(tmp_path: Path):
    from errors import UserError

    bad = tmp_path / "e.jsonl"
    bad.write_text('{"q": "ok", "expect": []}\n{"q": 5}\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"e.jsonl:2"):
        load_evalset(bad)
