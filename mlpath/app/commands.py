"""Every command a member can type, parsed once into a typed command by one routing table.

Slack's `/mlpath WORD …` and the terminal's `/WORD …` both go through `parse`; the help of both is generated
from `COMMANDS`. A parser raises `UsageError` with one line for the member; nothing here touches a database or
Slack, so Slack can acknowledge with `ack_text` before any work is done.

To add a command: a frozen dataclass below, a parser, a `Spec` in `COMMANDS`, and a branch in
`Application.run` (mlpath/app/service.py) that returns a typed result both front ends render.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from errors import UserError

SLACK = "slack"
TERMINAL = "terminal"
BOTH = frozenset({SLACK, TERMINAL})


class UsageError(UserError):
    """A command the member typed wrong: the message is one line for them (already phrased for the surface)."""


# ----- the typed commands -----
@dataclass(frozen=True)
class Ask:
    question: str


@dataclass(frozen=True)
class Quiz:
    scope: str = ""
    """"" (whatever is due), "placement", a topic id or words of its title, or a level ("2", "level 2")."""


@dataclass(frozen=True)
class ShowProgress:
    png: str = ""
    """Terminal: also write the member's chart (PNG) to this file."""


@dataclass(frozen=True)
class ShowHabits:
    pass


@dataclass(frozen=True)
class CheckIn:
    habit: str


@dataclass(frozen=True)
class UndoCheckIn:
    habit: str


@dataclass(frozen=True)
class ShowLeaderboard:
    pass


@dataclass(frozen=True)
class LeaderboardVisibility:
    hidden: bool


@dataclass(frozen=True)
class Join:
    pass


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class ChooseTrack:
    letter: str = ""
    """"" lists the tracks."""


@dataclass(frozen=True)
class Nudges:
    action: str = "show"
    """"show", "off", "on", "time" (value HH:MM), "snooze" (value: days) or "asked" (value "on"/"off": quick
    checks of topics the member asked about)."""
    value: str = ""


@dataclass(frozen=True)
class SetLevel:
    user_id: str
    level: int


@dataclass(frozen=True)
class Ingest:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Search:
    query: str


@dataclass(frozen=True)
class ShowPath:
    """The outline of the learning path (all levels, or one)."""

    level: int | None = None


# ----- mentoring (progress/mentoring.py, progress/checkins.py) -----
@dataclass(frozen=True)
class Goals:
    horizon: str = ""
    """"" shows the goals; a horizon with no text lists suggestions for it."""
    text: str = ""


@dataclass(frozen=True)
class Plan:
    action: str = "show"
    """"show", "hours" (value N) or "done" (value: a topic id)."""
    value: str = ""


@dataclass(frozen=True)
class Projects:
    action: str = "list"
    """"list", "start", "done" or "share"."""
    project_id: str = ""
    url: str = ""


@dataclass(frozen=True)
class Certs:
    action: str = "list"
    """"list", "plan" or "passed"."""
    cert_id: str = ""
    when: str = ""


@dataclass(frozen=True)
class Checklist:
    item_id: str = ""
    """"" shows the checklists; an item id ticks it."""
    evidence: str = ""


@dataclass(frozen=True)
class Checkins:
    action: str = "show"
    """"show", "day", "time", "off" or "on"."""
    value: str = ""


@dataclass(frozen=True)
class Team:
    pass


@dataclass(frozen=True)
class Buddy:
    on: bool | None = None
    """None shows the setting; True/False offers or stops offering help (progress/buddies.py)."""


# terminal session commands: handled by the terminal itself (they change the session, not the member)
@dataclass(frozen=True)
class AnswerLevel:
    level: int


@dataclass(frozen=True)
class Sources:
    pass


@dataclass(frozen=True)
class Quit:
    pass


Command = (Ask | Quiz | ShowProgress | ShowHabits | CheckIn | UndoCheckIn | ShowLeaderboard | LeaderboardVisibility
           | Join | Leave | ChooseTrack | Nudges | SetLevel | Ingest | Help | Search | ShowPath | AnswerLevel | Sources
           | Quit | Goals | Plan | Projects | Certs | Checklist | Checkins | Team | Buddy)


# ----- parsers: the words after the command name → a command, or UsageError -----
def _no_args(command: Command, usage: str) -> Callable[[str], Command]:
    def parse(rest: str) -> Command:
        if rest:
            raise UsageError(f"`{{cmd}}{usage}` takes nothing after it.")
        return command
    return parse


def _ask(rest: str) -> Command:
    if not rest:
        raise UsageError("Ask a question after it, e.g. `{cmd}ask what does SMOTE actually do?`")
    return Ask(rest)


