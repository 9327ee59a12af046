"""The trial store's commands: ``db``, ``user``, ``audit``, ``import``, ``export``, ``backup``,
``restore``.

Mounted into :mod:`cordtrial.cli` (``app.add_typer(db_app, name="db")`` ...,
:func:`mount_data_commands`). Each command reads the settings (``CORDTRIAL_DATABASE_URL`` /
``CORDTRIAL_DATA_DIR``) or takes ``--data-dir DIR`` / ``--demo`` (:mod:`cordtrial.cli_store`: one
meaning for every command), calls a library function and prints the result. A store that does not
exist is an error (status 2), never created, except by ``db upgrade`` and ``restore``, whose job it
is. Exit codes: 0 success,
1 the store refused (a problem found by ``audit verify`` or after ``restore``, a value refused by
``user add``, rows rejected by ``import exams``, an export the user may not make, a ``--user``
that is no active account allowed to do it), 2 unusable settings, input or output.

Commands that change data act as a user account (``--user USERNAME``): it must exist, be active
and be allowed the change; the audit trail names it. Free text is never an actor.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated

import typer

from cordtrial.cli_store import (
    DataDirOption,
    DemoOption,
    check_output_folder,
    creating_store,
    existing_store,
    opening_store,
    store_location,
)
from cordtrial.password_cli import passwd_command, reset_password_command, unlock_command

# The trial store (SQLAlchemy, pandas) is imported inside the commands: `cordtrial --help` and the
# commands that do not use it start without it.

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


#: The roles of :data:`cordtrial.trial.rules.access.ROLES`, for the help text (not imported here,
#: so `cordtrial --help` starts without the trial package; a test keeps them equal).
_ROLES_HELP = "admin, coordinator, investigator, monitor, reader, statistician"


def _role(value: str) -> str:
    from cordtrial.trial.rules.access import ROLES

    if value not in ROLES:
        raise typer.BadParameter(f"{value!r} is not a role (one of {', '.join(sorted(ROLES))})")
    return value


@db_app.command("init")
def db_init(data_dir: DataDirOption = None, demo: DemoOption = False) -> None:
    """Create the database schema (or bring it to the latest revision)."""
    db_upgrade(data_dir, demo)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOption = None, demo: DemoOption = False) -> None:
    """Migrate the database to the latest revision (creating it if missing)."""
    from cordtrial.trial.database import current_revision, head_revision, upgrade

    location = store_location(data_dir, demo=demo)
    with creating_store(location):
        before = current_revision(location.url)
        upgrade(location.url)
    typer.echo(f"database at revision {head_revision()} (was {before or 'empty'})")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(parser=_role, metavar="ROLE", help=f"One of {_ROLES_HELP}")],
    site: Annotated[list[int] | None, typer.Option(help="Site id (repeatable)")] = None,
    all_sites: Annotated[bool, typer.Option(help="Sees every site")] = False,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="The administrator who adds the user (an active account allowed to manage "
            "users); not needed for the store's first user, who must be an admin",
        ),
    ] = None,
    full_name: Annotated[
        str | None, typer.Option(help="Printed name shown with signatures (default: user name)")
    ] = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Add a user; the password is asked for twice (never an argument).

    The audit trail names the account given by --user. The first user of an empty store is
    added by nobody else: it must be an admin, and the trail names it as its own creator.
    """
    from cordtrial.trial import TrialError, make_engine, make_session_factory
    from cordtrial.trial.models import User
    from cordtrial.trial.rules.access import check_username
    from cordtrial.trial.services.acting import acting_user, has_users
    from cordtrial.trial.services.users import add_user

    engine = make_engine(existing_store(data_dir, demo=demo).url)
    try:
        with make_session_factory(engine)() as session:
            admin: User | None = None  # the first admin is its own creator
            if has_users(session):
                if user is None:
                    raise _fail("--user: name the administrator who adds the user", 2)
                admin = acting_user(session, user, "manage_users")
            elif role != "admin":
                raise _fail(f"the store has no user yet: add an admin first, not a {role}", 1)
            else:
                check_username(username)
            password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
            added = add_user(
                session,
                user=admin,
                username=username,
                password=password,
                role=role,
                site_ids=site or [],
                all_sites=all_sites,
                full_name=full_name,
            )
            typer.echo(f"user {added.username} ({added.role}) added, id {added.id}")
    except TrialError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            help="A head hash kept elsewhere (printed by `audit verify`/`audit head` earlier); "
            "it must still be in the chain (repeatable)"
        ),
    ] = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Walk the hash chain and reconcile it with the tables; exit 1 on any problem.

    With --anchor, also prove that the chain still leads through each head hash recorded
    earlier: a trail rewritten with recomputed hashes no longer holds it.
    """
    from cordtrial.trial import TrialError, make_engine, make_session_factory, verify_audit
    from cordtrial.trial.audit import check_anchor

    try:
        anchors = [check_anchor(a) for a in anchor or []]
    except TrialError as exc:
        raise _fail(str(exc), 2) from exc
    engine = make_engine(existing_store(data_dir, demo=demo).url)
    try:
        with make_session_factory(engine)() as session:
            report = verify_audit(session, anchors)
    finally:
        engine.dispose()
    typer.echo(str(report))
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("head")
def audit_head_command(data_dir: DataDirOption = None, demo: DemoOption = False) -> None:
    """Print the head of the chain (sequence number and hash) to keep as an anchor elsewhere."""
    from cordtrial.trial import make_engine, make_session_factory
    from cordtrial.trial.audit import audit_head

    engine = make_engine(existing_store(data_dir, demo=demo).url)
    try:
        with make_session_factory(engine)() as session:
            seq, row_hash = audit_head(session)
    finally:
        engine.dispose()
    typer.echo(f"{seq} {row_hash}")


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"cordtrial: error: {message}", err=True)
    return typer.Exit(code)


class FormatOption(enum.StrEnum):
    csv = "csv"
    parquet = "parquet"


@import_app.command("exams")
def import_exams_command(
    file: Annotated[Path, typer.Argument(help="A .csv, .json, .jsonl or .parquet file")],
    trial: Annotated[str, typer.Option("--trial", help="The trial's protocol id")],
    user: Annotated[
        str,
        typer.Option(
            "--user",
            help="The account that imports: active, allowed to enter data; only participants "
            "of its sites are imported; the audit trail names it",
        ),
    ],
    batch_size: Annotated[
        int, typer.Option(min=1, help="Rows per transaction (a batch is stored whole or not)")
    ] = 500,  # services.imports.DEFAULT_BATCH_SIZE (not imported here: a test keeps them equal)
    errors: Annotated[
        Path | None, typer.Option(help="Error report (CSV); default FILE.import-errors.csv")
    ] = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Import ISNCSCI exams from a file, one transaction per batch.

    Columns: participant (study id), visit (blank: unscheduled), examined_on (YYYY-MM-DD),
    examiner and the exam cells. Rows already stored (same participant, visit and date) are not
    imported twice; rejected rows go to the error report (row, participant, field, value,
    reason, severity). Optional columns comments and flag_reasons (JSON object, cell -> reason);
    a flagged value without a reason is imported with a warning in the report. Exit 1 when a row
    was rejected.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from cordtrial.isncsci.io.formats import FileFormatError, read_frame
    from cordtrial.trial import TrialError, make_engine, make_session_factory
    from cordtrial.trial.files import write_csv
    from cordtrial.trial.services.acting import acting_user
    from cordtrial.trial.services.imports import import_exams

    report_path = errors or file.with_name(f"{file.stem}.import-errors.csv")
    check_output_folder(report_path, "--errors")
    url = existing_store(data_dir, demo=demo).url
    try:
        frame = read_frame(file)
    except FileFormatError as exc:
        raise _fail(f"cannot read {exc}", 2) from exc
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
        with make_session_factory(engine)() as session:
            importer = acting_user(session, user, "enter_data")
    except TrialError as exc:
        engine.dispose()
        raise _fail(str(exc), 1) from exc
    try:
        with progress, make_session_factory(engine)() as session:
            task = progress.add_task("import", total=len(frame))
            report = import_exams(
                session,
                user=importer,
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
        write_csv(report.error_frame(), report_path)
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
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Export a trial: tidy tables per entity, CDISC Dataset-JSON v1.1, a manifest.

    Writes DIR/<table>.csv (or .parquet), DIR/dataset-json/<table>.json and DIR/manifest.json.
    With --user the export holds that user's sites and a statistician's is pseudonymized; the
    pseudonyms' key is read from CORDTRIAL_PSEUDONYM_KEY (else a random key, used once).
    """
    from cordtrial.trial import NotFoundError, TrialError, make_engine, make_session_factory
    from cordtrial.trial.services.acting import acting_user
    from cordtrial.trial.services.exports import build_export, write_export

    check_output_folder(output)
    engine = make_engine(existing_store(data_dir, demo=demo).url)
    key = os.environ.get("CORDTRIAL_PSEUDONYM_KEY")
    try:
        with make_session_factory(engine)() as session:
            who = None
            if user is not None:
                who = acting_user(session, user, "read")
            export = build_export(
                session,
                protocol_id=trial,
                user=who,
                pseudonymize=pseudonymize,
                key=key.encode() if key else None,
            )
        written = write_export(export, output, fmt=fmt.value)
    except NotFoundError as exc:  # an unknown trial is unusable input; an unknown user, refused
        raise _fail(str(exc), 2 if exc.entity == "trial" else 1) from exc
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
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Write a consistent snapshot of the database to a new file.

    SQLite: the online backup API (the backup is a SQLite file). PostgreSQL: a portable logical
    dump read in one snapshot (gzip; each table as PostgreSQL's COPY text, dump format 2). A
    store at any schema revision is backed up (back it up before `cordtrial db upgrade`);
    `cordtrial restore` migrates the restored store to this cordtrial's revision.
    """
    from cordtrial.trial.backup import BackupError, backup

    check_output_folder(output)
    location = existing_store(data_dir, demo=demo, any_revision=True)
    try:
        with opening_store(location):
            info = backup(location.url, output)
    except BackupError as exc:
        raise _fail(str(exc), 2) from exc
    typer.echo(f"backup of revision {info.revision} ({info.rows} rows) written to {output}")


def restore_command(
    file: Annotated[Path, typer.Argument(help="A file written by `cordtrial backup`")],
    force: Annotated[bool, typer.Option(help="Replace a database that holds data")] = False,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Restore a backup into an empty database, then verify the audit trail.

    A database that holds data is replaced only with --force. Exit 1 when the restored audit
    trail does not verify. The target store is created if missing (in --data-dir DIR, too).
    Reads SQLite backups and PostgreSQL dumps of formats 1 and 2, into SQLite or PostgreSQL.
    """
    from cordtrial.trial.backup import BackupError, restore

    if not file.is_file():
        raise _fail(f"cannot read the backup {file}: file not found", 2)
    location = store_location(data_dir, demo=demo)
    try:
        with creating_store(location):
            info, report = restore(location.url, file, force=force)
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


# passwords and lockouts (issue 12): cordtrial.password_cli
user_app.command("passwd")(passwd_command)
user_app.command("reset-password")(reset_password_command)
user_app.command("unlock")(unlock_command)
