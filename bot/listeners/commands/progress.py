"""`/mlpath quiz|progress|done|habits|leaderboard|join|leave|track` — the progress side of the router."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot import blocks
from bot.services import BotServices
from progress.service import MemberRef, QuizBlocked, local_date, resolve_scope, utcnow


def send_next_question(services: BotServices, member: MemberRef, scope: str, respond: Respond, *,
                       replace: bool = True) -> None:
    """`replace=False` posts the question as a new message (from the reminder DM, which stays)."""
    assert services.progress is not None
    if scope == "placement":
        prompt = services.progress.next_placement(member)
    else:
        topic, level, error = resolve_scope(scope)
        if error:
            respond(replace_original=False, response_type="ephemeral", text=f"Sorry: {blocks.escape(error)}.")
            return
        prompt = services.progress.next_question(member, topic=topic, level=level)
    if isinstance(prompt, QuizBlocked):
        respond(replace_original=replace, response_type="ephemeral", text=blocks.blocked_text(prompt))
        return
    respond(replace_original=replace, response_type="ephemeral", text=prompt.question.question,
            blocks=blocks.build_quiz(prompt, scope=scope))


def run_progress_command(services: BotServices, sub: str, rest: str, member: MemberRef, respond: Respond,
                         client: WebClient | None = None) -> None:
    progress = services.progress
    assert progress is not None

    def say(text: str = "", blocks_: list[dict[str, Any]] | None = None) -> None:
        respond(replace_original=True, response_type="ephemeral", text=text or "mlpath", blocks=blocks_)

    if sub == "quiz":
        send_next_question(services, member, rest.strip().lower() if rest.strip().lower() == "placement" else rest,
                           respond)
    elif sub == "progress":
        say("Your progress", blocks.build_progress(progress.progress(member)))
    elif sub == "habits":
        say("Your habits", blocks.build_habits(progress.habits_today(member)))
    elif sub in ("done", "undo"):
        result = progress.check_in(member, rest) if sub == "done" else progress.undo_check_in(member, rest)
        say(blocks.checkin_text(result), blocks.checkin_blocks(result))
        if result.status in ("recorded", "undone") and client is not None:
            services.publish_home(client, member)
    elif sub == "leaderboard" and rest.strip().lower() in ("off", "on"):
        hidden = rest.strip().lower() == "off"
        progress.set_leaderboard_opt_out(member, hidden)
        say("You no longer appear on the leaderboard." if hidden else "You appear on the leaderboard again.")
    elif sub == "leaderboard":
        m = progress.member(member)
        today = local_date(m, utcnow())
        start = today - timedelta(days=today.weekday())
        year, week, _ = start.isocalendar()
        say("Leaderboard", blocks.build_leaderboard(progress.leaderboard(m.team_id, week_start=start),
                                                    week=f"{year}-W{week:02d}"))
    elif sub == "join":
        progress.set_active(member, True)
        say("Welcome to the learning path! Try `/mlpath quiz placement` to find your starting level.")
    elif sub == "leave":
        progress.set_active(member, False)
        say("You've left the learning path: no reminders, not on the leaderboard. `/mlpath join` brings you back.")
    elif sub == "track":
        chosen = progress.choose_track(member, rest)
        if chosen.status == "locked":
            say("Tracks are chosen at Level 4.")
        elif chosen.status == "unknown":
            say("Pick a track: " + ", ".join(f"{t} ({blocks.escape(title)})" for t, title in chosen.tracks))
        else:
            say(f"Your Level 4 track is now {chosen.track}: {blocks.escape(chosen.title)}.")
    elif sub == "nudges":
        say(nudges_command(services, member, rest))


NUDGES_USAGE = ("Usage: `/mlpath nudges off`, `on`, `time HH:MM` (your local time), `snooze N` (days; 0 ends it), "
                "or `/mlpath nudges` to see your settings.")


def nudges_command(services: BotServices, member: MemberRef, rest: str) -> str:
    """`/mlpath nudges off|on|time HH:MM|snooze N` → the one-line reply. Settings apply from the next send."""
    progress = services.progress
    assert progress is not None
    words = rest.lower().split()
    action = words[0] if words else ""
    arg = words[1] if len(words) > 1 else ""
    if action == "off" and len(words) == 1:
        progress.set_nudges(member, False)
        return "Daily reminders are off. `/mlpath nudges on` turns them back on."
    if action == "on" and len(words) == 1:
        m = progress.set_nudges(member, True)
        return f"Daily reminders are on: every day at {m.nudge_time} ({blocks.escape(m.tz)})."
    if action == "time" and len(words) == 2:
        try:
            m = progress.set_nudge_time(member, arg)
        except ValueError as exc:
            return f"Sorry: {blocks.escape(str(exc))}."
        return (f"Your daily reminder now comes at {m.nudge_time}, your time ({blocks.escape(m.tz)}), "
                "from the next one on.")
    if action == "snooze" and len(words) == 2:
        if not arg.isdigit():
            return "Sorry: snooze takes a number of days, e.g. `/mlpath nudges snooze 3`."
        try:
            resume = progress.snooze(member, int(arg))
        except ValueError as exc:
            return f"Sorry: {blocks.escape(str(exc))}."
        if resume is None:
            return "Snooze ended: reminders continue as usual."
        return f"Snoozed: no reminders until {resume:%a %d %b}. Enjoy the break!"
    if not words:
        m = progress.member(member)
        if not m.nudges_enabled:
            state = "off"
        elif m.snoozed_until and m.snoozed_until > local_date(m, utcnow()):
            state = f"snoozed until {m.snoozed_until:%a %d %b}"
        else:
            state = "on"
        extra = " (I couldn't reach you by DM last time; writing to me fixes that)" if m.unreachable else ""
        return (f"Daily reminders: {state}, at {m.nudge_time} ({blocks.escape(m.tz)}){extra}.\n{NUDGES_USAGE}")
    return NUDGES_USAGE
