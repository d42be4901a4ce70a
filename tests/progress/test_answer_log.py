"""The answer log in the `answers` table, on SQLite and PostgreSQL: answers, last-click-wins feedback that
replays can't undo, the per-member daily LLM budget, and the one-time import of the old JSON-lines log."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from knowledge.answer import Answer, Citation
from progress.answer_log import AnswerLog


@pytest.fixture
def log(progress):
    return AnswerLog(progress.db)


def answer(answerer: str = "extractive", **kw) -> Answer:
    return Answer("what is PCA?", "PCA projects data onto directions of largest variance [1].",
                  [Citation(1, "Level 2 › Unsupervised Learning › PCA", "curriculum/level-2/x.md")], True, 0.61,
                  answerer=answerer, **kw)


def test_an_answer_is_stored_with_its_tokens_and_sources(log):
    aid = log.record(answer("llm:openai:m", prompt_tokens=100, completion_tokens=20, latency_ms=850),
                     team_id="T1", user_id="U1", surface="mention")
    row = log.get(aid)
    assert (row.team_id, row.user_id, row.surface, row.grounded, row.answerer) == (
        "T1", "U1", "mention", True, "llm:openai:m")
    assert (row.prompt_tokens, row.completion_tokens, row.latency_ms) == (100, 20, 850)
    assert json.loads(row.citations) == [{"n": 1, "section": "Level 2 › Unsupervised Learning › PCA",
                                          "source": "curriculum/level-2/x.md"}]
    assert row.confidence == pytest.approx(0.61) and row.feedback is None


def test_the_latest_click_wins_and_replays_change_nothing(log):
    aid = log.record(answer(), team_id="T1", user_id="U1", surface="dm")
    t0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert log.record_feedback(answer_id=aid, helpful=False, clicked_at=t0)
    assert not log.record_feedback(answer_id=aid, helpful=False, clicked_at=t0)  # the same click replayed
    assert log.record_feedback(answer_id=aid, helpful=True, clicked_at=t0 + timedelta(seconds=5))
    assert not log.record_feedback(answer_id=aid, helpful=False, clicked_at=t0)  # an old click arriving late
    assert log.get(aid).feedback == 1
    assert not log.record_feedback(answer_id="nope", helpful=True)


def test_concurrent_replays_of_one_click_record_it_once(log):
    aid = log.record(answer(), team_id="T1", user_id="U1", surface="dm")
    at = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: log.record_feedback(answer_id=aid, helpful=True, clicked_at=at), range(8)))
    assert results.count(True) == 1 and log.get(aid).feedback == 1


def test_the_daily_llm_budget_counts_todays_llm_answers_of_one_member(log):
    now = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    for at, who, by in [(now, "U1", "llm:openai:m"), (now - timedelta(hours=2), "U1", "llm:openai:m"),
                        (now - timedelta(hours=16), "U1", "llm:openai:m"),  # yesterday (UTC)
                        (now, "U1", "extractive"), (now, "U2", "llm:openai:m")]:
        log.record(answer(by), team_id="T1", user_id=who, surface="dm", now=at)
    assert log.llm_answers_today(team_id="T1", user_id="U1", now=now) == 2
    assert log.llm_allowed(team_id="T1", user_id="U1", budget=3, now=now)
    assert not log.llm_allowed(team_id="T1", user_id="U1", budget=2, now=now)
    assert log.llm_answers_today(team_id="T2", user_id="U1", now=now) == 0
    assert log.llm_allowed(team_id="T1", user_id="U1", budget=2, now=now + timedelta(hours=10))  # next day


def test_the_llm_budget_follows_the_members_local_day(log):
    # 15:00 UTC is 00:30 the next day in Tokyo (UTC+9): answers at 12:00 UTC were "yesterday" there
    now = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)
    log.record(answer("llm:openai:m"), team_id="T1", user_id="U1", surface="dm", now=now - timedelta(hours=3))
    log.record(answer("llm:openai:m"), team_id="T1", user_id="U1", surface="dm", now=now - timedelta(minutes=10))
    assert log.llm_answers_today(team_id="T1", user_id="U1", now=now) == 2
    assert log.llm_answers_today(team_id="T1", user_id="U1", now=now, tz="Asia/Tokyo") == 1
    # and in Los Angeles (UTC-8) the whole UTC day so far is the same local day (07:30 local)
    assert log.llm_answers_today(team_id="T1", user_id="U1", now=now, tz="America/Los_Angeles") == 2


def test_the_old_jsonl_log_is_imported_once(log, tmp_path):
    path = tmp_path / "answers.jsonl"
    lines = [
        {"kind": "answer", "id": "a1", "at": 1764150000.0, "user": "U1", "surface": "dm", "question": "q1",
         "answer": "x [1]", "grounded": True, "confidence": 0.5, "sources": [{"n": 1, "section": "S", "source": "s"}]},
        {"kind": "feedback", "answer_id": "a1", "at": 1764150010.0, "user": "U1", "helpful": False},
        {"kind": "feedback", "answer_id": "a1", "at": 1764150020.0, "user": "U1", "helpful": True},
        {"kind": "answer", "id": "a2", "at": 1764150030.0, "user": "U2", "surface": "slash", "question": "q2",
         "answer": "no", "grounded": False, "confidence": 0.1, "sources": []},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n", encoding="utf-8")
    assert log.import_jsonl(path) == 2
    assert not path.exists() and (tmp_path / "answers.jsonl.imported").exists()
    a1 = log.get("a1")
    assert a1.feedback == 1 and a1.question == "q1" and json.loads(a1.citations)[0]["section"] == "S"
    assert log.get("a2").grounded is False
    (tmp_path / "answers.jsonl.imported").rename(path)  # imported again: nothing is counted twice
    assert log.import_jsonl(path) == 0 and len(log.recent()) == 2
