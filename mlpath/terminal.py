"""The terminal front end (`mlpath chat`): reads a line, hands it to the application layer (a question, or a
`/command` parsed by the same routing table as Slack's `/mlpath`), and renders the typed result as text."""

from __future__ import annotations

import getpass
import io
import os
import re
import select
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from errors import UserError
from knowledge.answer import Answer, Turn
from knowledge.catalogue import Level
from mlpath.app import Application, UsageError, Who, parse
from mlpath.app import commands as c
from mlpath.app import results as res
from mlpath.app.service import TERMINAL_TEAM
from mlpath.inputs import clean_text
from progress.service import MemberRef

PROMPT = "you › "
MENTOR = "mentor › "
ANSWER_PROMPT = "answer (A-D, /skip, /quit) › "
LETTERS = "ABCD"
_BOLD = re.compile(r"\*([^*\n]+)\*")


def terminal_member(tz: str | None, surface: str = "terminal") -> Who:
    """The person at the terminal: their login name, in the terminal team (never a Slack workspace);
    `surface` is "terminal" in the chat, "cli" for `mlpath ask`."""
    name = getpass.getuser() or "me"
    return Who(MemberRef(TERMINAL_TEAM, name, name, tz if tz and "/" in tz else "UTC"), surface)


def ours(text: str) -> str:
    """A text of ours from the application layer: commands written the terminal way, no mrkdwn bold."""
    return _BOLD.sub(r"\1", c.phrase(text, c.TERMINAL))


_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def width() -> int:
    """The terminal's width (100 when there is none, e.g. in a pipe), kept readable on wide screens."""
    return max(40, min(shutil.get_terminal_size((100, 24)).columns, 120))


def _plain(renderable: Any, *, indent: int = 0) -> str:
    """What rich draws for `renderable` at the terminal's width, as plain text (no escape codes): wrapped at
    word boundaries, lists and tables laid out. The chat writes lines, so it works with any `write`."""
    console = Console(file=io.StringIO(), width=width() - indent, color_system=None, force_terminal=False,
                      highlight=False, emoji=False)
    console.print(renderable)
    drawn: str = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in drawn.rstrip().splitlines())


def markdown(text: str, *, indent: int = 0) -> str:
    """Markdown (answers, passages) wrapped to the terminal, less `indent` columns: headings become bold
    paragraphs of their own, so a heading is never glued to the sentence after it."""
    return _plain(Markdown(_HEADING.sub(r"**\1**", text)), indent=indent)


def hang(prefix: str, text: str) -> str:
    """`prefix` before the first line, the others indented under it (text wrapped with indent=len(prefix))."""
    return prefix + text.replace("\n", "\n" + " " * len(prefix)).replace(" " * len(prefix) + "\n", "\n")


def excerpt(text: str, limit: int = 600) -> str:
    """The beginning of a passage: whole paragraphs up to `limit` characters; a longer first paragraph is cut
    after its last full sentence (or word) that fits, never mid-word."""
    out = ""
    for para in re.split(r"\n\s*\n", text.strip()):
        if len(out) + len(para) <= limit:
            out = f"{out}\n\n{para}" if out else para
            continue
        if not out:
            cut = para[:limit]
            end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
            out = cut[: end + 1] if end > limit // 3 else cut[: cut.rfind(" ")] + " …"
        break
    return out


def format_answer(answer: Answer, *, text: bool = True) -> str:
    """The answer (Markdown, wrapped to the terminal), a note (why an AI answer fell back) and its sources;
    `text=False` leaves out the answer text (it was streamed already)."""
    lines = [markdown(answer.text, indent=len(MENTOR)), ""] if text else [""]
    if answer.trimmed and text:
        lines.insert(0, "(your question was long, so I used its beginning)\n")
    if answer.note:
        lines.append(f"({answer.note})")
    if answer.citations:
        lines.append("Sources:" if answer.grounded else "Nearest sections:")
        for cit in answer.citations:
            lines.append(f"  [{cit.n}] {cit.section}  ({cit.source})")
    return "\n".join(lines).rstrip()


