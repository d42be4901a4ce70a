"""The application layer: everything a member can do, once, for Slack and the terminal alike.

Front ends turn what the member did into a call here (a typed command from `commands.parse`, a question, a
button) and render the typed result (`results`). The rules that used to live in each front end live here:
the question rate limit, the member's daily LLM budget and level, the history window, the answer log, the
quiz loop with its promotion wording, habits, reminders, tracks and the admin commands. No Slack, no settings:
the composition roots (mlpath/cli.py, bot/app.py) build it from values.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from knowledge.answer import EmptyQuestion, TextSink, Turn
from knowledge.catalogue import catalogue
from knowledge.mentor import Mentor
from knowledge.quizzes import section_texts
from mlpath import metrics
from mlpath.app import commands as c
from mlpath.app.asked import asked_topic
from mlpath.app.limits import RateLimiter
from mlpath.app.observe import observe_answer
from mlpath.app.results import (
    AnswerView,
    BuddyIntro,
    CertsResult,
    CheckinsResult,
    CheckinView,
    ChecklistResult,
    GoalsResult,
    HabitsView,
    HelpView,
    HomeView,
    LeaderboardView,
    LevelSet,
    MentoringHome,
    Notice,
    PathView,
    PlanResult,
    ProgressReport,
    ProjectShare,
    ProjectsResult,
    QuizOutcome,
    QuizView,
    Result,
    ReviewOffer,
    SearchView,
    SectionView,
    TeamResult,
)
from progress.answer_log import AnswerLog
from progress.buddies import Buddies
from progress.charts import render_member
from progress.checkins import checkin_settings, set_checkins
from progress.mentoring import Mentoring, MentoringError
from progress.models import TERMINAL_TEAM_ID
from progress.service import (
    CheckinResult,
    MemberRef,
    Progress,
    QuizBlocked,
    UnknownMember,
    local_date,
    resolve_scope,
    unlocks,
    utcnow,
)

log = logging.getLogger("mlpath.app")

HISTORY_TURNS = 8
"""Earlier turns of a conversation (Slack thread, Assistant panel, terminal) given with a question."""
EMPTY_QUESTION = "Ask me anything about the learning path, e.g. “what does SMOTE actually do?”"
QUIZ_REPLIES = {
    "duplicate": "You already answered this one — your first answer counts. `{cmd}quiz` for another.",
    "not_yours": "This question was sent to someone else; `{cmd}quiz` gets you your own.",
    "unknown": "This question is no longer available; `{cmd}quiz` gets you a new one.",
}
DATABASE_DOWN = "I can't reach my database right now — please try again in a minute."
KNOWLEDGE_DOWN = "I can't reach the learning path's knowledge base right now — please try again in a minute."
SOMETHING_WRONG = "Sorry — something went wrong on my side. It's logged; please try again."
TERMINAL_SURFACES = frozenset({"terminal", "cli"})
"""Surfaces of the person at the terminal (`mlpath chat`, `mlpath ask`): commands are written `/quiz`."""
TERMINAL_TEAM = TERMINAL_TEAM_ID
"""The team of the terminal member (`mlpath chat`): never a Slack workspace, never a target of Slack delivery
(the repository's scheduling queries leave it out; progress.models defines it)."""


def path_view(level: int | None = None) -> PathView:
    """The learning path's outline (one level, or all) from the catalogue; `mlpath path` shows the same."""
    cat = catalogue()
    return PathView(cat.title, tuple(lvl for lvl in cat.levels if level is None or lvl.number == level))


@dataclass(frozen=True)
class AppConfig:
    question_rate_limit: int = 30
    """Questions per member in any sliding hour."""
    llm_daily_budget: int = 50
    """LLM-written answers per member per local day (0: extractive only)."""
    admins: frozenset[str] = frozenset()
    """Slack user ids allowed the admin commands."""
    history_turns: int = HISTORY_TURNS
    team_channel: str = ""
    """Where `project share ID` posts for feedback (TEAM_CHANNEL); "" = not configured."""


@dataclass(frozen=True)
class Who:
    """The member acting, where: `surface` is the answer log's ("dm", "mention", "thread", "assistant", "slash",
    "home"; "terminal" for `mlpath chat`, "cli" for `mlpath ask`)."""

    member: MemberRef
    surface: str

    @property
    def front(self) -> str:
        return c.TERMINAL if self.surface in TERMINAL_SURFACES else c.SLACK


def promotion_text(level: int) -> str:
    """The one wording of a promotion, naming what unlocks (from the catalogue)."""
    name, opened, is_track_choice = unlocks(level)
    listed = ", ".join(opened)
    what = (f"; pick your specialization with `{{cmd}}track A-E`: {listed}" if is_track_choice
            else f". Unlocked: {listed}")
    return f"🎉 You reached *Level {level}: {name}*{what}."


def replies_during_outages(method: Callable[..., Result]) -> Callable[..., Result]:
    """A member always gets a reply: when the progress database does not answer, a short "try again in a
    minute" (the request is not half-done: each progress operation is one transaction); on a bug, a short
    apology. The log line names the error type only — an exception's message can quote what the member typed,
    which stays out of logs above DEBUG (the traceback is at DEBUG)."""

    @functools.wraps(method)
    def run(self: Application, *args: object, **kwargs: object) -> Result:
        try:
            return method(self, *args, **kwargs)
        except SQLAlchemyError as exc:
            log.warning("%s: the progress database is unavailable (%s)", method.__name__, type(exc).__name__)
            return Notice(DATABASE_DOWN, ok=False)
        except Exception as exc:  # noqa: BLE001 - the last line of defence of a member-facing reply
            log.error("%s failed: %s", method.__name__, type(exc).__name__)
            log.debug("%s failed", method.__name__, exc_info=True)
            return Notice(SOMETHING_WRONG, ok=False)

    return run


@dataclass
class Application:
    mentor: Mentor
    progress: Progress
    answer_log: AnswerLog
    config: AppConfig = field(default_factory=AppConfig)
    limiter: RateLimiter | None = None
    mentoring: Mentoring | None = None
    buddies: Buddies | None = None

    def __post_init__(self) -> None:
        if self.buddies is None:
            self.buddies = Buddies(self.progress)
        if self.limiter is None:
            self.limiter = RateLimiter(self.config.question_rate_limit)
        if self.mentoring is None:
            self.mentoring = Mentoring(self.progress)

    def is_admin(self, who: Who) -> bool:
        return who.front == c.SLACK and who.member.user_id in self.config.admins

    # ----- asking -----
    def ask(self, who: Who, question: str, *, history: Sequence[Turn] = (), level: int | None = None,
            on_text: TextSink | None = None) -> AnswerView | Notice:
        """Rate limit, the member (created on first contact) and their daily LLM budget, the answer (streamed
        to `on_text` while an LLM writes it), metrics and the answer log. Never raises for the member's words."""
        question = (question or "").strip()
        if not question:
            return Notice(EMPTY_QUESTION)
        assert self.limiter is not None
        allowed, wait = self.limiter.allow(f"{who.member.team_id}:{who.member.user_id}")
        if not allowed:
            minutes = max(1, round(wait / 60))
            return Notice(f"You've asked {self.config.question_rate_limit} questions in the last hour — that's the "
                          f"team's limit. Try again in about {minutes} min, or take the time to practise!", ok=False)
        # The progress database being down costs the member their level hint, the LLM (whose daily budget
        # cannot be checked) and the 👍/👎 buttons — not the answer.
        member_level: int | None = None
        context = None
        allow_llm = self.mentor.llm is not None
        try:
            member = self.progress.member(who.member)
            member_level = member.level if member.placed else None  # an unplaced member's level is unknown
            context = self.progress.mentor_context(who.member)
            if self.mentor.llm is not None:
                allow_llm = self.answer_log.llm_allowed(team_id=member.team_id, user_id=member.user_id,
                                                        budget=self.config.llm_daily_budget, tz=member.tz)
        except SQLAlchemyError as exc:
            log.warning("answering without the progress database (%s)", type(exc).__name__)
            allow_llm = False
        started = time.perf_counter()
        try:
            answer = self.mentor.ask(question, level=level, history=list(history)[-self.config.history_turns:],
                                     member_level=member_level, allow_llm=allow_llm, on_text=on_text,
                                     member=context)
        except EmptyQuestion:
            return Notice(EMPTY_QUESTION)
        except Exception as exc:  # noqa: BLE001 - the vector store (a Chroma server) down: say so, never silence
            log.warning("the knowledge base is unavailable (%s: %s)", type(exc).__name__, str(exc)[:200])
            return Notice(KNOWLEDGE_DOWN, ok=False)
        observe_answer(who.surface, answer, time.perf_counter() - started)
        answer_id: str | None = None
        try:
            answer_id = self.answer_log.record(answer, team_id=who.member.team_id, user_id=who.member.user_id,
                                               surface=who.surface)
        except SQLAlchemyError as exc:
            log.warning("answer not logged: the progress database is unavailable (%s)", type(exc).__name__)
        topic = asked_topic(answer, self.progress.bank) if answer_id else None
        if topic is not None and answer_id is not None:
            try:
                self.progress.record_asked(who.member, topic, answer_id)
            except SQLAlchemyError as exc:
                log.warning("asked topic not remembered: the progress database is unavailable (%s)",
                            type(exc).__name__)
        return AnswerView(answer, answer_id)

    # ----- commands -----
    @replies_during_outages
    def run(self, who: Who, command: c.Command) -> Result:
        """One typed command → its result. Admin commands answer non-admins with a one-line refusal."""
        match command:
            case c.Ask(question):
                return self.ask(who, question)
            case c.Quiz(scope):
                return self.next_question(who, scope)
            case c.ShowProgress(png):
                return self.show_progress(who, png)
            case c.ShowHabits():
                return HabitsView(self.progress.habits_today(who.member))
            case c.CheckIn(habit):
                return self.check_in(who, habit)
            case c.UndoCheckIn(habit):
                return self.undo_check_in(who, habit)
            case c.ShowLeaderboard():
                return self.leaderboard(who)
            case c.LeaderboardVisibility(hidden):
                self.progress.set_leaderboard_opt_out(who.member, hidden)
                return Notice("You no longer appear on the leaderboard." if hidden
                              else "You appear on the leaderboard again.")
            case c.Join():
                self.progress.set_active(who.member, True)
                return Notice("Welcome to the learning path! Try `{cmd}quiz placement` to find your starting level.")
            case c.Leave():
                self.progress.set_active(who.member, False)
                return Notice("You've left the learning path: no reminders, not on the leaderboard. "
                              "`{cmd}join` brings you back.")
            case c.ChooseTrack(letter):
                return self.choose_track(who, letter)
            case c.Nudges(action, value):
                return self.nudges(who, action, value)
            case c.ShowPath(level):
                return path_view(level)
            case c.Search(query):
                return SearchView(query, list(self.mentor.search(query).hits))
            case c.Goals() | c.Plan() | c.Projects() | c.Certs() | c.Checklist() | c.Checkins() | c.Team():
                try:
                    return self.mentor_command(who, command)
                except MentoringError as exc:
                    return Notice(f"Sorry: {exc}.", ok=False)
            case c.Buddy(on):
                return self.buddy_setting(who, on)
            case c.Help():
                return HelpView(c.help_entries(who.front, admin=self.is_admin(who)))
            case c.SetLevel(user_id, level):
                if not self.is_admin(who):
                    return Notice("Only mlpath admins (ADMIN_USER_IDS) can set levels.", ok=False)
                try:  # never creates a member: a front end adds them first when it knows the id is real
                    self.progress.set_level(MemberRef(who.member.team_id, user_id), level)
                except UnknownMember:
                    return Notice(f"No member {user_id} here: they join mlpath with their first question or "
                                  "command.", ok=False)
                return LevelSet(user_id, level)
            case c.Ingest():
                if not self.is_admin(who):
                    return Notice("Only mlpath admins (ADMIN_USER_IDS) can re-ingest the curriculum.", ok=False)
                summary = self.mentor.ingest(None)
                return Notice(f"Curriculum re-ingested: {summary.added} added, {summary.updated} updated, "
                              f"{summary.removed} removed, {summary.unchanged} unchanged.")
        return Notice("That command works in the other front end only.", ok=False)

    def ack_text(self, spec: c.Spec, member_id: str) -> str:
        """What Slack shows at once for a parsed command (admin commands tell non-admins straight away)."""
        if spec.admin and member_id not in self.config.admins:
            return f"Only mlpath admins (ADMIN_USER_IDS) can use `{{cmd}}{spec.name}`."
        return spec.ack

    # ----- quizzes -----
    @replies_during_outages
    def next_question(self, who: Who, scope: str = "") -> QuizView | Notice:
        if scope == "placement":
            prompt = self.progress.next_placement(who.member)
        else:
            topic, level, error = resolve_scope(scope)
            if error:
                return Notice(f"Sorry: {error}.", ok=False)
            prompt = self.progress.next_question(who.member, topic=topic, level=level)
        if isinstance(prompt, QuizBlocked):
            hint = {"needs_track": " Pick one with `{cmd}track A-E`.",
                    "empty": " Try `{cmd}quiz` without a topic."}.get(prompt.reason, "")
            return Notice(prompt.message + hint, ok=prompt.reason == "empty")
        return QuizView(prompt, scope)

    @replies_during_outages
    def answer_quiz(self, who: Who, token: str, chosen: int, scope: str = "") -> QuizOutcome | Notice:
        """A member's answer to a delivered question (a button, or A–D in the terminal); counted once."""
        result = self.progress.answer(token, who.member, chosen)
        metrics.QUIZ_ANSWERS.labels(result=("correct" if result.correct else "wrong")
                                    if result.status == "recorded" else result.status).inc()
        if result.status != "recorded":
            return Notice(QUIZ_REPLIES[result.status], ok=False)
        promotion = promotion_text(result.promoted_to) if result.promoted_to else ""
        placement = ""
        if result.placement is not None:
            right = [t for t, ok in result.placement.tracks if ok]
            tracks = f"; Level 4 tracks answered right: {', '.join(right) or 'none'}" if result.placement.tracks else ""
            placement = (f"Placement done: you start at *Level {result.placement.level}* "
                         f"({result.placement.scores_text}{tracks}).")
        buddy = None
        if not result.correct and who.front == c.SLACK and result.question is not None:
            assert self.buddies is not None
            try:
                buddy = self.buddies.offer_after_miss(who.member, result.question.id)
            except SQLAlchemyError as exc:  # the answer is recorded; an offer can come with the next miss
                log.warning("no buddy offer: the progress database is unavailable (%s)", type(exc).__name__)
        return QuizOutcome(result, scope, promotion, placement, buddy)

    # ----- buddies -----
    def buddy_setting(self, who: Who, on: bool | None) -> Notice:
        assert self.buddies is not None
        if on is None:
            state = "on" if self.progress.member(who.member).buddy_opt_in else "off"
            return Notice(f"Buddy: {state}. `{{cmd}}buddy on` offers help to teammates who keep missing a topic "
                          "you mastered (you are suggested at most twice a week); `{cmd}buddy off` stops it.")
        self.buddies.set_opt_in(who.member, on)
        if on:
            return Notice("Thanks! Teammates who keep missing a topic you mastered may be offered an intro to you "
                          "(at most twice a week). `{cmd}buddy off` stops it.")
        return Notice("You are no longer suggested as a buddy. `{cmd}buddy on` offers help again.")

    @replies_during_outages
    def answer_buddy(self, who: Who, token: str, accept: bool) -> BuddyIntro | Notice:
        """The Yes / No thanks buttons of a buddy offer: answered once."""
        assert self.buddies is not None
        answer = self.buddies.answer(token, who.member, accept)
        if answer.status == "accepted":
            return BuddyIntro(answer)
        return Notice({"declined": "No problem — I won't suggest a buddy for that topic again for 30 days.",
                       "already": "You already answered this offer.",
                       "not_yours": "This offer was made to someone else.",
                       }.get(answer.status, "This offer is no longer available."), ok=answer.status == "declined")

    def show_progress(self, who: Who, png: str = "") -> ProgressReport | Notice:
        """The member's progress; with `png` (terminal) also their chart, for the front end to write there."""
        if png and who.front != c.TERMINAL:
            return Notice("`--png` writes a file in the terminal; in Slack your chart is on my Home tab.", ok=False)
        view = self.progress.progress(who.member)
        if not png:
            return ProgressReport(view)
        assert self.mentoring is not None
        return ProgressReport(view, render_member(self.mentoring.member_chart(who.member)), png)

    def member_chart(self, who: Who) -> tuple[bytes, str]:
        """The member's chart (PNG) and its alt text: App Home shows it."""
        assert self.mentoring is not None
        data = self.mentoring.member_chart(who.member)
        return render_member(data), data.alt_text()

    def read_section(self, who: Who, section_id: str) -> SectionView | Notice:
        """"Read the section" under a wrong answer: the curriculum section the question comes from."""
        section = section_texts().get(section_id)
        if section is None:
            return Notice("That section is no longer in the curriculum; ask me about the topic instead.", ok=False)
        return SectionView(section)

    # ----- habits -----
    def check_in(self, who: Who, habit: str) -> CheckinView:
        """`{cmd}done <words>`: the habit the words match (shown), checked in once per period."""
        return _checkin_view(self.progress.check_in(who.member, habit), habit)

    def undo_check_in(self, who: Who, habit: str) -> CheckinView:
        """`{cmd}undo <habit>` or the Undo button: this period's check-in and exactly its XP, taken back once."""
        return _checkin_view(self.progress.undo_check_in(who.member, habit), habit)

    @replies_during_outages
    def check_in_habit(self, who: Who, habit_id: str) -> HabitsView | Notice:
        """A habit's Done button: the check-in and the refreshed list."""
        result = self.progress.check_in(who.member, habit_id)
        note = (f"+{result.xp} XP for “{result.habit.description}”" if result.status == "recorded" and result.habit
                else "Already checked in — nice.")
        return HabitsView(self.progress.habits_today(who.member), note)

    # ----- the rest of the member's state -----
    def leaderboard(self, who: Who) -> LeaderboardView:
        member = self.progress.member(who.member)
        today = local_date(member, utcnow())
        start = today - timedelta(days=today.weekday())
        year, week, _ = start.isocalendar()
        return LeaderboardView(self.progress.leaderboard(member.team_id, week_start=start), f"{year}-W{week:02d}")

    def choose_track(self, who: Who, letter: str) -> Notice:
        chosen = self.progress.choose_track(who.member, letter)
        listed = ", ".join(f"{t} ({title})" for t, title in chosen.tracks)
        if chosen.status == "locked":
            return Notice(f"Tracks are chosen at Level 4; you are not there yet. The tracks: {listed}.", ok=False)
        if chosen.status == "unknown":
            return Notice("Pick a track with `{cmd}track A-E`: " + listed)
        return Notice(f"Your Level 4 track is now {chosen.track} ({chosen.title}).")

    def nudges(self, who: Who, action: str, value: str) -> Notice:
        """`nudges off|on|time HH:MM|snooze N`; settings apply from the next reminder."""
        ref = who.member
        if action == "off":
            self.progress.set_nudges(ref, False)
            return Notice("Daily reminders are off. `{cmd}nudges on` turns them back on.")
        if action == "on":
            m = self.progress.set_nudges(ref, True)
            return Notice(f"Daily reminders are on: every day at {m.nudge_time} ({m.tz}).")
        if action == "time":
            try:
                m = self.progress.set_nudge_time(ref, value)
            except ValueError as exc:
                return Notice(f"Sorry: {exc}.", ok=False)
            return Notice(f"Your daily reminder now comes at {m.nudge_time}, your time ({m.tz}), from the next one on.")
        if action == "asked":
            self.progress.set_asked_reviews(ref, value == "on")
            return Notice("Quick checks of the topics you ask about are on: one to three days after a question, "
                          "one question on its topic comes with your reminder or your next `{cmd}quiz`."
                          if value == "on" else
                          "No more quick checks of the topics you ask about. `{cmd}nudges asked on` brings them back.")
        if action == "snooze":
            try:
                resume = self.progress.snooze(ref, int(value))
            except ValueError as exc:
                return Notice(f"Sorry: {exc}.", ok=False)
            if resume is None:
                return Notice("Snooze ended: reminders continue as usual.")
            return Notice(f"Snoozed: no reminders until {resume:%a %d %b}. Enjoy the break!")
        m = self.progress.member(ref)
        if not m.nudges_enabled:
            state = "off"
        elif m.snoozed_until and m.snoozed_until > local_date(m, utcnow()):
            state = f"snoozed until {m.snoozed_until:%a %d %b}"
        else:
            state = "on"
        extra = " (I couldn't reach you by DM last time; writing to me fixes that)" if m.unreachable else ""
        asked = "on" if m.asked_reviews else "off"
        return Notice(f"Daily reminders: {state}, at {m.nudge_time} ({m.tz}){extra}. Checks of what you asked: "
                      f"{asked}.\n" + c.NUDGES_USAGE)

    def home(self, who: Who) -> HomeView:
        m = self.mentoring
        assert m is not None
        ref = who.member
        mentoring = MentoringHome(m.goals(ref), m.weekly_plan(ref), m.projects(ref), m.certifications(ref),
                                  m.checklist(ref))
        return HomeView(self.progress.progress(ref), self.progress.habits_today(ref), mentoring)

    # ----- mentoring: goals, plan, projects, certifications, checklist, check-ins, the team view -----
    def mentor_command(self, who: Who, command: c.Command) -> Result:
        """Raises MentoringError (one line, nothing stored) for bad input; `run` turns it into a Notice."""
        m = self.mentoring
        assert m is not None
        ref = who.member
        match command:
            case c.Goals(horizon, text):
                if horizon and text:
                    return GoalsResult(m.set_goal(ref, horizon, text), note=f"Your {horizon} goal is set.")
                return GoalsResult(m.goals(ref), ideas_for=horizon)
            case c.Plan("hours", value):
                hours = m.set_hours(ref, value)
                return PlanResult(m.weekly_plan(ref), note=f"Your plan now counts {hours} h/week.")
            case c.Plan("done", value):
                topic, new = m.mark_topic_done(ref, value)
                said = "marked done" if new else "was already marked done"
                return PlanResult(m.weekly_plan(ref), note=f"“{topic.title}” {said}; the plan moves on.")
            case c.Plan():
                return PlanResult(m.weekly_plan(ref))
            case c.Projects("share", project_id):
                row = m.project_for_share(ref, project_id)
                if not self.config.team_channel:
                    return Notice("No team channel is set up for sharing (TEAM_CHANNEL); ask an mlpath admin.",
                                  ok=False)
                return ProjectShare(row, ref.user_id, self.config.team_channel)
            case c.Projects("start" | "done" as action, project_id, url):
                row = m.update_project(ref, action, project_id, url or None)
                verb = "started" if row.status == "started" else "done"
                return ProjectsResult(m.projects(ref), note=f"{row.project.title}: {verb}.")
            case c.Projects():
                return ProjectsResult(m.projects(ref))
            case c.Certs("plan" | "passed" as action, cert_id, when):
                cert = m.update_certification(ref, action, cert_id, when or None)
                note = f"{cert.cert.title}: {cert.status}" + (f" ({cert.on_date:%d %b %Y})." if cert.on_date else ".")
                if cert.cert.availability and action == "plan":
                    note += f" Note: {cert.cert.availability}"
                return CertsResult(m.certifications(ref), note=note)
            case c.Certs():
                return CertsResult(m.certifications(ref))
            case c.Checklist(item_id, evidence) if item_id:
                item, _ = m.tick(ref, item_id, evidence)
                return ChecklistResult(m.checklist(ref), note=f"Ticked: {item.text}.")
            case c.Checklist():
                return ChecklistResult(m.checklist(ref))
            case c.Checkins("show"):
                return CheckinsResult(checkin_settings(m, ref))
            case c.Checkins(action, value):
                settings = set_checkins(m, ref, action, value)
                return CheckinsResult(settings, note=f"Weekly check-in: {settings.describe()}, from the next one on.")
            case c.Team():
                if not self.is_admin(who):
                    return Notice("Only mlpath admins (ADMIN_USER_IDS) can see the team view.", ok=False)
                return TeamResult(m.team_report(ref.team_id))
        return Notice("That command works in the other front end only.", ok=False)

    def offer_review(self, who: Who, author_id: str, project_id: str) -> ReviewOffer | Notice:
        """The "Offer a review" button under a shared project."""
        assert self.mentoring is not None
        try:
            project, new = self.mentoring.offer_review(who.member, author_id, project_id)
        except MentoringError as exc:
            return Notice(f"Sorry: {exc}.", ok=False)
        return ReviewOffer(author_id, who.member.user_id, project.title, new)

    def plan_hours(self, who: Who, hours: str) -> Result:
        """The check-in's hours menu."""
        return self.run(who, c.Plan("hours", hours))

    def plan_topic_done(self, who: Who, topic_id: str) -> Result:
        """The plan's and the check-in's "Mark done" button."""
        return self.run(who, c.Plan("done", topic_id))

    def member_level(self, who: Who) -> int:
        """The member's level (1 while the progress database is unavailable: suggestions, not a reply)."""
        try:
            return self.progress.member(who.member).level
        except SQLAlchemyError:
            return 1


def _checkin_view(result: CheckinResult, said: str) -> CheckinView:
    """The one wording of a check-in or undo, with the words that matched so a wrong match is seen."""
    if result.status in ("unknown", "ambiguous"):
        which = "Which one did you mean" if result.status == "ambiguous" else f"I couldn't match “{said}” to a habit"
        return CheckinView(result, f"{which}? Habits: " + ", ".join(result.suggestions))
    assert result.habit is not None
    habit = result.habit.description
    matched = f" (matched “{result.matched}”)" if result.matched and result.matched != habit else ""
    undo = f"`{{cmd}}undo {result.habit.id}` takes it back."
    text = {"already": f"Already checked in for this period: {habit}{matched}.",
            "undone": f"↩️ Undone: {habit} — {result.xp} XP removed.",
            "nothing": f"Nothing to undo for {habit} in this period.",
            }.get(result.status, f"✅ {habit} — +{result.xp} XP{matched}. {undo}")
    return CheckinView(result, text)
