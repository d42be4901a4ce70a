"""Block Kit builders: pure functions from the application layer's results to Slack blocks, no Slack calls.
`render(result)` is the one entry point for a command's result.

Every text that did not come from this file (answers, retrieved passages, section names, the member's own
words) goes through `escape`, so nobody can make the bot post `<!channel>`, `<@U…>` or a disguised link.
Texts are cut to Slack's limits: 3,000 characters per section block, 40,000 per message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TypeAlias, TypedDict

from bot.payloads import QuizAnswerValue
from knowledge.answer import Answer
from knowledge.catalogue import Habit, Level
from knowledge.quizzes import SectionText
from mlpath.app import results as res
from mlpath.app.commands import SLACK, phrase
from progress.buddies import BuddyAnswer, BuddyOfferView
from progress.checkins import CheckinMessage
from progress.mentoring import (
    CertRow,
    ChecklistView,
    GoalsView,
    ProjectRow,
    ProjectsView,
    TeamMemberRow,
    TeamReport,
    WeeklyPlan,
)
from progress.scheduler import LeaderboardPost, NudgeMessage
from progress.service import LeaderRow, ProgressView, QuizPrompt

JSON: TypeAlias = str | int | float | bool | None | Sequence["JSON"] | Mapping[str, "JSON"]
"""A value Slack's Block Kit takes."""
Block: TypeAlias = dict[str, JSON]
"""One Block Kit block (a section, an actions row, a context line…)."""


class HomeTab(TypedDict):
    """The App Home view `views.publish` takes."""

    type: str
    blocks: list[Block]


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


def _sections(text: str) -> list[Block]:
    """Split a long text at paragraph boundaries into section blocks within Slack's limit."""
    blocks: list[Block] = []
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


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def answer_text(answer: Answer) -> str:
    """The notification/fallback text of an answer message."""
    return clip(escape(answer.text), MESSAGE_LIMIT)


def build_answer(answer: Answer, *, feedback_value: str = "") -> list[Block]:
    """An answer: the text, numbered sources (or the nearest sections of a refusal), 👍/👎 buttons."""
    return _sections(_mrkdwn_answer(answer.text)) + build_answer_tail(answer, feedback_value=feedback_value)


def build_answer_tail(answer: Answer, *, feedback_value: str = "") -> list[Block]:
    """Everything of an answer message below its text: a note (why an AI answer fell back), the sources,
    the 👍/👎 buttons. A streamed answer gets these when its stream stops."""
    blocks: list[Block] = []
    if answer.note:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": clip("_" + escape(answer.note) + "_", SECTION_LIMIT)}]})
    if answer.citations:
        label = "Sources" if answer.grounded else "Nearest sections"
        lines = [f"*{label}*"] + [f"[{c.n}] {escape(c.section)}" for c in answer.citations]
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": clip("\n".join(lines), SECTION_LIMIT)}]})
    if answer.grounded and feedback_value:  # no id (the answer log was unavailable): nothing to rate
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


def build_text(text: str) -> list[Block]:
    """A plain message we wrote ourselves (help, errors); still escaped, since it may quote the member."""
    return _sections(escape(text))


