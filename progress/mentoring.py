"""The mentoring loop of the path's "Next Steps": goals, a weekly plan, portfolio projects, certifications, the
success-metric checklists and a team report for leads.

Takes values, returns plain typed results; no Slack, no settings. Bad input raises `MentoringError` whose
message is one line a member can read, and nothing is stored. Rules (also in docs/mentoring.md):

- Weekly hours: 1-60 (`plan hours N`). The default is the low end of the path's habit budgets as hours per
  week (30 min/day + 3 h/week + 8 h/month ≈ 8 h), read from the catalogue.
- Pace: the path's level durations assume that default; a member giving H hours a week stretches (or
  compresses) them by default/H. Level start is estimated from the member's own answers: their first quiz
  answer at their current level, else their last answer below it (the promotion), else when they joined.
  Done topics are the level's topics mastered in quizzes or marked done. With E months elapsed and the level
  taking L-H months at their pace, the path expects E/H to E/L of the topics done: fewer is *behind*, more
  is *ahead* (by more than one topic either way), in between is *on track*; the first four weeks on a
  level always count as on track.
- This week's focus: topics not done, in path order, weighted toward topics the member keeps missing (wrong
  quiz answers on a topic not yet mastered, at their level or below): up to half the slots go to the most
  missed topics. The number of topics is the level's topic count over its duration at the member's pace,
  at least 2 (so a missed topic never stops the path from moving on), at most 5.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from errors import UserError
from ingest.readers import parse_markdown
from knowledge import content_dir
from knowledge.catalogue import (
    HORIZONS,
    Catalogue,
    Certification,
    Checklist,
    ChecklistItem,
    Habit,
    PortfolioProject,
    Topic,
)
from progress import repository as repo
from progress.charts import MemberChart
from progress.models import Member
from progress.service import MemberRef, Progress, _aware, local_date, period_of, utcnow, zone

MAX_GOAL_CHARS = 500
MAX_EVIDENCE_CHARS = 1000
MAX_URL_CHARS = 500
MIN_HOURS, MAX_HOURS = 1, 60
INACTIVE_DAYS = 14
DAYS_PER_MONTH = 30.44
MIN_TOPICS, MAX_TOPICS = 2, 5
JUST_STARTED = timedelta(days=28)


class MentoringError(UserError):
    """Bad input: the message is one line for the member; nothing was stored."""


def clean_text(text: str) -> str:
    """Member text as stored: control characters (NUL breaks PostgreSQL) and lone surrogates removed."""
    text = text.encode("utf-8", "ignore").decode("utf-8") if text else ""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text).strip()


def check_url(text: str) -> str:
    """An http(s) link as typed (Slack wraps links in <…>, maybe with |label); raises MentoringError."""
    url = text.strip().strip("<>").split("|", 1)[0].strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or re.search(r"\s", url):
        raise MentoringError(f"“{url[:80]}” is not a web link: give an http:// or https:// URL")
    if len(url) > MAX_URL_CHARS:
        raise MentoringError(f"that link is {len(url)} characters long; the limit is {MAX_URL_CHARS}")
    return url


def parse_hours(value: str | int) -> int:
    text = str(value).strip()
    if not re.fullmatch(r"\d{1,3}", text) or not MIN_HOURS <= int(text) <= MAX_HOURS:
        raise MentoringError(f"weekly hours must be a whole number from {MIN_HOURS} to {MAX_HOURS}, "
                             f"not “{text[:20]}”")
    return int(text)


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise MentoringError(f"“{value.strip()[:20]}” is not a date such as 2027-03-15") from None


# ----- results -----
@dataclass(frozen=True)
class GoalRow:
    horizon: str
    text: str | None
    set_at: datetime | None = None


@dataclass(frozen=True)
class GoalsView:
    level: int
    track: str | None
    goals: list[GoalRow]
    suggestions: dict[str, list[str]]
    """Per horizon, the catalogue's suggestions for the member's level and track."""


@dataclass(frozen=True)
class PlanTopic:
    topic_id: str
    title: str
    level: int
    section: str
    """Where to read: "Level 1 › SQL and Databases › Window functions"."""
    source: str
    """The content file, relative to knowledge/content (e.g. level-1/sql-and-databases.md)."""
    exercise: str
    misses: int = 0
    """Wrong quiz answers on the topic (why it is in the plan when > 0)."""


@dataclass(frozen=True)
class Pace:
    status: str
    """"on track", "ahead" or "behind"."""
    level: int
    level_name: str
    started: datetime
    started_how: str
    weeks: int
    done: int
    total: int
    months: tuple[float, float]
    """The level's duration at the member's hours."""
    expected: tuple[float, float]
    """The share of topics the path expects done by now (slowest, fastest pace)."""

    def explain(self) -> str:
        low, high = self.months
        return (f"Level {self.level} since {self.started:%d %b %Y} ({self.started_how}), {self.weeks} weeks. "
                f"At your hours the level takes {low:.0f}-{high:.0f} months, so by now the path expects "
                f"{self.expected[0]:.0%}-{self.expected[1]:.0%} of its {self.total} topics done; you have "
                f"{self.done} ({self.done / self.total if self.total else 0:.0%}) mastered in quizzes or "
                f"marked done.")


@dataclass(frozen=True)
class CertRow:
    cert: Certification
    status: str
    """"", "planned" or "passed"."""
    on_date: date | None = None
    fits_now: bool = False
    """The member has reached the level after which the path places it."""


@dataclass(frozen=True)
class WeeklyPlan:
    week: str
    hours: int
    default_hours: int
    hours_set: bool
    pace_note: str | None
    """Said when the member's hours stretch or compress the path's durations."""
    topics: list[PlanTopic]
    habits: list[tuple[Habit, bool]]
    """One habit of each cadence not done in its current period (or the first, all done), done?"""
    due_reviews: int
    pace: Pace
    certifications: list[CertRow]
    goals: list[GoalRow]
    track_missing: bool = False


@dataclass(frozen=True)
class ProjectRow:
    project: PortfolioProject
    status: str
    """"", "started" or "done"."""
    url: str | None = None
    started_at: datetime | None = None
    done_at: datetime | None = None


@dataclass(frozen=True)
class ProjectsView:
    rows: list[ProjectRow]
    suggested: PortfolioProject | None
    reason: str


@dataclass(frozen=True)
class ChecklistView:
    checklists: list[tuple[Checklist, list[tuple[ChecklistItem, str | None]]]]
    """Each checklist with its items and the evidence given (None: not ticked)."""

    @property
    def ticked(self) -> int:
        return sum(evidence is not None for _, items in self.checklists for _, evidence in items)

    @property
    def total(self) -> int:
        return sum(len(items) for _, items in self.checklists)


@dataclass(frozen=True)
class TeamMemberRow:
    user_id: str | None
    """None for members who opted out of the leaderboard: they are counted, never named."""
    name: str | None
    level: int
    track: str | None
    pace: str
    inactive_days: int
    projects: dict[str, str]
    certifications: dict[str, str]


@dataclass(frozen=True)
class TeamReport:
    team_id: str
    members: list[TeamMemberRow]
    by_level: dict[str, int]
    """"1", "2", "3", "4" or "4/B" (level and track) → members."""
    projects: dict[str, dict[str, int]]
    """project id → {"started": n, "done": m}."""
    certifications: dict[str, dict[str, int]]
    """certification id → {"planned": n, "passed": m}."""
    generated_at: datetime
    buddies: int = 0
    """Members who offer help (`buddy on`, progress/buddies.py)…"""
    buddy_offers: int = 0
    """…intros offered in the last 30 days, and how many were accepted."""
    buddy_intros: int = 0

    @property
    def behind(self) -> list[TeamMemberRow]:
        return [m for m in self.members if m.pace == "behind"]

    @property
    def inactive(self) -> list[TeamMemberRow]:
        return [m for m in self.members if m.inactive_days >= INACTIVE_DAYS]

    def to_json(self) -> dict[str, object]:
        def who(m: TeamMemberRow) -> dict[str, object]:
            return {"user_id": m.user_id, "name": m.name, "level": m.level, "track": m.track}

        return {
            "team_id": self.team_id, "generated_at": self.generated_at.isoformat(), "members": len(self.members),
            "opted_out": sum(m.user_id is None for m in self.members), "by_level": self.by_level,
            "behind_plan": [who(m) for m in self.behind],
            "inactive_14_days": [{**who(m), "days": m.inactive_days} for m in self.inactive],
            "projects": self.projects, "certifications": self.certifications,
            "buddies": {"offer_help": self.buddies, "offers_30_days": self.buddy_offers,
                        "accepted_30_days": self.buddy_intros},
        }


# ----- content: where to read and what to do for a topic -----
@dataclass(frozen=True)
class _Guide:
    section: str
    source: str
    exercise: str


_EXERCISE = re.compile(r"\*\*(How to practise|What you do)\.\*\*\s*(.+?)(?:\n\s*\n|\Z)", re.DOTALL)


@lru_cache(maxsize=4)
def _guides(root: Path) -> dict[str, dict[str, _Guide]]:
    """module id → topic title → the topic's section, file and exercise (its "How to practise" paragraph,
    or "What you do" in project chapters), read from the bundled content."""
    out: dict[str, dict[str, _Guide]] = {}
    for path in sorted(root.rglob("*.md")):
        doc = parse_markdown(path.read_text(encoding="utf-8"), fallback_title=path.stem)
        module = str(doc.front_matter.get("module") or "")
        for section in doc.sections:
            if len(section.headings) < 2:
                continue
            found = {m.group(1): m.group(2) for m in _EXERCISE.finditer(section.text)}
            text = " ".join((found.get("How to practise") or found.get("What you do") or "").split())
            out.setdefault(module, {})[section.headings[1]] = _Guide(
                " › ".join(section.headings[:2]), str(path.relative_to(root)), _sentences(text, 400))
    return out


def _sentences(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = cut.rfind(". ")
    return cut[:end + 1] if end > 0 else cut.rstrip() + "…"


def default_hours(cat: Catalogue) -> int:
    """The low end of the path's habit budgets as hours per week (30 min/day, 3 h/week, 8 h/month ≈ 8)."""
    per_week = {"min/day": 7 / 60, "hours/day": 7, "min/week": 1 / 60, "hours/week": 1, "hours/month": 12 / 52}
    total = 0.0
    for group in cat.habits.values():
        if group.budget.unit not in per_week:
            raise ValueError(f"habit budget unit {group.budget.unit!r} is not one of {sorted(per_week)}")
        total += group.budget.low * per_week[group.budget.unit]
    return max(MIN_HOURS, round(total))


