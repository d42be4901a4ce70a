"""The answer log: every answer the bot gave and every 👍/👎 on it, as JSON lines under data/.

It feeds the "curriculum gaps" report (which questions got 👎, which were refused). Append-only and
written under a lock, so concurrent answers in one process never interleave lines. A later issue moves
this into the progress database; the record format (answer id, question, answer, sources) stays.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.answer import Answer


@dataclass(frozen=True)
class FeedbackRecord:
    answer_id: str
    user: str
    helpful: bool


class AnswerLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    def record_answer(self, answer: Answer, *, user: str, surface: str) -> str:
        answer_id = uuid.uuid4().hex[:16]
        self._append({
            "kind": "answer", "id": answer_id, "at": time.time(), "user": user, "surface": surface,
            "question": answer.question, "answer": answer.text, "grounded": answer.grounded,
            "confidence": round(answer.confidence, 4),
            "sources": [c.as_json() for c in answer.citations],
        })
        return answer_id

    def record_feedback(self, *, answer_id: str, user: str, helpful: bool) -> None:
        self._append({"kind": "feedback", "answer_id": answer_id, "at": time.time(), "user": user,
                      "helpful": helpful})

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self._lock:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def feedback(self) -> dict[tuple[str, str], bool]:
        """(answer id, user) → latest verdict: a second click changes the vote, it never counts twice."""
        out: dict[tuple[str, str], bool] = {}
        for rec in self.records():
            if rec.get("kind") == "feedback":
                out[(rec["answer_id"], rec["user"])] = bool(rec["helpful"])
        return out