def build_feedback_thanks(helpful: bool) -> list[Block]:
    word = "helpful" if helpful else "not helpful"
    return [{"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"Thanks, noted as {word}. It helps us find gaps in the curriculum."}]}]


def ours(text: str) -> str:
    """A text of ours from the application layer (mrkdwn, command names as `{cmd}…`, maybe quoting the member):
    commands written the Slack way, everything escaped."""
    return escape(phrase(text, SLACK))


def render(result: res.Result) -> tuple[str, list[Block]]:
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
        case res.QuizOutcome():
            return "Quiz result", build_quiz_result(result)
        case res.CheckinView(text=text):
            return clip(ours(text), MESSAGE_LIMIT), build_habit_checkin(result)
        case res.SectionView(section):
            return section.title, build_section(section)
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
            return "Your learning path", build_home(result.progress, result.habits, result.mentoring)["blocks"]
        case res.GoalsResult(view, ideas_for, note):
            out = build_goal_suggestions(view, ideas_for) if ideas_for else build_goals(view)
            return "Your goals", _noted(note) + out
        case res.PlanResult(plan, note):
            return f"Your plan for {plan.week}", _noted(note) + build_plan(plan)
        case res.ProjectsResult(view, note):
            return "Portfolio projects", _noted(note) + build_projects(view)
        case res.ProjectShare(row, _user, channel):
            text = f"Shared {escape(row.project.title)} in <#{escape(channel)}> for feedback."
            return text, _sections(text)
        case res.CertsResult(rows, note):
            return "Certifications", _noted(note) + build_certifications(rows)
        case res.ChecklistResult(view, note):
            return "Success metrics", _noted(note) + build_checklist(view)
        case res.CheckinsResult(settings, note):
            text = escape(note) if note else f"Weekly check-in: {escape(settings.describe())}."
            return text, _sections(text) + [_context(ours("Change it: " + CHECKINS_HELP))]
        case res.TeamResult(report):
            return "Team report", build_team(report)
        case res.ReviewOffer(author_id, _reviewer, title, new):
            text = (f"Thanks! I told <@{escape(author_id)}> you offered to review their {escape(title)}." if new
                    else f"You already offered <@{escape(author_id)}> a review of {escape(title)}.")
            return text, _sections(text)
        case res.PathView(title, levels):
            return escape(title), build_path(title, levels)
        case res.BuddyIntro(answer):
            text = (f"I've opened a group DM with <@{escape(answer.buddy_user_id)}> about {escape(answer.title)}.")
            return text, _sections(text)
    raise TypeError(f"no Slack rendering for {type(result).__name__}")


CHECKINS_HELP = ("`{cmd}checkins day fri` · `{cmd}checkins time 17:00` · `{cmd}checkins off` · "
                 "`{cmd}checkins on`")


def _noted(note: str) -> list[Block]:
    """A confirmation line above a refreshed view (our wording, which may quote the member: escaped)."""
    return [_section(f"✅ {escape(note)}")] if note else []


def build_path(title: str, levels: tuple[Level, ...]) -> list[Block]:
    """The learning path's outline: a section per level, each module (or track) with its topics."""
    blocks = [_section(f"*{escape(title)}*")]
    for level in levels:
        low, high = level.duration_months
        lines = [f"*Level {level.number}: {escape(level.name)}* ({low}-{high} months)"]
        lines += [f"• *{escape(m.title)}*: " + " · ".join(escape(t.title) for t in m.topics) for m in level.modules]
        if level.tracks:
            lines.append("Specialization tracks (pick one: " + ours("`{cmd}track X`") + ")")
            lines += [f"• *Track {t.id}: {escape(t.title)}*: " + " · ".join(escape(x.title) for x in t.topics)
                      for t in level.tracks]
        blocks += _sections("\n".join(lines))
    return blocks


HELP_INTRO = "*mlpath* — your mentor for the “Becoming an AI/ML Expert” learning path."
HELP_OUTRO = ("• Mention me in a channel (`@mlpath what is PCA?`) and I answer in a thread; reply in that thread to "
              "follow up.\n• Send me a direct message, or open me in the assistant side panel.")


def build_help(entries: list[tuple[str, str]]) -> list[Block]:
    """The help, generated from the routing table (mlpath/app/commands.py)."""
    lines = [HELP_INTRO] + [f"• `/mlpath {escape(usage)}` — {ours(summary)}" for usage, summary in entries]
    return _sections("\n".join(lines + [HELP_OUTRO]))


def build_text_mrkdwn(text: str) -> list[Block]:
    """A message written by us with mrkdwn formatting; anything quoted from a member inside it must
    already have been passed through `escape`."""
    return _sections(text)


# ----- quizzes and progress -----
QUIZ_ANSWER = "quiz_answer"
QUIZ_NEXT = "quiz_next"
QUIZ_SECTION = "quiz_section"
HABIT_DONE = "habit_done"
HABIT_UNDO = "habit_undo"
TOPIC_STATE = {"mastered": "✅ mastered", "learning": "📘 learning", "slipping": "⚠️ slipping", "new": "▫️ new"}
LETTERS = "ABCD"


ASKED_ANSWERS = "asked_answers"
"""The block of a question inside the reminder DM: its answer comes as a new message and the DM stays."""


def build_quiz(prompt: QuizPrompt, *, scope: str = "", block_id: str = "quiz_answers") -> list[Block]:
    """A question with four answer buttons. Button values carry the delivery token, so only that delivery
    can be answered, once (the database decides)."""
    q = prompt.question
    header = {"review": "Review", "new": "New question", "ahead": "Practice ahead",
              "placement": f"Placement · question {prompt.placement_step} of up to {prompt.placement_total}"
              }.get(prompt.kind, "Quiz")
    due = f" · {prompt.due_reviews} review(s) due" if prompt.kind != "placement" and prompt.due_reviews else ""
    if prompt.asked is not None:
        header = escape(prompt.asked.line)
    lines = [f"*{header}* · Level {q.level}{due}", escape(q.question)]
    lines += [f"*{LETTERS[i]}.* {escape(opt)}" for i, opt in enumerate(q.options)]
    return [
        _section(clip("\n".join(lines), SECTION_LIMIT)),
        {"type": "actions", "block_id": block_id, "elements": [
            {"type": "button", "action_id": f"{QUIZ_ANSWER}_{i}", "text": {"type": "plain_text", "text": LETTERS[i]},
             "value": QuizAnswerValue(prompt.token, i, scope).encode()} for i in range(4)]},
    ]


def build_quiz_result(outcome: res.QuizOutcome) -> list[Block]:
    """The answered question: the verdict, the explanation, XP, the promotion and placement wording the
    application wrote (one wording for both front ends), and the next step's buttons."""
    result, scope = outcome.result, outcome.scope
    q = result.question
    assert q is not None and result.chosen is not None  # an outcome is a recorded answer (Application.answer_quiz)
    verdict = "✅ Correct!" if result.correct else f"❌ Not quite — the answer is *{LETTERS[q.answer]}.*"
    lines = [escape(q.question), f"You chose *{LETTERS[result.chosen]}.* {escape(q.options[result.chosen])}",
             verdict, escape(q.explanation)]
    if result.xp:
        lines.append(f"+{result.xp} XP")
    lines += [ours(extra) for extra in (outcome.promotion, outcome.placement) if extra]
    if result.review_due is not None:
        lines.append("This question comes back for a review in a few minutes.")
    out: list[Block] = [
        _section(clip("\n".join(lines), SECTION_LIMIT)),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Source: {escape(q.section)}"}]}]
    label = "Next placement question" if result.next_placement else "Next question"
    value = "placement" if result.next_placement else scope
    buttons: list[Block] = []
    if result.section is not None:
        buttons.append({"type": "button", "action_id": QUIZ_SECTION, "value": result.section.id[:2000],
                        "text": {"type": "plain_text", "text": "Read the section"}})
    if not result.placement_done_level:
        buttons.append({"type": "button", "action_id": QUIZ_NEXT, "text": {"type": "plain_text", "text": label},
                        "value": value or "-"})
    if buttons:
        out.append({"type": "actions", "block_id": "quiz_next", "elements": buttons})
    if outcome.buddy is not None:
        out += build_buddy_offer(outcome.buddy)
    return out


BUDDY_YES = "buddy_yes"
BUDDY_NO = "buddy_no"


def build_buddy_offer(offer: BuddyOfferView) -> list[Block]:
    """"Ana mastered Window functions last week and offers help — want an intro?" with Yes / No thanks."""
    return [_section("🤝 " + escape(offer.text)),
            {"type": "actions", "block_id": "buddy_offer", "elements": [
                {"type": "button", "action_id": BUDDY_YES, "style": "primary", "value": offer.token,
                 "text": {"type": "plain_text", "text": "Yes, introduce us"}},
                {"type": "button", "action_id": BUDDY_NO, "value": offer.token,
                 "text": {"type": "plain_text", "text": "No thanks"}}]}]


def buddy_intro(answer: BuddyAnswer) -> tuple[str, list[Block]]:
    """The first message of the group DM: who is who, the topic and the section to read together."""
    member, buddy = f"<@{escape(answer.member_user_id)}>", f"<@{escape(answer.buddy_user_id)}>"
    text = (f"👋 {member}, meet {buddy}: {buddy} mastered *{escape(answer.title)}* and offered to help. "
            f"A good start: read *{escape(answer.section)}* together, then try `/mlpath quiz` on it.")
    return f"mlpath buddy intro: {answer.title}", _sections(text)


def build_section(section: SectionText) -> list[Block]:
    """A curriculum section to read after a wrong answer: its path, then its text (split into blocks)."""
    head: list[Block] = [_section(f"*{escape(section.title)}*"),
                         {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(section.id)}]}]
    return head + _sections(re.sub(r"\*\*(.+?)\*\*", r"*\1*", escape(section.text)))[:40]


def build_habit_checkin(view: res.CheckinView) -> list[Block]:
    """A check-in reply (what matched is in the text), with an Undo button on a new check-in."""
    block = _section(ours(view.text))
    if view.result.status == "recorded" and view.result.habit is not None:
        block["accessory"] = {"type": "button", "action_id": HABIT_UNDO, "value": view.result.habit.id,
                              "text": {"type": "plain_text", "text": "Undo"}}
    return [block]


def build_progress(view: ProgressView) -> list[Block]:
    track = f" · Track {view.track}" if view.track else ""
    lines = [f"*Level {view.level}: {escape(view.level_name)}*{track}"]
    if view.next_level_name:
        lines.append(f"{view.mastered}/{view.needed} topics mastered to reach Level {view.level + 1} "
                     f"({escape(view.next_level_name)})")
    if view.needs_track:
        lines.append("Choose your specialization track with `/mlpath track A-E`: "
                     + ", ".join(f"{t} {escape(title)}" for t, title in view.tracks))
    for t in view.topics:
        lines.append(f"{TOPIC_STATE.get(t.state, t.state)} · {escape(t.title)}")
    freezes = f" (🧊 {view.freezes} freeze{'s' if view.freezes != 1 else ''})" if view.freezes else ""
    lines.append(f"🔥 Streak: {view.streak} day(s){freezes} · 🔁 {view.due_reviews} review(s) due · "
                 f"⭐ {view.weekly_xp} XP this week" + (f" · rank {view.rank}/{view.team_size}" if view.rank else ""))
    if view.reminder:
        lines.append(f"⏰ Daily reminder: {escape(view.reminder)} · change it with `/mlpath nudges`")
    if view.asked_topics:
        lines.append(f"💬 Topics you asked about: {view.asked_mastered} of {view.asked_topics} mastered")
    return _sections("\n".join(lines))


def build_home(view: ProgressView, habits: list[tuple[Habit, bool]],
               mentoring: res.MentoringHome | None = None, *, chart: tuple[str, str] | None = None) -> HomeTab:
    """The App Home tab: the member's own dashboard (progress, today's habits with buttons, then the
    mentoring: this week's plan, goals, projects, certifications and the checklist, in short)."""
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": "Your learning path"}}]
    blocks += build_progress(view)
    if chart is not None:  # (Slack file id, alt text): topics mastered over time, with the plan's pace
        blocks.append({"type": "image", "slack_file": {"id": chart[0]}, "alt_text": clip(chart[1], 2000),
                       "title": {"type": "plain_text", "text": "Topics mastered over time"}})
    blocks.append({"type": "divider"})
    blocks += build_habits(habits)
    if mentoring is not None:
        blocks += build_home_mentoring(mentoring)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "`/mlpath quiz` for a question · "
                                                    "`/mlpath help` for everything else"}]})
    return {"type": "home", "blocks": blocks[:100]}


