"""Use case: bulk import of ISNCSCI exams from a table, one transaction per batch.

The table has one row per exam: the participant's study id (``participant``), the visit's name
in the schedule (``visit``; blank for an unscheduled exam), the exam date (``examined_on``,
``YYYY-MM-DD``), the examiner (``examiner``) and the canonical exam columns (``r_c5_motor`` ...,
``vac``, ``dap``, ``r_nkm``, ``l_nkm``; see :func:`cordtrial.isncsci.read_frame`). Two optional
columns carry the examiner's notes: ``comments`` (text) and ``flag_reasons`` (a JSON object,
cell column -> why its value carries ``*`` or ``**``, as the API's ``notes.flag_reasons`` and the
identified export's ``flag_reasons`` column). Every exam is stored as
:func:`~cordtrial.trial.services.exams.record_exam` stores one: the cells as entered, the notes,
the classification computed, every field audited.

Flagged values without a reason
-------------------------------
ISNCSCI 2019 asks the examiner to document the reason for a ``*`` in the comments, and entry
through the worksheet page or the API refuses a flagged value without one
(:func:`~cordtrial.trial.rules.exam_cells.check_flag_reasons`). A bulk import is different: it
transcribes exams already made, often from a registry with no notes column, and the reason is
not ours to invent. Rejecting those rows would lose real findings; so the row is imported as it
is, and the report gets a **warning** (severity ``warning``, field
``notes.flag_reasons.<column>``) for each flagged value without a reason. The stored exam keeps
no reason (the API shows it in ``flags_without_reason``), and whoever corrects it later must
supply them. A reason given for a value that is not flagged, or ``flag_reasons`` that are not a
JSON object of cell columns, rejects the row like any other bad value.

How a batch is written
----------------------
1. Each row is checked on its own, before any transaction: participant, visit, date, examiner,
   every cell and the notes. A bad row goes to the error report (row number, field, value,
   reason) and never stops or shrinks the batch.
2. The batch's good rows are written in **one unit of work** (one transaction with its audit
   rows): a batch is stored whole or not at all. A process killed in the middle leaves the
   batches committed before it and nothing of the one it was writing.
3. The natural key of an exam is (participant, visit, exam date). A row whose key is already
   stored with the same examiner, cells and notes counts as *already present* and is not
   written again; so an interrupted import is completed by running it again, with nothing lost
   or duplicated. A stored exam with the same key but other values is not overwritten: the
   row is rejected (a correction is a change with a reason:
   :func:`~cordtrial.trial.services.exams.correct_exam`).
   The check runs inside the batch's transaction; on PostgreSQL the batch also takes an advisory
   lock so two imports cannot both insert the same key.
4. Should the batch's transaction fail all the same (a database error), its rows are retried one
   transaction each and every row that still fails is reported: nothing disappears silently.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cordtrial.isncsci import check_cells, field_label
from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError, NotFoundError, TrialError, human_value
from cordtrial.trial.models import IsncsciExam, Participant, User, Visit, VisitDefinition
from cordtrial.trial.rules.access import can_see_site
from cordtrial.trial.rules.checks import check_text
from cordtrial.trial.rules.exam_cells import (
    CELL_COLUMNS,
    check_exam_notes,
    check_flag_reasons,
    classify_cells,
    missing_flag_reasons,
    normalize_cells,
)
from cordtrial.trial.services.common import get_trial
from cordtrial.trial.services.users import require_permission

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ERROR_COLUMNS",
    "IMPORT_COLUMNS",
    "NOTE_COLUMNS",
    "ImportReport",
    "RowError",
    "import_exams",
]

#: The columns an import needs besides the exam cells.
IMPORT_COLUMNS: tuple[str, ...] = ("participant", "visit", "examined_on", "examiner")
#: The optional columns of the examiner's notes (``flag_reasons``: a JSON object).
NOTE_COLUMNS: tuple[str, ...] = ("comments", "flag_reasons")
#: The columns of the error report (``severity``: ``error``, the row was not imported, or
#: ``warning``, it was imported as it is).
ERROR_COLUMNS: tuple[str, ...] = ("row", "participant", "field", "value", "reason", "severity")
DEFAULT_BATCH_SIZE = 500
# Any constant: the advisory lock that serializes the key check and insert of imports.
_PG_IMPORT_LOCK = 0x696D706F


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a row of the input was not imported (``severity`` ``error``), or what is missing in
    a row imported all the same (``warning``); ``row`` counts data rows from 1."""

    row: int
    participant: str
    field: str
    value: str
    reason: str
    severity: Literal["error", "warning"] = "error"


