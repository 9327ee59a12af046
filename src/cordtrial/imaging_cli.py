"""``cordtrial imaging``: import MRI examinations from DICOM headers and structured reads from a
CSV file (issue 14). Thin shells over :mod:`cordtrial.trial.services.imaging`.

Exit status: 0 all imported, 1 something refused (the reasons are printed), 2 the command could
not run (no store, unreadable file).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cordtrial.cli_store import DataDirOption, DemoOption, existing_store, fail

__all__ = ["imaging_app"]

imaging_app = typer.Typer(
    help="MRI surveillance: import examinations (DICOM headers) and reads (CSV).",
    no_args_is_help=True,
)

UserOption = Annotated[
    str, typer.Option("--user", help="The account that imports (the audit trail names it)")
]


@imaging_app.command("import-dicom")
def import_dicom_command(
    path: Annotated[Path, typer.Argument(help="A DICOM file, or a folder of one study's files")],
    participant: Annotated[str, typer.Option("--participant", help="The participant's study id")],
    user: UserOption,
    trial: Annotated[
        str | None, typer.Option("--trial", help="The trial's protocol id (default: the only one)")
    ] = None,
    imaging_site: Annotated[
        str | None, typer.Option(help="Where the MRI was made (default: the DICOM institution)")
    ] = None,
    field_strength: Annotated[
        float | None, typer.Option(help="Field strength in tesla, when the headers have none")
    ] = None,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Record the MR studies of a DICOM file or folder: date, field strength, sequences (series
    descriptions) and Study Instance UID. Only these header fields are read: no pixel data,
    and the file's patient name and ID are never read or stored."""
    from sqlalchemy import select

    from cordtrial.trial import TrialError, make_engine, make_session_factory
    from cordtrial.trial.models import Trial
    from cordtrial.trial.services.acting import acting_user
    from cordtrial.trial.services.common import get_participant, get_trial
    from cordtrial.trial.services.imaging import import_dicom

    url = existing_store(data_dir, demo=demo).url
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            importer = acting_user(session, user, "enter_data")
            if trial is None:
                protocols = list(session.scalars(select(Trial.protocol_id)))
                if len(protocols) != 1:
                    fail("give --trial: the store holds " + (", ".join(protocols) or "no trial"))
                trial = protocols[0]
            try:
                get_trial(session, trial)
            except TrialError as exc:  # an unknown --trial is a bad option, as in every command
                fail(exc.human, 2)
            person = get_participant(session, trial, participant)
            made = import_dicom(
                session, importer, participant_id=person.id, path=path,
                imaging_site=imaging_site, field_strength_t=field_strength,
            )  # fmt: skip
            for mri in made:
                typer.echo(
                    f"recorded MRI of {mri.acquired_on.isoformat()} for {participant}: "
                    f"{mri.field_strength_t:g} T, {len(mri.sequences)} sequences, "
                    f"Study Instance UID {mri.study_instance_uid}"
                )
    except TrialError as exc:
        fail(exc.human, 1)
    finally:
        engine.dispose()


@imaging_app.command("import-reads")
def import_reads_command(
    file: Annotated[Path, typer.Argument(help="A CSV file, one read per row")],
    user: UserOption,
    data_dir: DataDirOption = None,
    demo: DemoOption = False,
) -> None:
    """Import structured MRI reads, one transaction per row.

    Columns: study_instance_uid (or mri_id), impression (stable, changed,
    suspicious_for_tumour), new_mass, contrast_enhancement, mass_effect, haemorrhage,
    cord_compression, oedema, syrinx_present (yes or no), syrinx_length_mm, syrinx_change,
    graft_length_mm, graft_volume_mm3, basic_score (0-4, or empty), finding. A row is the
    user's central (or adjudication) read when one of that MRI is assigned to them, otherwise
    the site's read. Exit 1 when a row was refused."""
    import pandas as pd

    from cordtrial.trial import TrialError, make_engine, make_session_factory
    from cordtrial.trial.services.acting import acting_user
    from cordtrial.trial.services.imaging import import_reads

    url = existing_store(data_dir, demo=demo).url
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        fail(f"cannot read {file}: {exc}", 2)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            try:
                reader = acting_user(session, user, "read_images")
            except TrialError:
                reader = acting_user(session, user, "enter_data")
            rows = [{str(k): str(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]
            stored, problems = import_reads(session, reader, rows, now=datetime.now(UTC))
    except TrialError as exc:
        fail(exc.human, 1)
    finally:
        engine.dispose()
    typer.echo(f"{len(stored)} read(s) imported and locked")
    for p in problems:
        typer.echo(f"row {p.row}: {p.reason}", err=True)
    if problems:
        raise typer.Exit(1)