def build_habits(habits: list[tuple[Habit, bool]]) -> list[Block]:
    out: list[Block] = []
    for cadence in ("daily", "weekly", "monthly"):
        items = [(h, done) for h, done in habits if h.cadence == cadence]
        if not items:
            continue
        out.append(_section(f"*{cadence.capitalize()} habits* ({escape(items[0][0].time_budget)})"))
        for habit, done in items:
            block: Block = _section(("✅ " if done else "▫️ ") + escape(habit.description))
            if not done:
                block["accessory"] = {"type": "button", "action_id": f"{HABIT_DONE}_{habit.id}",
                                      "text": {"type": "plain_text", "text": "Done"}, "value": habit.id}
            out.append(block)
    return out


def build_leaderboard(rows: list[LeaderRow], *, week: str) -> list[Block]:
    if not rows:
        return _sections(f"*Leaderboard, week {week}*\nNo XP yet this week — a quiz takes a minute!")
    lines = [f"*Leaderboard, week {week}*"]
    for r in rows[:10]:
        name = escape(r.display_name or r.user_id)
        lines.append(f"{r.rank}. {name} — {r.xp} XP · 🔥 {r.streak}")
    return _sections("\n".join(lines))


# ----- daily reminder and weekly post -----
NUDGE_QUIZ = "nudge_quiz"


