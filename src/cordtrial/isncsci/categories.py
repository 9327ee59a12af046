"""Value categories: how the classification rules read a worksheet cell, one named predicate each.

Every rule of the engine asks of a cell one of these questions, and so does the batch classifier:
:mod:`cordtrial.isncsci.batch.codes` turns each predicate into a table over all 21 cell codes by
calling it, so the two engines cannot read a value differently. The flag conventions (``*``
consider not normal, ``**`` consider normal) follow the reference algorithm (docs/isncsci-rules.md).
"""

from __future__ import annotations

from cordtrial.isncsci.values import Cell, Flag

__all__ = [
    "has_zpp_function",
    "is_absent",
    "is_considered_normal",
    "is_flagged_low",
    "is_graded_considered_normal",
    "is_graded_flagged",
    "is_low",
    "is_low_normal",
    "is_low_not_normal",
    "is_mid",
    "is_nt",
    "is_sensory_abnormal",
    "is_sensory_normal",
    "is_strong",
    "is_weak",
    "is_zero_considered_normal",
    "is_zero_flagged",
    "may_be_absent",
    "may_have_zpp_function",
]

_ZERO = Cell(0)


# --- motor: strength against gravity (motor level, NLI, AIS C/D) -------------------------------


def is_low(cell: Cell) -> bool:
    """Grade 0-2 with no flag: a key muscle below antigravity strength."""
    return cell.grade is not None and cell.grade <= 2 and cell.flag is Flag.NONE


def is_low_not_normal(cell: Cell) -> bool:
    """``0*``-``2*``: below antigravity, not due to SCI, considered not normal."""
    return cell.grade is not None and cell.grade <= 2 and cell.flag is Flag.NOT_NORMAL


def is_low_normal(cell: Cell) -> bool:
    """``0**``-``2**``: below antigravity, not due to SCI, considered normal."""
    return cell.grade is not None and cell.grade <= 2 and cell.flag is Flag.NORMAL


def is_flagged_low(cell: Cell) -> bool:
    """``0*``-``2**``: below antigravity with either flag."""
    return cell.grade is not None and cell.grade <= 2 and cell.starred


def is_mid(cell: Cell) -> bool:
    """``3``, ``4``, ``3*``, ``4*``: antigravity but not full strength, counted as impaired."""
    return cell.grade in (3, 4) and cell.flag is not Flag.NORMAL


def is_nt(cell: Cell, flag: Flag = Flag.NONE) -> bool:
    """``NT`` (or ``NT*`` / ``NT**`` with ``flag``)."""
    return cell.grade is None and cell.flag is flag


def is_considered_normal(cell: Cell, normal: int) -> bool:
    """The full grade, or any value flagged ``**`` (consider normal), ``NT**`` included."""
    return cell.grade == normal or cell.flag is Flag.NORMAL


def is_weak(cell: Cell) -> bool:
    """AIS C/D: a key muscle that counts as below grade 3 -- ``0``-``2``, or ``NT``/``NT*``
    (which may be)."""
    return is_low(cell) or (cell.grade is None and cell.flag is not Flag.NORMAL)


def is_strong(cell: Cell) -> bool:
    """AIS C/D: a key muscle that may count as grade 3 or more (all but a plain ``0``-``2``)."""
    return not is_low(cell)


# --- sensory: normal or not (sensory level, NLI) ------------------------------------------------


def is_sensory_normal(cell: Cell) -> bool:
    """Grade 2 (normal light touch or pin prick)."""
    return cell.grade == 2 and cell.flag is Flag.NONE


def is_sensory_abnormal(cell: Cell) -> bool:
    """0 or 1, plain or flagged *consider not normal* (``*``)."""
    return cell.grade is not None and cell.grade < 2 and cell.flag is not Flag.NORMAL


def is_graded_considered_normal(cell: Cell) -> bool:
    """A grade flagged ``**`` (consider normal), ``NT**`` excluded."""
    return cell.grade is not None and cell.flag is Flag.NORMAL


def is_graded_flagged(cell: Cell) -> bool:
    """A grade (not ``NT``) with either flag."""
    return cell.grade is not None and cell.starred


# --- absent or present function (completeness, AIS B/C, zones of partial preservation) ----------


def is_absent(cell: Cell) -> bool:
    """A plain ``0``: no function."""
    return cell == _ZERO


def may_be_absent(cell: Cell) -> bool:
    """``0``, ``NT``, ``0*`` and ``NT*``: the cell can stand for no function."""
    return (cell.grade == 0 or cell.grade is None) and cell.flag is not Flag.NORMAL


def is_zero_flagged(cell: Cell) -> bool:
    """``0*`` or ``0**``: no function, not due to SCI."""
    return cell.grade == 0 and cell.starred


def is_zero_considered_normal(cell: Cell) -> bool:
    """``0**``: no function, not due to SCI, considered normal."""
    return cell.grade == 0 and cell.flag is Flag.NORMAL


def has_zpp_function(cell: Cell) -> bool:
    """Motor ZPP: a key muscle with function (grade 1 or more, or considered normal)."""
    return (cell.grade is not None and cell.grade >= 1) or cell.flag is Flag.NORMAL


def may_have_zpp_function(cell: Cell) -> bool:
    """Motor ZPP: a key muscle that may have function (``NT``, ``NT*``, or ``0*``)."""
    return cell.grade is None or (cell.grade == 0 and cell.flag is Flag.NOT_NORMAL)