@dataclass(slots=True)
class ImportReport:
    """What an import did: rows read, exams inserted, rows already stored, rows rejected, and
    warnings about rows imported (flagged values without a reason)."""

    rows: int = 0
    inserted: int = 0
    already_present: int = 0
    batches: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Rows not imported (each has at least one entry in :attr:`errors`)."""
        return len({e.row for e in self.errors})

    def error_frame(self) -> pd.DataFrame:
        """The error report as a table with :data:`ERROR_COLUMNS`: errors and warnings, by
        row."""
        entries = sorted([*self.errors, *self.warnings], key=lambda e: (e.row, e.field))
        frame = pd.DataFrame(
            [(e.row, e.participant, e.field, e.value, e.reason, e.severity) for e in entries],
            columns=list(ERROR_COLUMNS),
            dtype=object,
        )
        frame["row"] = frame["row"].astype("int64")
        return frame

    def __str__(self) -> str:
        text = (
            f"{self.rows} rows: {self.inserted} exams imported, {self.already_present} already "
            f"present, {self.rejected} rejected ({self.batches} batches)"
        )
        if self.warnings:
            text += f"; {len(self.warnings)} flagged value(s) imported without a reason"
        return text


@dataclass(frozen=True, slots=True)
class _Row:
    row: int
    participant_id: int
    visit_id: int | None
    examined_on: date
    examiner: str
    cells: dict[str, str | None]
    notes: dict[str, Any] | None

    @property
    def key(self) -> tuple[int, int | None, date]:
        return (self.participant_id, self.visit_id, self.examined_on)


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    value = str(value).strip()
    return value or None


def _exam_date(text: str | None) -> date | None:
    """``YYYY-MM-DD``; also a midnight timestamp, as JSON writers render dates
    (``2026-02-09T00:00:00.000``)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.time() != time(0) or (moment.utcoffset() or timedelta(0)) != timedelta(0):
        return None
    return moment.date()


class _Participants:
    """Study ids -> participant id and visit ids, read once per import."""

    def __init__(self, session: Session, trial_id: int, user: User | None = None):
        self.ids: dict[str, int] = {}
        self.visits: dict[int, dict[str, int]] = {}
        rows = session.execute(
            select(Participant.study_id, Participant.id, Participant.site_id).where(
                Participant.trial_id == trial_id
            )
        )
        self.ids = {
            study_id: pid
            for study_id, pid, site_id in rows
            if user is None or can_see_site(user.role, user.all_sites, user.site_ids, site_id)
        }
        visits = session.execute(
            select(Visit.participant_id, VisitDefinition.name, Visit.id)
            .join(VisitDefinition, Visit.visit_definition_id == VisitDefinition.id)
            .join(Participant, Visit.participant_id == Participant.id)
            .where(Participant.trial_id == trial_id)
        )
        for pid, name, vid in visits:
            self.visits.setdefault(pid, {})[name] = vid


def _cell_errors(row: int, who: str, cells: Mapping[str, Any]) -> list[RowError]:
    """Every invalid cell of a row, each as the store words it (the engine's ``check_cells``)."""
    errors = []
    for err in check_cells(cells):
        exc = InvalidValueError(f"cells.{err.field}", err.value, err.allowed, err.problem)
        errors.append(RowError(row, who, exc.field, _text(exc.value) or "", exc.human))
    return errors


