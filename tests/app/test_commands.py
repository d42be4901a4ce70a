"""The one routing table: parsing for Slack and the terminal, usage errors, generated help (fast, no I/O)."""

from __future__ import annotations

import pytest

from mlpath.app import commands as c
from mlpath.app.commands import SLACK, TERMINAL, UsageError, parse


@pytest.mark.parametrize("text, expected", [
    ("ask what is PCA?", c.Ask("what is PCA?")),
    ("QUIZ Window Functions", c.Quiz("Window Functions")),
    ("quiz placement", c.Quiz("placement")),
    ("quiz PLACEMENT", c.Quiz("placement")),
    ("quiz", c.Quiz("")),
    ("progress", c.ShowProgress()),
    ("habits", c.ShowHabits()),
    ("done read-paper", c.CheckIn("read-paper")),
    ("done I watched a PyData talk", c.CheckIn("I watched a PyData talk")),
    ("undo watch-talks", c.UndoCheckIn("watch-talks")),
    ("leaderboard", c.ShowLeaderboard()),
    ("leaderboard OFF", c.LeaderboardVisibility(hidden=True)),
    ("leaderboard on", c.LeaderboardVisibility(hidden=False)),
    ("track e", c.ChooseTrack("E")),
    ("track", c.ChooseTrack("")),
    ("nudges", c.Nudges()),
    ("nudges time 08:30", c.Nudges("time", "08:30")),
    ("nudges snooze 3", c.Nudges("snooze", "3")),
    ("nudges off", c.Nudges("off")),
    ("setlevel <@U123ABC|ana> 3", c.SetLevel("U123ABC", 3)),
    ("setlevel U123ABC 4", c.SetLevel("U123ABC", 4)),
    ("", c.Help()),
    ("help", c.Help()),
])
def test_slack_commands_parse_into_typed_commands(text, expected):
    _, command = parse(text, surface=SLACK)
    assert command == expected


@pytest.mark.parametrize("text", [
    "setlevel U123 12",          # the bug: "12" passed `words[1] in "1234"`
    "setlevel U123 ",
    "setlevel @x 12",
    "setlevel <@U5><!channel> 2",
    "setlevel U123 ²",
    "setlevel 3",
    "setlevel U123 1 2",
])
def test_setlevel_rejects_anything_but_a_member_and_a_level_in_one_line(text):
    with pytest.raises(UsageError) as err:
        parse(text, surface=SLACK)
    message = c.phrase(str(err.value), SLACK)
    assert message == "Usage: `/mlpath setlevel @member N` with N from 1 to 4."


@pytest.mark.parametrize("text, fragment", [
    ("nudges snooze ²", "number of days"),
    ("nudges snooze", "Usage: `/mlpath nudges off`"),
    ("nudges sometimes", "Usage:"),
    ("track Z", "Tracks are A to E"),
    ("leaderboard maybe", "hides you"),
    ("ask", "Ask a question after it"),
    ("done", "Say which habit"),
    ("progress now", "takes nothing after it"),
    ("frobnicate x", "Unknown command `frobnicate`"),
    ("search x", "Unknown command `search`"),  # terminal only
])
def test_slack_usage_errors_are_one_line(text, fragment):
    with pytest.raises(UsageError) as err:
        parse(text, surface=SLACK)
    message = c.phrase(str(err.value), SLACK)
    assert fragment in message and "\n" not in message and "{cmd}" not in message


def test_terminal_has_its_own_commands_and_none_of_the_slack_only_ones():
    assert parse("search window functions", surface=TERMINAL)[1] == c.Search("window functions")
    assert parse("level 2", surface=TERMINAL)[1] == c.AnswerLevel(2)
    assert parse("q", surface=TERMINAL)[1] == c.Quit()
    assert parse("exit", surface=TERMINAL)[1] == c.Quit()
    for slack_only in ("setlevel U1 2", "ingest", "join", "nudges"):
        with pytest.raises(UsageError, match="Unknown command"):
            parse(slack_only, surface=TERMINAL)
    with pytest.raises(UsageError) as err:
        parse("level 9", surface=TERMINAL)
    assert c.phrase(str(err.value), TERMINAL) == "Usage: `/level N` with N from 1 to 4 (answers then favour that level)."


def test_help_is_generated_from_the_table_per_surface_and_role():
    slack = dict(c.help_entries(SLACK))
    admin = dict(c.help_entries(SLACK, admin=True))
    terminal = dict(c.help_entries(TERMINAL))
    assert "quiz [topic|level|placement]" in slack and "quiz [topic|level|placement]" in terminal
    assert "setlevel @member N" not in slack and "setlevel @member N" in admin and "ingest" in admin
    assert "search QUERY" in terminal and "search QUERY" not in slack
    assert "nudges [off|on|time HH:MM|snooze N|asked off|on]" in slack and not any(u.startswith("nudges") for u in terminal)
    every_name = {spec.name for spec in c.COMMANDS}
    assert every_name == {u.split()[0] for u in admin} | {u.split()[0] for u in terminal}


def test_phrase_writes_commands_the_way_each_surface_types_them():
    assert c.phrase("try `{cmd}quiz`", SLACK) == "try `/mlpath quiz`"
    assert c.phrase("try `{cmd}quiz`", TERMINAL) == "try `/quiz`"


@pytest.mark.parametrize("surface", [SLACK, TERMINAL])
def test_undo_needs_a_habit_and_is_in_both_helps(surface):
    with pytest.raises(UsageError) as err:
        parse("undo", surface=surface)
    assert "{cmd}undo read-paper" in str(err.value)
    assert any(usage == "undo HABIT" for usage, _ in c.help_entries(surface))