def render(result: res.Result) -> str:
    """A result as terminal text."""
    match result:
        case res.Notice(text, ok):
            return ours(text) if ok else "error: " + ours(text)
        case res.HelpView(entries):
            width = max(len(usage) for usage, _ in entries) + 3
            return "Ask anything about the learning path. Commands:\n" + "\n".join(
                f"  /{usage.ljust(width)}{ours(summary)}" for usage, summary in entries)
        case res.AnswerView(answer):
            return hang(MENTOR, format_answer(answer))
        case res.QuizView(prompt):
            q = prompt.question
            kind = (f"placement, question {prompt.placement_step} of up to {prompt.placement_total}"
                    if prompt.kind == "placement" else prompt.kind)
            origin = [prompt.asked.line] if prompt.asked is not None else []
            return "\n".join([*origin, f"[{kind}, Level {q.level}] {q.question}"]
                              + [f"  {LETTERS[i]}. {option}" for i, option in enumerate(q.options)])
        case res.QuizOutcome(result=outcome, promotion=promotion, placement=placement):
            asked = outcome.question
            assert asked is not None
            verdict = "correct! " if outcome.correct else f"not quite: the answer is {LETTERS[asked.answer]}. "
            lines = [verdict + asked.explanation + f" (+{outcome.xp} XP; source: {asked.section})"]
            lines += [ours(extra) for extra in (promotion, placement) if extra]
            if outcome.section is not None:  # a wrong answer: the section it comes from, to read now
                lines += [f"read the section: {outcome.section.id}", outcome.section.text,
                          "(this question comes back for a review in a few minutes)"]
            return "\n".join(lines)
        case res.SectionView(section):
            return f"{section.id}\n{section.text}"
        case res.CheckinView(text=text):
            return ours(text)
        case res.ProgressReport(view):
            goal = f" ({view.needed} needed for Level {view.level + 1})" if view.level < 4 else ""
            lines = [f"Level {view.level}: {view.level_name} · {view.mastered} of {len(view.topics)} topics "
                     f"mastered{goal} · streak {view.streak} ({view.freezes} freeze(s)) · "
                     f"{view.due_reviews} review(s) due · {view.weekly_xp} XP this week"]
            if view.needs_track:
                lines.append("Choose your Level 4 track with /track A-E: "
                             + ", ".join(f"{t} {title}" for t, title in view.tracks))
            lines += [f"  [{t.state}] {t.title}" for t in view.topics]
            if view.asked_topics:
                lines.append(f"Topics you asked about: {view.asked_mastered} of {view.asked_topics} mastered")
            return "\n".join(lines)
        case res.HabitsView(habits, note):
            lines = [ours(note)] if note else []
            lines += [f"  [{'x' if done else ' '}] {h.id}: {h.description} ({h.cadence}, {h.time_budget})"
                      for h, done in habits]
            return "\n".join(lines)
        case res.LeaderboardView(rows, week):
            if not rows:
                return f"Leaderboard, week {week}: no XP yet this week."
            return "\n".join([f"Leaderboard, week {week}"]
                             + [f"  {r.rank}. {r.display_name or r.user_id} — {r.xp} XP · streak {r.streak}"
                                for r in rows[:10]])
        case res.SearchView(hits=hits):
            if not hits:
                return "no results (is the knowledge base empty? run `mlpath ingest`)"
            table = Table("#", "section", "score", box=None, pad_edge=False, show_edge=False)
            for h in hits:  # ranked by the fused score, so that is the number shown
                table.add_row(str(h.rank), f"{h.section}\n{h.source}", f"{h.score:.4f}")
            return _plain(table)
        case res.LevelSet(user_id, level):
            return f"{user_id} is now at Level {level}."
        case res.HomeView(progress=view):
            return render(res.ProgressReport(view))
        case res.GoalsResult() | res.PlanResult() | res.ProjectsResult() | res.CertsResult() | res.ChecklistResult() \
                | res.CheckinsResult() | res.TeamResult() | res.ProjectShare() | res.ReviewOffer():
            return render_mentoring(result)
        case res.PathView(title, levels):
            return "\n".join([title] + [line for level in levels for line in _level_outline(level)])
    raise TypeError(f"no terminal rendering for {type(result).__name__}")


