"""Learners help each other (issue 25, part 3): the offer after misses on two days, the limits (twice a week per
buddy, 30 days per topic, never naming who left or opted out), answered once, exactly once under concurrency,
the team counts, export/import and the migration. Every test runs on SQLite and PostgreSQL; time is injected."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from mlpath.cli import format_team
from progress.buddies import Buddies
from progress.db import Database, alembic_config, upgrade
from progress.mentoring import Mentoring
from progress.models import TERMINAL_TEAM_ID
from progress.service import MemberRef, Progress, QuizPrompt
from progress.transfer import export_data, import_data

MON = datetime(2026, 11, 16, 9, tzinfo=UTC)  # Monday of 2026-W47
TOPIC = "window-functions"
BO = MemberRef("T1", "UBO", "Bo Berg", "UTC")


def ref(user: str) -> MemberRef:
    return MemberRef("T1", user, user.removeprefix("U").title(), "UTC")


def master(progress: Progress, who: MemberRef, topic: str = TOPIC, start: datetime = MON) -> None:
    for day in (0, 2):
        prompt = progress.next_question(who, topic=topic, now=start + timedelta(days=day))
        assert isinstance(prompt, QuizPrompt)
        progress.answer(prompt.token, who, prompt.question.answer, now=start + timedelta(days=day))


def miss(progress: Progress, who: MemberRef, now: datetime, topic: str = TOPIC) -> str:
    prompt = progress.next_question(who, topic=topic, now=now)
    assert isinstance(prompt, QuizPrompt)
    progress.answer(prompt.token, who, (prompt.question.answer + 1) % 4, now=now)
    return prompt.question.id


def helper(progress: Progress, who: MemberRef = BO) -> Buddies:
    buddies = Buddies(progress)
    master(progress, who)
    buddies.set_opt_in(who, True)
    return buddies


def test_an_offer_comes_after_misses_on_two_days_and_is_answered_once(progress):
    buddies = helper(progress)
    ann = ref("UANN")
    tue = MON + timedelta(days=8)
    q = miss(progress, ann, tue - timedelta(days=1))
    assert buddies.offer_after_miss(ann, q, now=tue - timedelta(days=1)) is None  # one day of misses
    q = miss(progress, ann, tue)
    offer = buddies.offer_after_miss(ann, q, now=tue)
    assert offer is not None and offer.buddy_user_id == "UBO"
    assert offer.text == "Bo mastered Window functions last week and offers help — want an intro?"
    assert buddies.answer(offer.token, BO, True, now=tue).status == "not_yours"
    yes = buddies.answer(offer.token, ann, True, now=tue)
    assert (yes.status, yes.member_user_id, yes.buddy_user_id) == ("accepted", "UANN", "UBO")
    assert yes.section == "Level 1 › SQL and Databases › Window functions"
    assert buddies.answer(offer.token, ann, False, now=tue).status == "already"
    report = Mentoring(progress).team_report("T1", now=tue)
    assert (report.buddies, report.buddy_offers, report.buddy_intros) == (1, 1, 1)
    assert "buddies: 1 offer help; 1 intros offered, 1 accepted in 30 days" in format_team(report)
    assert report.to_json()["buddies"] == {"offer_help": 1, "offers_30_days": 1, "accepted_30_days": 1}


def test_a_declined_topic_waits_30_days_and_a_buddy_is_named_twice_a_week_at_most(progress):
    buddies = helper(progress)
    tue = MON + timedelta(days=8)
    offers = {}
    for user in ("UANN", "UCY", "UDI"):
        miss(progress, ref(user), tue - timedelta(days=1))
        offers[user] = buddies.offer_after_miss(ref(user), miss(progress, ref(user), tue), now=tue)
    assert [u for u, o in offers.items() if o is not None] == ["UANN", "UCY"]  # Bo twice this week, no more
    assert buddies.answer(offers["UANN"].token, ref("UANN"), False, now=tue).status == "declined"
    later = tue + timedelta(days=10)  # Bo is free again, but Ann declined this topic 10 days ago
    assert buddies.offer_after_miss(ref("UANN"), miss(progress, ref("UANN"), later), now=later) is None
    much_later = tue + timedelta(days=31)
    assert buddies.offer_after_miss(ref("UANN"), miss(progress, ref("UANN"), much_later), now=much_later) is not None


def test_members_who_left_or_opted_out_are_never_named(progress):
    buddies = helper(progress)
    ann = ref("UANN")
    tue = MON + timedelta(days=8)
    miss(progress, ann, tue - timedelta(days=1))
    for leave, back in ((lambda: progress.set_active(BO, False), lambda: progress.set_active(BO, True)),
                        (lambda: buddies.set_opt_in(BO, False), lambda: buddies.set_opt_in(BO, True)),
                        (lambda: progress.set_leaderboard_opt_out(BO, True),
                         lambda: progress.set_leaderboard_opt_out(BO, False))):
        leave()
        assert buddies.offer_after_miss(ann, miss(progress, ann, tue), now=tue) is None
        back()
    # nobody is offered in the terminal (one member)
    me = MemberRef(TERMINAL_TEAM_ID, "me", "me", "UTC")
    miss(progress, me, tue - timedelta(days=1))
    assert buddies.offer_after_miss(me, miss(progress, me, tue), now=tue) is None


def test_a_buddy_who_leaves_before_the_yes_is_not_introduced(progress):
    buddies = helper(progress)
    ann = ref("UANN")
    tue = MON + timedelta(days=8)
    miss(progress, ann, tue - timedelta(days=1))
    offer = buddies.offer_after_miss(ann, miss(progress, ann, tue), now=tue)
    assert offer is not None
    progress.set_active(BO, False)
    assert buddies.answer(offer.token, ann, True, now=tue).status == "unknown"


def test_two_replicas_at_once_make_one_offer_and_one_intro(progress):
    buddies = helper(progress)
    ann = ref("UANN")
    tue = MON + timedelta(days=8)
    miss(progress, ann, tue - timedelta(days=1))
    q = miss(progress, ann, tue)
    got: list[object] = []

    def together(call) -> None:
        barrier = threading.Barrier(2)
        got.clear()

        def run() -> None:
            barrier.wait()
            got.append(call())

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    together(lambda: buddies.offer_after_miss(ann, q, now=tue))
    offers = [o for o in got if o is not None]
    assert len(offers) == 1 and len(got) == 2
    together(lambda: buddies.answer(offers[0].token, ann, True, now=tue).status)  # type: ignore[attr-defined]
    assert sorted(got) == ["accepted", "already"]


def test_export_and_import_carry_the_offers_with_both_members(progress, tmp_path):
    buddies = helper(progress)
    ann = ref("UANN")
    tue = MON + timedelta(days=8)
    miss(progress, ann, tue - timedelta(days=1))
    assert buddies.offer_after_miss(ann, miss(progress, ann, tue), now=tue) is not None
    data = export_data(progress.db)
    [row] = data["buddy_offers"]
    assert row["member"] == ["T1", "UANN"] and row["buddy"] == ["T1", "UBO"] and row["status"] == "offered"
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    upgrade(target)
    copy = Database(target)
    try:
        assert import_data(copy, data)["buddy_offers"]["added"] == 1
        assert import_data(copy, data)["buddy_offers"]["added"] == 0
        assert export_data(copy)["buddy_offers"] == data["buddy_offers"]
    finally:
        copy.dispose()


def test_migration_0006_keeps_members_with_buddy_off(db_url):
    from alembic import command

    command.upgrade(alembic_config(db_url), "0005")
    db = Database(db_url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO members (team_id, user_id, display_name, tz, level, joined_at, active, nudges_enabled, "
                "nudge_time, leaderboard_opt_out, placed) VALUES ('T1', 'UBO', 'Bo', 'UTC', 1, :at, :t, :t, "
                "'09:00', :f, :f)"), {"at": MON, "t": True, "f": False})
        upgrade(db_url)
        progress = Progress(db)
        assert progress.member(BO).buddy_opt_in is False and progress.member(BO).asked_reviews is True
    finally:
        db.dispose()