def nudge_text(message: NudgeMessage) -> str:
    """The notification text of a reminder DM (what a phone shows)."""
    return f"{message.greeting} {message.lines[0] if message.lines else ''}".strip()


def build_nudge(message: NudgeMessage) -> list[Block]:
    """The daily DM: greeting, today's habit(s) with Done buttons, the quiz button with reviews due, the
    streak. Our own wording is mrkdwn; names and habit texts come escaped from `escape`."""
    greeting = escape(message.greeting)
    out: list[Block] = [_section(f"*{greeting}*")]
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
    if message.asked is not None:
        out += build_quiz(message.asked, block_id=ASKED_ANSWERS)
    label = f"Take today's quiz ({message.due_reviews} due)" if message.due_reviews else "Take today's quiz"
    out.append({"type": "actions", "block_id": "nudge_actions", "elements": [
        {"type": "button", "action_id": NUDGE_QUIZ, "style": "primary", "value": "-",
         "text": {"type": "plain_text", "text": label}}]})
    out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
        "Reminders: `/mlpath nudges time 08:30` · `/mlpath nudges snooze 3` · `/mlpath nudges off`"
        + (" · no checks of what you asked: `/mlpath nudges asked off`" if message.asked is not None else ""))}]})
    return out


def leaderboard_post_text(post: LeaderboardPost) -> str:
    return f"mlpath leaderboard, week {post.week}"


