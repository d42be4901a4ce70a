"""Mentoring in Slack end to end: signed slash commands and button clicks into the real Bolt app over HTTP,
calls to the local fake Slack out. Goals, the plan and its buttons, projects with sharing and "Offer a review",
certifications, the checklist, check-in settings, the team view for admins, App Home — and bad input answered
with one line that changes nothing."""

from __future__ import annotations

import json

import pytest

from progress import repository as repo
from progress.models import Goal, ProjectProgress

pytestmark = [pytest.mark.model, pytest.mark.server]


def dump(data) -> str:
    return json.dumps(data, ensure_ascii=False)


def reply(slack, name: str) -> dict:
    return slack.wait_for(f"response/{name}")[0].params


def click(server, slack, *, user: str, action: dict, name: str, container: str = "message") -> None:
    server.action({"type": "block_actions", "user": {"id": user, "name": user}, "team": {"id": "T1"},
                   "response_url": slack.response_url(name), "trigger_id": "1",
                   "container": {"type": container, "is_ephemeral": container == "message"},
                   "actions": [{**action, "block_id": "b", "action_ts": "1"}]})


def rows(server, model) -> list:
    with server.services.progress.db.session() as s:
        return repo.all_rows(s, model)


def test_plan_in_slack_with_mark_done_and_the_hours_menu(bot, slack):
    server = bot()
    status, body = server.command("plan", name="p1")
    assert status == 200 and "Putting your week together" in body
    plan = reply(slack, "p1")
    assert plan["response_type"] == "ephemeral" and "This week's focus" in dump(plan["blocks"])
    assert "On track" in dump(plan["blocks"]) and "8 h/week (the path default)" in dump(plan["blocks"])
    done = next(b["accessory"] for b in plan["blocks"] if b.get("accessory"))
    topic = done["value"]
    click(server, slack, user="U1", action=done, name="d1")
    after = reply(slack, "d1")
    assert "marked done; the plan moves on" in dump(after["blocks"]) and after["replace_original"] is False
    assert f"(`{topic}`)" not in dump(after["blocks"])  # the plan moved on
    menu = next(e for b in plan["blocks"] if b["type"] == "actions" for e in b["elements"])
    click(server, slack, user="U1", action={**menu, "selected_option": {"value": "5"}}, name="h1")
    hours = dump(reply(slack, "h1")["blocks"])
    assert "now counts 5 h/week" in hours and "stretch by 1.6×" in hours
    home = slack.wait_for("views.publish", 2)[-1].params
    assert "This week's plan" in dump(home["view"]) and "5 h/week" in dump(home["view"])


def test_bad_input_gets_one_line_and_changes_nothing(bot, slack):
    server = bot()
    server.command("goal 3m keep going", name="ok")
    reply(slack, "ok")
    cases = {
        "plan hours 61": "weekly hours must be a whole number from 1 to 60",
        "plan hours 0": "from 1 to 60",
        "goal 3m " + "x" * 5000: "5,000 characters",
        "project start rocket-science": "there is no project",
        "project start end-to-end-ml-pipeline javascript:alert(1)": "not a web link",
        "project start end-to-end-ml-pipeline ftp://files.example.com/x": "not a web link",
        "cert plan no-such-cert": "no certification",
        "checklist tick no-such-item proof": "no checklist item",
        "checkins day someday": "not a weekday",
    }
    for i, (text, words) in enumerate(cases.items()):
        status, _ = server.command(text, name=f"bad{i}")
        assert status == 200
        answer = reply(slack, f"bad{i}")
        assert words in answer["text"] and "\n" not in answer["text"] and "Traceback" not in answer["text"], text
    assert [(g.horizon, g.text) for g in rows(server, Goal)] == [("3m", "keep going")]
    assert rows(server, ProjectProgress) == []
    status, body = server.command("goal 2y travel")
    assert status == 200 and "Usage: `/mlpath goal 3m|6m|12m TEXT`" in body


