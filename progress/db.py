"""Engines and migrations for the progress database.

SQLite (the embedded default, a file under data/) gets WAL, a busy timeout, foreign keys, synchronous=FULL,
and write transactions that start with BEGIN IMMEDIATE: a transaction that reads and then writes takes the
write lock up front, so concurrent writers wait (busy_timeout) instead of failing with "database is locked"
(the recipe in SQLAlchemy's pysqlite documentation). PostgreSQL (postgresql+psycopg://…) is used as is.

Engines hide statement parameters in errors (`hide_parameters=True`): an IntegrityError about an answer row
would otherwise print the member's question into an ERROR log line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from errors import UserError

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                                   hide_parameters=True)
            _configure_sqlite(engine)
            return engine
        # a database host that is down must not hang a request (or a health check) for minutes
        connect_args = {"connect_timeout": 10} if url.startswith("postgresql") and "connect_timeout" not in url else {}
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True)
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise UserError(f"DATABASE_URL is not a usable database URL ({exc})") from None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Apply every migration (idempotent)."""
    from alembic import command

    if url.startswith("sqlite:///"):
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        # a SQLite URI filename (`sqlite:///file:…?uri=true`) names no folder to make: making one left a folder
        # called `file:` in the working directory
        if parsed.database and not parsed.query.get("uri"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        command.upgrade(alembic_config(url), "head")
    except OperationalError as exc:
        raise UserError(f"cannot open the database at DATABASE_URL ({str(exc.orig).splitlines()[0]})") from None


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
