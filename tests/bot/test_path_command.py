"""`/mlpath path`: the learning path's outline from the catalogue, through the one routing table, as Block Kit."""

from __future__ import annotations

import pytest

from bot.blocks import escape
from knowledge.catalogue import catalogue
from mlpath.app import UsageError, parse
from mlpath.app import commands as c
from tests.bot.test_http_bot import dump


def test_path_parses_the_same_on_both_surfaces():
    for surface in (c.SLACK, c.TERMINAL):
        assert parse("path", surface=surface)[1] == c.ShowPath()
        assert parse("path 3", surface=surface)[1] == c.ShowPath(3)
        with pytest.raises(UsageError, match="path N"):
            parse("path 9", surface=surface)
    assert any(usage.startswith("path") for usage, _ in c.help_entries(c.SLACK, admin=False))


@pytest.mark.model
@pytest.mark.server
def test_slash_path_shows_every_level_module_topic_and_track(bot, slack):
    server = bot()
    server.command("path", name="p1")
    shown = dump(slack.wait_for("response/p1")[0].params["blocks"])
    for level in catalogue().levels:  # every text from the catalogue arrives escaped for Slack
        assert f"Level {level.number}: {escape(level.name)}" in shown
        for module in level.modules:
            assert escape(module.title) in shown and all(escape(t.title) in shown for t in module.topics)
        for track in level.tracks:
            assert f"Track {track.id}: {escape(track.title)}" in shown
    server.command("path 2", name="p2")
    two = dump(slack.wait_for("response/p2")[0].params["blocks"])
    assert "Level 2: " in two and "Level 1: " not in two
