"""``cordtrial db|user|audit`` (the trial store's commands) on a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from cordtrial.trial import make_engine
from cordtrial.trial_cli import audit_app, db_app, user_app

PASSWORD = "a long enough passphrase"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cordtrial.db'}"
    monkeypatch.setenv("CORDTRIAL_DATABASE_URL", url)
    return url


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")
    return app


def test_db_init_user_add_and_audit_verify(env: str) -> None:
    runner = CliRunner()
    assert "was empty" in runner.invoke(_app(), ["db", "init"]).output
    added = runner.invoke(
        _app(), ["user", "add", "admin1", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert added.exit_code == 0, added.output
    verified = runner.invoke(_app(), ["audit", "verify"])
    assert verified.exit_code == 0 and "intact" in verified.output


def test_audit_verify_fails_after_tampering(env: str) -> None:
    runner = CliRunner()
    runner.invoke(_app(), ["db", "upgrade"])
    runner.invoke(
        _app(), ["user", "add", "admin1", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    engine = make_engine(env)
    with engine.begin() as connection:
        connection.execute(text("UPDATE app_user SET role = 'monitor'"))
    engine.dispose()
    assert runner.invoke(_app(), ["audit", "verify"]).exit_code == 1


def test_user_add_refuses_a_short_password(env: str) -> None:
    runner = CliRunner()
    runner.invoke(_app(), ["db", "upgrade"])
    result = runner.invoke(
        _app(), ["user", "add", "bob", "--role", "monitor"], input="short\nshort\n"
    )
    assert result.exit_code == 1