class Mentoring:
    def __init__(self, progress: Progress, *, content: Path | None = None) -> None:
        self.progress = progress
        self.db = progress.db
        self.cat = progress.cat
        self.content = content or content_dir()
        self.default_hours = default_hours(self.cat)

    # ----- goals -----
    def goals(self, ref: MemberRef, *, now: datetime | None = None) -> GoalsView:
        member = self.progress.member(ref, now=now)
        with self.db.session() as s:
            rows = {g.horizon: g for g in repo.goals(s, member_id=member.id)}
        goals = [GoalRow(h, rows[h].text if h in rows else None, rows[h].set_at if h in rows else None)
                 for h in HORIZONS]
        suggestions: dict[str, list[str]] = {h: self.cat.suggested_goals(member.level, member.track, h)
                                             for h in HORIZONS}
        return GoalsView(member.level, member.track, goals, suggestions)

    def set_goal(self, ref: MemberRef, horizon: str, text: str, *, now: datetime | None = None) -> GoalsView:
        horizon = horizon.strip().lower()
        if horizon not in HORIZONS:
            raise MentoringError(f"“{horizon[:20]}” is not a goal horizon: use 3m, 6m or 12m")
        text = clean_text(text)
        if not text:
            raise MentoringError("write the goal after the horizon, e.g. goal 3m finish the Level 2 fraud project")
        if len(text) > MAX_GOAL_CHARS:
            raise MentoringError(f"that goal is {len(text):,} characters long; keep it under {MAX_GOAL_CHARS}")
        now = now or utcnow()
        member = self.progress.member(ref, now=now)
        with self.db.session() as s:
            repo.set_goal(s, member_id=member.id, horizon=horizon, text=text, now=now)
        return self.goals(ref, now=now)

    # ----- the weekly plan -----
    def set_hours(self, ref: MemberRef, hours: str | int, *, now: datetime | None = None) -> int:
        value = parse_hours(hours)
        now = now or utcnow()
        member = self.progress.member(ref, now=now)
        with self.db.session() as s:
            repo.save_profile(s, member_id=member.id, now=now, plan_hours=value)
        return value

    def mark_topic_done(self, ref: MemberRef, topic_id: str, *, now: datetime | None = None) -> tuple[Topic, bool]:
        """(the topic, True when newly marked). Raises MentoringError for an unknown topic id."""
        key = topic_id.strip().lower()
        try:
            topic = self.cat.topic(key)
        except KeyError:
            raise MentoringError(f"there is no topic “{key[:60]}” (the plan shows topic ids)") from None
        now = now or utcnow()
        member = self.progress.member(ref, now=now)
        with self.db.session() as s:
            return topic, repo.mark_topic_done(s, member_id=member.id, topic_id=topic.id, now=now)

    def _level_topics(self, member: Member) -> list[tuple[int, Topic]]:
        """The member's current level's topics in path order (their track's at the last level, once chosen)."""
        level = self.cat.level(member.level)
        topics = [t for m in level.modules for t in m.topics]
        for track in level.tracks:
            if member.track is None or track.id == member.track:
                topics.extend(track.topics)
        return [(level.number, t) for t in topics]

    def _pace(self, s, member: Member, done: set[str], hours: int, now: datetime) -> Pace:  # type: ignore[no-untyped-def]
        started, how = self._level_start(s, member)
        level = self.cat.level(member.level)
        scale = self.default_hours / hours
        low, high = (m * scale for m in level.duration_months)
        topics = [t.id for _, t in self._level_topics(member)]
        n_done = sum(t in done for t in topics)
        elapsed = max(0.0, (now - started).days / DAYS_PER_MONTH)
        expected = (min(1.0, elapsed / high), min(1.0, elapsed / low))
        share = n_done / len(topics) if topics else 1.0
        slack = 1 / len(topics) if topics else 0.0  # one topic either way is noise, not a verdict
        if now - started < JUST_STARTED or expected[0] - slack <= share <= expected[1] + slack:
            status = "on track"
        else:
            status = "behind" if share < expected[0] else "ahead"
        return Pace(status, level.number, level.name, started, how, max(0, (now - started).days // 7), n_done,
                    len(topics), (low, high), expected)

    def _level_start(self, s, member: Member) -> tuple[datetime, str]:  # type: ignore[no-untyped-def]
        bank = self.progress.bank
        answers = [(bank[q].level, _aware(at)) for q, at in repo.answer_times_by_question(s, member_id=member.id)
                   if q in bank]
        at_level = [at for lvl, at in answers if lvl == member.level]
        if at_level:
            return at_level[0], f"your first Level {member.level} quiz answer"
        below = [at for lvl, at in answers if lvl < member.level]
        if below:
            return below[-1], f"your last answer before Level {member.level}"
        return _aware(member.joined_at), "when you joined"

    def _done_topics(self, member: Member, now: datetime) -> set[str]:
        """Mastered in quizzes or marked done (opens its own sessions: never call inside one, SQLite would
        wait on itself)."""
        mastered = self.progress.mastered_topics(member, now)
        with self.db.session() as s:
            return mastered | repo.topics_done(s, member_id=member.id)

    def _hours(self, s, member: Member) -> tuple[int, bool]:  # type: ignore[no-untyped-def]
        profile = repo.get_profile(s, member_id=member.id)
        if profile is not None and profile.plan_hours:
            return profile.plan_hours, True
        return self.default_hours, False

    def member_chart(self, ref: MemberRef, *, now: datetime | None = None) -> MemberChart:
        """The member's chart data: topics first mastered per level over time (progress.Progress.mastery_dates)
        and the plan's pace on the current level (the middle of its duration at the member's hours)."""
        now = now or utcnow()
        member = self.progress.member(ref, now=now)
        dates = self.progress.mastery_dates(ref, now=now)
        levels = {t.id: lvl.number for lvl, t in self.cat.all_topics()}
        per_level: dict[int, list[date]] = {}
        for topic, day in dates.items():
            per_level.setdefault(levels.get(topic, 1), []).append(day)
        done = self._done_topics(member, now)
        with self.db.session() as s:
            hours, _ = self._hours(s, member)
            pace = self._pace(s, member, done, hours, now)
        today = local_date(member, now)
        started = pace.started.astimezone(zone(member.tz)).date()
        joined = _aware(member.joined_at).astimezone(zone(member.tz)).date()
        return MemberChart(today, min(joined, started), per_level, member.level, pace.total, started,
                           (pace.months[0] + pace.months[1]) / 2)

    def weekly_plan(self, ref: MemberRef, *, now: datetime | None = None, day: date | None = None) -> WeeklyPlan:
        """The plan of the member's current local week (or of the week of `day`, for the check-in)."""
        now = now or utcnow()
        member = self.progress.member(ref, now=now)
        day = day or local_date(member, now)
        done = self._done_topics(member, now)
        with self.db.session() as s:
            hours, hours_set = self._hours(s, member)
            pace = self._pace(s, member, done, hours, now)
            question_topics = {q.id: q.topic for q in self.progress.bank.values()}
            misses = repo.topic_misses(s, member_id=member.id, question_topics=question_topics)
            eligible = {q.id for q in self.progress.eligible(member)}
            due_reviews = repo.due_count(s, member_id=member.id, now=now, question_ids=eligible)
            habits = self.cat.habit_list()
            checked = repo.checked_in(s, member_id=member.id, periods={period_of(h.cadence, day) for h in habits})
            certs = [r for r in self._cert_rows(s, member) if r.status == "planned"]
            goals = {g.horizon: g for g in repo.goals(s, member_id=member.id)}
        topics = self._focus(member, done, misses, pace)
        week = period_of("weekly", day)
        habit_rows = []
        for cadence in ("daily", "weekly", "monthly"):
            group = self.cat.habit_list(cadence)  # type: ignore[arg-type]
            if not group:
                continue
            start = (day.toordinal() // 7 + member.id) % len(group)
            rotated = group[start:] + group[:start]
            pick = next((h for h in rotated if (h.id, period_of(cadence, day)) not in checked), rotated[0])
            habit_rows.append((pick, (pick.id, period_of(cadence, day)) in checked))
        note = None
        if hours != self.default_hours:
            level = self.cat.level(member.level)
            verb = "stretch" if hours < self.default_hours else "shorten"
            note = (f"At {hours} h/week instead of the path's {self.default_hours} h/week, the durations {verb} by "
                    f"{self.default_hours / hours:.1f}×: Level {level.number} takes about "
                    f"{pace.months[0]:.0f}-{pace.months[1]:.0f} months instead of {level.duration}.")
        goal_rows = [GoalRow(h, goals[h].text, goals[h].set_at) for h in HORIZONS if h in goals]
        return WeeklyPlan(week, hours, self.default_hours, hours_set, note, topics, habit_rows, due_reviews, pace,
                          certs, goal_rows, track_missing=member.level == 4 and member.track is None)

    def _focus(self, member: Member, done: set[str], misses: dict[str, int], pace: Pace) -> list[PlanTopic]:
        level_topics = self._level_topics(member)
        weeks = (pace.months[0] + pace.months[1]) / 2 * DAYS_PER_MONTH / 7
        count = min(MAX_TOPICS, max(MIN_TOPICS, math.ceil(len(level_topics) / weeks))) if weeks else MIN_TOPICS
        ahead = [(lvl, t) for lvl, t in level_topics if t.id not in done]
        # missed topics of this level or below, not mastered/marked: the ones the member keeps missing
        current = {t.id for _, t in level_topics}
        missed = sorted(((misses[t.id], lvl, t) for lvl, t in self.cat.all_topics()
                         if lvl.number <= member.level and misses.get(t.id) and t.id not in done
                         and (lvl.number < member.level or t.id in current)),
                        key=lambda x: (-x[0], x[1].number))
        chosen: list[tuple[int, Topic]] = [(lvl.number, t) for _, lvl, t in missed[:math.ceil(count / 2)]]
        for item in ahead:
            if len(chosen) >= count:
                break
            if item[1].id not in {t.id for _, t in chosen}:
                chosen.append(item)
        return [self._plan_topic(lvl, t, misses.get(t.id, 0)) for lvl, t in chosen]

    def _plan_topic(self, level: int, topic: Topic, misses: int) -> PlanTopic:
        module_id, module_title = self.cat.topic_module(topic.id)
        guide = _guides(self.content).get(module_id, {}).get(topic.title)
        section = f"Level {level} › {guide.section if guide else f'{module_title} › {topic.title}'}"
        return PlanTopic(topic.id, topic.title, level, section, guide.source if guide else "",
                         guide.exercise if guide else "", misses)

    # ----- projects -----
    def projects(self, ref: MemberRef, *, now: datetime | None = None) -> ProjectsView:
        member = self.progress.member(ref, now=now)
        with self.db.session() as s:
            rows = {r.project_id: r for r in repo.project_rows(s, member_ids=[member.id])}
        out = [ProjectRow(p, rows[p.id].status, rows[p.id].url, rows[p.id].started_at, rows[p.id].done_at)
               if p.id in rows else ProjectRow(p, "") for p in self.cat.portfolio_projects]
        suggested, reason = self._suggest_project(member, out)
        return ProjectsView(out, suggested, reason)

    def _suggest_project(self, member: Member, rows: list[ProjectRow]) -> tuple[PortfolioProject | None, str]:
        started = [r.project for r in rows if r.status == "started"]
        if started:
            return started[0], "you started it: finish it before starting another"
        open_ = [r.project for r in rows if r.status == ""]
        if not open_:
            return None, "you have done all the path's portfolio projects"

        def order(p: PortfolioProject) -> tuple[bool, bool, int]:
            off_track = member.track is not None and p.tracks != () and member.track not in p.tracks
            return p.from_level > member.level, off_track, p.from_level

        best = min(open_, key=order)
        if best.from_level > member.level:
            return best, f"the path's first project for when you reach Level {best.from_level}"
        if member.track and member.track in best.tracks:
            return best, f"it fits Level {member.level} and your track {member.track}"
        return best, f"it fits Level {member.level}"

    def _project(self, project_id: str) -> PortfolioProject:
        key = project_id.strip().lower()
        try:
            return self.cat.project(key)
        except KeyError:
            ids = ", ".join(p.id for p in self.cat.portfolio_projects)
            raise MentoringError(f"there is no project “{key[:60]}”; the projects are {ids}") from None

    def update_project(self, ref: MemberRef, action: str, project_id: str, url: str | None = None, *,
                       now: datetime | None = None) -> ProjectRow:
        if action not in ("start", "done"):
            raise MentoringError(f"“{action[:20]}”: use project start ID [URL] or project done ID [URL]")
        project = self._project(project_id)
        link = check_url(url) if url and url.strip() else None
        now = now or utcnow()
        member = self.progress.member(ref, now=now)
        with self.db.session() as s:
            repo.save_project(s, member_id=member.id, project_id=project.id,
                              status="started" if action == "start" else "done", url=link, now=now)
            row = next(r for r in repo.project_rows(s, member_ids=[member.id]) if r.project_id == project.id)
            return ProjectRow(project, row.status, row.url, row.started_at, row.done_at)

    def project_for_share(self, ref: MemberRef, project_id: str, *, now: datetime | None = None) -> ProjectRow:
        """The member's project to post for feedback; raises MentoringError when it is not started."""
        project = self._project(project_id)
        view = self.projects(ref, now=now)
        row = next(r for r in view.rows if r.project.id == project.id)
        if not row.status:
            raise MentoringError(f"start the project first: project start {project.id} URL")
        return row

    def offer_review(self, ref: MemberRef, author_user_id: str, project_id: str, *,
                     now: datetime | None = None) -> tuple[PortfolioProject, bool]:
        """A teammate offers to review a shared project: (the project, True the first time this reviewer offers
        it to this author — a second click or a replay sends nothing again)."""
        project = self._project(project_id)
        if author_user_id == ref.user_id:
            raise MentoringError("that is your own project; a teammate's review is the point")
        now = now or utcnow()
        key = f"{ref.team_id}:{author_user_id}:{project.id}:{ref.user_id}"[:160]
        with self.db.session() as s:
            new = repo.insert_claim(s, kind="review", key=key, owner=ref.user_id[:64], now=now) is not None
        return project, new

    # ----- certifications -----
    def _cert_rows(self, s, member: Member) -> list[CertRow]:  # type: ignore[no-untyped-def]
        rows = {r.cert_id: r for r in repo.cert_rows(s, member_ids=[member.id])}
        return [CertRow(c, rows[c.id].status if c.id in rows else "", rows[c.id].on_date if c.id in rows else None,
                        member.level >= c.fits_after_level) for c in self.cat.certifications]

    def certifications(self, ref: MemberRef, *, now: datetime | None = None) -> list[CertRow]:
        member = self.progress.member(ref, now=now)
        with self.db.session() as s:
            return self._cert_rows(s, member)

    def update_certification(self, ref: MemberRef, action: str, cert_id: str, when: str | None = None, *,
                             now: datetime | None = None) -> CertRow:
        if action not in ("plan", "passed"):
            raise MentoringError(f"“{action[:20]}”: use cert plan ID [DATE] or cert passed ID [DATE]")
        key = cert_id.strip().lower()
        try:
            cert = self.cat.certification(key)
        except KeyError:
            ids = ", ".join(c.id for c in self.cat.certifications)
            raise MentoringError(f"there is no certification “{key[:60]}”; they are {ids}") from None
        now = now or utcnow()
        member = self.progress.member(ref, now=now)
        today = local_date(member, now)
        on = parse_day(when) if when and when.strip() else (today if action == "passed" else None)
        if action == "passed" and on is not None and on > today:
            raise MentoringError(f"{on.isoformat()} is in the future: give the date you passed")
        if action == "plan" and on is not None and on < today:
            raise MentoringError(f"{on.isoformat()} is in the past: give the date you plan to take the exam")
        with self.db.session() as s:
            repo.save_cert(s, member_id=member.id, cert_id=cert.id, status="planned" if action == "plan" else "passed",
                           on_date=on, now=now)
            return next(r for r in self._cert_rows(s, member) if r.cert.id == cert.id)

    # ----- success metrics -----
    def checklist(self, ref: MemberRef, *, now: datetime | None = None) -> ChecklistView:
        member = self.progress.member(ref, now=now)
        with self.db.session() as s:
            ticks = {t.item_id: t.evidence for t in repo.checklist_ticks(s, member_id=member.id)}
        return ChecklistView([(c, [(i, ticks.get(i.id)) for i in c.items]) for c in self.cat.success_metrics])

    def tick(self, ref: MemberRef, item_id: str, evidence: str = "", *,
             now: datetime | None = None) -> tuple[ChecklistItem, str]:
        key = item_id.strip().lower()
        try:
            _, item = self.cat.checklist_item(key)
        except KeyError:
            raise MentoringError(f"there is no checklist item “{key[:60]}” (checklist shows the ids)") from None
        text = clean_text(evidence)
        if len(text) > MAX_EVIDENCE_CHARS:
            raise MentoringError(f"that evidence is {len(text):,} characters long; keep it under "
                                 f"{MAX_EVIDENCE_CHARS} (a link or a sentence)")
        if re.match(r"<?[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
            text = check_url(text)
        now = now or utcnow()
        member = self.progress.member(ref, now=now)
        with self.db.session() as s:
            repo.tick_item(s, member_id=member.id, item_id=item.id, evidence=text, now=now)
        return item, text

    # ----- the team view -----
    def team_report(self, team_id: str, *, now: datetime | None = None) -> TeamReport:
        now = now or utcnow()
        with self.db.session() as s:
            members = sorted(repo.team_members(s, team_id=team_id), key=lambda m: m.id)
        done = {m.id: self._done_topics(m, now) for m in members}
        with self.db.session() as s:
            ids = [m.id for m in members]
            last = repo.last_activity(s, team_id=team_id)
            projects = repo.project_rows(s, member_ids=ids)
            certs = repo.cert_rows(s, member_ids=ids)
            rows: list[TeamMemberRow] = []
            for m in members:
                hours, _ = self._hours(s, m)
                pace = self._pace(s, m, done[m.id], hours, now)
                seen = _aware(last.get(m.id) or m.joined_at)
                hidden = m.leaderboard_opt_out
                rows.append(TeamMemberRow(
                    None if hidden else m.user_id, None if hidden else (m.display_name or m.user_id), m.level,
                    m.track, pace.status, max(0, (now - seen).days),
                    {p.project_id: p.status for p in projects if p.member_id == m.id},
                    {c.cert_id: c.status for c in certs if c.member_id == m.id}))
        by_level: dict[str, int] = {}
        for r in rows:
            key = f"{r.level}/{r.track}" if r.track else str(r.level)
            by_level[key] = by_level.get(key, 0) + 1
        project_counts = {p.id: {"started": 0, "done": 0} for p in self.cat.portfolio_projects}
        for p in projects:
            if p.project_id in project_counts:
                project_counts[p.project_id][p.status] += 1
        cert_counts = {c.id: {"planned": 0, "passed": 0} for c in self.cat.certifications}
        for c in certs:
            if c.cert_id in cert_counts:
                cert_counts[c.cert_id][c.status] += 1
        with self.db.session() as s:
            helpers, offers, accepted = repo.buddy_counts(s, team_id=team_id, since=now - timedelta(days=30))
        return TeamReport(team_id, rows, dict(sorted(by_level.items())), project_counts, cert_counts, now,
                          helpers, offers, accepted)


__all__ = ["CertRow", "ChecklistView", "GoalRow", "GoalsView", "Mentoring", "MentoringError", "Pace", "PlanTopic",
           "ProjectRow", "ProjectsView", "TeamMemberRow", "TeamReport", "WeeklyPlan", "check_url", "clean_text",
           "default_hours"]
