"""Open the progress database at a URL: SQLite (the embedded default) is migrated automatically;
other databases must be at the latest migration (`mlpath db upgrade`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from errors import UserError
from progress.db import Database, alembic_config, upgrade
from progress.service import Progress


def open_progress(url: str) -> Progress:
    if url.startswith("sqlite"):
        upgrade(url)
    else:
        _require_head(url)
    db = Database(url)
    _require_writable(db)
    return Progress(db)


def _require_writable(db: Database) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from progress import repository as repo

    try:
        with db.engine.connect() as conn, Session(conn) as session:
            try:
                repo.probe_write(session)
            finally:
                session.rollback()
    except SQLAlchemyError as exc:
        db.dispose()
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise UserError(f"cannot write the database at DATABASE_URL ({reason})") from None


def _require_head(url: str) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import OperationalError

    from progress.db import make_engine

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise UserError(f"cannot open the database at DATABASE_URL ({str(exc.orig).splitlines()[0]})") from None
    finally:
        engine.dispose()
    if current != head:
        raise UserError(f"the database at DATABASE_URL is at migration {current or 'none'}, not {head}: "
                        "run `mlpath db upgrade`")
