"""Answers to questions as members type them, with the real model and the bundled curriculum (issue 13)."""

from __future__ import annotations

import re

from knowledge import package_dir
from knowledge.answer import Turn
from knowledge.evaluation import evaluate_answers, load_answer_evalset
from knowledge.member import MemberContext

# The held-out half of knowledge/evalset-members.jsonl, measured when the figures were last reported
# (docs/retrieval.md). They are floors: a change that lowers them fails here. Issue 13's targets (coverage
# 0.85, refusal 0.90) are not reached yet; raise these floors when they improve.
HELD_OUT_COVERAGE = 0.65
HELD_OUT_REFUSAL = 0.80


def test_held_out_half_of_the_members_set_does_not_regress(curriculum_mentor):
    items = load_answer_evalset(package_dir() / "evalset-members.jsonl", split="test")
    assert len(items) >= 50
    report = evaluate_answers(curriculum_mentor.ask, items)
    assert report.coverage() >= HELD_OUT_COVERAGE, report.summary()
    assert report.refusal() >= HELD_OUT_REFUSAL, report.summary()


def test_a_guidance_answer_names_the_track_and_cites_the_content(curriculum_mentor):
    answer = curriculum_mentor.ask("is there a track for infra people?")
    assert answer.grounded and answer.text.startswith("Track E — MLOps & Platform Engineering:")
    assert answer.citations[0].section == "Level 4 › Advanced Specialization › Choosing your specialization track"
    assert answer.citations[0].source == "curriculum/level-4/index.md"
    assert answer.text.rstrip().splitlines()[-1].startswith("Next step:")


def test_the_members_own_state_shapes_guidance(curriculum_mentor):
    placed = curriculum_mentor.ask("where should I start?", member=MemberContext(placement_level=2))
    assert placed.text.startswith("Start at Level 2") and "placement quiz put you at Level 2" in placed.text
    ahead = curriculum_mentor.ask("I'm 5 months in, where should I be?", member=MemberContext(level=2))
    assert "You're at Level 2: ahead of the path's pace" in ahead.text


def test_a_symptom_in_everyday_words_reaches_the_concept(curriculum_mentor):
    answer = curriculum_mentor.ask("my model does great on training data but terrible on test data")
    assert answer.grounded and answer.citations[0].section == "Level 2 › Model Evaluation › Bias-variance tradeoff"
    assert "overfitting" in answer.text


def test_regularization_in_american_spelling_lands_in_level_2_not_track_c(curriculum_mentor):
    answer = curriculum_mentor.ask("what is regularization?")
    assert answer.grounded and answer.citations[0].section.startswith("Level 2 ›")


def test_a_follow_up_about_lambda_stays_with_regularisation(curriculum_mentor):
    first = curriculum_mentor.ask("what is regularization?")
    history = [Turn("user", "what is regularization?"), Turn("assistant", first.text, tuple(first.citations))]
    answer = curriculum_mentor.ask("and how do I pick lambda?", history=history)
    assert answer.grounded
    assert all("Functional programming" not in c.section for c in answer.citations)
    assert "regularisation" in answer.text.lower()


def test_show_me_the_sources_lists_the_previous_answers_sources(curriculum_mentor):
    first = curriculum_mentor.ask("how do I detect data drift?")
    kept = [Turn("user", "how do I detect data drift?"), Turn("assistant", first.text, tuple(first.citations))]
    answer = curriculum_mentor.ask("show me the sources", history=kept)
    assert answer.citations == first.citations and answer.text.startswith("My last answer comes from:")
    # Slack threads carry no citations: the previous question is answered again to find them
    plain = [Turn("user", "how do I detect data drift?"), Turn("assistant", first.text)]
    assert curriculum_mentor.ask("where is that from?", history=plain).citations == first.citations
    nothing = curriculum_mentor.ask("show me the sources")
    assert not nothing.grounded and nothing.citations == []


def test_subjects_the_path_does_not_teach_are_refused_with_a_related_section(curriculum_mentor):
    gnn = curriculum_mentor.ask("what are graph neural networks?")
    assert not gnn.grounded and gnn.text.startswith("The learning path doesn't cover that (graph neural networks)")
    assert [c.section for c in gnn.citations] == ["Level 2 › Supervised Learning › Neural networks basics"]
    assert "The nearest it has is [1] Level 2 › Supervised Learning › Neural networks basics." in gnn.text
    unknown = curriculum_mentor.ask("explain naive bayes")  # not in the glossary: "bayes" occurs nowhere
    assert not unknown.grounded and "(naive bayes)" in unknown.text


def test_composed_answers_keep_list_labels_and_never_open_on_a_dangling_sentence(curriculum_mentor):
    latency = curriculum_mentor.ask("how do I show I reduced model latency in my review?")
    assert latency.grounded and "Reduced model latency by X%:" in latency.text
    habits = curriculum_mentor.ask("what are the daily habits?")  # answered from the catalogue
    assert habits.text.startswith("Daily habits (30-60 min/day): Read 1 research paper or blog post;")
    assert habits.citations[0].section == "Continuous Learning Habits › Daily habits"
    for q in ["what does SMOTE actually do?", "xgboost or lightgbm?", "when does the TensorFlow certificate fit?",
              "what is a feature store?"]:
        answer = curriculum_mentor.ask(q)
        opening = answer.text.split("\n\n")[0]
        assert not re.match(r"(It|Both|This|They|Apply it)\b", opening), (q, opening)


def test_a_weak_quiz_topic_changes_the_closing_line(curriculum_mentor):
    plain = curriculum_mentor.ask("what does SMOTE actually do?")
    assert plain.text.splitlines()[-1].startswith("Next step: check yourself with a quiz on Handling imbalanced data")
    weak = curriculum_mentor.ask("what does SMOTE actually do?", member=MemberContext(weak_topics=("imbalanced-data",)))
    assert "you missed a quiz question on Handling imbalanced data" in weak.text.splitlines()[-1]