def build_leaderboard_post(post: LeaderboardPost) -> list[Block]:
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


# ----- mentoring: the weekly plan and the weekly check-in (progress/mentoring.py, progress/checkins.py) -----
PLAN_TOPIC_DONE = "plan_topic_done"
PLAN_HOURS = "plan_hours"
HOURS_CHOICES = (2, 3, 5, 8, 10, 12, 15, 20)


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}]}


def build_plan(plan: WeeklyPlan, *, buttons: bool = True) -> list[Block]:
    """This week's plan: pace (and how it is estimated), focus topics with the section to read and the
    exercise (each with a Mark done button), one habit per cadence, due reviews, planned certifications,
    goals, and a menu to change the weekly hours."""
    pace = plan.pace
    icon = {"on track": "🟢", "ahead": "🚀", "behind": "🟠"}.get(pace.status, "")
    out: list[Block] = [
        _section(f"*{icon} {escape(pace.status.capitalize())}* · Level {pace.level} {escape(pace.level_name)} · "
                 f"{plan.hours} h/week{'' if plan.hours_set else ' (the path default)'}"),
        _context(escape(pace.explain()) + (f" {escape(plan.pace_note)}" if plan.pace_note else "")),
    ]
    if plan.track_missing:
        out.append(_section("Pick your Level 4 track to focus the plan: `/mlpath track A` … `E`."))
    out.append(_section("*This week's focus*"))
    for t in plan.topics:
        why = f" · missed {t.misses}× in quizzes" if t.misses else ""
        text = f"*{escape(t.title)}* (`{escape(t.topic_id)}`){why}\n📖 {escape(t.section)}"
        if t.exercise:
            text += f"\n✍️ {escape(t.exercise)}"
        block = _section(clip(text, SECTION_LIMIT))
        if buttons:
            block["accessory"] = {"type": "button", "action_id": f"{PLAN_TOPIC_DONE}_{t.topic_id}"[:255],
                                  "value": t.topic_id, "text": {"type": "plain_text", "text": "Mark done"}}
        out.append(block)
    habits = " · ".join(f"{'✅' if done else '◻️'} {escape(h.description)} ({h.cadence})" for h, done in plan.habits)
    lines = [f"*Habits:* {habits}" if habits else "",
             f"*Quiz reviews due:* {plan.due_reviews}" + (" — `/mlpath quiz`" if plan.due_reviews else "")]
    for c in plan.certifications:
        when = f" on {c.on_date:%d %b %Y}" if c.on_date else ""
        lines.append(f"*Certification:* {escape(c.cert.title)}{when} ({c.cert.study_months[0]}-"
                     f"{c.cert.study_months[1]} months of study)")
    for g in plan.goals:
        lines.append(f"*Goal {escape(g.horizon)}:* {escape(g.text or '')}")
    out.append(_section(clip("\n".join(line for line in lines if line), SECTION_LIMIT)))
    if buttons:
        out.append({"type": "actions", "block_id": "plan_actions", "elements": [{
            "type": "static_select", "action_id": PLAN_HOURS,
            "placeholder": {"type": "plain_text", "text": "Change my weekly hours"},
            "options": [{"text": {"type": "plain_text", "text": f"{h} h/week"}, "value": str(h)}
                        for h in HOURS_CHOICES]}]})
    return out


