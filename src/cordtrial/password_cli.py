"""``cordtrial user passwd|reset-password|unlock``: passwords and lockouts from the command line.

Mounted on the ``user`` group by :mod:`cordtrial.trial_cli`. Passwords are always asked for
(hidden, twice for a new one), never arguments. ``passwd`` is the user changing their own
password (the current one re-entered; a wrong one counts towards the lockout);
``reset-password`` and ``unlock`` act as the administrator named by ``--user``, an active
account allowed to manage users. Every change is audited by the use cases. Exit codes: 0 done,
1 refused (wrong password, weak password, not allowed, unknown user), 2 unusable settings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial import (
    TrialError,
    current_revision,
    load_settings,
    make_engine,
    make_session_factory,
)
from cordtrial.trial.errors import NotFoundError
from cordtrial.trial.models import User
from cordtrial.trial.services.users import (
    change_password,
    require_permission,
    reset_password,
    unlock_user,
)

__all__ = ["passwd_command", "reset_password_command", "unlock_command"]


def _session_factory_url() -> str:
    try:
        url = load_settings().database_url
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if current_revision(url) is None:
        typer.echo("error: the database has no schema (run `cordtrial db upgrade` first)", err=True)
        raise typer.Exit(2)
    return url


def _user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError("user", username)
    return user


def _run(action: str, work: Callable[[Session], str]) -> None:
    url = _session_factory_url()
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            typer.echo(work(session))
    except TrialError as exc:
        typer.echo(f"error: {action} refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def passwd_command(
    username: Annotated[str, typer.Argument(help="Your user name")],
) -> None:
    """Change your own password (asks for the current one, then the new one twice)."""
    current: str = typer.prompt("current password", hide_input=True)
    new: str = typer.prompt("new password", hide_input=True, confirmation_prompt=True)

    def work(session: Session) -> str:
        change_password(
            session,
            username=username,
            current_password=current,
            new_password=new,
            now=datetime.now(UTC),
        )
        return f"password of {username} changed"

    _run("password change", work)


def reset_password_command(
    username: Annotated[str, typer.Argument(help="Whose password to reset")],
    user: Annotated[str, typer.Option("--user", help="The administrator who resets it")],
    reason: Annotated[str, typer.Option(help="Why (for the audit trail)")],
) -> None:
    """Set a temporary password (asked twice); the user must change it at the next login."""
    password: str = typer.prompt("temporary password", hide_input=True, confirmation_prompt=True)

    def work(session: Session) -> str:
        admin = _user(session, user)
        require_permission(admin, "manage_users")
        target = _user(session, username)
        reset_password(
            session, actor=admin.username, user_id=target.id, password=password, reason=reason
        )
        return f"password of {username} reset: to be changed at the next login"

    _run("password reset", work)


def unlock_command(
    username: Annotated[str, typer.Argument(help="Whose lockout to lift")],
    user: Annotated[str, typer.Option("--user", help="The administrator who unlocks")],
    reason: Annotated[str, typer.Option(help="Why (for the audit trail)")],
) -> None:
    """Lift a lockout after failed logins."""

    def work(session: Session) -> str:
        admin = _user(session, user)
        require_permission(admin, "manage_users")
        target = _user(session, username)
        unlock_user(session, actor=admin.username, user_id=target.id, reason=reason)
        return f"{username} unlocked"

    _run("unlock", work)