def _quiz(rest: str) -> Command:
    return Quiz("placement" if rest.lower() == "placement" else rest)


PROGRESS_USAGE = "Usage: `{cmd}progress`, or `{cmd}progress --png FILE` to write your chart too."


def _progress(rest: str) -> Command:
    if not rest:
        return ShowProgress()
    words = rest.split(maxsplit=1)
    if words[0] == "--png" and len(words) == 2 and words[1].strip():
        return ShowProgress(words[1].strip())
    raise UsageError(PROGRESS_USAGE)


def _done(rest: str) -> Command:
    if not rest:
        raise UsageError("Say which habit, in your own words or its id, e.g. `{cmd}done watched a PyData talk` "
                         "(`{cmd}habits` lists them).")
    return CheckIn(rest)


def _undo(rest: str) -> Command:
    if not rest:
        raise UsageError("Say which habit's check-in to take back, e.g. `{cmd}undo read-paper`.")
    return UndoCheckIn(rest)


def _leaderboard(rest: str) -> Command:
    word = rest.lower()
    if not word:
        return ShowLeaderboard()
    if word in ("off", "on"):
        return LeaderboardVisibility(hidden=word == "off")
    raise UsageError("`{cmd}leaderboard` shows this week's board; `{cmd}leaderboard off` hides you, "
                     "`{cmd}leaderboard on` shows you.")


def _track(rest: str) -> Command:
    letter = rest.strip().upper()
    if letter and (len(letter) != 1 or letter not in "ABCDE"):
        raise UsageError("Tracks are A to E, e.g. `{cmd}track E` (`{cmd}track` lists them).")
    return ChooseTrack(letter)


NUDGES_USAGE = ("`{cmd}nudges off`, `{cmd}nudges on`, `{cmd}nudges time HH:MM` (your local time), "
                "`{cmd}nudges snooze N` (days; 0 ends it), `{cmd}nudges asked off|on` (quick checks of what you "
                "asked), or `{cmd}nudges` to see your settings.")


def _nudges(rest: str) -> Command:
    words = rest.lower().split()
    if not words:
        return Nudges()
    if words[0] in ("off", "on") and len(words) == 1:
        return Nudges(words[0])
    if words[0] in ("time", "snooze") and len(words) == 2:
        if words[0] == "snooze" and not (words[1].isascii() and words[1].isdigit()):
            raise UsageError("Snooze takes a number of days, e.g. `{cmd}nudges snooze 3`.")
        return Nudges(words[0], words[1])
    if words[0] == "asked" and len(words) == 2 and words[1] in ("off", "on"):
        return Nudges("asked", words[1])
    raise UsageError("Usage: " + NUDGES_USAGE)


_USER = re.compile(r"^(?:<@([UW][A-Z0-9]{1,20})(?:\|[^<>]{0,80})?>|@?([UW][A-Z0-9]{1,20}))$")
SETLEVEL_USAGE = "Usage: `{cmd}setlevel @member N` with N from 1 to 4."


def _setlevel(rest: str) -> Command:
    """`@member N`: the member as Slack escapes a mention (`<@U123|name>`) or a bare id; N a digit 1-4."""
    words = rest.split()
    if len(words) != 2:
        raise UsageError(SETLEVEL_USAGE)
    match = _USER.match(words[0])
    if match is None or words[1] not in ("1", "2", "3", "4"):
        raise UsageError(SETLEVEL_USAGE)
    return SetLevel(match.group(1) or match.group(2), int(words[1]))


def _search(rest: str) -> Command:
    if not rest:
        raise UsageError("Usage: `{cmd}search QUERY`, e.g. `{cmd}search window functions`.")
    return Search(rest)


def _path(rest: str) -> Command:
    if not rest:
        return ShowPath()
    if rest.removeprefix("level").strip() not in ("1", "2", "3", "4"):
        raise UsageError("Usage: `{cmd}path` for the whole learning path, `{cmd}path N` for Level N (1-4).")
    return ShowPath(int(rest.removeprefix("level").strip()))


def _answer_level(rest: str) -> Command:
    if rest not in ("1", "2", "3", "4"):
        raise UsageError("Usage: `{cmd}level N` with N from 1 to 4 (answers then favour that level).")
    return AnswerLevel(int(rest))


GOAL_USAGE = "Usage: `{cmd}goal 3m|6m|12m TEXT` (no text: ideas for that horizon; `{cmd}goal` shows yours)."
PLAN_USAGE = "Usage: `{cmd}plan`, `{cmd}plan hours N` (1-60 a week) or `{cmd}plan done TOPIC`."
PROJECT_USAGE = ("Usage: `{cmd}project`, `{cmd}project start ID [URL]`, `{cmd}project done ID [URL]` or "
                 "`{cmd}project share ID`.")