def checkin_text(message: CheckinMessage) -> str:
    return f"Your weekly mlpath check-in, week {message.plan.week}"


def build_checkin(message: CheckinMessage) -> list[Block]:
    """The weekly check-in DM: last week in numbers, then the plan for the coming week with its buttons."""
    n = message.last_week
    out = [_section(f"*Hi {escape(message.name)}, here is your week {escape(message.plan.week)}*"),
           _section(f"*Last week ({escape(n.week)}):* {n.quiz_answers} quiz answers · {n.habits} habits · "
                    f"{n.xp} XP · 🔥 streak {n.streak}")]
    out += build_plan(message.plan)
    out.append(_context("Check-ins: `/mlpath checkins day fri` · `/mlpath checkins time 17:00` · "
                        "`/mlpath checkins off` · hours: `/mlpath plan hours 6`"))
    return out


PROJECT_REVIEW = "project_offer_review"


def build_home_mentoring(home: res.MentoringHome) -> list[Block]:
    """The App Home's mentoring part, compact (the Home tab holds at most 100 blocks)."""
    out: list[Block] = [{"type": "divider"},
                                 {"type": "header", "text": {"type": "plain_text", "text": "This week's plan"}}]
    out += build_plan(home.plan)
    out.append({"type": "divider"})
    out += build_goals(home.goals)[:-1]
    projects = ", ".join(f"{escape(r.project.title)} ({escape(r.status)})" for r in home.projects.rows if r.status)
    certs = ", ".join(f"{escape(r.cert.title)} ({escape(r.status)})" for r in home.certifications if r.status)
    lines = [f"*Projects:* {projects or 'none started'}"
             + (f" · next: {escape(home.projects.suggested.title)}" if home.projects.suggested else ""),
             f"*Certifications:* {certs or 'none planned'}",
             f"*Success metrics:* {home.checklist.ticked} of {home.checklist.total} ticked"]
    out += _sections("\n".join(lines))
    out.append(_context("`/mlpath project` · `/mlpath cert` · `/mlpath checklist` · `/mlpath goal`"))
    return out


def build_goals(view: GoalsView) -> list[Block]:
    lines = [f"*Your goals* (Level {view.level}{f' track {escape(view.track)}' if view.track else ''})"]
    for g in view.goals:
        if g.text:
            lines.append(f"*{escape(g.horizon)}:* {escape(g.text)}")
        else:
            ideas = view.suggestions.get(g.horizon) or []
            idea = f" — e.g. _{escape(ideas[0])}_" if ideas else ""
            lines.append(f"*{escape(g.horizon)}:* not set{idea}")
    out = _sections("\n".join(lines))
    out.append(_context("Set one: `/mlpath goal 3m finish the Level 2 fraud project with MLflow tracking`"))
    return out


def build_goal_suggestions(view: GoalsView, horizon: str) -> list[Block]:
    ideas = view.suggestions.get(horizon) or []
    lines = [f"*Goal ideas for {escape(horizon)}* (Level {view.level})"] + [f"• {escape(i)}" for i in ideas]
    out = _sections("\n".join(lines if ideas else lines + ["No suggestions for this horizon yet."]))
    out.append(_context(f"Set it: `/mlpath goal {escape(horizon)} YOUR GOAL`"))
    return out


def build_projects(view: ProjectsView) -> list[Block]:
    icons = {"": "◻️", "started": "🛠️", "done": "✅"}
    lines = ["*Portfolio projects*"]
    for r in view.rows:
        link = f" · {escape(r.url)}" if r.url else ""
        lines.append(f"{icons.get(r.status, '')} *{escape(r.project.title)}* (`{escape(r.project.id)}`) "
                     f"{escape(r.status or 'not started')}{link}")
    if view.suggested:
        lines.append(f"\n*Next:* {escape(view.suggested.title)} — {escape(view.reason)}")
        lines += [f"  • {escape(req)}" for req in view.suggested.requirements]
    out = _sections("\n".join(lines))
    out.append(_context("`/mlpath project start ID URL` · `/mlpath project done ID URL` · `/mlpath project share ID`"))
    return out


