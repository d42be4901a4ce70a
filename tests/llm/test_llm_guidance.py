"""The LLM answerer shares the extractive answerer's routing, scope rules, follow-up rewriting and member
context (issue 13), against the local fake OpenAI-compatible server."""

from __future__ import annotations

import pytest

from knowledge.answer import Turn
from knowledge.member import MemberContext

pytestmark = [pytest.mark.model, pytest.mark.server]


def test_guidance_and_subjects_not_covered_never_reach_the_model(llm_mentor, fake_llm):
    mentor = llm_mentor()
    track = mentor.ask("is there a track for infra people?")
    assert track.text.startswith("Track E — MLOps & Platform Engineering:") and track.grounded
    gnn = mentor.ask("what are graph neural networks?")
    assert not gnn.grounded and "(graph neural networks)" in gnn.text
    assert fake_llm.requests == []


def test_a_follow_up_is_retrieved_with_its_subject_and_the_member_shapes_the_prompt(llm_mentor, fake_llm):
    mentor = llm_mentor()
    fake_llm.default.text = "Choose the regularisation strength on a validation curve [1].\n\nNext step: try it."
    history = [Turn("user", "what is regularization?"), Turn("assistant", "Regularisation limits variance [1].")]
    answer = mentor.ask("and how do I pick lambda?", history=history, member=MemberContext(level=2, track="C"))
    assert answer.grounded and answer.answerer == "llm:openai:fake-model"
    messages = fake_llm.requests[-1]["messages"]
    system, user = messages[0]["content"], messages[-1]["content"]
    assert "Level 2 (Machine Learning Fundamentals)" in system
    assert 'starts with "Next step:"' in system
    assert "regularisation" in user.lower() and "Functional programming" not in user
    assert all("Functional programming" not in c.section for c in answer.citations)
