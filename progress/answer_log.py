"""The answer log: every answer given to a member and its 👍/👎, in the `answers` table.

Front ends (the Slack bot, the terminal chat) use this class and never write SQL. It feeds the curriculum
gaps report (👎 and refused questions), `mlpath stats`/export, and the per-member daily budget of LLM
answers (rows whose `answerer` starts with `llm:`). Column meanings are documented in progress/models.py.

The JSON-lines log of earlier versions (data/answers.jsonl) is imported once, idempotently, and renamed.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

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


class AnswerLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, answer: Answer, *, team_id: str, user_id: str, surface: str,
               now: datetime | None = None) -> str:
        """Store one answer; returns its public id (the value of the feedback buttons)."""
        public_id = uuid.uuid4().hex[:16]
        with self.db.session() as s:
            repo.add_answer(
                s, public_id=public_id, team_id=team_id, user_id=user_id, surface=surface[:16],
                question=answer.question, answer=answer.text, grounded=answer.grounded,
                confidence=round(float(answer.confidence), 4),
                citations=json.dumps([c.as_json() for c in answer.citations], ensure_ascii=False),
                answerer=answer.answerer[:80], prompt_tokens=answer.prompt_tokens,
                completion_tokens=answer.completion_tokens, latency_ms=answer.latency_ms,
                created_at=now or utcnow())
        return public_id

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
