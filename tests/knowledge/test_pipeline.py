"""The ranked answer pipeline end to end, with the real model, the bundled curriculum and the fitted weights.

The messages here were written for these tests, in the way Slack messages are typed (abbreviations, library
names, pasted code and errors); none is taken from an eval set. They check behaviour a member would notice:
answered or refused, from which section, what is said about them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.member import MemberContext
from knowledge.schema import Turn
from knowledge.sentences import stands_alone

pytestmark = pytest.mark.model

KNOWN_FALSE_REFUSAL = pytest.mark.xfail(
    strict=True, reason="known false refusal of the fitted scope model (docs/retrieval.md, 'What is left'): a message "
    "that is mostly a pasted error with little prose gets low retrieval confidence; strict, so this fails once fixed")

SLACK_MESSAGES = [
    "getting `KeyError: 'amount'` right after df.merge(txns, on='id') in pandas, why??",
    pytest.param("flask api works fine on my laptop but on the server it dies w `ModuleNotFoundError: No module named "
                 "'sklearn'`", marks=KNOWN_FALSE_REFUSAL),
    "```\nValueError: Input contains NaN, infinity or a value too large for dtype('float64').\n```\n"
    "from LogisticRegression.fit — what do i do",
    "tmrw i demo our fraud model to the PMs, how do i explain precision vs recall",
    "my imgs classifier (resnet50 in pytorch) overfits after 3 epochs, val acc tanks",
    "SELECT customer_id, SUM(amount) OVER (PARTITION BY customer_id ORDER BY ts) FROM txns -- running total per "
    "customer right?",
    "k8s keeps restarting the model pod w OOMKilled, limit is 512Mi. ideas?",
    "xgb or rf first for tabular txns data?",
]


def thread(mentor, first: str) -> list[Turn]:
    answer = mentor.ask(first)
    return [Turn("user", first), Turn("assistant", answer.text, tuple(answer.citations))]


@pytest.mark.parametrize("message", SLACK_MESSAGES)
def test_messages_with_abbreviations_code_and_pasted_errors_are_answered_not_refused(curriculum_mentor, message):
    answer = curriculum_mentor.ask(message)
    assert answer.grounded, answer.text
    assert answer.citations and re.search(r"\[1\]", answer.text)


@KNOWN_FALSE_REFUSAL
def test_a_pasted_error_is_answered_from_what_the_error_is_about(curriculum_mentor):
    answer = curriculum_mentor.ask("```\nValueError: Input contains NaN, infinity or a value too large for "
                                   "dtype('float64').\n```")
    assert answer.grounded and any("missing" in c.section.lower() for c in answer.citations), answer.citations


def test_a_follow_up_is_ranked_as_a_standalone_question_not_pinned_to_the_last_section(curriculum_mentor):
    history = thread(curriculum_mentor, "how does a decision tree decide where to split?")
    assert any("tree" in c.section.lower() for c in history[-1].citations)
    answer = curriculum_mentor.ask("and what if it's a CNN on images?", history=history)
    assert answer.grounded and any("Track A" in c.section for c in answer.citations), answer.citations


def test_a_follow_up_that_leans_on_the_thread_keeps_its_subject(curriculum_mentor):
    history = thread(curriculum_mentor, "what is a feature store?")
    answer = curriculum_mentor.ask("why would i need one tho?", history=history)
    assert answer.grounded and any("Feature store" in c.section for c in answer.citations), answer.citations


def test_show_me_the_sources_lists_the_previous_answers_citations(curriculum_mentor):
    history = thread(curriculum_mentor, "what does SMOTE do?")
    answer = curriculum_mentor.ask("where's that from?", history=history)
    assert answer.text.startswith("My last answer comes from:")
    assert [c.section for c in answer.citations] == [c.section for c in history[-1].citations]


def test_an_everyday_subject_is_refused_saying_what_the_mentor_covers(curriculum_mentor):
    answer = curriculum_mentor.ask("what's a good recipe for sourdough bread?")
    assert not answer.grounded and answer.text.startswith("The learning path doesn't cover that")
    assert answer.citations == [] and "I can help with the path's levels" in answer.text


def test_an_ml_subject_the_path_does_not_teach_is_refused(curriculum_mentor):
    answer = curriculum_mentor.ask("how does a gaussian process pick its kernel hyperparameters?")
    assert not answer.grounded and answer.text.startswith("The learning path doesn't cover that")


def test_guidance_is_a_card_built_from_the_catalogue(curriculum_mentor):
    start = curriculum_mentor.ask("backend dev here (python, some java), where do i start?")
    assert start.grounded and start.text.startswith("Start at Level 1"), start.text
    track = curriculum_mentor.ask("which level 4 track for someone building product recommendations for a shop?")
    assert "Track C" in track.text.split("\n")[0], track.text
    budget = curriculum_mentor.ask("is 3 hrs a week enough for this path?")
    assert "below the path's pace" in budget.text, budget.text


def test_nothing_personal_is_claimed_without_data_and_a_known_level_is_used(curriculum_mentor):
    unknown = curriculum_mentor.ask("i've been at this for 8 months, am i behind?")
    assert "You're at Level" not in unknown.text and "placement quiz" in unknown.text, unknown.text
    known = curriculum_mentor.ask("i've been at this for 8 months, am i behind?",
                                  member=MemberContext(level=1, placement_level=1, days_since_joined=240))
    assert "You're at Level 1" in known.text, known.text


def test_certification_answers_agree_with_the_content_on_retired_exams(curriculum_mentor):
    answer = curriculum_mentor.ask("which ml certification should i go for first?")
    first = answer.text.split("\n")[0]
    assert "AWS Certified Machine Learning - Specialty" not in first and "TensorFlow Developer" not in first
    named = curriculum_mentor.ask("is the tensorflow developer certificate still worth it?")
    assert "closed" in named.text or "retired" in named.text, named.text


def test_answers_open_on_a_sentence_that_stands_alone_and_cite_every_number(curriculum_mentor):
    for q in ["how do i detect data drift?", "what's the point of a validation set?", "what is a feature store?",
              "my model is 99% accurate but catches no fraud"]:
        answer = curriculum_mentor.ask(q)
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
        assert answer.grounded and cited == {c.n for c in answer.citations}, (q, answer.text)
        first = re.split(r"(?<=[.!?])\s", answer.text, maxsplit=1)[0]
        assert stands_alone(first), (q, first)


def test_a_teams_own_documents_are_in_scope_and_ranked_without_refitting(curriculum_copy, tmp_path: Path):
    mentor = curriculum_copy
    handbook = tmp_path / "handbook.md"
    handbook.write_text(
        "# Team handbook\n\n## Rolling back a Quokka deploy\n\nQuokka is our internal deploy tool. To roll back a "
        "model release, run `quokka rollback --service fraud-api --to previous`; Quokka keeps the last five "
        "releases. Post the rollback in #ml-oncall and open an incident ticket.\n\n## On-call rota\n\nThe ML "
        "on-call rota changes every Monday at 10:00; swap shifts in the #ml-oncall channel.\n", encoding="utf-8")
    mentor.ingest([handbook])
    answer = mentor.ask("how do i roll back a release in quokka?")
    assert answer.grounded, answer.text
    assert any("Quokka" in c.section for c in answer.citations) and "quokka rollback" in answer.text
