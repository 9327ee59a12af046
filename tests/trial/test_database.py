"""Database setup and migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from cordtrial.trial.database import (
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    upgrade,
)
from cordtrial.trial.models import Base

REVISIONS = [
    s.revision
    for s in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
]


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_revisions_form_one_line_with_descriptive_names() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert REVISIONS == [
        "0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011",
        "0012", "0013", "0014", "0015", "0018", "0019", "0020", "0021",
    ]  # fmt: skip
    assert script.get_heads() == [head_revision()] == ["0021"]
    for revision in script.walk_revisions():
        assert Path(revision.path).stem.startswith(f"{revision.revision}_")
        assert len(Path(revision.path).stem) > 20


def test_upgrade_from_empty_creates_every_table(empty_database_url: str) -> None:
    assert current_revision(empty_database_url) is None
    upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()
    assert _tables(empty_database_url) == set(Base.metadata.tables)


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_to_base_then_upgrade_round_trips(database_url: str) -> None:
    downgrade(database_url, "base")
    assert current_revision(database_url) is None
    assert _tables(database_url) == set()
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    assert _tables(database_url) == set(Base.metadata.tables)


def test_upgrade_from_every_earlier_revision(empty_database_url: str) -> None:
    for revision in REVISIONS:
        upgrade(empty_database_url, revision)
        assert current_revision(empty_database_url) == revision
        downgrade(empty_database_url, "-1")
        upgrade(empty_database_url, revision)
        upgrade(empty_database_url, "head")
        assert current_revision(empty_database_url) == head_revision()
        downgrade(empty_database_url, revision)
    assert current_revision(empty_database_url) == REVISIONS[-1]


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'cordtrial.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
    assert (tmp_path / "sub" / "cordtrial.db").exists()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(Exception, match=r"(?i)foreign key"), engine.begin() as connection:
        connection.execute(
            text("INSERT INTO site (trial_id, code, name, version) VALUES (999, 'X', 'nowhere', 1)")
        )


def test_make_engine_refuses_other_databases() -> None:
    with pytest.raises(ValueError, match="driver 'mysql' is not supported"):
        make_engine("mysql://localhost/db")