def render_mentoring(result: res.Result) -> str:
    """Goals, the weekly plan, projects, certifications and the checklist as terminal text."""
    note = getattr(result, "note", "")
    lines = [f"✓ {note}"] if note else []
    match result:
        case res.GoalsResult(view, ideas_for):
            if ideas_for:
                lines.append(f"Goal ideas for {ideas_for} (Level {view.level}):")
                lines += [f"  - {idea}" for idea in view.suggestions.get(ideas_for, [])]
                lines.append(ours(f"Set it: {{cmd}}goal {ideas_for} YOUR GOAL"))
            else:
                lines += [f"  {g.horizon:>3}: {g.text or '(not set)'}" for g in view.goals]
        case res.PlanResult(plan):
            pace = plan.pace
            lines += [f"Week {plan.week} · {pace.status.upper()} · Level {pace.level} {pace.level_name} · "
                      f"{plan.hours} h/week{'' if plan.hours_set else ' (the path default)'}",
                      f"  {pace.explain()}"]
            if plan.pace_note:
                lines.append(f"  {plan.pace_note}")
            lines.append("This week's focus:")
            for t in plan.topics:
                missed = f" (missed {t.misses}x in quizzes)" if t.misses else ""
                lines += [f"  - {t.title} [{t.topic_id}]{missed}", f"      read: {t.section} ({t.source})"]
                if t.exercise:
                    lines.append(f"      do:   {t.exercise}")
            lines.append("Habits: " + "; ".join(f"[{'x' if done else ' '}] {h.description} ({h.cadence})"
                                                 for h, done in plan.habits))
            lines.append(f"Quiz reviews due: {plan.due_reviews}")
            lines += [f"Certification: {c.cert.title}" + (f" on {c.on_date}" if c.on_date else "")
                      for c in plan.certifications]
            lines += [f"Goal {g.horizon}: {g.text}" for g in plan.goals]
            lines.append(ours("{cmd}plan done TOPIC marks a topic done; {cmd}plan hours N sets your hours."))
        case res.ProjectsResult(view):
            for p in view.rows:
                link = f" {p.url}" if p.url else ""
                lines.append(f"  [{'x' if p.status == 'done' else '~' if p.status else ' '}] {p.project.id}: "
                             f"{p.project.title} ({p.status or 'not started'}){link}")
            if view.suggested:
                lines.append(f"Next: {view.suggested.title} ({view.reason})")
        case res.CertsResult(rows):
            for r in rows:
                c = r.cert
                status = f" — {r.status}" + (f" {r.on_date}" if r.on_date else "") if r.status else ""
                lines.append(f"  {c.id}: {c.title} ({c.difficulty}, {c.study_months[0]}-{c.study_months[1]} "
                             f"months, after Level {c.fits_after_level}){status}")
                if c.availability:
                    lines.append(f"      note: {c.availability}")
        case res.ChecklistResult(view):
            lines.append(f"Success metrics: {view.ticked} of {view.total} ticked")
            for checklist, items in view.checklists:
                lines.append(f"{checklist.title}:")
                lines += [f"  [{'x' if ev is not None else ' '}] {item.id}: {item.text}" + (f" — {ev}" if ev else "")
                          for item, ev in items]
        case res.CheckinsResult(settings):
            lines.append(f"Weekly check-in: {settings.describe()}")
        case res.ProjectShare(row, _user, channel):
            lines.append(f"Shared {row.project.title} to {channel}.")
        case res.ReviewOffer(author_id, _reviewer, title, _new):
            lines.append(f"Offered {author_id} a review of {title}.")
        case res.TeamResult(report):
            lines.append(f"Team {report.team_id}: {len(report.members)} members, {len(report.behind)} behind plan, "
                         f"{len(report.inactive)} inactive 14+ days")
    return "\n".join(lines)


def _level_outline(level: Level) -> list[str]:
    low, high = level.duration_months
    lines = [f"Level {level.number}: {level.name} ({low}-{high} months)"]
    for module in level.modules:
        lines += [f"  {module.title}"] + [f"    - {topic.title}" for topic in module.topics]
    if level.tracks:
        lines.append("  Specialization tracks (pick one: " + ours("`{cmd}track X`") + ")")
        for track in level.tracks:
            lines += [f"  Track {track.id}: {track.title}"] + [f"    - {topic.title}" for topic in track.topics]
    return lines


_wakeup: tuple[int, int] | None = None


def read_line(prompt: str) -> str:
    """`input()` for the chat that Ctrl-C always reaches.

    The kernel gives a terminal's SIGINT to any thread of the process that does not block it, and the chat's
    process has several (the ONNX runtime's, the vector store's, tqdm's). Python runs the handler in the main
    thread, but a main thread blocked in `input()`'s read only notices once that read returns: with the signal
    delivered elsewhere, Ctrl-C at a prompt did nothing, now and then, on a busy machine. Here the main
    thread waits in `select` on the terminal and on the signal wake-up pipe (`signal.set_wakeup_fd`), which
    every delivery writes to, so the KeyboardInterrupt is raised at once. Off a terminal this is `input()`."""
    global _wakeup
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return input(prompt)
    if _wakeup is None:
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        _wakeup = (r, w)
    r, w = _wakeup
    previous = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    try:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        fd = sys.stdin.fileno()
        data = b""
        while True:
            ready, _, _ = select.select([fd, r], [], [])  # the handler raises KeyboardInterrupt here
            if r in ready:
                try:
                    os.read(r, 512)  # a signal other than SIGINT: drain and wait on
                except BlockingIOError:
                    pass
            if fd in ready:
                chunk = os.read(fd, 65536)  # canonical mode: at most one line per read
                if not chunk and not data:
                    raise EOFError
                data += chunk
                if not chunk or data.endswith(b"\n"):
                    return data.removesuffix(b"\n").decode(sys.stdin.encoding or "utf-8", "replace")
    finally:
        signal.set_wakeup_fd(previous)


class _Leave(Exception):
    """/quit (or end of input) at a nested prompt: leave the chat."""


