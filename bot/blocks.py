"""Block Kit builders: pure functions from the application layer's results to Slack blocks, no Slack calls.
`render(result)` is the one entry point for a command's result.

Every text that did not come from this file (answers, retrieved passages, section names, the member's own
words) goes through `escape`, so nobody can make the bot post `<!channel>`, `<@U…>` or a disguised link.
Texts are cut to Slack's limits: 3,000 characters per section block, 40,000 per message.
"""

from __future__ import annotations

import re
from typing import Any

from knowledge.answer import Answer
from mlpath.app import results as res
from mlpath.app.commands import SLACK, phrase
from mlpath.app.service import promotion_text

SECTION_LIMIT = 3000
MESSAGE_LIMIT = 40_000
FEEDBACK_UP = "answer_feedback_up"
FEEDBACK_DOWN = "answer_feedback_down"


def escape(text: str) -> str:
    """Slack's three control characters, escaped: & < > (see Slack's "Formatting text" reference)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # never cut inside an escape sequence such as &amp;
    cut = re.sub(r"&[a-z]{0,4}$", "", cut)
    return cut.rstrip() + "…"


def _mrkdwn_answer(text: str) -> str:
    """Our answer text is plain prose with `code` spans and [n] markers; escape, then keep `code`."""
    return escape(text)


def _sections(text: str) -> list[dict[str, Any]]:
    """Split a long text at paragraph boundaries into section blocks within Slack's limit."""
    blocks: list[dict[str, Any]] = []
    current = ""
    for para in text.split("\n\n"):
        candidate = f"{current}\n\n{para}" if current else para
        if len(candidate) <= SECTION_LIMIT:
            current = candidate
            continue
        if current:
            blocks.append(_section(current))
        current = clip(para, SECTION_LIMIT)
    if current:
        blocks.append(_section(current))
    return blocks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def answer_text(answer: Answer) -> str:
    """The notification/fallback text of an answer message."""
    return clip(escape(answer.text), MESSAGE_LIMIT)


def build_answer(answer: Answer, *, feedback_value: str = "") -> list[dict[str, Any]]:
    """An answer: the text, numbered sources (or the nearest sections of a refusal), 👍/👎 buttons."""
    return _sections(_mrkdwn_answer(answer.text)) + build_answer_tail(answer, feedback_value=feedback_value)


def build_answer_tail(answer: Answer, *, feedback_value: str = "") -> list[dict[str, Any]]:
    """Everything of an answer message below its text: a note (why an AI answer fell back), the sources,
    the 👍/👎 buttons. A streamed answer gets these when its stream stops."""
    blocks: list[dict[str, Any]] = []
    if answer.note:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": clip("_" + escape(answer.note) + "_", SECTION_LIMIT)}]})
    if answer.citations:
        label = "Sources" if answer.grounded else "Nearest sections"
        lines = [f"*{label}*"] + [f"[{c.n}] {escape(c.section)}" for c in answer.citations]
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": clip("\n".join(lines), SECTION_LIMIT)}]})
    if answer.grounded:
        blocks.append({
            "type": "actions",
            "block_id": "answer_feedback",
            "elements": [
                {"type": "button", "action_id": FEEDBACK_UP, "text": {"type": "plain_text", "text": "👍 Helpful"},
                 "value": feedback_value[:2000]},
                {"type": "button", "action_id": FEEDBACK_DOWN,
                 "text": {"type": "plain_text", "text": "👎 Not helpful"}, "value": feedback_value[:2000]},
            ],
        })
    return blocks


def build_text(text: str) -> list[dict[str, Any]]:
    """A plain message we wrote ourselves (help, errors); still escaped, since it may quote the member."""
    return _sections(escape(text))


