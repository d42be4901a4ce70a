"""Progress hardening (issue 18): no phantom members from an admin's typo, no member text in database errors,
and start-up refuses a store it cannot write — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError

from errors import UserError
from progress import repository as repo
from progress.db import upgrade
from progress.models import Member
from progress.service import MemberRef, UnknownMember
from progress.setup import open_progress

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def members(progress) -> int:
    with progress.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Member)))


def test_set_level_never_creates_a_member_for_an_unknown_id(progress):
    for bad in ("UNOBODY", "U5><!channel>", ""):
        with pytest.raises(UnknownMember):
            progress.set_level(MemberRef("T1", bad), 3)
    assert members(progress) == 0
    progress.member(MemberRef("T1", "UANN", "Ann"), now=T0)
    assert progress.set_level(MemberRef("T1", "UANN"), 3).level == 3
    # a front end that checked the id with Slack may create the member
    assert progress.set_level(MemberRef("T1", "UNEW"), 2, create=True).level == 2
    assert members(progress) == 2


def test_database_errors_never_carry_what_a_member_wrote(progress):
    question = "my secret question about my employer's churn data"
    with progress.db.session() as s:
        repo.add_answer(s, public_id="a1", team_id="T1", user_id="U1", surface="dm", question=question, answer="",
                        grounded=False, confidence=0.0, citations="[]", answerer="extractive", prompt_tokens=None,
                        completion_tokens=None, latency_ms=None, created_at=T0)
    with pytest.raises(IntegrityError) as caught, progress.db.session() as s:
        repo.insert_row(s, repo.AnswerRecord, values={
            "public_id": "a1", "team_id": "T1", "user_id": "U1", "surface": "dm", "question": question,
            "answer": "", "grounded": False, "confidence": 0.0, "citations": "[]", "answerer": "extractive",
            "created_at": T0})
    assert "secret question" not in str(caught.value) and "parameters hidden" in str(caught.value)


def test_start_up_refuses_a_database_it_cannot_write(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    upgrade(db_url)
    open_progress(db_url).db.dispose()  # migrated and writable: fine
    if db_url.startswith("sqlite"):
        read_only = "sqlite:///file:" + db_url.removeprefix("sqlite:///") + "?mode=ro&uri=true"
    else:  # a standby or a read-only database looks like this to the bot
        name = db_url.rsplit("/", 1)[1]
        admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        admin.dispose()
        read_only = db_url
    with pytest.raises(UserError, match=r"^cannot write the database at DATABASE_URL \(.*read.?only"):
        open_progress(read_only)
    assert not (tmp_path / "file:").exists()  # a URI filename is not a folder to make in the working directory
