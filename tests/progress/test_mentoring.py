"""Mentoring core on SQLite and PostgreSQL: goals, hours and the weekly plan (focus, habits, reviews, pace),
projects, certifications, the success-metric checklists, bad input, and export/import of the new tables."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from knowledge import content_dir
from knowledge.catalogue import catalogue
from progress import repository as repo
from progress.db import Database, upgrade
from progress.mentoring import Mentoring, MentoringError, default_hours
from progress.models import Goal, Member
from progress.service import MemberRef
from progress.transfer import export_data, import_data, read_export

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # a Monday
ANN = MemberRef("T1", "UANN", "Ann Lee", "Europe/Berlin")
CAT = catalogue()


@pytest.fixture
def mentoring(progress):
    return Mentoring(progress)


def joined(progress, ref: MemberRef, *, ago: timedelta, level: int = 1, track: str | None = None) -> Member:
    member = progress.member(ref, now=NOW - ago)
    with progress.db.session() as s:
        repo.update_member(s, member_id=member.id, level=level, track=track, placed=True)
    return progress.member(ref, now=NOW)


def level_topics(level: int, track: str | None = None) -> list[str]:
    lvl = CAT.level(level)
    ids = [t.id for m in lvl.modules for t in m.topics]
    return ids + [t.id for tr in lvl.tracks if track in (None, tr.id) for t in tr.topics]


def stored(progress, model) -> list:
    with progress.db.session() as s:
        return repo.all_rows(s, model)


# ----- goals -----
def test_goals_are_set_per_horizon_replaced_and_suggested_by_level_and_track(progress, mentoring):
    view = mentoring.goals(ANN, now=NOW)
    assert [g.text for g in view.goals] == [None, None, None]
    assert view.suggestions["3m"] == CAT.suggested_goals(1, None, "3m") and view.suggestions["3m"]
    mentoring.set_goal(ANN, "3m", "finish the Level 2 fraud project with MLflow tracking", now=NOW)
    view = mentoring.set_goal(ANN, "3m", "  finish Exercise 2 \x00", now=NOW + timedelta(days=1))
    assert [(g.horizon, g.text) for g in view.goals] == [("3m", "finish Exercise 2"), ("6m", None), ("12m", None)]
    assert len(stored(progress, Goal)) == 1
    joined(progress, ANN, ago=timedelta(days=1), level=4, track="B")
    b = mentoring.goals(ANN, now=NOW).suggestions
    assert b["12m"] == [g.text for g in CAT.goal_suggestions if g.level == 4 and g.track == "B" and g.horizon == "12m"]
    assert all(g.track in ("B", None) for g in CAT.goal_suggestions if g.text in b["3m"] + b["6m"] + b["12m"])


@pytest.mark.parametrize("horizon, text, words", [
    ("3m", "x" * 5000, "5,000 characters"),
    ("2y", "learn things", "3m, 6m or 12m"),
    ("6m", "   ", "write the goal"),
])
def test_bad_goals_get_one_line_and_change_nothing(progress, mentoring, horizon, text, words):
    mentoring.set_goal(ANN, "6m", "deploy a model", now=NOW)
    with pytest.raises(MentoringError) as err:
        mentoring.set_goal(ANN, horizon, text, now=NOW)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert [(g.horizon, g.text) for g in stored(progress, Goal)] == [("6m", "deploy a model")]


def test_concurrent_goal_settings_leave_one_row(progress, mentoring):
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda i: mentoring.set_goal(ANN, "12m", f"goal {i}", now=NOW), range(12)))
    rows = stored(progress, Goal)
    assert len(rows) == 1 and rows[0].text.startswith("goal ")


# ----- hours and pace -----
def test_default_hours_come_from_the_habit_budgets_and_bad_hours_change_nothing(progress, mentoring):
    budgets = {cadence: group.budget for cadence, group in CAT.habits.items()}
    expected = budgets["daily"].low * 7 / 60 + budgets["weekly"].low + budgets["monthly"].low * 12 / 52
    assert default_hours(CAT) == round(expected)
    plan = mentoring.weekly_plan(ANN, now=NOW)
    assert plan.hours == default_hours(CAT) and not plan.hours_set and plan.pace_note is None
    mentoring.set_hours(ANN, "12", now=NOW)
    for bad in ("0", "61", "-3", "five", "7.5", ""):
        with pytest.raises(MentoringError) as err:
            mentoring.set_hours(ANN, bad, now=NOW)
        assert "1 to 60" in str(err.value)
    assert mentoring.weekly_plan(ANN, now=NOW).hours == 12


def test_five_hours_a_week_stretches_the_durations_and_the_plan_says_so(progress, mentoring):
    joined(progress, ANN, ago=timedelta(days=150))
    done = level_topics(1)[:10]  # 10 of 19 after about 5 months
    for topic in done:
        mentoring.mark_topic_done(ANN, topic, now=NOW)
    at_default = mentoring.weekly_plan(ANN, now=NOW)
    assert at_default.pace.status == "behind", at_default.pace.explain()  # the path expects 82-100 % by now
    mentoring.set_hours(ANN, 5, now=NOW)
    plan = mentoring.weekly_plan(ANN, now=NOW)
    low, high = CAT.level(1).duration_months
    scale = default_hours(CAT) / 5
    assert plan.pace.months == pytest.approx((low * scale, high * scale))
    assert plan.pace_note and "stretch" in plan.pace_note and f"{low * scale:.0f}-{high * scale:.0f} months" in \
        plan.pace_note and "5 h/week" in plan.pace_note
    assert plan.pace.status == "on track", plan.pace.explain()
    assert plan.pace.done == 10 and plan.pace.total == len(level_topics(1))
    assert "when you joined" in plan.pace.explain() and "10 (53%)" in plan.pace.explain()


def test_ahead_when_topics_are_done_faster_than_the_fastest_pace(progress, mentoring):
    joined(progress, ANN, ago=timedelta(days=30), level=2)
    for topic in level_topics(2)[:15]:
        mentoring.mark_topic_done(ANN, topic, now=NOW)
    assert mentoring.weekly_plan(ANN, now=NOW).pace.status == "ahead"


def test_level_start_is_the_first_answer_at_the_level(progress, mentoring):
    joined(progress, ANN, ago=timedelta(days=400), level=2)
    first = NOW - timedelta(days=21)
    prompt = progress.next_question(ANN, level=2, now=first)
    assert prompt is not None
    progress.answer(prompt.token, ANN, prompt.question.answer, now=first)
    pace = mentoring.weekly_plan(ANN, now=NOW).pace
    assert pace.started == first and pace.weeks == 3 and "first Level 2 quiz answer" in pace.started_how
    assert pace.status == "on track"  # the first four weeks on a level always count as on track


# ----- this week's focus -----
def test_focus_follows_path_order_weights_missed_topics_and_skips_done_ones(progress, mentoring):
    joined(progress, ANN, ago=timedelta(days=10))
    order = level_topics(1)
    plan = mentoring.weekly_plan(ANN, now=NOW)
    assert [t.topic_id for t in plan.topics] == order[:len(plan.topics)] and len(plan.topics) >= 2
    # the section to read and the exercise come from the content file
    first = plan.topics[0]
    text = (content_dir() / first.source).read_text(encoding="utf-8")
    assert f"## {CAT.topic(first.topic_id).title}" in text and first.exercise[:60] in " ".join(text.split())
    assert first.section.startswith("Level 1 › ") and first.section.endswith(CAT.topic(first.topic_id).title)
    # wrong answers on a later topic pull it to the front
    missed_topic = next(t for t in order[5:] if any(q.topic == t for q in progress.bank.values()))
    for i in range(2):
        prompt = progress.next_question(ANN, topic=missed_topic, now=NOW + timedelta(minutes=i))
        assert prompt is not None
        progress.answer(prompt.token, ANN, (prompt.question.answer + 1) % 4, now=NOW + timedelta(minutes=i))
    mentoring.mark_topic_done(ANN, order[0], now=NOW)
    plan = mentoring.weekly_plan(ANN, now=NOW + timedelta(hours=1))
    ids = [t.topic_id for t in plan.topics]
    assert ids[0] == missed_topic and plan.topics[0].misses == 2
    assert order[0] not in ids and order[1] in ids
    assert plan.due_reviews >= 1  # the missed questions are due again
    _, again = mentoring.mark_topic_done(ANN, order[0], now=NOW)
    assert again is False
    with pytest.raises(MentoringError):
        mentoring.mark_topic_done(ANN, "no-such-topic", now=NOW)


def test_plan_has_one_habit_per_cadence_a_planned_certification_and_the_goals(progress, mentoring):
    progress.check_in(ANN, "read-paper", now=NOW)
    plan = mentoring.weekly_plan(ANN, now=NOW)
    assert [h.cadence for h, _ in plan.habits] == ["daily", "weekly", "monthly"]
    assert all(not done for _, done in plan.habits) and "read-paper" not in [h.id for h, _ in plan.habits]
    assert plan.certifications == []
    mentoring.update_certification(ANN, "plan", "databricks-data-engineer-associate", "2027-03-15", now=NOW)
    mentoring.set_goal(ANN, "6m", "pass the Databricks exam", now=NOW)
    plan = mentoring.weekly_plan(ANN, now=NOW)
    assert [(c.cert.id, c.on_date) for c in plan.certifications] == [
        ("databricks-data-engineer-associate", date(2027, 3, 15))]
    assert [(g.horizon, g.text) for g in plan.goals] == [("6m", "pass the Databricks exam")]
    assert plan.week == "2026-W49"


# ----- projects -----
def test_projects_start_done_with_links_and_the_suggestion_follows_level_and_track(progress, mentoring):
    view = mentoring.projects(ANN, now=NOW)
    assert [r.project.id for r in view.rows] == [p.id for p in CAT.portfolio_projects]
    assert all(r.status == "" for r in view.rows)
    assert view.suggested and view.suggested.from_level > 1 and "when you reach Level" in view.reason
    row = mentoring.update_project(ANN, "start", "open-source-contribution", "<https://github.com/x/y/pull/1>",
                                   now=NOW)
    assert (row.status, row.url) == ("started", "https://github.com/x/y/pull/1")
    assert mentoring.projects(ANN, now=NOW).suggested.id == "open-source-contribution"  # finish it first
    row = mentoring.update_project(ANN, "done", "open-source-contribution", now=NOW + timedelta(days=9))
    assert (row.status, row.url, row.done_at is not None) == ("done", "https://github.com/x/y/pull/1", True)
    joined(progress, ANN, ago=timedelta(days=1), level=4, track="E")
    view = mentoring.projects(ANN, now=NOW)
    assert view.suggested and "E" in view.suggested.tracks and "track E" in view.reason
    for bad, words in (("javascript:alert(1)", "http"), ("ftp://example.com/x", "http"),
                       ("https://" + "a" * 600, "limit")):
        with pytest.raises(MentoringError) as err:
            mentoring.update_project(ANN, "start", "multi-model-system", bad, now=NOW)
        assert words in str(err.value)
    with pytest.raises(MentoringError) as err:
        mentoring.update_project(ANN, "start", "rocket-science", now=NOW)
    assert "end-to-end-ml-pipeline" in str(err.value)
    assert {r.project.id: r.status for r in mentoring.projects(ANN, now=NOW).rows if r.status} == {
        "open-source-contribution": "done"}
    with pytest.raises(MentoringError):
        mentoring.project_for_share(ANN, "multi-model-system", now=NOW)
    assert mentoring.project_for_share(ANN, "open-source-contribution", now=NOW).url


# ----- certifications -----
def test_certifications_list_with_notes_and_plan_or_pass_with_dates(progress, mentoring):
    rows = mentoring.certifications(ANN, now=NOW)
    assert [r.cert.id for r in rows] == [c.id for c in CAT.certifications]
    notes = {r.cert.id: r.cert.availability for r in rows}
    assert "MLA-C01" in notes["aws-ml-specialty"] and "2024" in notes["tensorflow-developer"]
    assert all(r.cert.difficulty and r.cert.study_months for r in rows)
    row = mentoring.update_certification(ANN, "passed", "tensorflow-developer", now=NOW)
    assert (row.status, row.on_date) == ("passed", date(2026, 11, 30))
    for args, words in ((("plan", "aws-ml-specialty", "2026-01-01"), "in the past"),
                        (("passed", "aws-ml-specialty", "2027-01-01"), "in the future"),
                        (("plan", "aws-ml-specialty", "next year"), "not a date"),
                        (("plan", "oracle-dba", None), "no certification")):
        with pytest.raises(MentoringError) as err:
            mentoring.update_certification(ANN, *args, now=NOW)
        assert words in str(err.value)
    assert {r.cert.id: r.status for r in mentoring.certifications(ANN, now=NOW) if r.status} == {
        "tensorflow-developer": "passed"}


# ----- checklists -----
def test_three_checklists_tick_with_evidence_and_reject_bad_input(progress, mentoring):
    view = mentoring.checklist(ANN, now=NOW)
    assert [c.title for c, _ in view.checklists] == ["Technical skills", "Business impact", "Collaboration"]
    assert view.ticked == 0 and view.total == sum(len(c.items) for c in CAT.success_metrics)
    mentoring.tick(ANN, "reduced-latency", "p99 from 180 ms to 60 ms after ONNX", now=NOW)
    mentoring.tick(ANN, "mentor-juniors", "<https://wiki.example.com/mentoring>", now=NOW)
    for item, evidence, words in (("no-such-item", "", "no checklist item"),
                                  ("lead-design", "x" * 5000, "5,000 characters"),
                                  ("lead-design", "ftp://files/x", "http")):
        with pytest.raises(MentoringError) as err:
            mentoring.tick(ANN, item, evidence, now=NOW)
        assert words in str(err.value)
    ticks = {i.id: e for _, items in mentoring.checklist(ANN, now=NOW).checklists for i, e in items if e is not None}
    assert ticks == {"reduced-latency": "p99 from 180 ms to 60 ms after ONNX",
                     "mentor-juniors": "https://wiki.example.com/mentoring"}


# ----- export / import -----
def test_mentoring_tables_round_trip_through_export_and_import(progress, mentoring, tmp_path):
    mentoring.set_goal(ANN, "3m", "ship it", now=NOW)
    mentoring.set_hours(ANN, 6, now=NOW)
    mentoring.update_project(ANN, "start", "end-to-end-ml-pipeline", "https://github.com/a/b", now=NOW)
    mentoring.update_certification(ANN, "plan", "aws-ml-specialty", "2027-02-01", now=NOW)
    mentoring.tick(ANN, "etl-pipelines", "500 GB a day", now=NOW)
    mentoring.mark_topic_done(ANN, "window-functions", now=NOW)
    exported = export_data(progress.db, now=NOW)
    for name in ("mentoring_profiles", "goals", "project_progress", "cert_progress", "checklist_ticks",
                 "topics_done"):
        assert len(exported[name]) == 1, name
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    upgrade(url)
    copy = Database(url)
    try:
        report = import_data(copy, read_export(json.dumps(exported)))
        assert report["goals"] == {"added": 1, "present": 0}
        assert export_data(copy, now=NOW) == exported
        assert all(r["added"] == 0 for r in import_data(copy, read_export(json.dumps(exported))).values())
    finally:
        copy.dispose()
