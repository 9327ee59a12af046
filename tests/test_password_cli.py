"""``cordtrial user passwd|reset-password|unlock`` on a SQLite file (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from builders import acting_as
from cordtrial.trial import make_engine, make_session_factory, upgrade
from cordtrial.trial.errors import AuthenticationError
from cordtrial.trial.models import AuthEvent, User
from cordtrial.trial.services.users import add_user, authenticate
from cordtrial.trial_cli import user_app

PASSWORD = "a long enough passphrase"
TEMPORARY = "temporary granite harbour"
NEW = "my own quiet lighthouse"


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cordtrial.db'}"
    monkeypatch.setenv("CORDTRIAL_DATABASE_URL", url)
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        add_user(session, user=acting_as("setup"), username="boss", password=PASSWORD, role="admin")
        add_user(
            session, user=acting_as("setup"), username="cora", password=PASSWORD, role="coordinator"
        )
    engine.dispose()
    return url


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(user_app, name="user")
    return app


def _login(url: str, password: str) -> User:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return authenticate(session, username="cora", password=password, now=datetime.now(UTC))
    finally:
        engine.dispose()


def _events(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(AuthEvent.kind).order_by(AuthEvent.id)))
    finally:
        engine.dispose()


def test_reset_then_passwd(url: str) -> None:
    runner = CliRunner()
    reset = runner.invoke(
        _app(), ["user", "reset-password", "cora", "--user", "boss", "--reason", "forgotten"],
        input=f"{TEMPORARY}\n{TEMPORARY}\n",
    )  # fmt: skip
    assert reset.exit_code == 0, reset.output
    assert _login(url, TEMPORARY).must_change_password
    changed = runner.invoke(
        _app(), ["user", "passwd", "cora"], input=f"{TEMPORARY}\n{NEW}\n{NEW}\n"
    )
    assert changed.exit_code == 0, changed.output
    assert not _login(url, NEW).must_change_password
    assert {"password_reset", "password_changed"} <= set(_events(url))


def test_reset_needs_an_administrator(url: str) -> None:
    result = CliRunner().invoke(
        _app(), ["user", "reset-password", "boss", "--user", "cora", "--reason", "takeover"],
        input=f"{TEMPORARY}\n{TEMPORARY}\n",
    )  # fmt: skip
    assert result.exit_code == 1 and "cora may not manage users" in result.output
    with pytest.raises(AuthenticationError):
        _login(url, TEMPORARY)


def test_passwd_refuses_a_guessable_password(url: str) -> None:
    result = CliRunner().invoke(
        _app(), ["user", "passwd", "cora"], input=f"{PASSWORD}\npassword1234\npassword1234\n"
    )
    assert result.exit_code == 1 and "too short" not in result.output
    assert "too easy to guess" in result.output


def test_unlock_lifts_a_lockout(url: str) -> None:
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            _login(url, "wrong passphrase!")
    with pytest.raises(AuthenticationError):
        _login(url, PASSWORD)
    result = CliRunner().invoke(
        _app(), ["user", "unlock", "cora", "--user", "boss", "--reason", "called the desk"]
    )
    assert result.exit_code == 0, result.output
    assert _login(url, PASSWORD).username == "cora"
    assert "unlock" in _events(url)
