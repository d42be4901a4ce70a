"""The real langchain ChatOpenAI client against the local fake OpenAI-compatible server."""

from __future__ import annotations

import pytest

from tests.conftest import make_settings
from tests.llm.fake_openai import FakeOpenAI


@pytest.fixture
def fake_llm():
    fake = FakeOpenAI()
    yield fake
    fake.close()


def llm_settings(data_dir, fake: FakeOpenAI, **overrides):
    values = {"llm": "openai:fake-model", "openai_api_key": "sk-test-not-a-real-key",
              "openai_base_url": fake.url, "llm_timeout": 5.0, **overrides}
    return make_settings(data_dir, **values)


@pytest.fixture
def llm_mentor(curriculum_mentor, fake_llm):
    """The session's curriculum store and retrieval, answering through the fake LLM."""
    def make(**overrides):
        return curriculum_mentor.with_settings(llm_settings(curriculum_mentor.settings.data_dir, fake_llm,
                                                            **overrides))

    return make