CERT_USAGE = "Usage: `{cmd}cert`, `{cmd}cert plan ID [YYYY-MM-DD]` or `{cmd}cert passed ID [YYYY-MM-DD]`."
CHECKLIST_USAGE = "Usage: `{cmd}checklist` or `{cmd}checklist tick ID [a link or a sentence of evidence]`."
CHECKINS_USAGE = ("`{cmd}checkins day mon`, `{cmd}checkins time 08:30` (your local time), `{cmd}checkins off`, "
                  "`{cmd}checkins on`, or `{cmd}checkins` to see your settings.")


def _goal(rest: str) -> Command:
    if not rest:
        return Goals()
    horizon, _, text = rest.partition(" ")
    if horizon.lower() not in ("3m", "6m", "12m"):
        raise UsageError(GOAL_USAGE)
    return Goals(horizon.lower(), text.strip())


def _plan(rest: str) -> Command:
    words = rest.split()
    if not words:
        return Plan()
    if len(words) == 2 and words[0].lower() in ("hours", "done"):
        return Plan(words[0].lower(), words[1])
    raise UsageError(PLAN_USAGE)


def _project(rest: str) -> Command:
    words = rest.split()
    if not words:
        return Projects()
    action = words[0].lower()
    if (action in ("start", "done") and len(words) in (2, 3)) or (action == "share" and len(words) == 2):
        return Projects(action, words[1], words[2] if len(words) == 3 else "")
    raise UsageError(PROJECT_USAGE)


def _cert(rest: str) -> Command:
    words = rest.split()
    if not words:
        return Certs()
    if words[0].lower() in ("plan", "passed") and len(words) in (2, 3):
        return Certs(words[0].lower(), words[1], words[2] if len(words) == 3 else "")
    raise UsageError(CERT_USAGE)


def _checklist(rest: str) -> Command:
    words = rest.split(maxsplit=2)
    if not words:
        return Checklist()
    if words[0].lower() == "tick" and len(words) >= 2:
        return Checklist(words[1], words[2] if len(words) == 3 else "")
    raise UsageError(CHECKLIST_USAGE)


def _checkins(rest: str) -> Command:
    words = rest.split()
    if not words:
        return Checkins()
    action = words[0].lower()
    if action in ("off", "on") and len(words) == 1:
        return Checkins(action)
    if action in ("day", "time") and len(words) == 2:
        return Checkins(action, words[1])
    raise UsageError("Usage: " + CHECKINS_USAGE)


def _buddy(rest: str) -> Command:
    word = rest.strip().lower()
    if not word:
        return Buddy()
    if word in ("on", "off"):
        return Buddy(word == "on")
    raise UsageError("Usage: `{cmd}buddy on` offers help to teammates on the topics you mastered, `{cmd}buddy off` "
                     "stops it, `{cmd}buddy` shows your setting.")


@dataclass(frozen=True)
class Spec:
    name: str
    args: str
    """The arguments as shown in help, e.g. "[topic|level|placement]"."""
    summary: str
    parse: Callable[[str], Command]
    surfaces: frozenset[str] = BOTH
    admin: bool = False
    ack: str = "One moment…"
    """What Slack shows at once, before the work is done."""
    aliases: tuple[str, ...] = field(default=())