def build_certifications(rows: list[CertRow]) -> list[Block]:
    out: list[Block] = [_section("*Certifications*")]
    for r in rows:
        c = r.cert
        status = {"planned": "📅 planned", "passed": "🎓 passed"}.get(r.status, "")
        when = f" {r.on_date:%d %b %Y}" if r.on_date else ""
        text = (f"*{escape(c.title)}* (`{escape(c.id)}`) {status}{when}\n{escape(c.difficulty)} · "
                f"{c.study_months[0]}-{c.study_months[1]} months of study · after Level {c.fits_after_level} · "
                f"{escape(', '.join(c.topics))}")
        if c.availability:
            text += f"\n⚠️ {escape(c.availability)}"
        out.append(_section(clip(text, SECTION_LIMIT)))
    out.append(_context("`/mlpath cert plan ID 2027-03-15` · `/mlpath cert passed ID`"))
    return out


def build_checklist(view: ChecklistView) -> list[Block]:
    out: list[Block] = [_section(f"*Success metrics* — {view.ticked} of {view.total} ticked")]
    for checklist, items in view.checklists:
        lines = [f"*{escape(checklist.title)}*"]
        for item, evidence in items:
            mark = "✅" if evidence is not None else "◻️"
            proof = f" — {escape(evidence)}" if evidence else ""
            lines.append(f"{mark} {escape(item.text)} (`{escape(item.id)}`){proof}")
        out += _sections("\n".join(lines))
    out.append(_context("`/mlpath checklist tick ID a link or a sentence of evidence`"))
    return out


def build_team(report: TeamReport) -> list[Block]:
    def who(m: TeamMemberRow) -> str:
        if m.user_id is None:
            return "a member who opted out"
        return f"<@{escape(m.user_id)}>" if re.fullmatch(r"[UW][A-Z0-9]+", m.user_id) else escape(m.name or "")

    levels = ", ".join(f"Level {escape(k)}: {v}" for k, v in report.by_level.items()) or "nobody yet"
    lines = [f"*Team report* — {len(report.members)} members", f"*By level:* {levels}",
             f"*Behind plan ({len(report.behind)}):* " + (", ".join(who(m) for m in report.behind) or "nobody"),
             f"*Inactive 14+ days ({len(report.inactive)}):* "
             + (", ".join(f"{who(m)} ({m.inactive_days} d)" for m in report.inactive) or "nobody"),
             "*Projects:* " + "; ".join(f"{escape(k)} {v['started']} in progress, {v['done']} done"
                                         for k, v in report.projects.items()),
             "*Certifications:* " + "; ".join(f"{escape(k)} {v['planned']} planned, {v['passed']} passed"
                                               for k, v in report.certifications.items()),
             f"*Buddies:* {report.buddies} offer help · {report.buddy_offers} intros offered, "
             f"{report.buddy_intros} accepted in 30 days"]
    return _sections("\n".join(lines))


def review_offer_dm(offer: res.ReviewOffer) -> tuple[str, list[Block]]:
    """The DM to a project's author when a teammate offers a review."""
    text = (f"<@{escape(offer.reviewer_id)}> offered to review your {escape(offer.project_title)}. "
            "Send them the link and the one question you most want answered.")
    return text, _sections(text)


def project_share_text(user_id: str, row: ProjectRow) -> str:
    return f"<@{escape(user_id)}> asks for feedback on {escape(row.project.title)}"


def build_project_share(user_id: str, row: ProjectRow) -> list[Block]:
    """The team-channel post of `/mlpath project share ID`: the project, its link, and a button for a
    teammate to offer a review (which DMs the author)."""
    link = f"\n{escape(row.url)}" if row.url else ""
    reqs = "\n".join(f"• {escape(r)}" for r in row.project.requirements)
    return [_section(clip(f"*<@{escape(user_id)}> would like feedback on their {escape(row.project.title)}*{link}\n"
                          f"{reqs}", SECTION_LIMIT)),
            {"type": "actions", "block_id": "project_share", "elements": [{
                "type": "button", "action_id": PROJECT_REVIEW, "style": "primary",
                "text": {"type": "plain_text", "text": "Offer a review"},
                "value": f"{user_id}|{row.project.id}"[:2000]}]},
            _context("The path's Next Steps: share work, get code reviews, iterate.")]