def build_feedback_thanks(helpful: bool) -> list[dict[str, Any]]:
    word = "helpful" if helpful else "not helpful"
    return [{"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"Thanks, noted as {word}. It helps us find gaps in the curriculum."}]}]


def ours(text: str) -> str:
    """A text of ours from the application layer (mrkdwn, command names as `{cmd}…`, maybe quoting the member):
    commands written the Slack way, everything escaped."""
    return escape(phrase(text, SLACK))


def render(result: res.Result) -> tuple[str, list[dict[str, Any]]]:
    """A command's result → (notification text, blocks)."""
    match result:
        case res.Notice(text):
            return clip(ours(text), MESSAGE_LIMIT), _sections(ours(text))
        case res.HelpView(entries):
            return "mlpath help", build_help(entries)
        case res.AnswerView(answer, answer_id):
            return answer_text(answer), build_answer(answer, feedback_value=answer_id or "")
        case res.QuizView(prompt, scope):
            return prompt.question.question, build_quiz(prompt, scope=scope)
        case res.QuizOutcome(result=outcome, scope=scope):
            return "Quiz result", build_quiz_result(outcome, scope=scope)
        case res.ProgressReport(view):
            return "Your progress", build_progress(view)
        case res.HabitsView(habits, note):
            return "Your habits", (build_text_mrkdwn(ours(note)) if note else []) + build_habits(habits)
        case res.LeaderboardView(rows, week):
            return "Leaderboard", build_leaderboard(rows, week=week)
        case res.LevelSet(user_id, level):
            text = f"<@{user_id}> is now at Level {level}."  # user_id matched [UW][A-Z0-9]+ in the parser
            return text, _sections(text)
        case res.SearchView(query, hits):
            lines = [f"*{escape(h.section)}*" for h in hits] or ["No passages found."]
            return f"Passages for {escape(query)}", _sections("\n".join(lines))
        case res.HomeView():
            return "Your learning path", build_home(result.progress, result.habits)["blocks"]
    raise TypeError(f"no Slack rendering for {type(result).__name__}")


HELP_INTRO = "*mlpath* — your mentor for the “Becoming an AI/ML Expert” learning path."
HELP_OUTRO = ("• Mention me in a channel (`@mlpath what is PCA?`) and I answer in a thread; reply in that thread to "
              "follow up.\n• Send me a direct message, or open me in the assistant side panel.")


def build_help(entries: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The help, generated from the routing table (mlpath/app/commands.py)."""
    lines = [HELP_INTRO] + [f"• `/mlpath {escape(usage)}` — {ours(summary)}" for usage, summary in entries]
    return _sections("\n".join(lines + [HELP_OUTRO]))


def build_text_mrkdwn(text: str) -> list[dict[str, Any]]:
    """A message written by us with mrkdwn formatting; anything quoted from a member inside it must
    already have been passed through `escape`."""
    return _sections(text)


# ----- quizzes and progress -----
QUIZ_ANSWER = "quiz_answer"
QUIZ_NEXT = "quiz_next"
HABIT_DONE = "habit_done"
LETTERS = "ABCD"


def build_quiz(prompt: Any, *, scope: str = "") -> list[dict[str, Any]]:
    """A question with four answer buttons. Button values carry the delivery token, so only that delivery
    can be answered, once (the database decides)."""
    q = prompt.question
    header = {"review": "Review", "new": "New question", "ahead": "Practice ahead",
              "placement": f"Placement {prompt.placement_step}/{prompt.placement_total}"}.get(prompt.kind, "Quiz")
    due = f" · {prompt.due_reviews} review(s) due" if prompt.kind != "placement" and prompt.due_reviews else ""
    lines = [f"*{header}* · Level {q.level}{due}", escape(q.question)]
    lines += [f"*{LETTERS[i]}.* {escape(opt)}" for i, opt in enumerate(q.options)]
    return [
        _section(clip("\n".join(lines), SECTION_LIMIT)),
        {"type": "actions", "block_id": "quiz_answers", "elements": [
            {"type": "button", "action_id": f"{QUIZ_ANSWER}_{i}", "text": {"type": "plain_text", "text": LETTERS[i]},
             "value": f"{prompt.token}:{i}:{scope}"[:2000]} for i in range(4)]},
    ]


def build_quiz_result(result: Any, *, scope: str = "") -> list[dict[str, Any]]:
    q = result.question
    verdict = "✅ Correct!" if result.correct else f"❌ Not quite — the answer is *{LETTERS[q.answer]}.*"
    lines = [escape(q.question), f"You chose *{LETTERS[result.chosen]}.* {escape(q.options[result.chosen])}",
             verdict, escape(q.explanation)]
    if result.xp:
        lines.append(f"+{result.xp} XP")
    if result.promoted_to:
        lines.append(ours(promotion_text(result.promoted_to)))
    if result.placement_done_level:
        lines.append(f"Placement done: you start at *Level {result.placement_done_level}*.")
    out = [_section(clip("\n".join(lines), SECTION_LIMIT)),
           {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Source: {escape(q.section)}"}]}]
    label = "Next placement question" if result.next_placement else "Next question"
    value = "placement" if result.next_placement else scope
    if not result.placement_done_level:
        out.append({"type": "actions", "block_id": "quiz_next", "elements": [
            {"type": "button", "action_id": QUIZ_NEXT, "text": {"type": "plain_text", "text": label},
             "value": value or "-"}]})
    return out


def build_progress(view: Any) -> list[dict[str, Any]]:
    track = f" · Track {view.track}" if view.track else ""
    lines = [f"*Level {view.level}: {escape(view.level_name)}*{track}"]
    if view.next_level_name:
        lines.append(f"{view.mastered}/{view.needed} topics mastered to reach Level {view.level + 1} "
                     f"({escape(view.next_level_name)})")
    for t in view.topics:
        bar = "▰" if t.mastered else "▱"
        lines.append(f"{bar} {escape(t.title)}" + ("" if t.answered else " · not started"))
    freezes = f" (🧊 {view.freezes} freeze{'s' if view.freezes != 1 else ''})" if view.freezes else ""
    lines.append(f"🔥 Streak: {view.streak} day(s){freezes} · 🔁 {view.due_reviews} review(s) due · "
                 f"⭐ {view.weekly_xp} XP this week" + (f" · rank {view.rank}/{view.team_size}" if view.rank else ""))
    if getattr(view, "reminder", ""):
        lines.append(f"⏰ Daily reminder: {escape(view.reminder)} · change it with `/mlpath nudges`")
    return _sections("\n".join(lines))


def build_home(view: Any, habits: list[tuple[Any, bool]]) -> dict[str, Any]:
    """The App Home tab: the member's own dashboard (progress, then today's habits with buttons)."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": "Your learning path"}}]
    blocks += build_progress(view)
    blocks.append({"type": "divider"})
    blocks += build_habits(habits)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "`/mlpath quiz` for a question · "
                                                    "`/mlpath help` for everything else"}]})
    return {"type": "home", "blocks": blocks[:100]}


