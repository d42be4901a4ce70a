"""The answer log across a database outage (issue 27, item 6): questions answered while PostgreSQL refuses
connections reach the `answers` table once it is back — by the retry, or by the next answer — in a bounded
in-memory queue per process (the oldest dropped and counted when it is full)."""

from __future__ import annotations

import time

import pytest

from knowledge.answer import Answer, Citation
from progress.answer_log import AnswerLog
from progress.db import Database, upgrade
from tests.progress.conftest import database_outage

pytestmark = pytest.mark.postgres


def answer(n: int) -> Answer:
    return Answer(f"question {n}?", f"answer {n} [1].", [Citation(1, "Level 1 › Maths", "curriculum/level-1/x.md")],
                  True, 0.5, answerer="extractive")


@pytest.fixture
def outage(db_url):
    """(database, switch): switch(False) makes PostgreSQL refuse this database and drops its connections."""
    if db_url.startswith("sqlite"):
        pytest.skip("an outage of a database server")
    upgrade(db_url)
    db = Database(db_url)
    with database_outage(db_url) as switch:
        yield db, switch
    db.dispose()


def questions(log: AnswerLog) -> list[str]:
    return [r.question for r in sorted(log.recent(limit=100), key=lambda r: r.created_at)]


def test_answers_given_during_an_outage_are_logged_by_the_retry_once_the_database_is_back(outage):
    db, switch = outage
    log = AnswerLog(db, retry_s=0.2)
    assert log.record(answer(0), team_id="T1", user_id="U1", surface="dm")
    switch(False)
    waiting = [log.record(answer(n), team_id="T1", user_id="U1", surface="dm") for n in (1, 2)]
    assert waiting == [None, None], "no public id yet: nothing to rate"
    assert log.waiting == 2
    switch(True)
    deadline = time.monotonic() + 60
    while log.waiting:
        assert time.monotonic() < deadline, "the retry did not write the waiting answers"
        time.sleep(0.05)
    assert questions(log) == ["question 0?", "question 1?", "question 2?"]
    assert log.dropped == 0


def test_the_next_answer_writes_the_waiting_ones_and_a_full_queue_drops_the_oldest(outage):
    db, switch = outage
    log = AnswerLog(db, backlog=3, retry_s=3600)  # no retry within the test: the next answer does it
    switch(False)
    for n in range(5):
        assert log.record(answer(n), team_id="T1", user_id="U1", surface="dm") is None
    assert (log.waiting, log.dropped) == (3, 2)
    switch(True)
    assert log.record(answer(5), team_id="T1", user_id="U1", surface="dm")
    assert log.waiting == 0
    assert questions(log) == ["question 2?", "question 3?", "question 4?", "question 5?"]


def test_a_waiting_answer_already_written_is_not_retried_forever(progress):
    """An attempt whose commit reached the database but whose reply was lost leaves the row written and queued:
    writing it again adds nothing (the insert skips a taken public id), and the answers behind it are written."""
    log = AnswerLog(progress.db, retry_s=3600)
    public_id = log.record(answer(0), team_id="T1", user_id="U1", surface="dm")
    assert public_id
    [written] = log.recent(limit=1)
    with log._lock:  # as the outage path queues a row: the same row again, then a new one
        log._waiting.append({"public_id": public_id, "team_id": "T1", "user_id": "U1", "surface": "dm",
                             "question": written.question, "answer": written.answer, "grounded": True,
                             "confidence": 0.5, "citations": "[]", "answerer": "extractive", "prompt_tokens": None,
                             "completion_tokens": None, "latency_ms": None, "created_at": written.created_at})
    assert log.record(answer(1), team_id="T1", user_id="U1", surface="dm")
    assert log.waiting == 0 and questions(log) == ["question 0?", "question 1?"]
