"""Real processes: two `mlpath nudges run` at once, two `mlpath scheduler` side by side, and a process killed
in the middle of a send — against one SQLite file and one PostgreSQL database, with the fake Slack."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mlpath.testing.fake_slack import FakeSlack
from progress import repository as repo
from progress.service import MemberRef, Progress

pytestmark = [pytest.mark.server, pytest.mark.subprocess]

MLPATH = [sys.executable, "-m", "mlpath.cli"]


def env_for(db_url: str, slack: FakeSlack, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MLPATH_", "LEADERBOARD_"))}
    env.update({"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url,
                "MLPATH_DATA_DIR": str(tmp_path / "data"), "MLPATH_SEND_RATE": "50", **extra})
    return env


def seed(progress: Progress, n: int, *, zones: list[str], at: str = "09:00") -> None:
    for i in range(n):
        ref = MemberRef("T1", f"U{i:03d}", f"Member {i}", zones[i % len(zones)])
        progress.member(ref)
        if at != "09:00":
            progress.set_nudge_time(ref, at)


def test_two_one_shot_runs_at_once_send_each_dm_once(db_url, progress, slack, tmp_path):
    seed(progress, 40, zones=["Europe/Berlin", "Africa/Lagos", "Europe/London"])
    env = env_for(db_url, slack, tmp_path)
    at = "2026-11-26T10:30:00+01:00"  # 10:30 Berlin and Lagos, 09:30 London: all due
    procs = [subprocess.Popen([*MLPATH, "nudges", "run", "--at", at], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    dms = slack.dms()
    assert len(dms) == 40 and len({c.params["channel"] for c in dms}) == 40
    again = subprocess.run([*MLPATH, "nudges", "run", "--at", at, "--json"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0 and '"sent": 0' in again.stdout
    assert len(slack.dms()) == 40


def _zones_away_from_midnight(now: datetime) -> list[str]:
    """Zones whose local day does not roll over during the test (a new day would rightly bring a new DM)."""
    candidates = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Tokyo", "Pacific/Auckland",
                  "America/Los_Angeles", "Australia/Adelaide"]
    out = []
    for tz in candidates:
        local = now.astimezone(ZoneInfo(tz))
        if timedelta(minutes=5) < local - local.replace(hour=0, minute=0, second=0, microsecond=0) \
                < timedelta(hours=23, minutes=55):
            out.append(tz)
    return out


def scheduler_ticks(port: int) -> float:
    """`mlpath_scheduler_ticks_total` of the scheduler serving METRICS_PORT=port; 0 while it is not serving yet
    (it serves /metrics before its first check, so a scheduler that does not answer has not checked yet)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
    except urllib.error.URLError:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("mlpath_scheduler_ticks_total"))


def wait_for_more_ticks(ports: list[int], more: int, timeout: float = 90) -> None:
    """Wait until every scheduler has finished `more` further checks (what the processes count themselves, not a
    sleep): after that, anything they would have sent twice would have been sent."""
    targets = [scheduler_ticks(port) + more for port in ports]
    deadline = time.monotonic() + timeout
    while any(scheduler_ticks(port) < target for port, target in zip(ports, targets, strict=True)):
        assert time.monotonic() < deadline, "the schedulers stopped ticking"
        time.sleep(0.1)


def test_two_long_running_schedulers_send_each_dm_once_and_stop_cleanly(db_url, progress, slack,
                                                                         tmp_path):
    zones = _zones_away_from_midnight(datetime.now(UTC))
    seed(progress, 30, zones=zones, at="00:00")  # due all day long with a 24 h cut-off
    env = env_for(db_url, slack, tmp_path, MLPATH_SCHEDULER_INTERVAL="0.5", MLPATH_NUDGE_CUTOFF_HOURS="24",
                  LOG_FORMAT="json")
    ports = [_free_port(), _free_port()]
    procs = [subprocess.Popen([*MLPATH, "scheduler"], env={**env, "METRICS_PORT": str(port)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for port in ports]
    try:
        deadline = time.monotonic() + 90
        while len(slack.dms()) < 30 and time.monotonic() < deadline:
            time.sleep(0.2)
        wait_for_more_ticks(ports, 3)  # both schedulers check again: nothing more may be sent
        sent = 0.0
        for port in ports:  # each scheduler serves its own /healthz and /metrics
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as resp:
                assert resp.status == 200 and json.loads(resp.read())["database"] == "ok"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
                text = resp.read().decode()
            sent += sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                        if line.startswith('mlpath_nudges_sent_total{kind="daily"}'))
        assert sent == 30
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert len(slack.dms()) == 30 and len({c.params["channel"] for c in slack.dms()}) == 30
    assert all("scheduler" in err and "stopped" in err for _, err in outs)
    assert all(json.loads(line) for _, err in outs for line in err.splitlines() if line.strip())  # JSON logs
    assert "xoxb-test" not in "".join(err for _, err in outs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_process_killed_during_the_send_is_recovered_without_a_duplicate(db_url, progress, slack,
                                                                           tmp_path):
    seed(progress, 1, zones=["UTC"])
    env = env_for(db_url, slack, tmp_path)
    slack.post_delay = 30.0  # Slack got the message; the sender never hears back
    proc = subprocess.Popen([*MLPATH, "nudges", "run", "--at", "2026-11-26T09:00:00Z"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        slack.wait_for("chat.postMessage", timeout=60)
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    slack.post_delay = 0.0
    with progress.db.session() as s:
        assert [c.status for c in repo.claims_with_status(s, kind="nudge", status="sending")] == ["sending"]
    # within the lease nothing happens; after it, the takeover finds the DM in the conversation
    soon = subprocess.run([*MLPATH, "nudges", "run", "--at", "2026-11-26T09:02:00Z", "--json"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert '"sent": 0' in soon.stdout and '"recovered": 0' in soon.stdout
    later = subprocess.run([*MLPATH, "nudges", "run", "--at", "2026-11-26T09:10:00Z", "--json"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert later.returncode == 0 and '"recovered": 1' in later.stdout and '"sent": 0' in later.stdout, later
    assert len(slack.calls_to("chat.postMessage")) == 1
    with progress.db.session() as s:
        assert len(repo.claims_with_status(s, kind="nudge", status="sent")) == 1
