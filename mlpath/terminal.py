"""The terminal front end (`mlpath chat`): reads a line, hands it to the application layer (a question, or a
`/command` parsed by the same routing table as Slack's `/mlpath`), and renders the typed result as text."""

from __future__ import annotations

import getpass
import re
from collections.abc import Callable
from typing import Any

from knowledge.answer import Answer, Turn
from mlpath.app import Application, UsageError, Who, parse
from mlpath.app import commands as c
from mlpath.app import results as res
from mlpath.app.service import TERMINAL_TEAM
from progress.service import MemberRef

PROMPT = "you › "
MENTOR = "mentor › "
ANSWER_PROMPT = "answer (A-D, /skip, /quit) › "
LETTERS = "ABCD"
_BOLD = re.compile(r"\*([^*\n]+)\*")


def terminal_member(tz: str | None) -> Who:
    """The person at the terminal: their login name, in the terminal team (never a Slack workspace)."""
    name = getpass.getuser() or "me"
    return Who(MemberRef(TERMINAL_TEAM, name, name, tz if tz and "/" in tz else "UTC"), "terminal")


def ours(text: str) -> str:
    """A text of ours from the application layer: commands written the terminal way, no mrkdwn bold."""
    return _BOLD.sub(r"\1", c.phrase(text, c.TERMINAL))


def format_answer(answer: Answer, *, text: bool = True) -> str:
    """The answer, a note (why an AI answer fell back) and its sources; `text=False` leaves out the answer
    text (it was streamed already)."""
    lines = [answer.text, ""] if text else [""]
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
            return MENTOR + format_answer(answer)
        case res.QuizView(prompt):
            q = prompt.question
            kind = f"placement {prompt.placement_step}/{prompt.placement_total}" if prompt.kind == "placement" \
                else prompt.kind
            return "\n".join([f"[{kind}, Level {q.level}] {q.question}"]
                             + [f"  {LETTERS[i]}. {option}" for i, option in enumerate(q.options)])
        case res.QuizOutcome(result=outcome, promotion=promotion, placement=placement):
            asked = outcome.question
            assert asked is not None
            verdict = "correct! " if outcome.correct else f"not quite: the answer is {LETTERS[asked.answer]}. "
            lines = [verdict + asked.explanation + f" (+{outcome.xp} XP; source: {asked.section})"]
            lines += [ours(extra) for extra in (promotion, placement) if extra]
            return "\n".join(lines)
        case res.ProgressReport(view):
            lines = [f"Level {view.level}: {view.level_name} · {view.mastered}/{view.needed} topics mastered · "
                     f"streak {view.streak} ({view.freezes} freeze(s)) · {view.due_reviews} review(s) due · "
                     f"{view.weekly_xp} XP this week"]
            lines += [f"  {'■' if t.mastered else '□'} {t.title}" for t in view.topics]
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
            return "\n".join(f"{h.rank}. {h.section} ({h.similarity:.2f})" for h in hits)
        case res.LevelSet(user_id, level):
            return f"{user_id} is now at Level {level}."
        case res.HomeView(progress=view):
            return render(res.ProgressReport(view))
    raise TypeError(f"no terminal rendering for {type(result).__name__}")


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
            line = read(PROMPT).strip()
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
                    write(render(app.run(who, command)))
        except _Leave:
            write("")
            return 0


def _write_sources(last: res.AnswerView | None, write: Callable[[str], None]) -> None:
    if last is None:
        write("no answer yet")
        return
    for hit in list(last.answer.hits)[:3]:
        write(f"- {hit.section}: {' '.join(hit.text.split())[:300]}")


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
        write("\n" + MENTOR + format_answer(answer) + "\n")
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
                typed = read(ANSWER_PROMPT).strip()
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
