"""CSV import and export of immunosuppression (issue 15): trough levels and dose changes from a
laboratory or pharmacy system, and the tables of the trial export.

The export tables (part of :func:`.exports.build_export`, so site-scoped and, for a
statistician, pseudonymized there: calendar dates become study days, ``reason`` and ``note``
are left out as free text) are ``immunosuppression_regimens``, ``immunosuppression_courses``,
``dose_changes``, ``dose_interruptions`` and ``trough_levels``.

The import records each row through its use case (:func:`.immunosuppression.record_trough`,
:func:`.immunosuppression.record_dose_change`), so every rule, permission and audit entry
applies; a row refused is reported with its number and the reason in words and the others are
still imported. A row already stored (same course and sample time and value / same course and
date and dose) is skipped, so that importing a file twice stores it once. Columns:

- ``troughs``: ``study_id, drug, sampled_at`` (ISO 8601 with a time zone, e.g.
  ``2026-02-03T08:00:00Z``)``, hours_since_dose, value, unit`` (UCUM)
- ``dose_changes``: ``study_id, drug, changed_on, dose, reason``
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.errors import InvalidValueError, TrialError
from cordtrial.trial.models import (
    DoseChange,
    DoseInterruption,
    ImmunosuppressionCourse,
    ImmunosuppressionRegimen,
    TroughLevel,
    User,
)
from cordtrial.trial.services.common import RowImportReport, get_participant, get_trial
from cordtrial.trial.services.immunosuppression import (
    course_for,
    record_dose_change,
    record_trough,
)

__all__ = [
    "IMPORT_TABLES",
    "ImmunosuppressionImportReport",
    "immunosuppression_export_tables",
    "import_immunosuppression",
]

#: The tables the import reads.
IMPORT_TABLES: Final = ("troughs", "dose_changes")
_DRUG_OF_COURSE = "drug"


def immunosuppression_export_tables(
    session: Session, trial_id: int, study_ids: dict[int, str]
) -> dict[str, pd.DataFrame]:
    """The trial's regimens and its participants' (``study_ids``: id -> study id, the sites
    exported) courses, dose changes, interruptions and troughs, one query each."""
    regimens = list(
        session.scalars(
            select(ImmunosuppressionRegimen)
            .where(ImmunosuppressionRegimen.trial_id == trial_id)
            .order_by(ImmunosuppressionRegimen.drug)
        )
    )
    drugs = {r.id: r.drug for r in regimens}
    tables = {
        "immunosuppression_regimens": pd.DataFrame(
            [
                {
                    "drug": r.drug,
                    "dose": r.dose,
                    "dose_unit": r.dose_unit,
                    "route": r.route,
                    "start_day": r.start_day,
                    "planned_stop_day": r.planned_stop_day,
                    "taper": json.dumps(r.taper),
                    "targets": json.dumps(r.targets),
                    "target_unit": r.target_unit,
                    "source": r.source,
                }
                for r in regimens
            ],
            columns=[
                "drug",
                "dose",
                "dose_unit",
                "route",
                "start_day",
                "planned_stop_day",
                "taper",
                "targets",
                "target_unit",
                "source",
            ],
        )
    }
    pids = sorted(study_ids)

    def rows(cls: Any) -> list[Any]:
        if not pids:
            return []
        query = select(cls).where(cls.participant_id.in_(pids)).order_by(cls.id)
        return list(session.scalars(query))

    courses = rows(ImmunosuppressionCourse)
    course_drug = {c.id: drugs.get(c.regimen_id, "") for c in courses}
    tables["immunosuppression_courses"] = pd.DataFrame(
        [{"study_id": study_ids[c.participant_id], "id": c.id, "drug": course_drug[c.id],
          "started_on": c.started_on, "start_dose": c.start_dose, "dose_unit": c.dose_unit,
          "stopped_on": c.stopped_on, "stop_reason": c.stop_reason, "note": c.stop_note}
         for c in courses],
        columns=["study_id", "id", "drug", "started_on", "start_dose", "dose_unit",
                 "stopped_on", "stop_reason", "note"],
    )  # fmt: skip
    tables["dose_changes"] = pd.DataFrame(
        [{"study_id": study_ids[d.participant_id], "course_id": d.course_id,
          "drug": course_drug[d.course_id], "changed_on": d.changed_on, "dose": d.dose,
          "reason": d.reason} for d in rows(DoseChange)],
        columns=["study_id", "course_id", "drug", "changed_on", "dose", "reason"],
    )  # fmt: skip
    tables["dose_interruptions"] = pd.DataFrame(
        [{"study_id": study_ids[g.participant_id], "course_id": g.course_id,
          "drug": course_drug[g.course_id], "from_date": g.from_date, "to_date": g.to_date,
          "reason": g.reason} for g in rows(DoseInterruption)],
        columns=["study_id", "course_id", "drug", "from_date", "to_date", "reason"],
    )  # fmt: skip
    tables["trough_levels"] = pd.DataFrame(
        [{"study_id": study_ids[t.participant_id], "course_id": t.course_id,
          "drug": course_drug[t.course_id], "sampled_at": t.sampled_at,
          "hours_since_dose": t.hours_since_dose, "entered_value": t.entered_value,
          "entered_unit": t.entered_unit, "value": t.value, "target_low": t.target_low,
          "target_high": t.target_high, "flag": t.flag} for t in rows(TroughLevel)],
        columns=["study_id", "course_id", "drug", "sampled_at", "hours_since_dose",
                 "entered_value", "entered_unit", "value", "target_low", "target_high", "flag"],
    )  # fmt: skip
    return tables


#: What an immunosuppression import did (one report class for every record import).
ImmunosuppressionImportReport = RowImportReport


def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def _number(row: dict[str, Any], name: str) -> float:
    text = _text(row, name).strip()
    try:
        return float(text)
    except ValueError:
        raise InvalidValueError(name, text or None, "a number", "is not a number") from None


def _trough(
    session: Session, user: User, course: ImmunosuppressionCourse, row: dict[str, Any]
) -> bool:
    text = _text(row, "sampled_at").strip()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValueError(
            "sampled_at", text or None, "a date and time with a time zone (2026-02-03T08:00Z)",
            "is not a date and time",
        ) from None  # fmt: skip
    value = _number(row, "value")
    stored = session.scalars(
        select(TroughLevel.id).where(
            TroughLevel.course_id == course.id, TroughLevel.sampled_at == at,
            TroughLevel.entered_value == value,
        )
    ).first() if at.tzinfo is not None else None  # fmt: skip
    if stored is not None:
        return False
    record_trough(
        session, user, course_id=course.id, sampled_at=at,
        hours_since_dose=_number(row, "hours_since_dose"), value=value,
        unit=_text(row, "unit").strip(),
    )  # fmt: skip
    return True


def _dose_change(
    session: Session, user: User, course: ImmunosuppressionCourse, row: dict[str, Any]
) -> bool:
    text = _text(row, "changed_on").strip()
    try:
        on = date.fromisoformat(text)
    except ValueError:
        raise InvalidValueError("changed_on", text or None, "a date (YYYY-MM-DD)",
                                "is not a date") from None  # fmt: skip
    dose = _number(row, "dose")
    stored = session.scalars(
        select(DoseChange.id).where(
            DoseChange.course_id == course.id, DoseChange.changed_on == on, DoseChange.dose == dose
        )
    ).first()
    if stored is not None:
        return False
    record_dose_change(session, user, course_id=course.id, changed_on=on, dose=dose,
                       reason=_text(row, "reason"))  # fmt: skip
    return True


_IMPORTERS: dict[str, Callable[[Session, User, ImmunosuppressionCourse, dict[str, Any]], bool]] = {
    "troughs": _trough,
    "dose_changes": _dose_change,
}


def import_immunosuppression(
    session: Session, *, user: User, protocol_id: str, table: str, frame: pd.DataFrame
) -> ImmunosuppressionImportReport:
    """Import the rows of one table (see the module docstring), each through its use case;
    refused rows are reported with their number, the others imported."""
    if table not in _IMPORTERS:
        raise InvalidValueError("table", table, "one of " + ", ".join(IMPORT_TABLES))
    get_trial(session, protocol_id)  # an unknown trial is an error, not every row refused
    if "study_id" not in frame.columns:
        raise InvalidValueError("study_id", None, "a study_id column in the file", "is missing")
    report = ImmunosuppressionImportReport(table)
    for number, record in enumerate(frame.to_dict("records"), start=1):
        row = {str(k): v for k, v in record.items()}
        study_id = _text(row, "study_id").strip()
        try:
            participant = get_participant(session, protocol_id, study_id)
            drug = _text(row, _DRUG_OF_COURSE).strip() or "tacrolimus"
            course = course_for(session, user, participant.id, drug, "enter_data")
            stored = _IMPORTERS[table](session, user, course, row)
        except TrialError as exc:
            session.rollback()
            report.errors.append((number, study_id, exc.human))
            continue
        if stored:
            report.imported += 1
        else:
            report.skipped += 1
    return report
