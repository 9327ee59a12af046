"""``cordtrial import labs``: laboratory results from a lab system's CSV file (issue 15).

Mounted on the store's ``import`` group (:data:`cordtrial.trial_cli.import_app`) by
:mod:`cordtrial.cli`. Exit codes as the store's other commands: 0 every row imported (or
already stored), 1 rows refused (each in the error report) or a ``--user`` that is no active
account allowed to enter data, 2 unusable settings, input or output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cordtrial.cli_store import DataDirOption, DemoOption, check_output_folder, existing_store, fail

__all__ = ["import_labs_command"]


def import_labs_command(
    file: Annotated[Path, typer.Argument(help="A CSV file from the lab system")],
    trial: Annotated[str, typer.Option("--trial", help="The trial's protocol id")],
    user: Annotated[
        str,
        typer.Option(
            "--user",
            help="The account that imports: active, allowed to enter data; only participants "
            "of its sites are imported; the audit trail names it",
        ),
    ],
    errors: Annotated[
        Path | None, typer.Option(help="Error report (CSV); default FILE.import-errors.csv")
    ] = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Import laboratory results from a lab system's CSV file.

    Columns: study_id, collected_at (YYYY-MM-DD or YYYY-MM-DDTHH:MM), analyte (our code, its
    name, a lab short name such as PLT or CREA, or a LOINC code), value, unit (UCUM or the lab's
    spelling, e.g. x10^9/L, µmol/L); optional reference_low, reference_high (the lab's range,
    compared with the site's). Rows of one participant and sample time form a panel, converted
    and graded by CTCAE v5.0. Each refused row goes to the error report (row, participant,
    field, value, reason, severity) and the others are imported; rows already stored are not
    stored twice. Exit 1 when a row was refused.
    """
    from cordtrial.trial import NotFoundError, TrialError, make_engine, make_session_factory
    from cordtrial.trial.files import write_csv
    from cordtrial.trial.services.acting import acting_user
    from cordtrial.trial.services.common import get_trial
    from cordtrial.trial.services.lab_import import import_lab_results, read_lab_csv

    report_path = errors or file.with_name(f"{file.stem}.import-errors.csv")
    check_output_folder(report_path, "--errors")
    url = existing_store(data_dir, demo=demo).url
    try:
        content = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", 2)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            get_trial(session, trial)  # an unknown trial is named before the file is read
            try:
                frame = read_lab_csv(content)
            except TrialError as exc:  # not CSV, or a required column missing: unusable input
                fail(f"{file}: {exc.human}", 2)
            importer = acting_user(session, user, "enter_data")
            report = import_lab_results(session, importer, protocol_id=trial, frame=frame)
    except NotFoundError as exc:  # an unknown trial is unusable input; an unknown user, refused
        fail(exc.human, 2 if exc.entity == "trial" else 1)
    except TrialError as exc:
        fail(exc.human, 1)
    finally:
        engine.dispose()
    try:
        write_csv(report.error_frame(), report_path)
    except OSError as exc:
        fail(f"cannot write {report_path}: {exc.strerror or exc}", 2)
    typer.echo(str(report))
    if report.warnings and not report.errors:
        typer.echo(f"warnings (rows imported all the same): {report_path}")
    if report.errors:
        typer.echo(f"{len(report.errors)} problem(s) in {report.rejected} row(s): {report_path}")
        for error in report.errors[:5]:
            typer.echo(f"  row {error.row}: {error.reason}", err=True)
        raise typer.Exit(1)
