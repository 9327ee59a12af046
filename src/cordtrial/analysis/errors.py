"""Errors of the analysis package.

Error tree::

    ValueError
     └── AnalysisInputError        a value the analysis cannot use (field, value, allowed)
    RuntimeError
     └── BackendUnavailableError   an array backend was asked for that is not installed

Statistical caveats (tiny samples, approximations) are warnings
(:class:`SmallSampleWarning`), never errors.
"""

from __future__ import annotations

__all__ = ["AnalysisInputError", "BackendUnavailableError", "SmallSampleWarning"]


class AnalysisInputError(ValueError):
    """A value an analysis function cannot use.

    Attributes
    ----------
    field : str
        The argument or column, as named in the function's signature or the frame.
    value : object
        The value given.
    allowed : str
        What would have been accepted.
    """

    def __init__(self, field: str, value: object, allowed: str, problem: str = "is not allowed"):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.problem = problem
        shown = "(missing)" if value is None else repr(value)
        super().__init__(f"{field}: {shown} {problem} ({allowed})")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.field, self.value, self.allowed, self.problem))


class BackendUnavailableError(RuntimeError):
    """The array backend asked for (e.g. ``cupy``) cannot be imported or has no device."""


class SmallSampleWarning(UserWarning):
    """A result from very few observations: exact, but it can say little."""
