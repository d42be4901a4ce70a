"""Export/import (SQLite → SQLite and SQLite → PostgreSQL, exact round trip, idempotent) and `mlpath stats`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from errors import UserError
from knowledge.quizzes import question_bank
from progress import repository as repo
from progress.db import Database, upgrade
from progress.models import AnswerRecord, Claim
from progress.service import MemberRef, Progress
from progress.stats import collect, format_stats
from progress.transfer import export_data, import_data, read_export

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ANN = MemberRef("T1", "UANN", "Ann", "Europe/Berlin")
BOB = MemberRef("T1", "UBOB", "Bob", "America/New_York")
CY = MemberRef("T2", "UCY", "Cy", "UTC")


def answer_row(public_id: str, user: str, question: str, *, grounded: bool, feedback: int | None, at: datetime,
               team: str = "T1") -> AnswerRecord:
    return AnswerRecord(public_id=public_id, team_id=team, user_id=user, surface="dm", question=question,
                        answer="…" if grounded else "The path doesn't cover that.", grounded=grounded,
                        confidence=0.41 if grounded else 0.12, citations='[{"n": 1, "section": "S", "source": "x"}]',
                        answerer="extractive", prompt_tokens=None, completion_tokens=None, latency_ms=120,
                        created_at=at, feedback=feedback, feedback_at=at + timedelta(minutes=1) if feedback else None)


def populate(progress: Progress) -> None:
    """A little of everything: placement, quizzes right and wrong over several days, habits of every cadence,
    a member who left and hid from the leaderboard, the answer log with votes, and claims."""
    for day in range(4):
        now = T0 + timedelta(days=day, hours=day)
        for ref, right in ((ANN, True), (BOB, day % 2 == 0)):
            prompt = progress.next_question(ref, now=now)
            assert prompt is not None
            progress.answer(prompt.token, ref, prompt.question.answer if right else (prompt.question.answer + 1) % 4,
                            now=now)
        progress.check_in(ANN, "read-paper", now=now)
    progress.check_in(BOB, "build-personal-project", now=T0)
    placement = progress.next_placement(CY, now=T0)
    assert placement is not None
    progress.answer(placement.token, CY, placement.question.answer, now=T0)
    progress.next_question(ANN, now=T0 + timedelta(days=5))  # sent, never answered
    progress.set_leaderboard_opt_out(BOB, True)
    progress.set_active(CY, False)
    with progress.db.session() as s:
        ann = repo.get_member(s, team_id="T1", user_id="UANN")
        assert ann is not None
        s.add_all([
            answer_row("a1", "UANN", "What does SMOTE do?", grounded=True, feedback=1, at=T0),
            answer_row("a2", "UBOB", "how do I bake bread?", grounded=False, feedback=-1, at=T0 + timedelta(days=1)),
            answer_row("a3", "UANN", "How do I bake bread?", grounded=False, feedback=-1, at=T0 + timedelta(days=2)),
            answer_row("a4", "UCY", "what is drift?", grounded=True, feedback=-1, at=T0 + timedelta(days=3),
                       team="T2"),
            answer_row("a5", "UANN", "explain PCA", grounded=True, feedback=None, at=T0 - timedelta(days=20)),
        ])
        s.add(Claim(kind="nudge", key=f"{ann.id}:2026-11-26", member_id=ann.id, local_date=date(2026, 11, 26),
                    status="sent", owner="host:1", claimed_at=T0, updated_at=T0, attempts=1, ref="1700000000.1"))
        s.add(Claim(kind="leaderboard", key="C1:2026-W48", member_id=None, local_date=None, status="sent",
                    owner="host:2", claimed_at=T0, updated_at=T0, attempts=2, error=None, ref=None))
        # two identical XP events are legitimate and must both survive (no natural key)
        for _ in range(2):
            repo.add_xp(s, member_id=ann.id, kind="habit", amount=10, local_date=date(2026, 11, 20), now=T0, ref="x")


def without_time(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "exported_at"}


@pytest.fixture
def source(tmp_path):
    url = f"sqlite:///{tmp_path / 'source.db'}"
    upgrade(url)
    db = Database(url)
    populate(Progress(db, bank=question_bank()))
    yield db
    db.dispose()


def test_export_import_round_trips_exactly_and_import_is_idempotent(source, db_url):
    exported = export_data(source)
    counts = {k: len(v) for k, v in exported.items() if isinstance(v, list)}
    assert counts["members"] == 3 and counts["answers"] == 5 and counts["claims"] == 2
    assert counts["deliveries"] == 10 and counts["habit_checkins"] == 5 and counts["cards"] >= 4
    text = json.dumps(exported)  # through a file's worth of JSON, as the command does

    upgrade(db_url)
    target = Database(db_url)
    try:
        report = import_data(target, read_export(text))
        assert all(r["present"] == 0 for r in report.values()) and report["members"]["added"] == 3
        again = export_data(target)
        assert without_time(again) == without_time(exported)

        # what members see is the same: progress, streaks, leaderboard
        src, dst = Progress(source, bank=question_bank()), Progress(target, bank=question_bank())
        now = T0 + timedelta(days=3, hours=5)
        for ref in (ANN, BOB):
            a, b = src.progress(ref, now=now), dst.progress(ref, now=now)
            assert (a.level, a.streak, a.freezes, a.weekly_xp, a.mastered, a.due_reviews) == \
                   (b.level, b.streak, b.freezes, b.weekly_xp, b.mastered, b.due_reviews)
        week = date(2026, 11, 23)
        assert src.leaderboard("T1", week_start=week) == dst.leaderboard("T1", week_start=week)
        # a quiz answered before the move cannot be answered again after it
        token = exported["deliveries"][0]["token"]
        assert dst.answer(token, MemberRef(*exported["deliveries"][0]["member"]), 0, now=now).status in (
            "duplicate", "recorded")

        # idempotent: importing the same file again (or twice) adds nothing
        for _ in range(2):
            report = import_data(target, read_export(text))
            assert all(r["added"] == 0 for r in report.values()), report
        assert without_time(export_data(target)) == without_time(exported)
    finally:
        target.dispose()


def test_import_adds_only_what_is_missing_and_never_overwrites(source, db_url):
    upgrade(db_url)
    target = Database(db_url)
    try:
        dst = Progress(target, bank=question_bank())
        dst.set_level(ANN, 3, create=True)  # the target already knows Ann, at another level
        with target.session() as s:
            ann = repo.get_member(s, team_id="T1", user_id="UANN")
            repo.add_xp(s, member_id=ann.id, kind="habit", amount=10, local_date=date(2026, 11, 20), now=T0, ref="x")
        report = import_data(target, export_data(source))
        assert report["members"] == {"added": 2, "present": 1}
        # one of Ann's two identical XP events was already there: exactly one more is added
        data = export_data(target)
        ann_x = [x for x in data["xp_events"] if x["member"] == ["T1", "UANN"] and x["ref"] == "x"]
        assert len(ann_x) == 2
        assert dst.member(ANN).level == 3
    finally:
        target.dispose()


def test_a_broken_file_imports_nothing_and_says_why(source, tmp_path):
    url = f"sqlite:///{tmp_path / 'target.db'}"
    upgrade(url)
    target = Database(url)
    data = export_data(source)
    data["cards"][0]["member"] = ["T9", "UNOBODY"]
    with pytest.raises(UserError, match=r"cards\[0\]: refers to member \['T9', 'UNOBODY'\]"):
        import_data(target, data)
    assert export_data(target)["members"] == []  # all or nothing
    for text, message in (("{", "not a JSON file"), ('{"a": 1}', "not an mlpath export"),
                          ('{"format": "mlpath-export", "version": 9}', "version 9 is not supported")):
        with pytest.raises(UserError, match=message):
            read_export(text)
    target.dispose()


@pytest.fixture
def populated(source, db_url):
    """The populated database on each backend (SQLite, PostgreSQL), through an import."""
    upgrade(db_url)
    db = Database(db_url)
    import_data(db, export_data(source))
    yield db
    db.dispose()


def test_stats_counts_members_activity_questions_refusals_and_top_downvotes(populated):
    source = populated
    stats = collect(source, now=T0 + timedelta(days=4))
    assert (stats.members, stats.members_joined) == (3, 2)
    assert stats.active_this_week == 3  # Ann and Bob by quizzes, Cy by placement and a question
    assert (stats.questions, stats.questions_this_week) == (5, 4)
    assert (stats.refusals, stats.refusals_this_week) == (2, 2)
    assert (stats.feedback_up, stats.feedback_down) == (1, 3)
    top = stats.top_downvoted
    assert [(d.downvotes, d.refused) for d in top] == [(2, True), (1, False)]
    assert top[0].question.lower() == "how do i bake bread?" and top[1].question == "what is drift?"
    text = format_stats(stats)
    assert "questions asked    5 (4 this week)" in text and "refusals           2 (40 %)" in text
    assert "1. 2 👎  " in text and "[refused]" in text

    later = collect(source, now=T0 + timedelta(days=30))
    assert later.active_this_week == 0 and later.questions_this_week == 0 and later.questions == 5


def mlpath(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "mlpath"
    return subprocess.run([str(exe), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


@pytest.mark.subprocess
def test_the_commands_move_a_team_from_sqlite_to_the_other_database(source, db_url, tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MLPATH_", "CHROMA_"))}
    base["MLPATH_DATA_DIR"] = str(tmp_path / "data")
    src_env = {**base, "DATABASE_URL": source.url}
    dst_env = {**base, "DATABASE_URL": db_url}
    file = tmp_path / "team.json"
    done = mlpath("export", str(file), env=src_env)
    assert done.returncode == 0, done.stderr
    assert "exported 3 members, 10 deliveries" in done.stderr
    if not db_url.startswith("sqlite"):
        assert mlpath("import", str(file), env=dst_env).returncode == 2  # PostgreSQL must be migrated first
        assert mlpath("db", "upgrade", env=dst_env).returncode == 0
    done = mlpath("import", str(file), "--json", env=dst_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["members"] == {"added": 3, "present": 0}
    done = mlpath("import", str(file), env=dst_env)
    assert done.returncode == 0 and "members 0 added, 3 already there" in done.stdout
    out = mlpath("export", "-", env=dst_env)
    assert without_time(json.loads(out.stdout)) == without_time(json.loads(file.read_text()))
    stats = mlpath("stats", "--json", env=dst_env)
    assert stats.returncode == 0 and json.loads(stats.stdout)["questions"] == 5

    (tmp_path / "bad.json").write_text("{nope")
    bad = mlpath("import", str(tmp_path / "bad.json"), env=dst_env)
    assert bad.returncode == 2 and bad.stderr.startswith("mlpath: error: not a JSON file") and "Traceback" not in bad.stderr
    missing = mlpath("import", str(tmp_path / "missing.json"), env=dst_env)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
