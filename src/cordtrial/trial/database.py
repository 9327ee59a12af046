"""Database setup: engines for SQLite and PostgreSQL, sessions, and migrations.

SQLite (the embedded default) is opened with foreign keys on, WAL journal mode and a busy timeout,
set by a connect event on every connection; transactions are begun explicitly so that SQLAlchemy,
not the ``sqlite3`` module, decides where they start (reads and writes of a use case then share
one transaction). PostgreSQL goes through psycopg 3.

The schema is only ever created by the Alembic migrations in ``cordtrial/trial/migrations``
(:func:`upgrade`), never by ``create_all``: the migrations are what a deployed database has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from cordtrial.trial.audit import WRITE_OPTION  # importing it registers the audit events
from cordtrial.trial.files import create_private_file, private_directory
from cordtrial.trial.settings import normalize_database_url

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "check_connection",
    "current_revision",
    "downgrade",
    "head_revision",
    "make_engine",
    "make_session_factory",
    "upgrade",
]

#: Where the Alembic environment and revisions live (inside the package).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy's "begin" event start transactions (the sqlite3 module's own handling
    # would start them late and commit around DDL).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 10000")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # A unit of work takes the write lock at once; reads take none (WAL readers never wait).
    writer = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` (``sqlite:///PATH`` or ``postgresql+psycopg://...``).

    For SQLite a missing file is created owner-only (``0600``), in a directory created ``0700``
    if missing (see :mod:`cordtrial.trial.files`). Keyword arguments go to
    :func:`sqlalchemy.create_engine`.
    """
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    in_memory = parsed.database in (None, "", ":memory:")
    if parsed.database and not in_memory and not parsed.database.startswith("file:"):
        # Owner-only: a new database file 0600 in a directory created 0700 (SQLite gives its
        # -wal and -shm files the database file's mode).
        database = Path(parsed.database).expanduser()
        private_directory(database.parent)
        create_private_file(database)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def check_connection(session: Session) -> None:
    """Reach the session's database with a ``SELECT 1`` (a health check).

    Raises
    ------
    sqlalchemy.exc.SQLAlchemyError
        When the database cannot be reached.
    """
    session.execute(text("SELECT 1"))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``; objects stay readable after commit (``expire_on_commit=False``)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration for the package's migrations, bound to ``engine`` if given.

    To write a new revision from a changed model, e.g.::

        from alembic import command
        command.revision(alembic_config(make_engine(url)), "describe the change",
                         autogenerate=True)
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (default: the latest)."""
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(engine), revision)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``base``: empty)."""
    engine = make_engine(url)
    try:
        command.downgrade(alembic_config(engine), revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at (``None``: never migrated)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """The latest revision of the package's migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no Alembic revisions in {MIGRATIONS_DIR}")
    return head
