"""Cell values of the ISNCSCI worksheet, parsed into typed values.

A cell holds a grade (motor ``0``-``5``, sensory ``0``-``2``) or ``NT`` (not testable), and may
carry a flag for an impairment that is not due to the spinal cord injury (ISNCSCI 2019, worksheet
notes):

* ``*``  -- impairment not due to SCI; the examiner asks that the value be *considered not normal*
  for classification (written ``3*``, ``NT*``);
* ``**`` -- impairment not due to SCI; *consider normal* for classification (``1**``, ``NT**``).

A flag marks an impairment, so a normal grade (motor 5, sensory 2) carries none. Anything else is
refused with an :class:`~cordtrial.isncsci.errors.InvalidExamError` naming the field, the value
and what is allowed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from cordtrial.isncsci.errors import InvalidExamError

__all__ = [
    "BINARY_ALLOWED",
    "MOTOR_ALLOWED",
    "SENSORY_ALLOWED",
    "Binary",
    "Cell",
    "Flag",
    "parse_binary",
    "parse_motor",
    "parse_sensory",
]

MOTOR_ALLOWED = "0-5 or NT, optionally followed by * or **; no flag on the normal grade 5"
SENSORY_ALLOWED = "0-2 or NT, optionally followed by * or **; no flag on the normal grade 2"
BINARY_ALLOWED = "Yes, No or NT"

Binary = Literal["Yes", "No", "NT"]


class Flag(enum.Enum):
    """Non-SCI impairment flag of a cell."""

    NONE = ""
    NOT_NORMAL = "*"
    NORMAL = "**"


@dataclass(frozen=True, slots=True)
class Cell:
    """One worksheet cell: a grade (``None`` when not testable) and its flag."""

    grade: int | None
    flag: Flag = Flag.NONE

    def __str__(self) -> str:
        return ("NT" if self.grade is None else str(self.grade)) + self.flag.value

    @property
    def is_nt(self) -> bool:
        """True for ``NT``, ``NT*`` and ``NT**``."""
        return self.grade is None

    @property
    def starred(self) -> bool:
        """True when the cell carries either flag."""
        return self.flag is not Flag.NONE


def _text(field: str, raw: object, allowed: str) -> str:
    if raw is None:
        raise InvalidExamError(field, raw, allowed, problem="is missing (not recorded)")
    if isinstance(raw, bool):
        raise InvalidExamError(field, raw, allowed)
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        if raw != raw:  # NaN: an empty cell read by pandas
            raise InvalidExamError(field, raw, allowed, problem="is missing (not recorded)")
        if raw.is_integer():
            return str(int(raw))
        raise InvalidExamError(field, raw, allowed)
    if not isinstance(raw, str):
        raise InvalidExamError(field, raw, allowed)
    text = raw.strip()
    if not text:
        raise InvalidExamError(field, raw, allowed, problem="is missing (not recorded)")
    return text


def _parse_cell(field: str, raw: object, normal: int, kind: str, allowed: str) -> Cell:
    text = _text(field, raw, allowed)
    body = text.rstrip("*")
    stars = len(text) - len(body)
    if stars > 2:
        raise InvalidExamError(field, raw, allowed, problem=f"is not a {kind}")
    flag = (Flag.NONE, Flag.NOT_NORMAL, Flag.NORMAL)[stars]
    if body == "NT":
        return Cell(None, flag)
    if len(body) == 1 and body.isdigit() and int(body) <= normal:
        grade = int(body)
        if grade == normal and flag is not Flag.NONE:
            raise InvalidExamError(
                field,
                raw,
                allowed,
                problem=f"flags a normal grade ({normal}); * and ** mark an impairment",
            )
        return Cell(grade, flag)
    raise InvalidExamError(field, raw, allowed, problem=f"is not a {kind}")


def _legal(normal: int) -> dict[str, Cell]:
    table = {"NT": Cell(None), "NT*": Cell(None, Flag.NOT_NORMAL), "NT**": Cell(None, Flag.NORMAL)}
    for grade in range(normal + 1):
        table[str(grade)] = Cell(grade)
        if grade < normal:
            table[f"{grade}*"] = Cell(grade, Flag.NOT_NORMAL)
            table[f"{grade}**"] = Cell(grade, Flag.NORMAL)
    return table


# Every legal spelling, parsed once: the common case is a dictionary look-up.
_MOTOR_CELLS = _legal(5)
_SENSORY_CELLS = _legal(2)


def parse_motor(field: str, raw: object) -> Cell:
    """Parse a key-muscle cell (``0``-``5``, ``NT``, with ``*``/``**``)."""
    if isinstance(raw, str) and (cell := _MOTOR_CELLS.get(raw)) is not None:
        return cell
    return _parse_cell(field, raw, 5, "motor grade", MOTOR_ALLOWED)


def parse_sensory(field: str, raw: object) -> Cell:
    """Parse a light-touch or pin-prick cell (``0``-``2``, ``NT``, with ``*``/``**``)."""
    if isinstance(raw, str) and (cell := _SENSORY_CELLS.get(raw)) is not None:
        return cell
    return _parse_cell(field, raw, 2, "sensory grade", SENSORY_ALLOWED)


def parse_binary(field: str, raw: object) -> Binary:
    """Parse VAC or DAP: exactly ``Yes``, ``No`` or ``NT``."""
    text = _text(field, raw, BINARY_ALLOWED)
    if text == "Yes":
        return "Yes"
    if text == "No":
        return "No"
    if text == "NT":
        return "NT"
    raise InvalidExamError(field, raw, BINARY_ALLOWED, problem="is not a VAC/DAP finding")
