"""Import refuses what the app could never write, and one member's bad data never stops the reminders of the
others (issue 18, item 6) — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from errors import UserError
from progress.db import Database, upgrade
from progress.scheduler import Scheduler
from progress.service import MemberRef
from progress.transfer import export_data, import_data
from tests.progress.test_scheduler import Env
from tests.progress.test_transfer_and_stats import mlpath

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def export_with(progress, table: str, **changes: object) -> dict:
    progress.member(MemberRef("T1", "UANN", "Ann", "Europe/Berlin"), now=T0)
    progress.check_in(MemberRef("T1", "UANN"), "read-paper", now=T0)
    prompt = progress.next_question(MemberRef("T1", "UANN"), now=T0)
    progress.answer(prompt.token, MemberRef("T1", "UANN"), prompt.question.answer, now=T0)
    data = export_data(progress.db)
    data[table][0].update(changes)
    return data


BAD = [
    ("members", {"level": 99}, r"members\[0\]: level must be a level 1-4, got '99'"),
    ("members", {"level": "abc"}, r"members\[0\]: level must be a integer, got 'abc'"),
    ("members", {"level": True}, r"members\[0\]: level must be a integer"),
    ("members", {"tz": "Not/AZone"}, r"members\[0\]: tz must be an IANA time zone such as Europe/Berlin"),
    ("members", {"nudge_time": "99:99"}, r"members\[0\]: nudge_time must be a time HH:MM such as 09:00"),
    ("members", {"nudge_time": "9:00"}, r"members\[0\]: nudge_time must be a time HH:MM"),
    ("members", {"track": "Z"}, r"members\[0\]: track must be a track \(A, B, C, D, E\), got 'Z'"),
    ("members", {"display_name": "x" * 201}, r"members\[0\]: display_name must be a string of at most 200"),
    ("members", {"active": "yes"}, r"members\[0\]: active must be a boolean"),
    ("members", {"team_id": None}, r"members\[0\]: team_id is missing"),
    ("cards", {"fsrs": "{}"}, r"cards\[0\]: fsrs must be FSRS card state"),
    ("xp_events", {"kind": "bonus"}, r"xp_events\[0\]: kind must be habit, habit_daily, quiz, review, streak"),
    ("xp_events", {"amount": 1.5}, r"xp_events\[0\]: amount must be a integer"),
    ("deliveries", {"purpose": "bogus"}, r"deliveries\[0\]: purpose must be quiz, placement or asked"),
    ("habit_checkins", {"cadence": "hourly"}, r"habit_checkins\[0\]: cadence must be daily, weekly, monthly"),
]


@pytest.mark.parametrize("table, change, message", BAD, ids=[f"{t}-{next(iter(c))}" for t, c, _ in BAD])
def test_import_refuses_values_the_app_never_writes_and_imports_nothing(progress, db_url, tmp_path, table, change,
                                                                       message):
    data = export_with(progress, table, **change)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    upgrade(target_url)
    target = Database(target_url)
    try:
        with pytest.raises(UserError, match=message):
            import_data(target, data)
        assert export_data(target)["members"] == []
    finally:
        target.dispose()


@pytest.mark.subprocess
def test_the_import_command_says_which_row_is_wrong_in_one_line(progress, db_url, tmp_path):
    import os

    file = tmp_path / "team.json"
    file.write_text(json.dumps(export_with(progress, "members", tz="Not/AZone")))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MLPATH_", "CHROMA_"))}
    env |= {"MLPATH_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    done = mlpath("import", str(file), env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "mlpath: error: members[0]: tz must be an IANA time zone such as Europe/Berlin, got 'Not/AZone'"]


@pytest.mark.server
def test_one_member_whose_data_cannot_be_composed_does_not_stop_the_others(progress, slack, tmp_path, caplog):
    env = Env(progress, slack, tmp_path)
    for user in ("UA", "UB", "UC"):
        env.member(user, "UTC")
    broken = env.member("UBAD", "UTC")
    sched: Scheduler = env.scheduler()
    # a member row the app could not compose a reminder from (data written by something other than the app)
    original = sched.progress.eligible

    def eligible(member):
        if member.id == broken.id:
            raise TypeError("'>' not supported between instances of 'int' and 'str'")
        return original(member)

    sched.progress.eligible = eligible  # type: ignore[method-assign]
    caplog.set_level(logging.WARNING, logger="mlpath")
    report = sched.run_nudges(datetime(2026, 11, 26, 9, 1, tzinfo=UTC))
    assert sorted(c.params["channel"] for c in slack.dms()) == ["UA", "UB", "UC"]
    assert report.skipped == 1 and report.sent == 3
    assert f"reminder to member {broken.id} skipped: cannot compose it from their data (TypeError)" in caplog.text
    # and it stays skipped (no retry storm, no second DM to the others) on the next run
    again = sched.run_nudges(datetime(2026, 11, 26, 9, 2, tzinfo=UTC))
    assert again.due == 0 and len(slack.dms()) == 3


@pytest.mark.server
def test_a_level_stored_as_text_on_sqlite_is_skipped_not_fatal(progress, slack, tmp_path, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's integer column cannot hold text")
    env = Env(progress, slack, tmp_path)
    env.member("UA", "UTC")
    bad = env.member("UBAD", "UTC")
    with progress.db.engine.begin() as conn:
        conn.execute(text("UPDATE members SET level = 'abc' WHERE id = :id"), {"id": bad.id})
    report = env.scheduler().run_nudges(datetime(2026, 11, 26, 9, 1, tzinfo=UTC))
    assert [c.params["channel"] for c in slack.dms()] == ["UA"] and report.skipped == 1
