"""``cordtrial medications``: CSV import and export of concomitant medication, and the trial's
medications flagged for an interaction with the immunosuppressant (issue 15).

Exit codes as the store's other commands: 0 success, 1 refused (rows refused by an import, a
``--user`` that is no active account allowed to do it), 2 unusable settings, input or output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cordtrial.cli_store import DataDirOption, DemoOption, check_output_folder, existing_store, fail

__all__ = ["medications_app"]

medications_app = typer.Typer(
    help="Concomitant medication: CSV import and export, interaction flags.",
    no_args_is_help=True,
)

TrialOption = Annotated[str, typer.Option("--trial", help="The trial's protocol id")]
UserOption = Annotated[
    str,
    typer.Option(
        "--user",
        help="The account that acts: active and allowed to; only its sites; the audit trail "
        "names it",
    ),
]


@medications_app.command("export")
def medications_export(
    trial: TrialOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="The CSV file to write")],
    user: Annotated[
        str | None,
        typer.Option(help="Export as this user: their sites; a statistician's is pseudonymized"),
    ] = None,
    pseudonymize: Annotated[
        bool, typer.Option(help="Study ids as pseudonyms, study days instead of dates")
    ] = False,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Write the concomitant medications as CSV, as `cordtrial export` does: with --user, that
    user's sites (an administrator's identified, a statistician's pseudonymized); without, every
    site. Formula-like text cells are neutralized."""
    from cordtrial.trial import NotFoundError, TrialError, make_engine, make_session_factory
    from cordtrial.trial.files import write_csv
    from cordtrial.trial.services.acting import acting_user
    from cordtrial.trial.services.medications_io import export_medications

    check_output_folder(output)
    engine = make_engine(existing_store(data_dir, demo=demo).url)
    try:
        with make_session_factory(engine)() as session:
            who = acting_user(session, user, "read") if user is not None else None
            frame = export_medications(
                session, user=who, protocol_id=trial, pseudonymize=pseudonymize
            )
        write_csv(frame, output)
    except NotFoundError as exc:  # an unknown trial is unusable input; an unknown user, refused
        fail(exc.human, 2 if exc.entity == "trial" else 1)
    except TrialError as exc:
        fail(exc.human, 1)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", 2)
    finally:
        engine.dispose()
    typer.echo(f"{len(frame)} concomitant medication(s) of {trial} written to {output}")


@medications_app.command("import")
def medications_import(
    file: Annotated[Path, typer.Argument(help="A CSV file with the columns of `export`")],
    trial: TrialOption,
    user: UserOption,
    errors: Annotated[
        Path | None,
        typer.Option("--errors", help="Also write the refused rows (row, study id, reason) here"),
    ] = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Import concomitant medications from a CSV file (study_id, name, atc_code, dose,
    dose_unit, route, frequency, indication, start_date, stop_date), each row through its rules
    and audited; an interacting medication is flagged for review; rows already stored (same
    participant, name and start date) are skipped. Every row is tried: exit 1 when one was
    refused (each is printed with its row number and reason)."""
    import pandas as pd

    from cordtrial.trial import NotFoundError, TrialError, make_engine, make_session_factory
    from cordtrial.trial.errors import InvalidValueError
    from cordtrial.trial.files import write_csv
    from cordtrial.trial.services.acting import acting_user
    from cordtrial.trial.services.medications_io import import_medications

    if errors is not None:
        check_output_folder(errors, "--errors")
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        fail(f"cannot read {file}: {exc}", 2)
    engine = make_engine(existing_store(data_dir, demo=demo).url)
    try:
        with make_session_factory(engine)() as session:
            who = acting_user(session, user, "enter_data")
            report = import_medications(session, user=who, protocol_id=trial, frame=frame)
    except NotFoundError as exc:  # an unknown trial is unusable input; an unknown user, refused
        fail(exc.human, 2 if exc.entity == "trial" else 1)
    except InvalidValueError as exc:  # the file lacks the columns: unusable input
        fail(exc.human, 2)
    except TrialError as exc:
        fail(exc.human, 1)
    finally:
        engine.dispose()
    typer.echo(str(report))
    for row, study_id, reason in report.errors:
        typer.echo(f"  row {row} ({study_id or 'no study id'}): {reason}", err=True)
    if errors is not None:
        refused = pd.DataFrame(report.errors, columns=["row", "study_id", "reason"])
        try:
            write_csv(refused, errors)
        except OSError as exc:
            fail(f"cannot write {errors}: {exc.strerror or exc}", 2)
    if report.errors:
        raise typer.Exit(1)


@medications_app.command("flagged")
def medications_flagged(
    trial: TrialOption,
    user: UserOption,
    include_reviewed: Annotated[
        bool, typer.Option(help="Also list those an investigator has reviewed")
    ] = False,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """List the trial's medications that may change the immunosuppressant's level and wait for
    an investigator's review, at the user's sites."""
    from cordtrial.trial import NotFoundError, TrialError, make_engine, make_session_factory
    from cordtrial.trial.services.acting import acting_user
    from cordtrial.trial.services.medications import flagged_medications

    engine = make_engine(existing_store(data_dir, demo=demo).url)
    try:
        with make_session_factory(engine)() as session:
            who = acting_user(session, user, "read")
            found = flagged_medications(session, who, trial, include_reviewed=include_reviewed)
            lines = [
                f"{f.study_id} (site {f.site_code}): {f.medication.name} from "
                f"{f.medication.start_date.isoformat()} "
                f"[{f.medication.interaction_review}]: {'; '.join(f.flags)}"
                for f in found
            ]
    except NotFoundError as exc:  # an unknown trial is unusable input; an unknown user, refused
        fail(exc.human, 2 if exc.entity == "trial" else 1)
    except TrialError as exc:
        fail(exc.human, 1)
    finally:
        engine.dispose()
    for line in lines:
        typer.echo(line)
    typer.echo(f"{len(lines)} medication(s) flagged")
