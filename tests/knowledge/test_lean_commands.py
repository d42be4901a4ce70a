"""The commands that never embed anything stay lean: `nudges run`, `leaderboard post`, `stats`, `export`,
`import` and `db upgrade` run in real processes, do their work, and never import torch, transformers,
sentence-transformers or ONNX Runtime (so never load the embedding model). `python -X importtime` lists
every module the process imported."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlpath.testing.fake_slack import FakeSlack
from progress.db import Database
from progress.service import MemberRef, Progress

pytestmark = [pytest.mark.server, pytest.mark.subprocess]

HEAVY = ("torch", "transformers", "sentence_transformers", "onnxruntime")


def imported_modules(stderr: str) -> set[str]:
    return {m.group(1).strip() for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", stderr, re.MULTILINE)}


@pytest.fixture
def slack():
    fake = FakeSlack()
    yield fake
    fake.close()


def test_one_shot_commands_do_their_work_without_loading_the_model(tmp_path: Path, slack: FakeSlack) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MLPATH_", "LEADERBOARD_",
                                                                      "DATABASE_URL", "CHROMA_"))}
    env.update({"MLPATH_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": f"sqlite:///{tmp_path / 'team.db'}",
                "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url, "LEADERBOARD_CHANNEL": "C0LEADERS"})
    export = tmp_path / "team.json"
    commands = [
        (["db", "upgrade"], "database is up to date"),
        (["nudges", "run", "--at", "2026-11-26T09:00:00Z", "--json"], '"sent": 1'),
        (["leaderboard", "post", "--week", "2026-W48"], "leaderboard T1: "),
        (["stats", "--json"], '"members": 1'),
        (["export", str(export)], ""),
        (["import", str(export), "--json"], '"members": {"added": 0, "present": 1}'),
    ]
    for argv, expected in commands:
        if argv[0] == "nudges":  # after `db upgrade`: one member, due at 09:00 UTC
            db = Database(env["DATABASE_URL"])
            Progress(db).member(MemberRef("T1", "U001", "Ada", "UTC"))
            db.dispose()
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "mlpath.cli", *argv], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (argv, done.stdout, done.stderr[-2000:])
        assert expected in done.stdout, (argv, done.stdout)
        modules = imported_modules(done.stderr)
        assert "mlpath.cli" in modules or "mlpath" in modules, argv  # the listing is there at all
        heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
        assert heavy == [], (argv, heavy[:5])
    assert export.is_file()
    assert [c.params.get("channel") for c in slack.calls_to("chat.postMessage")][-1] == "C0LEADERS"
    assert len(slack.dms("U001")) == 1
