"""``cordtrial db``, ``cordtrial user`` and ``cordtrial audit``: the trial store's commands.

Mounted into :mod:`cordtrial.cli` (``app.add_typer(db_app, name="db")`` ...). Each command reads
the settings (``CORDTRIAL_DATABASE_URL`` / ``CORDTRIAL_DATA_DIR``), calls a library function and
prints the result. Exit codes: 0 success, 1 the store refused (a problem found by ``audit verify``,
a value refused by ``user add``), 2 unusable settings.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cordtrial.trial import (
    TrialError,
    current_revision,
    head_revision,
    load_settings,
    make_engine,
    make_session_factory,
    upgrade,
    verify_audit,
)
from cordtrial.trial.rules.access import ROLES
from cordtrial.trial.services.users import add_user

__all__ = ["audit_app", "db_app", "user_app"]

db_app = typer.Typer(help="Create and migrate the trial database.", no_args_is_help=True)
user_app = typer.Typer(help="Users of the trial store.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


def _url() -> str:
    try:
        return load_settings().database_url
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@db_app.command("init")
def db_init() -> None:
    """Create the database schema (or bring it to the latest revision)."""
    db_upgrade()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest revision."""
    url = _url()
    before = current_revision(url)
    upgrade(url)
    typer.echo(f"database at revision {head_revision()} (was {before or 'empty'})")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="One of " + ", ".join(sorted(ROLES)))],
    site: Annotated[list[int] | None, typer.Option(help="Site id (repeatable)")] = None,
    all_sites: Annotated[bool, typer.Option(help="Sees every site")] = False,
    actor: Annotated[str, typer.Option(help="Who adds the user (for the audit trail)")] = "cli",
) -> None:
    """Add a user; the password is asked for twice (never an argument)."""
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = make_engine(_url())
    try:
        with make_session_factory(engine)() as session:
            user = add_user(
                session,
                actor=actor,
                username=username,
                password=password,
                role=role,
                site_ids=site or [],
                all_sites=all_sites,
            )
            typer.echo(f"user {user.username} ({user.role}) added, id {user.id}")
    except TrialError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the hash chain and reconcile it with the tables; exit 1 on any problem."""
    engine = make_engine(_url())
    try:
        with make_session_factory(engine)() as session:
            report = verify_audit(session)
    finally:
        engine.dispose()
    typer.echo(str(report))
    if not report.ok:
        raise typer.Exit(1)
