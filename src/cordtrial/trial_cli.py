"""The trial store's commands: ``db``, ``user``, ``audit``, ``import``, ``export``, ``backup``,
``restore``.

Mounted into :mod:`cordtrial.cli` (``app.add_typer(db_app, name="db")`` ...,
:func:`mount_data_commands`). Each command reads the settings (``CORDTRIAL_DATABASE_URL`` /
``CORDTRIAL_DATA_DIR``), calls a library function and prints the result. Exit codes: 0 success,
1 the store refused (a problem found by ``audit verify`` or after ``restore``, a value refused by
``user add``, rows rejected by ``import exams``, an export the user may not make), 2 unusable
settings, input or output.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from cordtrial.isncsci.io.formats import FileFormatError, read_frame
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
from cordtrial.trial.backup import BackupError, backup, restore
from cordtrial.trial.models import User
from cordtrial.trial.rules.access import ROLES
from cordtrial.trial.services.exports import build_export, write_export
from cordtrial.trial.services.imports import DEFAULT_BATCH_SIZE, import_exams
from cordtrial.trial.services.users import add_user

__all__ = [
    "audit_app",
    "backup_command",
    "db_app",
    "export_command",
    "import_app",
    "mount_data_commands",
    "restore_command",
    "user_app",
]

db_app = typer.Typer(help="Create and migrate the trial database.", no_args_is_help=True)
user_app = typer.Typer(help="Users of the trial store.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
import_app = typer.Typer(help="Bulk import into the trial store.", no_args_is_help=True)


def _url() -> str:
    try:
        return load_settings().database_url
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _migrated_url() -> str:
    url = _url()
    if current_revision(url) is None:
        typer.echo("error: the database has no schema (run `cordtrial db upgrade` first)", err=True)
        raise typer.Exit(2)
    return url


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
    url = _migrated_url()
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = make_engine(url)
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


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


class FormatOption(enum.StrEnum):
    csv = "csv"
    parquet = "parquet"


@import_app.command("exams")
def import_exams_command(
    file: Annotated[Path, typer.Argument(help="A .csv, .json, .jsonl or .parquet file")],
    trial: Annotated[str, typer.Option("--trial", help="The trial's protocol id")],
    batch_size: Annotated[
        int, typer.Option(min=1, help="Rows per transaction (a batch is stored whole or not)")
    ] = DEFAULT_BATCH_SIZE,
    errors: Annotated[
        Path | None, typer.Option(help="Error report (CSV); default FILE.import-errors.csv")
    ] = None,
    actor: Annotated[str, typer.Option(help="Who imports (for the audit trail)")] = "cli",
) -> None:
    """Import ISNCSCI exams from a file, one transaction per batch.

    Columns: participant (study id), visit (blank: unscheduled), examined_on (YYYY-MM-DD),
    examiner and the exam cells. Rows already stored (same participant, visit and date) are not
    imported twice; rejected rows go to the error report (row, participant, field, value,
    reason, severity). Optional columns comments and flag_reasons (JSON object, cell -> reason);
    a flagged value without a reason is imported with a warning in the report. Exit 1 when a row
    was rejected.
    """
    url = _migrated_url()
    try:
        frame = read_frame(file)
    except FileFormatError as exc:
        raise _fail(f"cannot read {exc}", 2) from exc
    report_path = errors or file.with_name(f"{file.stem}.import-errors.csv")
    console = Console(stderr=True)
    engine = make_engine(url)
    progress = Progress(
        TextColumn("importing"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    try:
        with progress, make_session_factory(engine)() as session:
            task = progress.add_task("import", total=len(frame))
            report = import_exams(
                session,
                actor=actor,
                protocol_id=trial,
                frame=frame,
                batch_size=batch_size,
                progress=lambda done, total: progress.update(task, completed=done),
            )
    except TrialError as exc:
        raise _fail(str(exc), 2) from exc
    finally:
        engine.dispose()
    try:
        report.error_frame().to_csv(report_path, index=False)
    except OSError as exc:
        raise _fail(f"cannot write {report_path}: {exc.strerror}", 2) from exc
    typer.echo(str(report))
    if report.warnings and not report.errors:
        typer.echo(f"warnings (rows imported all the same): {report_path}")
    if report.errors:
        typer.echo(f"{len(report.errors)} problem(s) in {report.rejected} row(s): {report_path}")
        for error in report.errors[:5]:
            typer.echo(f"  row {error.row}: {error.reason}", err=True)
        raise typer.Exit(1)


def export_command(
    trial: Annotated[str, typer.Option("--trial", help="The trial's protocol id")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write")],
    fmt: Annotated[FormatOption, typer.Option("--format", help="Table format")] = FormatOption.csv,
    user: Annotated[
        str | None,
        typer.Option(help="Export as this user: their sites; a statistician's is pseudonymized"),
    ] = None,
    pseudonymize: Annotated[bool, typer.Option(help="Pseudonymize the export")] = False,
) -> None:
    """Export a trial: tidy tables per entity, CDISC Dataset-JSON v1.1, a manifest.

    Writes DIR/<table>.csv (or .parquet), DIR/dataset-json/<table>.json and DIR/manifest.json.
    With --user the export holds that user's sites and a statistician's is pseudonymized; the
    pseudonyms' key is read from CORDTRIAL_PSEUDONYM_KEY (else a random key, used once).
    """
    engine = make_engine(_migrated_url())
    key = os.environ.get("CORDTRIAL_PSEUDONYM_KEY")
    try:
        with make_session_factory(engine)() as session:
            who = None
            if user is not None:
                who = session.scalars(select(User).where(User.username == user)).first()
                if who is None:
                    raise _fail(f"no user {user!r}", 1)
            export = build_export(
                session,
                protocol_id=trial,
                user=who,
                pseudonymize=pseudonymize,
                key=key.encode() if key else None,
            )
        written = write_export(export, output, fmt=fmt.value)
    except TrialError as exc:
        raise _fail(str(exc), 1) from exc
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}", 2) from exc
    finally:
        engine.dispose()
    kind = "pseudonymized" if export.pseudonymized else "identified"
    counts = ", ".join(f"{name} {n}" for name, n in export.manifest()["tables"].items())
    typer.echo(f"{kind} export of {trial} to {output} ({len(written)} files): {counts}")


def backup_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="The backup file (new)")],
) -> None:
    """Write a consistent snapshot of the database to a new file.

    SQLite: the online backup API (the backup is a SQLite file). PostgreSQL: a portable logical
    dump (gzip JSON Lines) read in one snapshot.
    """
    try:
        info = backup(_url(), output)
    except BackupError as exc:
        raise _fail(str(exc), 2) from exc
    typer.echo(f"backup of revision {info.revision} ({info.rows} rows) written to {output}")


def restore_command(
    file: Annotated[Path, typer.Argument(help="A file written by `cordtrial backup`")],
    force: Annotated[bool, typer.Option(help="Replace a database that holds data")] = False,
) -> None:
    """Restore a backup into an empty database, then verify the audit trail.

    A database that holds data is replaced only with --force. Exit 1 when the restored audit
    trail does not verify.
    """
    try:
        info, report = restore(_url(), file, force=force)
    except BackupError as exc:
        raise _fail(str(exc), 2) from exc
    typer.echo(f"restored {info.rows} rows (revision {info.revision}) from {file}")
    typer.echo(str(report))
    if not report.ok:
        raise typer.Exit(1)


def mount_data_commands(app: typer.Typer) -> None:
    """Add ``import``, ``export``, ``backup`` and ``restore`` to the ``cordtrial`` command."""
    app.add_typer(import_app, name="import")
    app.command("export")(export_command)
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
