"""Errors of the ISNCSCI engine.

Error tree::

    ValueError
     └── IsncsciError              anything the engine refuses
          └── InvalidExamError     a cell, field or exam that is not a valid ISNCSCI exam

Each error carries the context a caller needs: ``field`` (canonical column name), ``value`` (as
given) and ``allowed`` (what would have been accepted). The message is what people read: the
field's label (:func:`~cordtrial.isncsci.labels.field_label`) and the value as typed, never the
column name or a Python repr.
"""

from __future__ import annotations

from cordtrial.isncsci.labels import field_label

__all__ = ["InvalidExamError", "IsncsciError"]


class IsncsciError(ValueError):
    """Base class of the engine's errors."""


class InvalidExamError(IsncsciError):
    """A value of an exam is missing or not allowed.

    The message reads like ``Right C5 motor: 6 is not a motor grade (0-5 or NT, optionally
    followed by * or **)``; ``field`` keeps the column name (``r_c5_motor``) for programs.
    """

    def __init__(self, field: str, value: object, allowed: str, problem: str = "is not allowed"):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.problem = problem
        label = field_label(field)
        if problem.startswith("is missing"):
            message = f"{label}: {problem}; expected {allowed}"
        else:
            message = f"{label}: {_shown(value)} {problem} ({allowed})"
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.field, self.value, self.allowed, self.problem))


def _shown(value: object) -> str:
    """A refused value as typed: text as it is (``(blank)`` when empty), no quotes or repr."""
    if value is None:
        return "(missing)"
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else "(blank)"