COMMANDS: tuple[Spec, ...] = (
    Spec("ask", "QUESTION", "an answer from the curriculum with numbered sources", _ask,
         ack="Looking that up in the learning path…"),
    Spec("quiz", "[topic|level|placement]", "the next question for you (spaced repetition)", _quiz),
    Spec("progress", "", "your level, topics, streak, reviews due and XP", _no_args(ShowProgress(), "progress"),
         surfaces=frozenset({SLACK})),
    Spec("progress", "[--png FILE]", "your level, topics, streak, reviews due and XP; --png writes your chart",
         _progress, surfaces=frozenset({TERMINAL})),
    Spec("path", "[1-4]", "the learning path: levels, modules, topics and the Level 4 tracks", _path),
    Spec("habits", "", "today's habits (Slack: with check-in buttons)", _no_args(ShowHabits(), "habits")),
    Spec("done", "HABIT", "check a habit off, in your own words, e.g. `{cmd}done watched a PyData talk`", _done),
    Spec("undo", "HABIT", "take back this period's check-in of a habit (and its XP)", _undo),
    Spec("leaderboard", "[off|on]", "this week's XP, or hide yourself from it", _leaderboard),
    Spec("join", "", "join the learning path (reminders, leaderboard)", _no_args(Join(), "join"),
         surfaces=frozenset({SLACK})),
    Spec("leave", "", "leave it: no reminders, not on the leaderboard", _no_args(Leave(), "leave"),
         surfaces=frozenset({SLACK})),
    Spec("track", "[A-E]", "pick your Level 4 track (no letter lists them)", _track),
    Spec("nudges", "[off|on|time HH:MM|snooze N|asked off|on]",
         "your daily reminder DM (default 09:00 your time) and its checks of what you asked", _nudges,
         surfaces=frozenset({SLACK})),
    Spec("goal", "[3m|6m|12m TEXT]", "your 3, 6 and 12 month goals (a horizon alone: ideas for it)", _goal),
    Spec("plan", "[hours N|done TOPIC]", "this week's plan: topics, habits, reviews, on track or not", _plan,
         ack="Putting your week together…"),
    Spec("project", "[start|done ID [URL]|share ID]", "the path's portfolio projects and yours", _project),
    Spec("cert", "[plan|passed ID [DATE]]", "the path's certifications and your plans", _cert),
    Spec("checklist", "[tick ID [EVIDENCE]]", "the path's success-metric checklists", _checklist),
    Spec("checkins", "[day DAY|time HH:MM|off|on]", "your weekly check-in DM (default Monday 08:30 your time)",
         _checkins, surfaces=frozenset({SLACK})),
    Spec("buddy", "[on|off]", "offer help to teammates on the topics you mastered (opt-in)", _buddy,
         surfaces=frozenset({SLACK})),
    Spec("team", "", "the team view: levels, behind plan, inactive, projects", _no_args(Team(), "team"),
         admin=True, surfaces=frozenset({SLACK}), ack="Putting the team report together…"),
    Spec("search", "QUERY", "the passages of the learning path for a query", _search, surfaces=frozenset({TERMINAL})),
    Spec("sources", "", "the passages behind the last answer", _no_args(Sources(), "sources"),
         surfaces=frozenset({TERMINAL})),
    Spec("level", "N", "answer with Level N (1-4) in mind", _answer_level, surfaces=frozenset({TERMINAL})),
    Spec("help", "", "this help", _no_args(Help(), "help"), ack=""),
    Spec("quit", "", "leave (or Ctrl-D)", _no_args(Quit(), "quit"), surfaces=frozenset({TERMINAL}),
         aliases=("exit", "q")),
    Spec("ingest", "", "re-ingest the bundled curriculum", _no_args(Ingest(), "ingest"), admin=True,
         surfaces=frozenset({SLACK}), ack="Re-ingesting the curriculum…"),
    Spec("setlevel", "@member N", "set a member's level 1-4", _setlevel, admin=True, surfaces=frozenset({SLACK}),
         ack="Setting the level…"),
)
_BY_SURFACE = {surface: {name: spec for spec in COMMANDS if surface in spec.surfaces
                         for name in (spec.name, *spec.aliases)} for surface in BOTH}
"""A command may have one spec per surface (`progress [--png FILE]` in the terminal)."""


PREFIX = {SLACK: "/mlpath ", TERMINAL: "/"}


def phrase(text: str, surface: str) -> str:
    """Our texts name commands as `{cmd}quiz`; each surface writes them its own way (`/mlpath quiz`, `/quiz`)."""
    return text.replace("{cmd}", PREFIX.get(surface, "/"))


def find(name: str, surface: str) -> Spec | None:
    return _BY_SURFACE.get(surface, {}).get(name.lower())


def split(text: str) -> tuple[str, str]:
    """"quiz  window functions " → ("quiz", "window functions")."""
    words = (text or "").strip().split(maxsplit=1)
    if not words:
        return "", ""
    return words[0].lower(), (words[1].strip() if len(words) > 1 else "")


def parse(text: str, *, surface: str) -> tuple[Spec, Command]:
    """The words of a command (without `/mlpath` or the terminal's `/`) → its spec and typed command.
    An empty text is help. Raises UsageError for an unknown command or wrong arguments."""
    name, rest = split(text)
    if not name:
        name = "help"
    spec = find(name, surface)
    if spec is None:
        shown = name if len(name) <= 40 else name[:40] + "…"
        raise UsageError(f"Unknown command `{shown}`; `{{cmd}}help` lists them.")
    return spec, spec.parse(rest)


def help_entries(surface: str, *, admin: bool = False) -> list[tuple[str, str]]:
    """(usage, summary) for every command of a surface, admin commands only for admins."""
    return [((spec.name + " " + spec.args).strip(), spec.summary) for spec in COMMANDS
            if surface in spec.surfaces and (admin or not spec.admin)]
