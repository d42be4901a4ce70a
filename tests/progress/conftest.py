"""Every progress test runs on SQLite and on PostgreSQL (a throwaway database per test on the server named
by MLPATH_TEST_POSTGRES_URL; .ci/run sets it when 127.0.0.1:5432 answers)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from knowledge.quizzes import question_bank
from progress.db import Database, upgrade
from progress.service import Progress

PG_URL = os.environ.get("MLPATH_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'progress.db'}"
        return
    if not PG_URL:
        pytest.skip("MLPATH_TEST_POSTGRES_URL is not set (no PostgreSQL for this run)")
    name = f"mlpath_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def database_outage(db_url: str) -> Iterator[Callable[[bool], None]]:
    """switch(False) makes the PostgreSQL server refuse `db_url`'s database and drops its connections (a restart,
    a failover); switch(True) lets it back in. Left allowed on the way out."""
    assert PG_URL
    name = db_url.rsplit("/", 1)[1]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")

    def switch(on: bool) -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if on else "false"}'))
            if not on:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})

    try:
        yield switch
    finally:
        switch(True)
        admin.dispose()


@pytest.fixture
def progress(db_url):
    upgrade(db_url)
    db = Database(db_url)
    yield Progress(db, bank=question_bank())
    db.dispose()