def _check_row(
    row: int, values: Mapping[str, Any], protocol_id: str, participants: _Participants
) -> _Row | list[RowError]:
    who = _text(values.get("participant")) or ""
    errors: list[RowError] = []

    def refuse(name: str, problem: str) -> None:
        errors.append(RowError(row, who, name, _text(values.get(name)) or "", problem))

    participant_id = participants.ids.get(who)
    if not who:
        refuse("participant", "Participant: (missing) is not allowed (the participant's study ID)")
    elif participant_id is None:
        refuse("participant", NotFoundError("participant", f"{protocol_id}/{who}").human)
    visit_name = _text(values.get("visit"))
    visit_id = None
    if participant_id is not None and visit_name is not None:
        schedule = participants.visits.get(participant_id, {})
        visit_id = schedule.get(visit_name)
        if visit_id is None:
            allowed = ", ".join(schedule) or "none"
            refuse("visit", f"Visit: {visit_name} is not in the schedule (one of {allowed})")
    raw_date = _text(values.get("examined_on"))
    examined_on = _exam_date(raw_date)
    if examined_on is None:
        refuse(
            "examined_on", f"Examination date: {human_value(raw_date)} is not a date (YYYY-MM-DD)"
        )
    examiner = ""
    try:
        examiner = check_text("examiner", _text(values.get("examiner")) or "", max_length=100)
    except InvalidValueError as exc:
        refuse("examiner", exc.human)
    cells_in = {c: _text(values.get(c)) for c in CELL_COLUMNS}
    cells: dict[str, str | None] | None = None
    try:
        cells = normalize_cells(cells_in)
    except InvalidValueError:
        errors.extend(_cell_errors(row, who, cells_in))
    notes = _notes(row, who, values, errors)
    if cells is not None and notes is not False:
        try:
            check_flag_reasons(cells, notes)
        except InvalidValueError as exc:
            if exc.value is not None:  # a reason for a value not flagged; a missing one: warning
                errors.append(RowError(row, who, exc.field, _text(exc.value) or "", exc.human))
    if errors or participant_id is None or examined_on is None or cells is None or notes is False:
        return errors
    return _Row(row, participant_id, visit_id, examined_on, examiner, cells, notes)


def _notes(
    row: int, who: str, values: Mapping[str, Any], errors: list[RowError]
) -> dict[str, Any] | Literal[False] | None:
    """The row's checked notes (``None``: none), or ``False`` after adding why to ``errors``."""
    raw_reasons = _text(values.get("flag_reasons"))
    reasons: Any = None
    if raw_reasons is not None:
        try:
            reasons = json.loads(raw_reasons)
        except ValueError:
            reasons = raw_reasons
        if not isinstance(reasons, dict):
            allowed = 'a JSON object, cell column -> reason, e.g. {"r_c5_motor": "fracture"}'
            problem = f"Reasons for flagged values: {raw_reasons} is not allowed ({allowed})"
            errors.append(RowError(row, who, "flag_reasons", raw_reasons, problem))
            return False
    comments = _text(values.get("comments"))
    try:
        return check_exam_notes({"comments": comments, "flag_reasons": reasons})
    except InvalidValueError as exc:
        errors.append(RowError(row, who, exc.field, _text(exc.value) or "", exc.human))
        return False


def _warnings(row: _Row, who: str) -> list[RowError]:
    """A warning per flagged value imported without its reason (see the module's docstring)."""
    return [
        RowError(
            row.row,
            who,
            f"notes.flag_reasons.{column}",
            row.cells[column] or "",
            f"{field_label(column)}: {row.cells[column]} is flagged but has no reason; imported "
            "without (ISNCSCI 2019 asks for one: add it when correcting the exam)",
            "warning",
        )
        for column in missing_flag_reasons(row.cells, row.notes)
    ]


def _stored(session: Session, rows: list[_Row]) -> dict[tuple[int, int | None, date], IsncsciExam]:
    participant_ids = sorted({r.participant_id for r in rows})
    dates = sorted({r.examined_on for r in rows})
    found = session.scalars(
        select(IsncsciExam).where(
            IsncsciExam.participant_id.in_(participant_ids), IsncsciExam.examined_on.in_(dates)
        )
    )
    return {(e.participant_id, e.visit_id, e.examined_on): e for e in found}


def _exam(row: _Row) -> IsncsciExam:
    outcome = classify_cells(row.cells)
    return IsncsciExam(
        participant_id=row.participant_id,
        visit_id=row.visit_id,
        examined_on=row.examined_on,
        examiner=row.examiner,
        cells=row.cells,
        notes=row.notes,
        classification=outcome.record,
        classification_note=outcome.note,
        engine_version=outcome.engine_version,
        isncsci_revision=outcome.isncsci_revision,
    )


