"""The LLM answerer takes its context and its scope decision from the same ranked pipeline as the extractive
answerer (issue 24), against the local fake OpenAI-compatible server."""

from __future__ import annotations

import pytest

from knowledge.answer import Citation, Turn
from knowledge.member import MemberContext

pytestmark = [pytest.mark.model, pytest.mark.server]


def test_a_refused_message_never_reaches_the_model(llm_mentor, fake_llm):
    mentor = llm_mentor()
    refused = mentor.ask("what's a good recipe for sourdough bread?")
    assert not refused.grounded and refused.text.startswith("The learning path doesn't cover that")
    assert fake_llm.requests == []


def test_a_guidance_card_is_a_passage_the_model_writes_from(llm_mentor, fake_llm):
    mentor = llm_mentor()
    fake_llm.default.text = "Track E suits infrastructure people [1].\n\nNext step: read its first topic."
    answer = mentor.ask("is there a level 4 track for infra / platform people?")
    assert answer.grounded and answer.answerer == "llm:openai:fake-model"
    user = fake_llm.requests[-1]["messages"][-1]["content"]
    first_passage = user.split("<<<PASSAGE 2")[0]
    assert "Track E — MLOps & Platform Engineering" in first_passage


def test_a_follow_up_is_ranked_with_its_thread_and_the_member_shapes_the_prompt(llm_mentor, fake_llm):
    mentor = llm_mentor()
    fake_llm.default.text = "It keeps training and serving features consistent [1].\n\nNext step: try Feast."
    history = [Turn("user", "what is a feature store?"),  # as the application passes a thread: with its citations
               Turn("assistant", "A feature store defines features once [1].",
                    (Citation(1, "Level 4 › Track E: MLOps & Platform Engineering › Feature stores",
                             "curriculum/level-4/track-e-mlops-platform-engineering.md"),))]
    answer = mentor.ask("why would i need one tho?", history=history, member=MemberContext(level=4, track="E"))
    assert answer.grounded and answer.answerer == "llm:openai:fake-model"
    messages = fake_llm.requests[-1]["messages"]
    system, user = messages[0]["content"], messages[-1]["content"]
    assert "Level 4 (Advanced Specialization)" in system and 'starts with "Next step:"' in system
    assert "Feature stores" in user.split("<<<END PASSAGE 1")[0]
    assert any("Feature stores" in c.section for c in answer.citations)
