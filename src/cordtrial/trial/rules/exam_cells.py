"""ISNCSCI exam cells as entered, and their classification by :mod:`cordtrial.isncsci`.

The cells of a stored exam map every canonical column (``EXAM_COLUMNS`` plus ``r_nkm`` and
``l_nkm``) to the text as entered, or ``None`` when the cell was not recorded. ``None`` is not
``"NT"``: NT is a recorded finding (not testable) that the classification takes into account; a
cell not recorded leaves the exam incomplete and unclassified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cordtrial.isncsci import (
    ENGINE_VERSION,
    EXAM_COLUMNS,
    ISNCSCI_REVISION,
    Exam,
    check_cells,
    classify,
)
from cordtrial.trial.errors import InvalidValueError

__all__ = [
    "CELL_COLUMNS",
    "MAX_COMMENTS",
    "MAX_FLAG_REASON",
    "NKM_COLUMNS",
    "ExamOutcome",
    "check_exam_notes",
    "check_flag_reasons",
    "classify_cells",
    "flagged_cells",
    "merge_cells",
    "missing_flag_reasons",
    "normalize_cells",
    "prune_flag_reasons",
]

NKM_COLUMNS: tuple[str, ...] = ("r_nkm", "l_nkm")
#: Every cell of a stored exam, in worksheet order.
CELL_COLUMNS: tuple[str, ...] = (*EXAM_COLUMNS, *NKM_COLUMNS)
_CELL_SET = frozenset(CELL_COLUMNS)


def _validate(cells: Mapping[str, str | None]) -> None:
    # The engine's validator of partly filled exams judges every recorded cell; the first
    # invalid one (in worksheet order) is reported, as the store reports one field at a time.
    errors = check_cells(cells)
    if errors:
        exc = errors[0]
        raise InvalidValueError(f"cells.{exc.field}", exc.value, exc.allowed, exc.problem) from exc


def normalize_cells(values: Mapping[str, Any]) -> dict[str, str | None]:
    """Every cell column, with the text as entered or ``None`` (not recorded).

    Columns absent from ``values`` are not recorded; so are empty strings (a blank cell). A
    recorded value must be one the ISNCSCI engine accepts; ``r_nkm``/``l_nkm`` may be empty.

    Raises
    ------
    InvalidValueError
        For an unknown column (field ``cells``) or a value the engine refuses (field
        ``cells.<column>``).
    """
    unknown = sorted(set(values) - _CELL_SET)
    if unknown:
        raise InvalidValueError(
            "cells", unknown[0], "canonical ISNCSCI columns such as r_c5_motor", "is not a cell"
        )
    cells: dict[str, str | None] = {}
    for column in CELL_COLUMNS:
        value = values.get(column)
        if value is not None and not isinstance(value, str):
            raise InvalidValueError(
                f"cells.{column}", value, "the cell as text, e.g. '4', 'NT', '3*'", "is not text"
            )
        cells[column] = value if value is not None and value.strip() else None
    _validate(cells)
    return cells


def merge_cells(
    current: Mapping[str, str | None], changes: Mapping[str, Any]
) -> dict[str, str | None]:
    """``current`` cells with ``changes`` applied (``None`` or ``""`` un-records a cell)."""
    merged: dict[str, Any] = dict(current)
    merged.update(changes)
    return normalize_cells(merged)


#: The longest comment and flag reason accepted (characters).
MAX_COMMENTS = 2000
MAX_FLAG_REASON = 500


def check_exam_notes(notes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The examiner's notes on an exam: ``comments`` (text) and ``flag_reasons`` (cell column ->
    why the value carries ``*`` or ``**``, ISNCSCI 2019 worksheet: "describe in comments").
    Blank entries are dropped; ``None`` when nothing is left.

    Raises
    ------
    InvalidValueError
        For an unknown key, a column that is not a cell, or text too long or not text.
    """
    if notes is None:
        return None
    unknown = sorted(set(notes) - {"comments", "flag_reasons"})
    if unknown:
        raise InvalidValueError("notes", unknown[0], "comments, flag_reasons", "is not a note")
    out: dict[str, Any] = {}
    comments = notes.get("comments")
    if comments is not None:
        if not isinstance(comments, str) or len(comments) > MAX_COMMENTS:
            raise InvalidValueError(
                "notes.comments", comments, f"text of at most {MAX_COMMENTS} characters"
            )
        if comments.strip():
            out["comments"] = comments.strip()
    reasons = notes.get("flag_reasons") or {}
    if not isinstance(reasons, Mapping):
        raise InvalidValueError("notes.flag_reasons", reasons, "cell column -> reason")
    kept: dict[str, str] = {}
    for column, reason in reasons.items():
        if column not in _CELL_SET:
            raise InvalidValueError(
                "notes.flag_reasons", column, "canonical ISNCSCI columns", "is not a cell"
            )
        if not isinstance(reason, str) or len(reason) > MAX_FLAG_REASON:
            raise InvalidValueError(
                f"notes.flag_reasons.{column}", reason,
                f"text of at most {MAX_FLAG_REASON} characters",
            )  # fmt: skip
        if reason.strip():
            kept[column] = reason.strip()
    if kept:
        out["flag_reasons"] = kept
    return out or None


