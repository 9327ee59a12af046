"""``cordtrial immunosuppression``: CSV import of trough levels and dose changes (from a
laboratory or pharmacy system) and CSV export of the immunosuppression tables (issue 15).

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

__all__ = ["immunosuppression_app"]

immunosuppression_app = typer.Typer(
    help="Immunosuppression: trough levels and dose changes (CSV).", no_args_is_help=True
)


class ImportTable(enum.StrEnum):
    troughs = "troughs"
    dose_changes = "dose_changes"


@immunosuppression_app.command("export")
def immunosuppression_export(
    trial: Annotated[str, typer.Option("--trial", help="The trial's protocol id")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write")],
    user: Annotated[
        str | None,
        typer.Option(help="Export as this user: their sites; a statistician's is pseudonymized"),
    ] = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Write the regimens, courses, dose changes, interruptions and trough levels as CSV files
    in DIR, as `cordtrial export` does: with --user, that user's sites (a statistician's
    pseudonymized: study days instead of dates, no free text); without, every site."""
    from cordtrial.trial import NotFoundError, TrialError, make_engine, make_session_factory
    from cordtrial.trial.files import private_directory, write_csv
    from cordtrial.trial.services.acting import acting_user
    from cordtrial.trial.services.exports import build_export

    check_output_folder(output)
    engine = make_engine(existing_store(data_dir, demo=demo).url)
    names = ("immunosuppression_regimens", "immunosuppression_courses", "dose_changes",
             "dose_interruptions", "trough_levels")  # fmt: skip
    try:
        with make_session_factory(engine)() as session:
            who = acting_user(session, user, "read") if user is not None else None
            export = build_export(session, protocol_id=trial, user=who)
        private_directory(output)
        for name in names:
            write_csv(export.tables[name], output / f"{name}.csv")
    except NotFoundError as exc:  # an unknown trial is unusable input; an unknown user, refused
        fail(exc.human, 2 if exc.entity == "trial" else 1)
    except TrialError as exc:
        fail(exc.human, 1)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", 2)
    finally:
        engine.dispose()
    counts = ", ".join(f"{name} {len(export.tables[name])}" for name in names)
    typer.echo(f"immunosuppression of {trial} written to {output}: {counts}")


@immunosuppression_app.command("import")
def immunosuppression_import(
    table: Annotated[ImportTable, typer.Argument(help="What the file holds")],
    file: Annotated[Path, typer.Argument(help="A CSV file with a study_id column")],
    trial: Annotated[str, typer.Option("--trial", help="The trial's protocol id")],
    user: Annotated[
        str,
        typer.Option(
            "--user",
            help="The account that acts: active and allowed to; only its "
            "sites; the audit trail names it",
        ),
    ],
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Import trough levels (study_id, drug, sampled_at, hours_since_dose, value, unit) or dose
    changes (study_id, drug, changed_on, dose, reason) from a CSV file, each row through its
    rules and audited; rows already stored are skipped. A refused row is printed with its row
    number and reason, the others are imported; exit 1 when a row was refused."""
    from cordtrial.trial.services.immunosuppression_io import import_immunosuppression

    run_row_import(
        file, trial=trial, user=user, data_dir=data_dir, demo=demo,
        columns_hint="see `immunosuppression import --help`",
        run=lambda session, who, frame: import_immunosuppression(
            session, user=who, protocol_id=trial, table=table.value, frame=frame
        ),
    )  # fmt: skip
