"""Mentoring in `mlpath chat`: /plan, /goal, /project, /cert, /checklist through the same application layer
as Slack, rendered as terminal text; bad input is one `error:` line and changes nothing."""

from __future__ import annotations

import pytest

from mlpath import cli
from progress.db import Database, upgrade
from progress.models import Goal, ProjectProgress
from progress.service import Progress

pytestmark = [pytest.mark.model]


def test_chat_runs_the_mentoring_commands(curriculum_mentor, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    progress = Progress(Database(url))
    inputs = iter(["/goal", "/goal 3m finish Exercise 2", "/goal 6m " + "y" * 5000, "/plan", "/plan hours 5",
                   "/plan hours 99", "/project", "/project start open-source-contribution https://github.com/a/b/pull/1",
                   "/project start open-source-contribution ftp://x", "/cert", "/cert passed tensorflow-developer",
                   "/checklist tick mentor-juniors taught Bo to deploy", "/checklist", "/checkins", "/team", "/quit"])
    output: list[str] = []
    code = cli.run_chat(curriculum_mentor, level=None, read=lambda _p: next(inputs), write=output.append,
                        progress=progress)
    text = "\n".join(output)
    assert code == 0
    assert " 3m: (not set)" in text and "✓ Your 3m goal is set." in text and " 3m: finish Exercise 2" in text
    assert "error: Sorry: that goal is 5,000 characters long" in text
    assert "This week's focus:" in text and "read: Level 1 › Python Programming › Data structures" in text
    assert "✓ Your plan now counts 5 h/week." in text and "stretch by 1.6×" in text
    assert "error: Sorry: weekly hours must be a whole number from 1 to 60, not “99”" in text
    assert "open-source-contribution: Open Source Contribution (started) https://github.com/a/b/pull/1" in text
    assert "error: Sorry: “ftp://x” is not a web link" in text
    assert "note: Google closed the TensorFlow Developer Certificate program in 2024" in text
    assert "[x] mentor-juniors: Mentor junior team members — taught Bo to deploy" in text
    assert "error: Unknown command `checkins`" in text and "error: Unknown command `team`" in text
    with progress.db.session() as s:
        goals = [(g.horizon, g.text) for g in s.query(Goal)]
        projects = [(p.project_id, p.url) for p in s.query(ProjectProgress)]
    assert goals == [("3m", "finish Exercise 2")]
    assert projects == [("open-source-contribution", "https://github.com/a/b/pull/1")]