def flagged_cells(cells: Mapping[str, str | None]) -> list[str]:
    """The columns whose value carries the ISNCSCI 2019 flag ``*`` or ``**`` (``3*``, ``NT**``):
    a value that may not reflect the spinal cord injury, and must be explained by the examiner,
    in worksheet order."""
    return [c for c in CELL_COLUMNS if (cells.get(c) or "").endswith("*")]


def missing_flag_reasons(
    cells: Mapping[str, str | None], notes: Mapping[str, Any] | None
) -> list[str]:
    """The flagged columns of ``cells`` (see :func:`flagged_cells`) with no reason in
    ``notes`` (checked notes, as :func:`check_exam_notes` returns them)."""
    reasons = (notes or {}).get("flag_reasons") or {}
    return [c for c in flagged_cells(cells) if not reasons.get(c)]


def check_flag_reasons(cells: Mapping[str, str | None], notes: Mapping[str, Any] | None) -> None:
    """Require a reason for every flagged value, and only for flagged values.

    ISNCSCI 2019 (International Standards for Neurological Classification of Spinal Cord
    Injury, revised 2019; worksheet): a value flagged for an impairment not due to the spinal
    cord injury is to be explained in the comments. A ``*`` or ``**`` without its reason cannot
    be judged by anyone reading the exam later.

    Parameters
    ----------
    cells : mapping
        Normalized cells (:func:`normalize_cells`).
    notes : mapping or None
        Checked notes (:func:`check_exam_notes`).

    Raises
    ------
    InvalidValueError
        Field ``notes.flag_reasons.<column>``: the first flagged value with no reason, or a
        reason given for a value that is not flagged.
    """
    reasons = (notes or {}).get("flag_reasons") or {}
    for column in reasons:
        value = cells.get(column)
        if not (value or "").endswith("*"):
            raise InvalidValueError(
                f"notes.flag_reasons.{column}",
                reasons[column],
                "a reason only for a value flagged * or **",
                f"is given for {value!r}, which is not flagged",
            )
    missing = missing_flag_reasons(cells, notes)
    if missing:
        column = missing[0]
        raise InvalidValueError(
            f"notes.flag_reasons.{column}",
            None,
            f"why the value {cells[column]!r} of {column} is flagged: the impairment, not due to "
            "the spinal cord injury, it marks (ISNCSCI 2019)",
            "is missing",
        )


def prune_flag_reasons(
    cells: Mapping[str, str | None], notes: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """``notes`` without the reasons of values no longer flagged in ``cells`` (a correction
    that removes a ``*`` takes its reason with it); ``None`` when nothing is left."""
    if not notes:
        return None
    out = dict(notes)
    reasons = {
        c: r for c, r in (notes.get("flag_reasons") or {}).items()
        if (cells.get(c) or "").endswith("*")
    }  # fmt: skip
    if reasons:
        out["flag_reasons"] = reasons
    else:
        out.pop("flag_reasons", None)
    return out or None


@dataclass(frozen=True, slots=True)
class ExamOutcome:
    """The classification of stored cells: the result record, or why there is none."""

    record: dict[str, str] | None
    note: str
    engine_version: str | None
    isncsci_revision: str | None


def classify_cells(cells: Mapping[str, str | None]) -> ExamOutcome:
    """Classify an exam's cells when every required cell is recorded.

    Returns the result record (worksheet notation, as ``Classification.to_record``) with the
    engine version and ISNCSCI revision; otherwise no record and a note naming the cells not
    recorded.
    """
    missing = [c for c in EXAM_COLUMNS if cells.get(c) is None]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        return ExamOutcome(None, f"not classified: not recorded: {shown}", None, None)
    result = classify(Exam.from_flat({k: v for k, v in cells.items() if v is not None}))
    return ExamOutcome(result.to_record(), "", ENGINE_VERSION, ISNCSCI_REVISION)
