"""Block Kit rendering of every application result (pure, no Slack): escaping, command names, limits."""

from __future__ import annotations

import json

from bot import blocks
from bot.payloads import QuizAnswerValue
from knowledge.catalogue import catalogue
from knowledge.quizzes import question_bank
from mlpath.app import commands as c
from mlpath.app import results as res
from mlpath.app.service import promotion_text
from mlpath.terminal import render as render_terminal
from progress.service import AnswerResult, LeaderRow, ProgressView, QuizPrompt, TopicProgress


def dump(data) -> str:
    return json.dumps(data, ensure_ascii=False)


def test_a_notice_quoting_the_member_is_escaped_and_names_commands_the_slack_way():
    text, out = blocks.render(res.Notice("I don't know the habit “<!channel> & co”. Try `{cmd}habits`.", ok=False))
    assert "<!channel>" not in dump(out) and "&lt;!channel&gt; &amp; co" in dump(out)
    assert "`/mlpath habits`" in text and "{cmd}" not in dump(out)
    assert render_terminal(res.Notice("Try `{cmd}habits`.", ok=False)) == "error: Try `/habits`."


def test_help_is_rendered_from_the_routing_table():
    _, out = blocks.render(res.HelpView(c.help_entries(c.SLACK, admin=True)))
    shown = dump(out)
    for spec in c.COMMANDS:
        if c.SLACK in spec.surfaces:
            assert f"`/mlpath {spec.name}" in shown
    assert "/mlpath search" not in shown


def test_promotion_wording_is_one_text_in_both_front_ends():
    question = next(iter(question_bank().values()))
    outcome = res.QuizOutcome(AnswerResult("recorded", question, question.answer, True, 15, promoted_to=4),
                              promotion=promotion_text(4))
    slack = dump(blocks.render(outcome)[1])
    terminal = render_terminal(outcome)
    level4 = catalogue().level(4)
    assert f"You reached *Level 4: {level4.name}*" in slack and "`/mlpath track A-E`" in slack
    assert f"You reached Level 4: {level4.name}" in terminal and "`/track A-E`" in terminal
    worded = res.QuizOutcome(outcome.result, promotion="🎉 The application's own wording.")
    assert "The application's own wording" in dump(blocks.render(worded)[1])  # shown as written, never rebuilt
    assert "You reached" not in dump(blocks.render(res.QuizOutcome(outcome.result))[1])


def test_progress_quiz_and_leaderboard_render_in_both_front_ends():
    question = next(iter(question_bank().values()))
    view = ProgressView(level=1, level_name="Foundations", track=None,
                        topics=[TopicProgress("t1", "Window <functions>", True, 2)], mastered=1, needed=16,
                        streak=3, freezes=1, due_reviews=2, weekly_xp=40, rank=1, team_size=3,
                        next_level_name="ML Fundamentals")
    for result in (res.ProgressReport(view), res.QuizView(QuizPrompt("tok", question, "new", 0), "x"),
                   res.LeaderboardView([LeaderRow(1, "U1", "<@U9>", 40, 3)], "2026-W48")):
        text, out = blocks.render(result)
        assert text and out and "<@U9>" not in dump(out) and "Window <functions>" not in dump(out)
        assert render_terminal(result)
    _, quiz = blocks.render(res.QuizView(QuizPrompt("tok", question, "new", 0), "x"))
    values = [e["value"] for e in quiz[1]["elements"]]
    assert [QuizAnswerValue.decode(v) for v in values] == [QuizAnswerValue("tok", i, "x") for i in range(4)]


def test_the_quiz_button_value_has_one_codec_and_refuses_what_it_did_not_write():
    """bot/blocks.py writes the value and bot/listeners/actions/quiz.py reads it, both with QuizAnswerValue."""
    value = QuizAnswerValue("tok-1", 3, "level 2")
    assert QuizAnswerValue.decode(value.encode()) == value
    assert QuizAnswerValue.decode("tok:2") == QuizAnswerValue("tok", 2, "")
    for forged in ("", "tok", "tok:x", ":1:x", "tok:²:x", "tok:-1:x"):
        assert QuizAnswerValue.decode(forged) is None, forged


def test_level_set_mentions_the_member_and_nothing_else():
    text, _ = blocks.render(res.LevelSet("U7ABC", 3))
    assert text == "<@U7ABC> is now at Level 3."
