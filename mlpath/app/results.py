"""What the application layer returns: plain typed results that each front end renders its own way
(bot/blocks.py as Block Kit, mlpath/terminal.py as text). Texts we write name commands as `{cmd}quiz`
(see `commands.phrase`) and may quote the member, so every renderer escapes them for its surface."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.answer import Answer
from knowledge.catalogue import Habit
from knowledge.retrieval import Hit
from progress.service import AnswerResult, LeaderRow, ProgressView, QuizPrompt


@dataclass(frozen=True)
class Notice:
    """A short message of ours: a confirmation (ok) or a one-line refusal/error (not ok)."""

    text: str
    ok: bool = True


@dataclass(frozen=True)
class HelpView:
    entries: list[tuple[str, str]]
    """(usage without prefix, summary), from the routing table."""


@dataclass(frozen=True)
class AnswerView:
    answer: Answer
    answer_id: str | None = None
    """The answer log's id (the 👍/👎 buttons carry it)."""


@dataclass(frozen=True)
class QuizView:
    prompt: QuizPrompt
    scope: str = ""


@dataclass(frozen=True)
class QuizOutcome:
    result: AnswerResult
    scope: str = ""
    promotion: str = ""
    """The promotion announcement (one wording, `promotion_text`), empty when none."""
    placement: str = ""
    """"Placement done: …" when this answer ended placement."""


@dataclass(frozen=True)
class ProgressReport:
    view: ProgressView


@dataclass(frozen=True)
class HabitsView:
    habits: list[tuple[Habit, bool]]
    note: str = ""


@dataclass(frozen=True)
class LeaderboardView:
    rows: list[LeaderRow]
    week: str


@dataclass(frozen=True)
class LevelSet:
    user_id: str
    level: int


@dataclass(frozen=True)
class SearchView:
    query: str
    hits: list[Hit] = field(default_factory=list)


@dataclass(frozen=True)
class HomeView:
    """The member's dashboard (Slack's App Home)."""

    progress: ProgressView
    habits: list[tuple[Habit, bool]]


Result = (Notice | HelpView | AnswerView | QuizView | QuizOutcome | ProgressReport | HabitsView | LeaderboardView
          | LevelSet | SearchView | HomeView)
