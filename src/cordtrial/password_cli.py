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
from typing import TYPE_CHECKING, Annotated

import typer

from cordtrial.cli_store import DataDirOption, DemoOption, existing_store

# SQLAlchemy and the trial store are imported when a command runs (`cordtrial --help` stays fast)
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cordtrial.trial.models import User

__all__ = ["passwd_command", "reset_password_command", "unlock_command"]


def _user(session: Session, username: str) -> User:
    from sqlalchemy import select

    from cordtrial.trial.errors import NotFoundError
    from cordtrial.trial.models import User

    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError("user", username)
    return user


def _run(action: str, url: str, work: Callable[[Session], str]) -> None:
    from cordtrial.trial import TrialError, make_engine, make_session_factory

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            typer.echo(work(session))
    except TrialError as exc:
        typer.echo(f"cordtrial: error: {action} refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def passwd_command(
    username: Annotated[str, typer.Argument(help="Your user name")],
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Change your own password (asks for the current one, then the new one twice)."""
    url = existing_store(data_dir, demo=demo).url
    current: str = typer.prompt("current password", hide_input=True)
    new: str = typer.prompt("new password", hide_input=True, confirmation_prompt=True)

    def work(session: Session) -> str:
        from cordtrial.trial.services.users import change_password

        change_password(
            session,
            username=username,
            current_password=current,
            new_password=new,
            now=datetime.now(UTC),
        )
        return f"password of {username} changed"

    _run("password change", url, work)


def reset_password_command(
    username: Annotated[str, typer.Argument(help="Whose password to reset")],
    user: Annotated[str, typer.Option("--user", help="The administrator who resets it")],
    reason: Annotated[str, typer.Option(help="Why (for the audit trail)")],
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Set a temporary password (asked twice); the user must change it at the next login."""
    url = existing_store(data_dir, demo=demo).url
    password: str = typer.prompt("temporary password", hide_input=True, confirmation_prompt=True)

    def work(session: Session) -> str:
        from cordtrial.trial.services.users import reset_password

        admin = _user(session, user)
        target = _user(session, username)
        reset_password(session, user=admin, user_id=target.id, password=password, reason=reason)
        return f"password of {username} reset: to be changed at the next login"

    _run("password reset", url, work)


def unlock_command(
    username: Annotated[str, typer.Argument(help="Whose lockout to lift")],
    user: Annotated[str, typer.Option("--user", help="The administrator who unlocks")],
    reason: Annotated[str, typer.Option(help="Why (for the audit trail)")],
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Lift a lockout after failed logins."""
    url = existing_store(data_dir, demo=demo).url

    def work(session: Session) -> str:
        from cordtrial.trial.services.users import unlock_user

        admin = _user(session, user)
        target = _user(session, username)
        unlock_user(session, user=admin, user_id=target.id, reason=reason)
        return f"{username} unlocked"

    _run("unlock", url, work)
