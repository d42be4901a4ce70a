"""The team view for leads on a seeded team of 30 (SQLite and PostgreSQL), in process and through
`mlpath team [--json]`: levels and tracks, behind plan, inactive 14+ days, projects and certifications, and
members who opted out of the leaderboard counted but never named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from progress import repository as repo
from progress.mentoring import INACTIVE_DAYS, Mentoring
from progress.service import MemberRef

T = "T1"


def seed(progress, mentoring: Mentoring, now: datetime) -> list[dict]:
    """30 members; returns what each was seeded with, so expectations are derived, not typed in."""
    out = []
    for i in range(30):
        level = 1 + i % 4
        track = "ABCDE"[i % 5] if level == 4 else None
        spec = {"user": f"U{i:03d}", "name": f"Member {i:02d}", "level": level, "track": track,
                "behind": i % 3 == 0, "inactive": i % 5 == 0, "hidden": i % 7 == 0,
                "project_started": i % 4 == 0, "project_done": i % 8 == 0,
                "cert_planned": i % 6 == 1, "cert_passed": i % 10 == 3}
        ref = MemberRef(T, spec["user"], spec["name"], "Europe/Berlin")
        joined_at = now - timedelta(days=300 if spec["behind"] else 10)
        member = progress.member(ref, now=joined_at)
        last = now - timedelta(days=20 if spec["inactive"] else 1)
        with progress.db.session() as s:
            repo.update_member(s, member_id=member.id, level=level, track=track, placed=True,
                               leaderboard_opt_out=spec["hidden"])
            repo.add_xp(s, member_id=member.id, kind="habit", amount=25, local_date=last.date(), now=last)
        if spec["project_started"]:
            mentoring.update_project(ref, "start", "open-source-contribution", "https://github.com/o/r/pull/9",
                                     now=now)
        if spec["project_done"]:
            mentoring.update_project(ref, "done", "end-to-end-ml-pipeline", now=now)
        if spec["cert_planned"]:
            mentoring.update_certification(ref, "plan", "aws-ml-specialty", "2099-01-01", now=now)
        if spec["cert_passed"]:
            mentoring.update_certification(ref, "passed", "tensorflow-developer", date(2026, 1, 5).isoformat(),
                                           now=now)
        out.append(spec)
    progress.member(MemberRef("T2", "UOTHER", "Other Team"), now=now)  # another team never shows up
    return out


def expected(specs: list[dict]) -> dict:
    by_level: dict[str, int] = {}
    for sp in specs:
        key = f"{sp['level']}/{sp['track']}" if sp["track"] else str(sp["level"])
        by_level[key] = by_level.get(key, 0) + 1

    def named(flag: str) -> tuple[list[str], int]:
        rows = [sp for sp in specs if sp[flag]]
        return sorted(sp["name"] for sp in rows if not sp["hidden"]), sum(sp["hidden"] for sp in rows)

    return {"by_level": dict(sorted(by_level.items())), "behind": named("behind"), "inactive": named("inactive"),
            "projects": {"open-source-contribution": (sum(sp["project_started"] for sp in specs), 0),
                         "end-to-end-ml-pipeline": (0, sum(sp["project_done"] for sp in specs))},
            "certs": {"aws-ml-specialty": (sum(sp["cert_planned"] for sp in specs), 0),
                      "tensorflow-developer": (0, sum(sp["cert_passed"] for sp in specs))}}


def check(data: dict, specs: list[dict]) -> None:
    exp = expected(specs)
    assert data["members"] == 30 and data["opted_out"] == sum(sp["hidden"] for sp in specs)
    assert data["by_level"] == exp["by_level"]
    for key, field in (("behind_plan", "behind"), ("inactive_14_days", "inactive")):
        names = sorted(r["name"] for r in data[key] if r["name"] is not None)
        anonymous = [r for r in data[key] if r["name"] is None]
        assert (names, len(anonymous)) == exp[field], key
        assert all(r["user_id"] is None for r in anonymous)
    assert all(r["days"] >= INACTIVE_DAYS for r in data["inactive_14_days"])
    for pid, (started, done) in exp["projects"].items():
        assert data["projects"][pid] == {"started": started, "done": done}
    for cid, (planned, passed) in exp["certs"].items():
        assert data["certifications"][cid] == {"planned": planned, "passed": passed}
    text = json.dumps(data)
    for sp in specs:
        assert (sp["name"] in text) == (not sp["hidden"] and (sp["behind"] or sp["inactive"])), sp["name"]
        if sp["hidden"]:
            assert sp["user"] not in text


def test_team_report_of_thirty_members(progress):
    mentoring = Mentoring(progress)
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    specs = seed(progress, mentoring, now)
    report = mentoring.team_report(T, now=now)
    check(report.to_json(), specs)
    # members are in the order they joined: ten days on a level is "on track" whatever was done
    assert [m.pace == "behind" for m in report.members] == [sp["behind"] for sp in specs]
    assert {m.pace for m, sp in zip(report.members, specs, strict=True) if not sp["behind"]} == {"on track"}


@pytest.mark.subprocess
def test_mlpath_team_json_and_text_on_the_command_line(db_url, progress, tmp_path):
    mentoring = Mentoring(progress)
    now = datetime.now(UTC)
    specs = seed(progress, mentoring, now)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MLPATH_"))}
    env.update({"DATABASE_URL": db_url, "MLPATH_DATA_DIR": str(tmp_path / "data")})
    run = subprocess.run([sys.executable, "-m", "mlpath.cli", "team", "--team", T, "--json"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert [t["team_id"] for t in data["teams"]] == [T]
    check(data["teams"][0], specs)
    text = subprocess.run([sys.executable, "-m", "mlpath.cli", "team", "--team", T], env=env, capture_output=True,
                          text=True, timeout=120)
    assert text.returncode == 0 and "Team T1: 30 members" in text.stdout
    assert "a member who opted out" in text.stdout
    assert not any(sp["name"] in text.stdout for sp in specs if sp["hidden"])
    missing = subprocess.run([sys.executable, "-m", "mlpath.cli", "team", "--team", "TNOPE"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1 and "TNOPE" in missing.stderr