def build_habits(habits: list[tuple[Any, bool]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for cadence in ("daily", "weekly", "monthly"):
        items = [(h, done) for h, done in habits if h.cadence == cadence]
        if not items:
            continue
        out.append(_section(f"*{cadence.capitalize()} habits* ({escape(items[0][0].time_budget)})"))
        for habit, done in items:
            block: dict[str, Any] = _section(("✅ " if done else "▫️ ") + escape(habit.description))
            if not done:
                block["accessory"] = {"type": "button", "action_id": f"{HABIT_DONE}_{habit.id}",
                                      "text": {"type": "plain_text", "text": "Done"}, "value": habit.id}
            out.append(block)
    return out


def build_leaderboard(rows: list[Any], *, week: str) -> list[dict[str, Any]]:
    if not rows:
        return _sections(f"*Leaderboard, week {week}*\nNo XP yet this week — a quiz takes a minute!")
    lines = [f"*Leaderboard, week {week}*"]
    for r in rows[:10]:
        name = escape(r.display_name or r.user_id)
        lines.append(f"{r.rank}. {name} — {r.xp} XP · 🔥 {r.streak}")
    return _sections("\n".join(lines))


# ----- daily reminder and weekly post -----
NUDGE_QUIZ = "nudge_quiz"


def nudge_text(message: Any) -> str:
    """The notification text of a reminder DM (what a phone shows)."""
    return f"{message.greeting} {message.lines[0] if message.lines else ''}".strip()


def build_nudge(message: Any) -> list[dict[str, Any]]:
    """The daily DM: greeting, today's habit(s) with Done buttons, the quiz button with reviews due, the
    streak. Our own wording is mrkdwn; names and habit texts come escaped from `escape`."""
    greeting = escape(message.greeting)
    out: list[dict[str, Any]] = [_section(f"*{greeting}*")]
    habit_lines = len(message.habits)
    for i, (habit, done) in enumerate(message.habits):
        text = escape(message.lines[i]) if i < len(message.lines) else escape(habit.description)
        block = _section(("✅ " if done else "") + text)
        if not done:
            block["accessory"] = {"type": "button", "action_id": f"{HABIT_DONE}_{habit.id}",
                                  "text": {"type": "plain_text", "text": "Done"}, "value": habit.id}
        out.append(block)
    rest = [escape(line) for line in message.lines[habit_lines:]]
    if rest:
        out.append(_section("\n".join(rest)))
    label = f"Take today's quiz ({message.due_reviews} due)" if message.due_reviews else "Take today's quiz"
    out.append({"type": "actions", "block_id": "nudge_actions", "elements": [
        {"type": "button", "action_id": NUDGE_QUIZ, "style": "primary", "value": "-",
         "text": {"type": "plain_text", "text": label}}]})
    out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
        "Reminders: `/mlpath nudges time 08:30` · `/mlpath nudges snooze 3` · `/mlpath nudges off`")}]})
    return out


def leaderboard_post_text(post: Any) -> str:
    return f"mlpath leaderboard, week {post.week}"


def build_leaderboard_post(post: Any) -> list[dict[str, Any]]:
    """The weekly channel post: last week's top members with XP and streaks, and a line of encouragement."""
    lines = [f"*🏆 mlpath leaderboard — week {escape(post.week)}*"]
    medals = {1: "🥇", 2: "🥈", 3: "🥉"}
    for r in post.rows:
        name = escape(r.display_name or r.user_id)
        streak = f" · 🔥 {r.streak}" if r.streak else ""
        lines.append(f"{medals.get(r.rank, f'{r.rank}.')} {name} — {r.xp} XP{streak}")
    lines.append("")
    lines.append(escape(post.line))
    return _sections("\n".join(lines)) + [{"type": "context", "elements": [{"type": "mrkdwn", "text": (
        "Earn XP with `/mlpath quiz` and `/mlpath habits` · hide yourself with `/mlpath leaderboard off`")}]}]
