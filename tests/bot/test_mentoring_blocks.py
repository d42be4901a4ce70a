"""Block Kit of the mentoring results: pure functions, no Slack. Members' own words (goals, evidence, links)
are escaped, and every section stays within Slack's limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot import blocks
from progress.db import Database, upgrade
from progress.mentoring import Mentoring
from progress.service import MemberRef, Progress

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
ANN = MemberRef("T1", "UANN", "Ann <!channel>", "UTC")


@pytest.fixture
def mentoring(tmp_path):
    url = f"sqlite:///{tmp_path / 'progress.db'}"
    upgrade(url)
    db = Database(url)
    yield Mentoring(Progress(db))
    db.dispose()


def sections(out: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in out if b["type"] == "section"]


def test_member_words_are_escaped_everywhere(mentoring):
    mentoring.set_goal(ANN, "3m", "ping <!channel> & <@U999|boss>", now=NOW)
    mentoring.tick(ANN, "lead-design", "design doc <!here>", now=NOW)
    mentoring.update_project(ANN, "start", "end-to-end-ml-pipeline", "https://x.test/a?b=1&c=<2>", now=NOW)
    rendered = json.dumps([blocks.build_goals(mentoring.goals(ANN, now=NOW)),
                           blocks.build_checklist(mentoring.checklist(ANN, now=NOW)),
                           blocks.build_projects(mentoring.projects(ANN, now=NOW))])
    assert "<!channel>" not in rendered and "<!here>" not in rendered and "<@U999" not in rendered
    assert "&lt;!channel&gt; &amp; &lt;@U999|boss&gt;" in rendered and "design doc &lt;!here&gt;" in rendered


def test_plan_blocks_have_pace_focus_buttons_and_the_hours_menu(mentoring):
    plan = mentoring.weekly_plan(ANN, now=NOW)
    out = blocks.build_plan(plan)
    text = "\n".join(sections(out))
    assert plan.pace.status.capitalize() in text and f"{plan.hours} h/week" in text
    assert plan.pace.explain()[:40] in json.dumps(out, ensure_ascii=False)
    buttons = [b["accessory"] for b in out if b.get("accessory")]
    assert [b["value"] for b in buttons] == [t.topic_id for t in plan.topics]
    menu = [e for b in out if b["type"] == "actions" for e in b["elements"]]
    assert menu[0]["action_id"] == blocks.PLAN_HOURS and {o["value"] for o in menu[0]["options"]} >= {"5", "8"}
    assert all(len(s) <= blocks.SECTION_LIMIT for s in sections(out))
    assert sections(blocks.build_plan(plan, buttons=False)) == sections(out)
    assert not any(b.get("accessory") for b in blocks.build_plan(plan, buttons=False))


def test_certifications_show_difficulty_study_time_and_availability_notes(mentoring):
    out = "\n".join(sections(blocks.build_certifications(mentoring.certifications(ANN, now=NOW))))
    assert "Advanced · 3-4 months of study" in out and "MLA-C01" in out and "⚠️" in out


def test_project_share_post_carries_the_offer_review_button(mentoring):
    row = mentoring.update_project(ANN, "start", "real-time-prediction-system", "https://github.com/a/b", now=NOW)
    out = blocks.build_project_share("UANN", row)
    [button] = [e for b in out if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == blocks.PROJECT_REVIEW and button["value"] == "UANN|real-time-prediction-system"
    assert "<@UANN>" in sections(out)[0] and "https://github.com/a/b" in sections(out)[0]
