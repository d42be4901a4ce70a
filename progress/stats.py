"""`mlpath stats`: the team at a glance and the curriculum-gaps report for maintainers.

"This week" is the last 7 days up to now. A member is active when they answered a quiz question, checked
in a habit or asked the bot a question in that time. Questions and refusals come from the answer log in
the database (the `answers` table); the top 👎 questions are those members voted down most often (grouped
case-insensitively) — where the curriculum or the answers need work.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from progress import repository as repo
from progress.db import Database

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class DownvotedQuestion:
    question: str
    downvotes: int
    refused: bool
    """True when the latest answer to it was the mentor saying the path does not cover it."""
    last_at: str


@dataclass
class Stats:
    members: int
    members_joined: int
    active_this_week: int
    questions: int
    questions_this_week: int
    refusals: int
    refusals_this_week: int
    feedback_up: int
    feedback_down: int
    top_downvoted: list[DownvotedQuestion] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def collect(db: Database, *, now: datetime | None = None, top: int = 10) -> Stats:
    now = now or datetime.now(UTC)
    since = now - WEEK
    with db.session() as s:
        active = repo.members_with_xp_since(s, since=since) | repo.askers_since(s, since=since)
        downvoted = [
            DownvotedQuestion(question=q, downvotes=n, refused=refused,
                              last_at=(at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat())
            for q, n, refused, at in repo.top_downvoted_questions(s, limit=top)
        ]
        return Stats(
            members=repo.count_members(s),
            members_joined=repo.count_members(s, active_only=True),
            active_this_week=len(active),
            questions=repo.count_answers(s),
            questions_this_week=repo.count_answers(s, since=since),
            refusals=repo.count_answers(s, refused=True),
            refusals_this_week=repo.count_answers(s, since=since, refused=True),
            feedback_up=repo.count_feedback(s, vote=1),
            feedback_down=repo.count_feedback(s, vote=-1),
            top_downvoted=downvoted,
        )


def format_stats(stats: Stats) -> str:
    def share(part: int, whole: int) -> str:
        return f" ({100 * part / whole:.0f} %)" if whole else ""

    lines = [
        f"members            {stats.members} ({stats.members_joined} joined, "
        f"{stats.members - stats.members_joined} left)",
        f"active this week   {stats.active_this_week}",
        f"questions asked    {stats.questions} ({stats.questions_this_week} this week)",
        f"refusals           {stats.refusals}{share(stats.refusals, stats.questions)} "
        f"({stats.refusals_this_week} this week)",
        f"feedback           {stats.feedback_up} 👍 / {stats.feedback_down} 👎",
        "",
    ]
    if stats.top_downvoted:
        lines.append("top 👎 questions:")
        for i, d in enumerate(stats.top_downvoted, 1):
            question = " ".join(d.question.split())
            question = question[:100] + ("…" if len(question) > 100 else "")
            lines.append(f"{i:>3}. {d.downvotes} 👎  {question}" + ("  [refused]" if d.refused else ""))
    else:
        lines.append("no 👎 yet")
    return "\n".join(lines)
