"""Errors of the ISNCSCI engine.

Error tree::

    ValueError
     └── IsncsciError              anything the engine refuses
          └── InvalidExamError     a cell, field or exam that is not a valid ISNCSCI exam

Each error carries the context a caller needs: ``field`` (canonical column name), ``value`` (as
given) and ``allowed`` (what would have been accepted).
"""

from __future__ import annotations

__all__ = ["InvalidExamError", "IsncsciError"]


class IsncsciError(ValueError):
    """Base class of the engine's errors."""


class InvalidExamError(IsncsciError):
    """A value of an exam is missing or not allowed.

    The message reads like ``r_c5_motor: '6' is not a motor grade (0-5 or NT, optionally followed
    by * or **)``.
    """

    def __init__(self, field: str, value: object, allowed: str, problem: str = "is not allowed"):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.problem = problem
        shown = "(missing)" if value is None else repr(value)
        if problem.startswith("is missing"):
            message = f"{field}: {problem}; expected {allowed}"
        else:
            message = f"{field}: {shown} {problem} ({allowed})"
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.field, self.value, self.allowed, self.problem))
