"""Use case: laboratory results imported from a lab system's CSV file (issue 15).

One row per value: ``study_id``, ``collected_at`` (the sample's date and time,
``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM``), ``analyte`` (cordtrial's code, the analyte's name,
a lab system's short name or a LOINC code: :mod:`~cordtrial.trial.rules.lab_codes`), ``value``,
``unit`` (UCUM, or a lab system's spelling such as ``x10^9/L``, ``µmol/L``); optionally the
lab's reference range, ``reference_low`` and ``reference_high`` (in the row's unit). Headers are
matched without regard to case; :data:`COLUMN_ALIASES` lists the other names accepted.

How a file is imported:

1. Every row is checked on its own first (participant of the trial at the user's sites, date,
   analyte, number, unit of the analyte's kind, each analyte once per sample). A bad row is
   reported with its number (data rows from 1), the field, the value and what is allowed; the
   other rows go on.
2. The good rows are grouped into panels by participant and sample time, and each panel is
   recorded as one entered on the page (:func:`~.labs.record_lab_panel`: converted, graded,
   audited; one transaction per panel). Should a panel still be refused, every row of it is
   reported: nothing disappears silently.
3. A row already stored (same participant, sample date, analyte, value and unit as sent) is
   counted as already present and not stored twice, so a file imported again stores nothing new.
4. The lab's reference range is not the one graded against (that is the site's,
   :func:`~.labs.set_reference_range`); when it differs from the site's, or the site has none,
   the row is imported with a warning saying so.

The stored result keeps the sample's date (``collected_on``); the time only groups the panel.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from cordtrial.trial.errors import InvalidValueError, TrialError, human_value
from cordtrial.trial.models import LabResult, Participant, User
from cordtrial.trial.rules.access import can_see_site
from cordtrial.trial.rules.lab_codes import analyte_code, ucum_code
from cordtrial.trial.rules.lab_limits import unit_label
from cordtrial.trial.rules.labs import ANALYTES, convert
from cordtrial.trial.services.common import get_trial
from cordtrial.trial.services.imports import ERROR_COLUMNS, RowError
from cordtrial.trial.services.labs import LabEntry, record_lab_panel, reference_range
from cordtrial.trial.services.users import require_permission

__all__ = [
    "COLUMN_ALIASES",
    "LAB_IMPORT_COLUMNS",
    "LabImportReport",
    "import_lab_results",
    "read_lab_csv",
]

#: The columns of a lab file (the first five required).
LAB_IMPORT_COLUMNS: Final = (
    "study_id", "collected_at", "analyte", "value", "unit", "reference_low", "reference_high",
)  # fmt: skip
_REQUIRED: Final = LAB_IMPORT_COLUMNS[:5]

#: Other header names accepted for each column (matched without regard to case).
COLUMN_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "study_id": ("participant", "subject", "subject_id", "patient_id"),
    "collected_at": ("collected_on", "sample_time", "sample_datetime", "collection_time",
                     "specimen_datetime"),
    "analyte": ("test", "test_code", "test_name", "loinc", "code"),
    "value": ("result", "result_value"),
    "unit": ("units", "result_unit"),
    "reference_low": ("ref_low", "lln", "normal_low"),
    "reference_high": ("ref_high", "uln", "normal_high"),
}  # fmt: skip


@dataclass(slots=True)
class LabImportReport:
    """What an import did: rows read, values stored, rows already stored, panels recorded,
    rows refused (:attr:`errors`) and rows imported with a remark (:attr:`warnings`)."""

    rows: int = 0
    inserted: int = 0
    already_present: int = 0
    panels: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Rows not imported."""
        return len({e.row for e in self.errors})

    def error_frame(self) -> pd.DataFrame:
        """Errors and warnings by row, with the exam import's report columns
        (``row, participant, field, value, reason, severity``)."""
        entries = sorted([*self.errors, *self.warnings], key=lambda e: (e.row, e.field))
        return pd.DataFrame(
            [(e.row, e.participant, e.field, e.value, e.reason, e.severity) for e in entries],
            columns=list(ERROR_COLUMNS),
            dtype=object,
        )

    def __str__(self) -> str:
        text = (
            f"{self.rows} rows: {self.inserted} values imported in {self.panels} "
            f"panel{'' if self.panels == 1 else 's'}, "
            f"{self.already_present} already present, {self.rejected} rejected"
        )
        if self.warnings:
            text += f"; {len(self.warnings)} warning(s)"
        return text