def test_goals_projects_certifications_and_checklist(bot, slack):
    server = bot()
    server.command("goal 6m", name="g1")
    ideas = dump(reply(slack, "g1")["blocks"])
    assert "Goal ideas for 6m" in ideas and "Level 1" in ideas
    server.command("goal 12m deploy <!channel> a model", name="g2")
    goals = dump(reply(slack, "g2")["blocks"])
    assert "Your 12m goal is set" in goals and "&lt;!channel&gt;" in goals and "<!channel>" not in goals
    server.command("project start end-to-end-ml-pipeline <https://github.com/ann/pipeline>", name="pr1")
    projects = dump(reply(slack, "pr1")["blocks"])
    assert "End-to-End ML Pipeline: started" in projects and "https://github.com/ann/pipeline" in projects
    server.command("cert plan aws-ml-specialty 2099-05-01", name="c1")
    certs = dump(reply(slack, "c1")["blocks"])
    assert "planned (01 May 2099)" in certs and "MLA-C01" in certs and "Advanced · 3-4 months" in certs
    server.command("checklist tick reduced-latency p99 from 180 ms to 60 ms", name="k1")
    checklist = dump(reply(slack, "k1")["blocks"])
    assert "Ticked: Reduced model latency by X%" in checklist and "1 of 15 ticked" in checklist
    assert "p99 from 180 ms to 60 ms" in checklist
    server.command("plan", name="p2")
    assert "AWS Certified Machine Learning - Specialty on 01 May 2099" in dump(reply(slack, "p2")["blocks"])
    server.command("checkins day fri", name="ci")
    assert "Weekly check-in: Fri 08:30" in reply(slack, "ci")["text"]


def test_share_a_project_and_a_teammate_offers_a_review_once(bot, slack):
    server = bot(team_channel="CTEAM")
    server.command("project share multi-model-system", name="s0")
    assert "start the project first" in reply(slack, "s0")["text"]
    server.command("project start multi-model-system https://github.com/ann/mms", user="UANN", name="s1")
    reply(slack, "s1")
    server.command("project share multi-model-system", user="UANN", name="s2")
    assert "in <#CTEAM> for feedback" in reply(slack, "s2")["text"]
    post = next(c.params for c in slack.wait_for("chat.postMessage") if c.params["channel"] == "CTEAM")
    assert "<@UANN> would like feedback on their Multi-Model System" in dump(post["blocks"])
    button = next(e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"])
    click(server, slack, user="UBOB", action=button, name="r1", container="message")
    assert "I told <@UANN>" in reply(slack, "r1")["text"]
    dm = slack.wait_for("chat.postMessage", 2)[-1].params
    assert dm["channel"] == "UANN" and "<@UBOB> offered to review your Multi-Model System" in dm["text"]
    click(server, slack, user="UBOB", action=button, name="r2")  # again: no second DM
    assert "already offered" in reply(slack, "r2")["text"]
    click(server, slack, user="UANN", action=button, name="r3")  # the author themself
    assert "your own project" in reply(slack, "r3")["text"]
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == ["CTEAM", "UANN"]


def test_sharing_without_a_team_channel_says_so(bot, slack):
    server = bot()
    server.command("project start open-source-contribution", name="o1")
    reply(slack, "o1")
    server.command("project share open-source-contribution", name="o2")
    assert "TEAM_CHANNEL" in reply(slack, "o2")["text"]
    assert slack.calls_to("chat.postMessage") == []


def test_team_view_is_for_admins_and_hides_opted_out_members(bot, slack):
    server = bot(admin_user_ids="UADMIN")
    for user in ("UANN", "UBOB"):
        server.command("plan", user=user, name=f"seed{user}")
        reply(slack, f"seed{user}")
    server.command("leaderboard off", user="UBOB", name="hide")
    reply(slack, "hide")
    status, body = server.command("team", user="U1")
    assert status == 200 and "Only mlpath admins" in body
    status, body = server.command("team", user="UADMIN", name="t1")
    assert "Putting the team report together" in body
    report = dump(reply(slack, "t1")["blocks"])
    assert "Team report* — 2 members" in report and "Level 1: 2" in report
    assert "UBOB" not in report