def _write_batch(
    session: Session, actor: str, rows: list[_Row], who: Mapping[int, str], report: ImportReport
) -> None:
    """Insert the rows whose key is not stored yet, in one unit of work."""
    inserted = 0
    duplicates: list[RowError] = []
    with unit_of_work(session, actor):
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_IMPORT_LOCK})
        stored = _stored(session, rows)
        present = 0
        for row in rows:
            existing = stored.get(row.key)
            if existing is None:
                exam = _exam(row)
                session.add(exam)
                stored[row.key] = exam
                inserted += 1
            elif (
                existing.examiner == row.examiner
                and dict(existing.cells) == row.cells
                and (existing.notes or None) == row.notes
            ):
                present += 1
            else:
                where = f"exam {existing.id}" if existing.id is not None else "an earlier row"
                duplicates.append(
                    RowError(
                        row.row,
                        who[row.row],
                        "examined_on",
                        row.examined_on.isoformat(),
                        "an exam of this participant, visit and date is already stored "
                        f"({where}) with other values; correct it with a reason instead",
                    )
                )
    report.inserted += inserted
    report.already_present += present
    report.errors.extend(duplicates)


def import_exams(
    session: Session,
    *,
    actor: str | None = None,
    user: User | None = None,
    protocol_id: str,
    frame: pd.DataFrame,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import the exams of ``frame`` (see the module's docstring), one transaction per batch.

    Parameters
    ----------
    session : Session
        A session without pending changes; each batch is its own unit of work.
    actor : str, optional
        Who imports (written to the audit trail), when no ``user`` is given.
    user : User, optional
        The account that imports (the command line's ``--user``): it must be allowed to enter
        data, the trail names it, and only participants of its sites are found (a row of another
        site is refused like an unknown participant).
    protocol_id : str
        The trial the participants belong to.
    frame : pandas.DataFrame
        Rows as :func:`cordtrial.isncsci.read_frame` gives them: :data:`IMPORT_COLUMNS` and the
        canonical exam columns, values as text.
    batch_size : int
        Rows per transaction (at least 1).
    progress : callable, optional
        Called as ``progress(rows_done, rows_total)`` after each batch.

    Returns
    -------
    ImportReport
        Counts and one :class:`RowError` per problem found (rows sorted by number).

    Raises
    ------
    InvalidValueError
        For a ``batch_size`` below 1 or a frame without a required column.
    NotFoundError
        When the trial does not exist.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidValueError("batch_size", batch_size, "an integer of at least 1")
    missing = [c for c in IMPORT_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidValueError(
            "columns", missing[0], "columns " + ", ".join(IMPORT_COLUMNS), "is missing"
        )
    if user is not None:
        require_permission(user, "enter_data")
        if actor is not None and actor != user.username:
            raise InvalidValueError("actor", actor, f"the importing user {user.username!r}")
        actor = user.username
    if actor is None:
        raise InvalidValueError("user", None, "the account that imports")
    trial = get_trial(session, protocol_id)
    participants = _Participants(session, trial.id, user)
    session.rollback()  # end the read: each batch starts from a fresh snapshot
    report = ImportReport(rows=len(frame))
    columns = [str(c) for c in frame.columns]
    total = len(frame)
    for start in range(0, total, batch_size):
        chunk = frame.iloc[start : start + batch_size]
        good: list[_Row] = []
        who: dict[int, str] = {}
        for offset, values in enumerate(_records(chunk, columns)):
            row = start + offset + 1
            checked = _check_row(row, values, protocol_id, participants)
            who[row] = _text(values.get("participant")) or ""
            if isinstance(checked, _Row):
                good.append(checked)
                report.warnings.extend(_warnings(checked, who[row]))
            else:
                report.errors.extend(checked)
        if good:
            try:
                _write_batch(session, actor, good, who, report)
            except (SQLAlchemyError, TrialError):
                _write_one_by_one(session, actor, good, who, report)
            report.batches += 1
        if progress is not None:
            progress(min(start + batch_size, total), total)
    report.errors.sort(key=lambda e: (e.row, e.field))
    rejected = {e.row for e in report.errors}
    report.warnings = sorted(
        (w for w in report.warnings if w.row not in rejected), key=lambda e: (e.row, e.field)
    )
    return report


def _write_one_by_one(
    session: Session, actor: str, rows: list[_Row], who: Mapping[int, str], report: ImportReport
) -> None:
    for row in rows:
        try:
            _write_batch(session, actor, [row], who, report)
        except (SQLAlchemyError, TrialError) as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            report.errors.append(RowError(row.row, who[row.row], "", "", first_line))


def _records(chunk: pd.DataFrame, columns: list[str]) -> Iterable[dict[str, Any]]:
    arrays = [chunk[c].to_numpy(dtype=object) for c in chunk.columns]
    for i in range(len(chunk)):
        yield {name: array[i] for name, array in zip(columns, arrays, strict=True)}