@dataclass(frozen=True, slots=True)
class _Row:
    row: int
    study_id: str
    participant: Participant
    collected_at: datetime
    analyte: str
    value: float
    unit: str
    reference: tuple[float | None, float | None]


def read_lab_csv(source: str | bytes | io.IOBase | Any) -> pd.DataFrame:
    """A lab file's rows as text (no value guessed: ``NA`` stays ``NA``), headers mapped to
    :data:`LAB_IMPORT_COLUMNS` through :data:`COLUMN_ALIASES`.

    Raises
    ------
    InvalidValueError
        A file that is not CSV, or without a required column (named).
    """
    if isinstance(source, bytes):
        source = source.decode("utf-8-sig")
    if isinstance(source, str):
        source = io.StringIO(source)
    try:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidValueError("file", "", "a CSV file with a header row", str(exc)) from None
    names = {alias: column for column, aliases in COLUMN_ALIASES.items() for alias in aliases}
    names |= {c: c for c in LAB_IMPORT_COLUMNS}
    renamed: dict[str, str] = {}
    for header in frame.columns:
        key = str(header).strip().casefold().replace(" ", "_").replace("-", "_")
        if key in names and names[key] not in renamed.values():
            renamed[str(header)] = names[key]
    frame = frame.rename(columns=renamed)
    for column in _REQUIRED:
        if column not in frame.columns:
            raise InvalidValueError(
                column, None, "a column " + column + " (or "
                + ", ".join(COLUMN_ALIASES[column]) + ")", "is missing",
            )  # fmt: skip
    return frame


