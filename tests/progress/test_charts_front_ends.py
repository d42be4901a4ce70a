"""The charts in each front end (issue 25, part 2): the terminal's `/progress --png FILE`, `mlpath team --png
FILE` on the command line (a real process); App Home's chart is in tests/bot/test_charts_bot.py."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from PIL import Image

from mlpath import cli
from progress.db import Database, upgrade
from progress.service import Progress
from tests.progress.test_charts import active_team
from tests.progress.test_scheduler import Env


def size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return image.size


@pytest.mark.model
def test_terminal_progress_png_writes_the_chart_and_a_bad_path_is_one_line(curriculum_mentor, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    progress = Progress(Database(url))
    target = tmp_path / "me.png"
    inputs = iter([f"/progress --png {target}", "/progress --png", f"/progress --png {tmp_path}/nope/x.png",
                   "/quit"])
    output: list[str] = []
    assert cli.run_chat(curriculum_mentor, level=None, read=lambda _p: next(inputs), write=output.append,
                        progress=progress) == 0
    text = "\n".join(output)
    assert f"chart written to {target}" in text and size(target.read_bytes()) == (720, 480)
    assert "error: Usage: `/progress`, or `/progress --png FILE` to write your chart too." in text
    assert f"error: cannot write {tmp_path}/nope/x.png: No such file or directory" in text
    assert not (tmp_path / "nope").exists()


@pytest.mark.subprocess
@pytest.mark.server
def test_mlpath_team_png_writes_the_weekly_chart(progress, db_url, slack, tmp_path):
    active_team(Env(progress, slack, tmp_path))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MLPATH_"))}
    env.update({"DATABASE_URL": db_url, "MLPATH_DATA_DIR": str(tmp_path / "data")})
    target = tmp_path / "team.png"
    run = subprocess.run([sys.executable, "-m", "mlpath.cli", "team", "--png", str(target)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "team T1, week " in run.stdout and "Members per level: Level 1: 3" in run.stdout
    assert size(target.read_bytes()) == (720, 1080)
    bad = subprocess.run([sys.executable, "-m", "mlpath.cli", "team", "--png", str(tmp_path / "no" / "t.png")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "cannot write" in bad.stderr
