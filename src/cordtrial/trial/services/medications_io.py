"""CSV import and export of concomitant medication (issue 15).

The export is the ``concomitant_medications`` table of the trial export
(:func:`.exports.build_export`: the user's sites, pseudonymized for a statistician, whose export
has study days instead of calendar dates and no reviewer's name). The import reads the columns

    ``study_id, name, atc_code, dose, dose_unit, route, frequency, indication, start_date,
    stop_date``

(others, such as the export's ``id`` or review columns, are ignored) and records each row
through :func:`.medications.record_medication`, so every rule, permission and audit entry
applies and an interacting medication is flagged for review. A row refused is reported with its
number (the first data row is row 1) and the reason in words; the others are still imported. A
row already stored (same participant, medication name and start date) is skipped, so that
importing a file twice stores it once. A route is its code (``oral``, ``iv`` ...) or its words
(``intravenous (IV)``), in any case. A text cell that the export neutralized against spreadsheet
formulas (a ``'`` before ``=``, ``+``, ``-``, ``@``: :mod:`cordtrial.isncsci.io.csv_safety`) is
read back without the quote.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cordtrial.isncsci.io.csv_safety import FORMULA_PREFIXES
from cordtrial.trial.errors import InvalidValueError, TrialError
from cordtrial.trial.models import ConcomitantMedication, User
from cordtrial.trial.rules.medications import ROUTE_LABELS
from cordtrial.trial.services.common import RowImportReport, get_participant, get_trial
from cordtrial.trial.services.exports import build_export
from cordtrial.trial.services.medications import record_medication

__all__ = [
    "MEDICATION_COLUMNS",
    "MedicationImportReport",
    "export_medications",
    "import_medications",
]

#: The columns the import reads (the export's, less its id and review columns).
MEDICATION_COLUMNS: Final = (
    "study_id", "name", "atc_code", "dose", "dose_unit", "route", "frequency", "indication",
    "start_date", "stop_date",
)  # fmt: skip
_ROUTES: Final = {
    **{code: code for code in ROUTE_LABELS},
    **{label.casefold(): code for code, label in ROUTE_LABELS.items()},
}


#: What a medication import did (one report class for every record import).
MedicationImportReport = RowImportReport


def export_medications(
    session: Session, *, user: User | None, protocol_id: str, pseudonymize: bool = False
) -> pd.DataFrame:
    """The ``concomitant_medications`` table of the trial export (see
    :func:`.exports.build_export`)."""
    export = build_export(session, protocol_id=protocol_id, user=user, pseudonymize=pseudonymize)
    return export.tables["concomitant_medications"]


def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value).strip()
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        text = text[1:]  # neutralized by our export: read the value back
    return text


def _date(row: dict[str, Any], name: str, *, required: bool) -> date | None:
    text = _text(row, name)
    if not text and not required:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValueError(
            name, text or None, "a date (YYYY-MM-DD)", "is not a date"
        ) from None


def _dose(row: dict[str, Any]) -> float | None:
    text = _text(row, "dose")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidValueError("dose", text, "a number > 0", "is not a number") from None


def _import_row(session: Session, user: User, pid: int, row: dict[str, Any]) -> bool:
    name = _text(row, "name")
    start = _date(row, "start_date", required=True)
    stored = session.scalars(
        select(ConcomitantMedication.id).where(
            ConcomitantMedication.participant_id == pid,
            func.lower(ConcomitantMedication.name) == name.lower(),
            ConcomitantMedication.start_date == start,
        )
    ).first()
    if stored is not None:
        session.rollback()
        return False
    route = _text(row, "route")
    record_medication(
        session, user, participant_id=pid, name=name, atc_code=_text(row, "atc_code") or None,
        dose=_dose(row), dose_unit=_text(row, "dose_unit") or None,
        route=_ROUTES.get(route.casefold(), route), frequency=_text(row, "frequency"),
        indication=_text(row, "indication"), start_date=start,  # type: ignore[arg-type]
        stop_date=_date(row, "stop_date", required=False),
    )  # fmt: skip
    return True


def import_medications(
    session: Session, *, user: User, protocol_id: str, frame: pd.DataFrame
) -> MedicationImportReport:
    """Import concomitant medications (see the module docstring), each row through its use case;
    refused rows are reported with their number, the others imported."""
    get_trial(session, protocol_id)  # an unknown trial is an error, not every row refused
    missing = [c for c in ("study_id", "name", "start_date") if c not in frame.columns]
    if missing:
        raise InvalidValueError(
            "columns", ", ".join(missing), "the columns " + ", ".join(MEDICATION_COLUMNS),
            "are missing",
        )  # fmt: skip
    report = MedicationImportReport("concomitant medication")
    for number, record in enumerate(frame.to_dict("records"), start=1):
        row = {str(k): v for k, v in record.items()}
        study_id = _text(row, "study_id")
        try:
            participant = get_participant(session, protocol_id, study_id)
            stored = _import_row(session, user, participant.id, row)
        except TrialError as exc:
            session.rollback()
            report.errors.append((number, study_id, exc.human))
            continue
        if stored:
            report.imported += 1
        else:
            report.skipped += 1
    return report
