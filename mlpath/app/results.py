"""What the application layer returns: plain typed results that each front end renders its own way
(bot/blocks.py as Block Kit, mlpath/terminal.py as text). Texts we write name commands as `{cmd}quiz`
(see `commands.phrase`) and may quote the member, so every renderer escapes them for its surface."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.answer import Answer
from knowledge.catalogue import Habit, Level
from knowledge.quizzes import SectionText
from knowledge.retrieval import Hit
from progress.buddies import BuddyAnswer, BuddyOfferView
from progress.checkins import CheckinSettings
from progress.mentoring import (
    CertRow,
    ChecklistView,
    GoalsView,
    ProjectRow,
    ProjectsView,
    TeamReport,
    WeeklyPlan,
)
from progress.service import AnswerResult, CheckinResult, LeaderRow, ProgressView, QuizPrompt


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
    buddy: BuddyOfferView | None = None
    """After a topic missed on two days: an intro to a teammate who mastered it (Slack only)."""


@dataclass(frozen=True)
class CheckinView:
    """A habit check-in or its undo (`{cmd}done …`, `{cmd}undo …`, the Undo button). `text` shows the words
    that matched, so a wrong match is seen; Slack adds an Undo button to a new check-in."""

    result: CheckinResult
    text: str


@dataclass(frozen=True)
class SectionView:
    """The curriculum section behind a question ("Read the section" after a wrong answer)."""

    section: SectionText


@dataclass(frozen=True)
class ProgressReport:
    view: ProgressView
    chart: bytes | None = None
    """The member's chart as PNG, when asked for (`/progress --png FILE` in the terminal writes it to `chart_path`)."""
    chart_path: str = ""


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


# ----- mentoring -----
@dataclass(frozen=True)
class GoalsResult:
    view: GoalsView
    ideas_for: str = ""
    """A horizon: show the suggestions for it."""
    note: str = ""


@dataclass(frozen=True)
class PlanResult:
    plan: WeeklyPlan
    note: str = ""


@dataclass(frozen=True)
class ProjectsResult:
    view: ProjectsView
    note: str = ""


@dataclass(frozen=True)
class ProjectShare:
    """`project share ID`: the front end posts it to `channel` (Slack) with an "Offer a review" button."""

    row: ProjectRow
    user_id: str
    channel: str


@dataclass(frozen=True)
class ReviewOffer:
    """A teammate clicked "Offer a review": Slack DMs the author (only when `new`)."""

    author_id: str
    reviewer_id: str
    project_title: str
    new: bool


@dataclass(frozen=True)
class CertsResult:
    rows: list[CertRow]
    note: str = ""


@dataclass(frozen=True)
class ChecklistResult:
    view: ChecklistView
    note: str = ""


@dataclass(frozen=True)
class CheckinsResult:
    settings: CheckinSettings
    note: str = ""


@dataclass(frozen=True)
class TeamResult:
    report: TeamReport


@dataclass(frozen=True)
class BuddyIntro:
    """A member said yes to a buddy offer: Slack opens a group DM with both and introduces them."""

    answer: BuddyAnswer


@dataclass(frozen=True)
class MentoringHome:
    """The mentoring part of the App Home: goals, this week's plan, projects, certifications, the checklist."""

    goals: GoalsView
    plan: WeeklyPlan
    projects: ProjectsView
    certifications: list[CertRow]
    checklist: ChecklistView


@dataclass(frozen=True)
class HomeView:
    """The member's dashboard (Slack's App Home)."""

    progress: ProgressView
    habits: list[tuple[Habit, bool]]
    mentoring: MentoringHome | None = None


@dataclass(frozen=True)
class PathView:
    """The outline of the learning path, straight from the catalogue: levels → modules → topics, and tracks."""

    title: str
    levels: tuple[Level, ...]


Result = (Notice | HelpView | AnswerView | QuizView | QuizOutcome | ProgressReport | HabitsView | LeaderboardView
          | LevelSet | SearchView | HomeView | CheckinView | SectionView | GoalsResult | PlanResult | ProjectsResult
          | ProjectShare | CertsResult | ChecklistResult | CheckinsResult | TeamResult | ReviewOffer | PathView
          | BuddyIntro)
