"""Visit schedule: due dates and window status, a pure function of schedule, day 0 and today.

A visit's target date is day 0 (the transplant) plus its target day; its window runs from
``window_minus`` days before to ``window_plus`` days after, both ends included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.checks import check_int, check_text

__all__ = [
    "VisitSpec",
    "VisitStatus",
    "VisitWindow",
    "check_schedule",
    "visit_status",
    "visit_window",
]

VisitStatus = Literal["upcoming", "due", "overdue", "done", "done out of window"]


@dataclass(frozen=True, slots=True)
class VisitSpec:
    """One visit of a schedule: target day relative to day 0 and the window around it."""

    name: str
    target_day: int
    window_minus: int = 0
    window_plus: int = 0

    def __post_init__(self) -> None:
        name = check_text("visit.name", self.name, max_length=64)
        # the name is a URL path segment (PUT /api/participants/{id}/visits/{visit_name})
        if "/" in name or "\\" in name or name in {".", ".."}:
            raise InvalidValueError(
                "visit.name", self.name, "a name without '/' or '\\', other than '.' and '..'",
                "cannot be a URL path segment",
            )  # fmt: skip
        check_int("visit.target_day", self.target_day, -365, 3650)
        check_int("visit.window_minus", self.window_minus, 0, 365)
        check_int("visit.window_plus", self.window_plus, 0, 365)


@dataclass(frozen=True, slots=True)
class VisitWindow:
    """The dates of a visit: target, first and last day of the window."""

    target: date
    opens: date
    closes: date

    def contains(self, day: date) -> bool:
        """True when ``day`` is inside the window (ends included)."""
        return self.opens <= day <= self.closes


def check_schedule(visits: Sequence[VisitSpec]) -> tuple[VisitSpec, ...]:
    """A schedule: at least one visit, names unique, in order of target day."""
    if not visits:
        raise InvalidValueError("visits", list(visits), "at least one visit", "is empty")
    names = [v.name for v in visits]
    for name in names:
        if names.count(name) > 1:
            raise InvalidValueError("visits", name, "unique visit names", "is repeated")
    return tuple(sorted(visits, key=lambda v: v.target_day))


def visit_window(spec: VisitSpec, day0: date) -> VisitWindow:
    """Target date and window of a visit, given day 0."""
    target = day0 + timedelta(days=spec.target_day)
    return VisitWindow(
        target=target,
        opens=target - timedelta(days=spec.window_minus),
        closes=target + timedelta(days=spec.window_plus),
    )


def visit_status(spec: VisitSpec, day0: date, today: date, done_on: date | None) -> VisitStatus:
    """Where a visit stands on ``today``.

    ``done`` / ``done out of window`` once it happened (by its date); before that ``upcoming``
    until the window opens, ``due`` while it is open and ``overdue`` after it closes.
    """
    window = visit_window(spec, day0)
    if done_on is not None:
        return "done" if window.contains(done_on) else "done out of window"
    if today < window.opens:
        return "upcoming"
    if today <= window.closes:
        return "due"
    return "overdue"
