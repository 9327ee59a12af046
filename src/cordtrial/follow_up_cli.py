"""``cordtrial follow-up``: CSV export and import of the long-term follow-up (dispositions,
contact attempts, consent signatures); ``cordtrial product look-back``: every recipient of a lot,
an iPSC line or a donor (issue 14).

Exit codes as the store's other commands: 0 success, 1 refused (rows refused by an import, a
``--user`` that is no active account allowed to do it), 2 unusable settings, input or output.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from cordtrial.cli_store import (
    DataDirOption,
    DemoOption,
    check_output_folder,
    existing_store,
    fail,
    run_row_import,
)

__all__ = ["follow_up_app", "product_app"]

follow_up_app = typer.Typer(
    help="Long-term follow-up: dispositions, contact attempts, consents (CSV).",
    no_args_is_help=True,
)
product_app = typer.Typer(help="The cell product: look-back to recipients.", no_args_is_help=True)


class FollowUpTable(enum.StrEnum):
    dispositions = "dispositions"
    contact_attempts = "contact_attempts"
    consent_signatures = "consent_signatures"


UserOption = Annotated[
    str,
    typer.Option(
        "--user",
        help="The account that acts: active and allowed to; only its sites; the audit trail "
        "names it",
    ),
]


@follow_up_app.command("export")
def follow_up_export(
    trial: Annotated[str, typer.Option("--trial", help="The trial's protocol id")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write")],
    user: Annotated[
        str | None,
        typer.Option(help="Export as this user: their sites; a statistician's is pseudonymized"),
    ] = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Write DIR/dispositions.csv, DIR/contact_attempts.csv and DIR/consent_signatures.csv, as
    `cordtrial export` does: with --user, that user's sites (an administrator's identified, a
    statistician's pseudonymized); without, every site."""
    from cordtrial.trial import NotFoundError, TrialError, make_engine, make_session_factory
    from cordtrial.trial.files import private_directory, write_csv
    from cordtrial.trial.services.acting import acting_user
    from cordtrial.trial.services.follow_up_io import export_follow_up

    check_output_folder(output)
    engine = make_engine(existing_store(data_dir, demo=demo).url)
    try:
        with make_session_factory(engine)() as session:
            who = acting_user(session, user, "read") if user is not None else None
            tables = export_follow_up(session, user=who, protocol_id=trial)
        private_directory(output)
        for name, frame in tables.items():
            write_csv(frame, output / f"{name}.csv")
    except NotFoundError as exc:  # an unknown trial is unusable input; an unknown user, refused
        fail(exc.human, 2 if exc.entity == "trial" else 1)
    except TrialError as exc:
        fail(exc.human, 1)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", 2)
    finally:
        engine.dispose()
    counts = ", ".join(f"{name} {len(frame)}" for name, frame in tables.items())
    typer.echo(f"follow-up of {trial} written to {output}: {counts}")


@follow_up_app.command("import")
def follow_up_import(
    table: Annotated[FollowUpTable, typer.Argument(help="What the file holds")],
    file: Annotated[Path, typer.Argument(help="A CSV file with a study_id column")],
    trial: Annotated[str, typer.Option("--trial", help="The trial's protocol id")],
    user: UserOption,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Import dispositions, contact attempts or consent signatures from a CSV file (the columns
    of `follow-up export`), each row through its rules and audited; rows already stored are
    skipped. Exit 1 when a row was refused (each is printed with its reason)."""
    from cordtrial.trial.services.follow_up_io import import_follow_up

    run_row_import(
        file, trial=trial, user=user, data_dir=data_dir, demo=demo,
        columns_hint="the columns of `follow-up export`",
        run=lambda session, who, frame: import_follow_up(
            session, user=who, protocol_id=trial, table=table.value, frame=frame
        ),
    )  # fmt: skip


@product_app.command("look-back")
def look_back_command(
    user: UserOption,
    lot: Annotated[str | None, typer.Option("--lot", help="A lot number")] = None,
    line: Annotated[str | None, typer.Option("--line", help="An iPSC line's name")] = None,
    donor: Annotated[str | None, typer.Option("--donor", help="A donor's coded identifier")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write the list as CSV")] = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Every recipient of a lot, an iPSC line or a donor's lines (give exactly one), with the
    dates, at the user's sites: for a recall or a finding in the cell line."""
    from dataclasses import asdict

    import pandas as pd

    from cordtrial.trial import TrialError, make_engine, make_session_factory
    from cordtrial.trial.files import write_csv
    from cordtrial.trial.services.acting import acting_user
    from cordtrial.trial.services.look_back import look_back

    if csv is not None:
        check_output_folder(csv, "--csv")
    engine = make_engine(existing_store(data_dir, demo=demo).url)
    try:
        with make_session_factory(engine)() as session:
            who = acting_user(session, user, "read")
            found = look_back(session, who, lot_number=lot, ipsc_line=line, donor_id=donor)
    except TrialError as exc:
        fail(exc.human, 1)
    finally:
        engine.dispose()
    for e in found:
        donor_text = f" <- donor {e.donor_id}" if e.donor_id else ""
        typer.echo(
            f"{e.study_id} (site {e.site_code}): {e.dose_cells:,} cells on "
            f"{e.administered_at:%Y-%m-%d} from lot {e.lot_number} <- line {e.ipsc_line}"
            f"{donor_text}; {e.disposition}"
        )
    typer.echo(f"{len(found)} recipient(s)")
    if csv is not None:
        try:
            write_csv(pd.DataFrame([asdict(e) for e in found]), csv)
        except OSError as exc:
            fail(f"cannot write {csv}: {exc.strerror or exc}", 2)
