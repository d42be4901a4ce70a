"""The member's chart on App Home (issue 25, part 2): the real Bolt app behind its HTTP server, the fake Slack as a
local server; the PNG is uploaded with files_upload_v2 once per distinct picture and shown as an image block."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from PIL import Image

from progress.service import MemberRef
from tests.bot.conftest import listener_runs, wait_listener


def size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return image.size


@pytest.mark.model
@pytest.mark.server
def test_app_home_shows_the_members_chart_uploaded_once_per_picture(bot, slack):
    server = bot()
    server.services.progress.member(MemberRef("T1", "U1", "Ann"), now=datetime(2026, 11, 1, tzinfo=UTC))
    before = listener_runs("on_home_opened")
    server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}, event_id="EvC1")
    home = slack.wait_for("views.publish")[0].params
    view = home["view"] if isinstance(home["view"], dict) else json.loads(home["view"])
    [image] = [b for b in view["blocks"] if b["type"] == "image"]
    [upload] = slack.files
    assert image["slack_file"]["id"] == upload["id"] and upload["channel"] in (None, "")
    assert size(upload["content"]) == (720, 480) and image["alt_text"].startswith("Topics mastered since")
    server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}, event_id="EvC2")
    wait_listener("on_home_opened", before, count=2)
    assert len(slack.files) == 1  # the same picture is not uploaded again
    assert len(slack.calls_to("views.publish")) == 2
