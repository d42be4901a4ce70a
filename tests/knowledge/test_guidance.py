"""Guidance routing, the glossary and query understanding: fast, no model (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.answer import Citation, Turn, stands_alone
from knowledge.catalogue import catalogue
from knowledge.glossary import glossary, load_glossary
from knowledge.intents import route, scope_line
from knowledge.member import MemberContext
from knowledge.query import is_follow_up, key_subject, other_subject, substitute, understand, wants_sources
from mlpath.errors import UserError


def first_paragraph(question: str, member: MemberContext | None = None, context: str = "") -> str:
    guidance = route(question, member, context=context)
    assert guidance is not None, question
    return guidance.paragraphs[0].text


def test_a_track_question_names_the_track_first_from_the_catalogue():
    text = first_paragraph("is there a track for infra people?")
    track = next(t for t in catalogue().level(4).tracks if t.id == "E")
    assert text.startswith(f"Track E — {track.title}: it suits {track.suits}")
    assert all(topic.title in text for topic in track.topics)
    assert route("is there a track for infra people?").paragraphs[0].section.heading == \
        "Choosing your specialization track"


def test_the_expected_level_after_n_months_follows_the_catalogue_timeline():
    """Each level's range is its own time (content/overview.md), so Level 1 is done after 3-6 months, Level 2
    after 9-18; the typical level is the one whose middle has not passed yet."""
    assert first_paragraph("how far should I be after 8 months?").startswith(
        "After 8 months you'd typically be in Level 2 — Machine Learning Fundamentals (6-12 months), after Level 1, "
        "which is typically done after 3-6 months")
    assert first_paragraph("I'm 6 months in, where should I be?").startswith(
        "After 6 months you'd typically be finishing Level 1 or starting Level 2")
    member = MemberContext(level=1)
    texts = [p.text for p in route("where should I be after 14 months?", member).paragraphs]
    assert texts[0].startswith("After 14 months you'd typically be finishing Level 2 or starting Level 3")
    assert "You're at Level 1 — Foundations (3-6 months): behind" in texts[-1]
    assert "the whole path adds up to 39-60 months" in texts[1]


def test_where_to_start_depends_on_background_or_the_members_placement():
    assert first_paragraph("where do I start, I know Python and some stats").startswith("Start at Level 1")
    assert first_paragraph("I'm a data engineer, where should I start?").startswith(
        "Start at Level 2 — Machine Learning Fundamentals")
    placed = MemberContext(placement_level=3)
    assert "the placement quiz put you at Level 3" in first_paragraph("where should I begin?", placed)


def test_certification_project_budget_next_duration_and_resources():
    assert first_paragraph("which cert is good for data engineers?").startswith(
        "Databricks Certified Data Engineer Associate (Intermediate, 2-3 months")
    assert first_paragraph("which portfolio project shows off low latency stuff?").startswith(
        "Real-Time Prediction System:")
    assert "below the path's pace" in first_paragraph("is 5 hours a week enough?")
    assert first_paragraph("is 12 hours a week enough?").startswith("Yes, 12 hours a week is enough")
    assert first_paragraph("what comes after level 2?").startswith("Level 3 — MLOps and Production Systems")
    assert first_paragraph("how long does level 3 take?").startswith("Level 3 — MLOps and Production Systems "
                                                                      "(12-18 months)")
    assert "Building Machine Learning Pipelines" in first_paragraph("books for MLOps?")
    at_four = MemberContext(level=4, track="B")
    assert first_paragraph("what should i do next?", at_four).startswith("Track B — Natural Language Processing")


def test_a_follow_up_to_guidance_is_answered_with_its_context():
    assert first_paragraph("is there a cert for that", context="what does track b cover").startswith(
        "TensorFlow Developer Certificate")
    assert first_paragraph("how long does it take?", context="what does track e cover").startswith(
        "Track E — MLOps & Platform Engineering is a Level 4 track")


def test_concept_questions_are_not_routed():
    for q in ["what is regularization?", "how long should I train my model for?", "how do I keep track of "
              "experiments?", "which model does the level 2 fraud project train?"]:
        assert route(q) is None, q


def test_the_scope_line_comes_from_the_catalogue():
    line = scope_line(catalogue())
    assert all(level.name in line for level in catalogue().levels)


def test_the_glossary_maps_spelling_and_everyday_words_to_curriculum_terms():
    g = glossary()
    assert "regularisation" in g.expand("what is regularization?").added
    assert "overfitting" in g.expand("my model is great on training data but terrible on test").added
    assert "imbalanced" in g.expand("we have very few positives, like 1 in 500").added
    assert "reproducibility" in g.expand("trained it twice and got diff numbers, why").added
    # "lambda" means the regularisation strength next to regularisation, and a Python lambda otherwise
    picked = g.expand("and how do I pick lambda?", context="what is regularization?")
    assert "lambda" not in picked.query.split() and "regularisation" in picked.added
    assert g.expand("how do I write a lambda function in python?").added == ()
    assert g.not_covered("do we cover graph neural nets anywhere?").subject == "graph neural networks"
    assert g.not_covered("how does a neural network learn?") is None


def test_not_covered_subjects_occur_nowhere_in_the_content():
    from knowledge import content_dir

    for path in content_dir().rglob("*.md"):
        assert glossary().not_covered(path.read_text(encoding="utf-8")) is None, path


def test_a_broken_glossary_is_one_line_naming_the_file_and_entry(tmp_path: Path):
    bad = tmp_path / "g.yaml"
    bad.write_text("synonyms:\n  - when: []\n    add: x\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"g.yaml: synonyms › 0 › when"):
        load_glossary(bad)
    bad.write_text("spellings:\n  - [Colour]\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"g.yaml: spellings"):
        load_glossary(bad)


def test_follow_ups_sources_and_subjects_are_recognised():
    assert is_follow_up("and how do I pick lambda?") and is_follow_up("what about class weights?")
    assert not is_follow_up("how does isolation forest decide something is an anomaly?")
    assert wants_sources("show me the sources") and wants_sources("where is that from?")
    assert not wants_sources("where do I find the source code of scikit-learn?")
    assert key_subject("explain naive bayes") == "naive bayes"
    assert key_subject("how does word2vec work") == "word2vec"
    assert key_subject("how do I split my data?") == ""
    # chatter after the subject is not part of it ("under the hood" is not a subject the path lacks)
    assert key_subject("whats smote really doing under the hood? does it copy rows") == "smote"
    assert other_subject("and how's that different from what a random forest does?") == "random forest"
    assert other_subject("where does k8s come into it") == "k8s"
    assert other_subject("do i run it before or after splitting?") == other_subject("how is it different from that") == ""
    assert substitute("how long is level 2?", "and level 3?") == "how long is level 3?"
    assert substitute("what is docker?", "and kubernetes?") == "what is kubernetes?"
    history = [Turn("user", "what is regularization?"), Turn("assistant", "…", (Citation(1, "S", "s.md"),))]
    query = understand("and how do I pick lambda?", history, glossary())
    assert query.follow_up and query.search.startswith("what is regularization?")
    assert "lambda" not in query.search.split()


def test_sentences_that_point_back_do_not_stand_alone():
    assert not stands_alone("It fits after Level 2, once you know neural networks basics.")
    assert not stands_alone("Both are strong defaults for tabular problems.")
    assert not stands_alone("Apply it to the training split only.")
    assert stands_alone("SMOTE creates synthetic minority samples.")
