"""A knowledge base that stops answering (the Chroma server restarting) means a "try again in a minute" reply,
not silence, and recovery needs no restart of mlpath (issue 18, item 4). The progress-database outage is tested
through the Slack bot in tests/bot/test_hardening.py."""

from __future__ import annotations

import pytest

from mlpath.app import Who
from mlpath.app.results import AnswerView, Notice
from mlpath.app.service import KNOWLEDGE_DOWN
from mlpath.wiring import build_application, build_mentor
from progress.service import MemberRef
from tests.conftest import ChromaServer, make_settings

pytestmark = [pytest.mark.model, pytest.mark.server, pytest.mark.subprocess]


def test_with_the_chroma_server_down_a_question_gets_a_try_again_line_and_recovery_needs_no_restart(
        tmp_path, embedder):
    (tmp_path / "chroma").mkdir()
    server = ChromaServer(tmp_path / "chroma")
    notes = tmp_path / "notes.md"
    notes.write_text("# Team\n\n## On-call\n\nThe ML on-call rotation changes every Monday.\n", encoding="utf-8")
    settings = make_settings(tmp_path / "data", chroma_url=server.url)
    mentor = build_mentor(settings, embedder=embedder)
    mentor.ingest([notes])
    app = build_application(settings, mentor)
    who = Who(MemberRef("T1", "U1"), "dm")
    try:
        before = app.ask(who, "when does the on-call rotation change?")
        assert isinstance(before, AnswerView) and "Monday" in before.answer.text
        server.stop()
        assert app.ask(who, "when does the on-call rotation change?") == Notice(KNOWLEDGE_DOWN, ok=False)
        server = ChromaServer(tmp_path / "chroma", port=server.port)  # back, same address and data
        after = app.ask(who, "when does the on-call rotation change?")
        assert isinstance(after, AnswerView) and "Monday" in after.answer.text
    finally:
        server.stop()
        app.progress.db.dispose()
