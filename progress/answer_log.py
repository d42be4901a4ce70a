"""The answer log: every answer given to a member and its 👍/👎, in the `answers` table.

Front ends (the Slack bot, the terminal chat) use this class and never write SQL. It feeds the curriculum
gaps report (👎 and refused questions), `mlpath stats`/export, and the per-member daily budget of LLM
answers (rows whose `answerer` starts with `llm:`). Column meanings are documented in progress/models.py.

The JSON-lines log of earlier versions (data/answers.jsonl) is imported once, idempotently, and renamed.

**During a database outage** questions are still answered, and their rows wait in a bounded in-memory queue
(`BACKLOG` rows per process, oldest dropped first and counted) that is written, in order, as soon as the database
answers again: by the next answer, or by a retry every `RETRY_S` seconds. What a crash or a restart loses: the
rows still waiting in that process's queue (the answers themselves were delivered). An answer that waits has no
public id yet, so it is shown without the 👍/👎 buttons.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import deque
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from knowledge.answer import Answer
from progress import repository as repo
from progress.db import Database
from progress.models import AnswerRecord
from progress.service import zone

log = logging.getLogger("mlpath.answers")


def utcnow() -> datetime:
    return datetime.now(UTC)


def start_of_day(now: datetime, tz: str = "UTC") -> datetime:
    """The start of `now`'s day in the member's time zone, as an instant: the LLM budget is per local day."""
    local = now.astimezone(zone(tz))
    return datetime.combine(local.date(), time(0, 0), tzinfo=local.tzinfo).astimezone(UTC)


BACKLOG = 1000
"""Answers one process keeps in memory while the database is down (about 2 KB each)."""
RETRY_S = 30.0
"""How often a process retries writing the waiting answers when no new answer comes to do it."""


class AnswerLog:
    def __init__(self, db: Database, *, backlog: int = BACKLOG, retry_s: float = RETRY_S) -> None:
        self.db = db
        self.retry_s = retry_s
        self._waiting: deque[dict[str, Any]] = deque()
        self._backlog = backlog
        self._lock = threading.Lock()
        self._retry: threading.Timer | None = None
        self.dropped = 0
        """Answers dropped from a full queue since the start (each logged as a warning)."""

    @property
    def waiting(self) -> int:
        """Answers not yet written because the database did not answer."""
        return len(self._waiting)

    def record(self, answer: Answer, *, team_id: str, user_id: str, surface: str,
               now: datetime | None = None) -> str | None:
        """Store one answer; returns its public id (the value of the feedback buttons), or None when the database
        does not answer: then the row waits in memory and is written once it does (see the module docstring)."""
        public_id = uuid.uuid4().hex[:16]
        row: dict[str, Any] = dict(public_id=public_id, team_id=team_id, user_id=user_id, surface=surface[:16],
                   question=answer.question, answer=answer.text, grounded=answer.grounded,
                   confidence=round(float(answer.confidence), 4),
                   citations=json.dumps([c.as_json() for c in answer.citations], ensure_ascii=False),
                   answerer=answer.answerer[:80], prompt_tokens=answer.prompt_tokens,
                   completion_tokens=answer.completion_tokens, latency_ms=answer.latency_ms,
                   created_at=now or utcnow())
        if not self._waiting or self.flush():  # usually straight to the database, no lock shared with others
            try:
                with self.db.session() as s:
                    repo.add_answer(s, **row)
                return public_id
            except SQLAlchemyError as exc:
                log.warning("answer log: the progress database is unavailable (%s); the answer waits in memory",
                            type(exc).__name__)
        with self._lock:
            self._waiting.append(row)
            while len(self._waiting) > self._backlog:
                self._waiting.popleft()
                self.dropped += 1
                log.warning("answer log: %d answers wait for the database; the oldest was dropped", self._backlog)
            self._schedule_retry()
        return None

    def flush(self) -> bool:
        """Write the waiting answers, oldest first; True when none is left waiting. When the database does not
        answer, they stay queued and a retry is scheduled."""
        with self._lock:
            while self._waiting:
                row = self._waiting[0]
                try:
                    with self.db.session() as s:
                        repo.add_answer(s, **row)
                except SQLAlchemyError as exc:
                    log.warning("answer log: the progress database is unavailable (%s); %d answers wait in "
                                "memory", type(exc).__name__, len(self._waiting))
                    self._schedule_retry()
                    return False
                self._waiting.popleft()
            return True

    def _schedule_retry(self) -> None:
        if self._retry is not None and self._retry.is_alive():
            return
        self._retry = threading.Timer(self.retry_s, self.flush)
        self._retry.daemon = True
        self._retry.name = "mlpath-answer-log-retry"
        self._retry.start()

    def record_feedback(self, *, answer_id: str, helpful: bool, clicked_at: datetime | None = None,
                        user_id: str | None = None) -> bool:
        """True when this click changed the stored verdict; a replayed or older click returns False, and so
        does a click by anyone but the asker when `user_id` (the clicking member) is given."""
        with self.db.session() as s:
            return repo.set_answer_feedback(s, public_id=answer_id, value=1 if helpful else -1,
                                            at=clicked_at or utcnow(), user_id=user_id)

    def get(self, answer_id: str) -> AnswerRecord | None:
        with self.db.session() as s:
            return repo.get_answer(s, public_id=answer_id)

    def recent(self, limit: int = 100) -> list[AnswerRecord]:
        with self.db.session() as s:
            return repo.recent_answers(s, limit=limit)

    def llm_answers_today(self, *, team_id: str, user_id: str, now: datetime | None = None,
                          tz: str = "UTC") -> int:
        with self.db.session() as s:
            return repo.count_llm_answers(s, team_id=team_id, user_id=user_id,
                                          since=start_of_day(now or utcnow(), tz))

    def llm_allowed(self, *, team_id: str, user_id: str, budget: int, now: datetime | None = None,
                    tz: str = "UTC") -> bool:
        """Whether the member may get another LLM-written answer today (their local day in `tz`). Checked
        before the call, so questions in flight at the same moment can overshoot the budget by their number."""
        return self.llm_answers_today(team_id=team_id, user_id=user_id, now=now, tz=tz) < budget

    def import_jsonl(self, path: Path, *, team_id: str = "") -> int:
        """Import the JSON-lines answer log of earlier versions (answers, then the latest 👍/👎 of each) and
        rename the file to *.imported. Idempotent: answers already in the table are skipped."""
        if not path.exists():
            return 0
        added = 0
        answers: dict[str, dict[str, Any]] = {}
        verdicts: dict[str, tuple[float, bool]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(rec, dict):
                continue
            if rec.get("kind") == "answer" and rec.get("id"):
                answers[str(rec["id"])] = rec
            elif rec.get("kind") == "feedback" and rec.get("answer_id"):
                at = float(rec.get("at") or 0)
                previous = verdicts.get(str(rec["answer_id"]))
                if previous is None or at >= previous[0]:
                    verdicts[str(rec["answer_id"])] = (at, bool(rec.get("helpful")))
        with self.db.session() as s:
            for answer_id, rec in answers.items():
                verdict = verdicts.get(answer_id)
                added += repo.add_answer(
                    s, public_id=answer_id[:32], team_id=team_id, user_id=str(rec.get("user") or "")[:32],
                    surface=str(rec.get("surface") or "")[:16], question=str(rec.get("question") or ""),
                    answer=str(rec.get("answer") or ""), grounded=bool(rec.get("grounded")),
                    confidence=float(rec.get("confidence") or 0.0),
                    citations=json.dumps(rec.get("sources") or [], ensure_ascii=False), answerer="extractive",
                    prompt_tokens=None, completion_tokens=None, latency_ms=None,
                    created_at=datetime.fromtimestamp(float(rec.get("at") or 0), UTC),
                    feedback=None if verdict is None else (1 if verdict[1] else -1),
                    feedback_at=None if verdict is None else datetime.fromtimestamp(verdict[0], UTC))
        path.rename(path.with_name(path.name + ".imported"))
        log.info("imported %d answer(s) from %s", added, path)
        return added