def run_chat(app: Application, who: Who, *, level: int | None = None, read: Callable[[str], str] = input,
             write: Callable[[str], None] = print, out: Callable[[str], None] | None = None) -> int:
    """The terminal mentor. With an LLM configured, answers stream to `out` while they are written."""
    history: list[Turn] = []
    last: res.AnswerView | None = None
    write(f"mlpath mentor · {app.mentor.store.count()} passages from the learning path. "
          "Ask a question, /help for commands, /quit to leave.")
    while True:
        try:
            line = clean_text(read(PROMPT)).strip()
        except (EOFError, KeyboardInterrupt):
            write("")
            return 0
        if not line:
            continue
        if not line.startswith("/"):
            command: c.Command = c.Ask(line)
        else:
            try:
                _, command = parse(line[1:], surface=c.TERMINAL)
            except UsageError as exc:
                write("error: " + ours(str(exc)))
                continue
        try:
            match command:
                case c.Quit():
                    return 0
                case c.AnswerLevel(number):
                    level = number
                    write(f"ok: answers will favour Level {level}")
                case c.Sources():
                    _write_sources(last, write)
                case c.Ask(question):
                    result = _ask(app, who, question, history=history, level=level, write=write, out=out)
                    if isinstance(result, res.AnswerView):
                        last = result
                        history = (history + [Turn("user", question), Turn("assistant", result.answer.text,
                                                                                   tuple(result.answer.citations))])
                case c.Quiz(scope):
                    _quiz(app, who, scope, read=read, write=write)
                case _:
                    outcome = app.run(who, command)
                    write(render(outcome))
                    if isinstance(outcome, res.ProgressReport) and outcome.chart is not None:
                        write(write_chart(outcome.chart, outcome.chart_path))
        except _Leave:
            write("")
            return 0


def save_png(png: bytes, path: str) -> Path:
    """Write a chart where the person asked, whole or not at all; a fault is one UserError line."""
    target = Path(path).expanduser()
    try:
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(png)
        tmp.replace(target)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
    return target


def write_chart(png: bytes, path: str) -> str:
    """The line the chat shows after writing a chart (an error is one line, nothing half-written)."""
    try:
        target = save_png(png, path)
    except UserError as exc:
        return f"error: {exc}"
    return f"chart written to {target} (PNG, {len(png) // 1024} KB)"


def _write_sources(last: res.AnswerView | None, write: Callable[[str], None]) -> None:
    if last is None:
        write("no answer yet")
        return
    for hit in list(last.answer.hits)[:3]:
        write(f"[{hit.rank}] {hit.section}  ({hit.source})")
        write("\n".join("    " + line if line else "" for line in markdown(excerpt(hit.text)).splitlines()) + "\n")


def _ask(app: Application, who: Who, question: str, *, history: list[Turn], level: int | None,
         write: Callable[[str], None], out: Callable[[str], None] | None) -> res.AnswerView | res.Notice:
    """Ask; an LLM answer is shown as it is written, then its note and sources. If the final answer is not the
    streamed text (the LLM failed halfway, or its reply cited no passage) the final one is printed."""
    streamed: list[str] = []

    def on_text(piece: str) -> None:
        assert out is not None
        if not streamed:
            out(MENTOR)
        streamed.append(piece)
        out(piece)

    result = app.ask(who, question, history=history, level=level, on_text=on_text if out is not None else None)
    if not isinstance(result, res.AnswerView) or not streamed:
        write(render(result) + "\n")
        return result
    assert out is not None
    out("\n")
    answer = result.answer
    if answer.answerer != "extractive" and "".join(streamed).strip() == answer.text.strip():
        write(format_answer(answer, text=False).lstrip("\n") + "\n")
    else:
        write("\n" + hang(MENTOR, format_answer(answer)) + "\n")
    return result


def _quiz(app: Application, who: Who, scope: str, *, read: Callable[[str], str],
          write: Callable[[str], None]) -> None:
    """Questions until the member stops: one, or the whole placement."""
    shown: Any = app.next_question(who, scope)
    while isinstance(shown, res.QuizView):
        write(render(shown))
        choice = ""
        while choice not in LETTERS or not choice:
            try:
                typed = clean_text(read(ANSWER_PROMPT)).strip()
            except (EOFError, KeyboardInterrupt):
                raise _Leave() from None
            if typed.lower() in ("/quit", "/exit", "/q"):
                raise _Leave()
            if typed.lower() == "/skip":
                write("skipped")
                return
            choice = typed.upper()[:1]
        outcome = app.answer_quiz(who, shown.prompt.token, LETTERS.index(choice), scope)
        write(render(outcome))
        if not (isinstance(outcome, res.QuizOutcome) and outcome.result.next_placement):
            return
        shown = app.next_question(who, "placement")
    write(render(shown))