def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _when(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValueError(
            "collected_at", text or None, "a date YYYY-MM-DD or date and time YYYY-MM-DDTHH:MM",
            "is not a date",
        ) from None  # fmt: skip
    return when.replace(tzinfo=None)


def _number(name: str, text: str, *, required: bool = True) -> float | None:
    if not text:
        if not required:
            return None
        raise InvalidValueError(name, None, "a number >= 0", "is required")
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        raise InvalidValueError(name, text or None, "a number", "is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise InvalidValueError(name, text, "a number >= 0", "is out of range")
    return number


def _check_row(
    number: int, row: dict[str, Any], participants: dict[str, Participant], protocol_id: str
) -> _Row:
    study_id = _text(row, "study_id")
    participant = participants.get(study_id)
    if participant is None:
        raise InvalidValueError(
            "study_id", study_id or None,
            f"the study id of a participant of {protocol_id} at your sites",
        )  # fmt: skip
    when = _when(_text(row, "collected_at"))
    if when.date() < participant.injury_date:
        raise InvalidValueError(
            "collected_at", _text(row, "collected_at"),
            f"a date on or after the injury ({participant.injury_date.isoformat()})",
            "is too early",
        )  # fmt: skip
    analyte = analyte_code(_text(row, "analyte"))
    value = _number("value", _text(row, "value"))
    assert value is not None
    unit = ucum_code(analyte, _text(row, "unit"))
    convert(analyte, value, unit)  # a unit of another kind is refused here, naming those allowed
    low = _number("reference_low", _text(row, "reference_low"), required=False)
    high = _number("reference_high", _text(row, "reference_high"), required=False)
    return _Row(number, study_id, participant, when, analyte, value, unit, (low, high))


#: Keys looked up per statement (three bound values each: well under SQLite's limit).
_KEYS_PER_STATEMENT: Final = 1000


def _stored_keys(session: Session, rows: Iterable[_Row]) -> set[tuple[int, date, str]]:
    keys = sorted({(r.participant.id, r.collected_at.date(), r.analyte) for r in rows})
    found: list[Any] = []
    for start in range(0, len(keys), _KEYS_PER_STATEMENT):
        chunk = keys[start : start + _KEYS_PER_STATEMENT]
        found += session.execute(
            select(
                LabResult.participant_id, LabResult.collected_on, LabResult.analyte,
                LabResult.entered_value, LabResult.entered_unit,
            ).where(
                tuple_(LabResult.participant_id, LabResult.collected_on, LabResult.analyte).in_(
                    chunk
                )
            )
        ).all()  # fmt: skip
    return {(p, d, f"{a}|{v:g}|{u}") for p, d, a, v, u in found}


def _range_warning(session: Session, row: _Row) -> RowError | None:
    low, high = row.reference
    if low is None and high is None:
        return None
    site = reference_range(session, row.participant.site_id, row.analyte, row.participant.sex)
    label, unit = ANALYTES[row.analyte].label, ANALYTES[row.analyte].unit
    sent = _range_text(low, high, row.unit)
    if site is None:
        return RowError(
            row.row, row.study_id, "reference_low", sent,
            f"the site has no reference range of {label}: graded without one (the lab's "
            f"range {sent} is not used)", "warning",
        )  # fmt: skip
    ours = [None if x is None else convert(row.analyte, x, row.unit) for x in (low, high)]
    same = all(
        a is None or (b is not None and math.isclose(a, b, rel_tol=0.02))
        for a, b in zip(ours, (site.lln, site.uln), strict=True)
    )
    if same:
        return None
    mine = _range_text(site.lln, site.uln, unit)
    return RowError(
        row.row, row.study_id, "reference_low", sent,
        f"the lab's range {sent} differs from the site's {mine} for {label}: graded "
        f"against the site's", "warning",
    )  # fmt: skip


def _range_text(low: float | None, high: float | None, ucum: str) -> str:
    """``62 to 106 µmol/L``, ``up to 40 U/L``, ``from 1.8 x10^9/L``."""
    unit = unit_label(ucum)
    if low is not None and high is not None:
        text = f"{low:g} to {high:g}"
    else:
        text = f"up to {high:g}" if low is None else f"from {low:g}"
    return f"{text} {unit}".strip()


def import_lab_results(
    session: Session, user: User, *, protocol_id: str, frame: pd.DataFrame | bytes | str
) -> LabImportReport:
    """Import a lab file's rows (a frame of :func:`read_lab_csv`, or the file's text, read
    once the user is known to be allowed; see the module docstring): bad rows reported, the
    others recorded as panels by participant and sample time."""
    require_permission(user, "enter_data")
    trial = get_trial(session, protocol_id)
    if not isinstance(frame, pd.DataFrame):
        frame = read_lab_csv(frame)
    participants = {
        p.study_id: p
        for p in session.scalars(select(Participant).where(Participant.trial_id == trial.id))
        if can_see_site(user.role, user.all_sites, user.site_ids, p.site_id)
    }
    report = LabImportReport()
    good: list[_Row] = []
    seen: dict[tuple[str, datetime, str], int] = {}
    for number, record in enumerate(frame.to_dict("records"), start=1):
        report.rows += 1
        row = {str(k): v for k, v in record.items()}
        try:
            checked = _check_row(number, row, participants, protocol_id)
            key = (checked.study_id, checked.collected_at, checked.analyte)
            if key in seen:
                raise InvalidValueError(
                    "analyte", _text(row, "analyte"),
                    f"each analyte once per sample (row {seen[key]} has it)", "is repeated",
                )  # fmt: skip
            seen[key] = number
        except InvalidValueError as exc:
            report.errors.append(
                RowError(number, _text(row, "study_id"), exc.field, human_value(exc.value),
                         exc.human)
            )  # fmt: skip
            continue
        good.append(checked)
    stored = _stored_keys(session, good)
    session.rollback()
    panels: dict[tuple[int, datetime], list[_Row]] = defaultdict(list)
    for r in good:
        natural = (r.participant.id, r.collected_at.date(), f"{r.analyte}|{r.value:g}|{r.unit}")
        if natural in stored:
            report.already_present += 1
            continue
        panels[(r.participant.id, r.collected_at)].append(r)
    for (participant_id, when), rows in sorted(panels.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        warnings = [w for r in rows if (w := _range_warning(session, r)) is not None]
        try:
            record_lab_panel(
                session, user, participant_id=participant_id, collected_on=when.date(),
                entries=[LabEntry(r.analyte, r.value, r.unit) for r in rows],
            )  # fmt: skip
        except TrialError as exc:
            session.rollback()
            for r in rows:
                report.errors.append(
                    RowError(r.row, r.study_id, getattr(exc, "field", "panel"), "", exc.human)
                )
            continue
        report.panels += 1
        report.inserted += len(rows)
        report.warnings.extend(warnings)
    return report
