"""Visit schedule: due dates and a visit's state, a pure function of schedule, day 0, today and
what was recorded at the visit.

A visit's target date is day 0 (the transplant) plus its target day; its window runs from
``window_minus`` days before to ``window_plus`` days after, both ends included. The protocol
says what each visit requires (``VisitSpec.requires``: the ISNCSCI exam, functional measures);
a visit is *done* once every required item is recorded, *partly done* while some are, *missed*
when a coordinator says so with a reason, and *out of window* when it was done outside its
window (by so many days).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.checks import check_choice, check_int, check_text
from cordtrial.trial.rules.vocabulary import CONTACT_MODES, VISIT_ITEMS

__all__ = [
    "VISIT_STATUSES",
    "VisitSpec",
    "VisitState",
    "VisitStatus",
    "VisitWindow",
    "check_requirements",
    "check_schedule",
    "visit_state",
    "visit_status",
    "visit_window",
]

VisitStatus = Literal[
    "scheduled", "due", "overdue", "partly done", "done", "missed", "out of window"
]
VISIT_STATUSES: tuple[VisitStatus, ...] = (
    "scheduled", "due", "overdue", "partly done", "done", "missed", "out of window"
)  # fmt: skip


def check_requirements(requires: Sequence[str]) -> tuple[str, ...]:
    """What a visit requires: items of ``VISIT_ITEMS``, each once, in the listed order."""
    if isinstance(requires, str):
        raise InvalidValueError("visit.requires", requires, "a list of " + ", ".join(VISIT_ITEMS))
    for item in requires:
        if item not in VISIT_ITEMS:
            raise InvalidValueError("visit.requires", item, "one of " + ", ".join(VISIT_ITEMS))
    return tuple(i for i in VISIT_ITEMS if i in requires)


@dataclass(frozen=True, slots=True)
class VisitSpec:
    """One visit of a schedule: target day relative to day 0 and the window around it."""

    name: str
    target_day: int
    window_minus: int = 0
    window_plus: int = 0
    #: What the protocol requires at the visit (see ``VISIT_ITEMS``).
    requires: tuple[str, ...] = ("isncsci",)
    #: How the visit reaches the participant (``CONTACT_MODES``: in person, phone, questionnaire).
    contact_mode: str = "in_person"
    #: A visit of the long-term follow-up after the main study (issue 14): it needs the
    #: participant's consent to long-term contact.
    long_term: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "requires", check_requirements(self.requires))
        check_choice("visit.contact_mode", self.contact_mode, CONTACT_MODES)
        name = check_text("visit.name", self.name, max_length=64)
        # the name is a URL path segment (PUT /api/participants/{id}/visits/{visit_name})
        if "/" in name or "\\" in name or name in {".", ".."}:
            raise InvalidValueError(
                "visit.name", self.name, "a name without '/' or '\\', other than '.' and '..'",
                "cannot be a URL path segment",
            )  # fmt: skip
        # up to 30 years: long-term follow-up of a cell graft may last for life (issue 14)
        check_int("visit.target_day", self.target_day, -365, 30 * 366)
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
    """Where a visit stands on ``today`` by its date alone (no requirements considered): ``done``
    / ``out of window`` once it happened; before that ``scheduled`` until the window opens,
    ``due`` while it is open and ``overdue`` after it closes."""
    state = visit_state(spec, day0, today, done_on=done_on, recorded={}, requires=())
    assert state.status is not None  # day0 is given
    return state.status


@dataclass(frozen=True, slots=True)
class VisitState:
    """A visit's state: ``status`` (None only for a date-driven state before day 0 is set), the
    date it was done, the required items still missing (in words), the days outside the window
    (negative: early) and the reason it was missed."""

    status: VisitStatus | None
    done_on: date | None
    missing: tuple[str, ...]
    days_outside: int | None
    missed_reason: str | None

    @property
    def label(self) -> str:
        """The state in words, e.g. ``out of window (3 days late)``, ``missed: withdrew``."""
        if self.status is None:
            return "no day 0 yet"
        if self.status == "missed":
            return f"missed: {self.missed_reason}"
        if self.status == "out of window" and self.days_outside is not None:
            n = abs(self.days_outside)
            when = "late" if self.days_outside > 0 else "early"
            return f"out of window ({n} day{'s' if n != 1 else ''} {when})"
        return self.status


def visit_state(
    spec: VisitSpec,
    day0: date | None,
    today: date,
    *,
    done_on: date | None,
    recorded: Mapping[str, date],
    requires: Sequence[str] | None = None,
    missed_reason: str | None = None,
    started: Collection[str] = (),
) -> VisitState:
    """Where a visit stands on ``today``, given what was recorded at it.

    ``recorded`` maps each item recorded at the visit (``VISIT_ITEMS``; an ISNCSCI exam counts
    only once complete) to its date; ``started`` lists items begun but incomplete (an exam with
    cells not recorded); ``requires`` overrides ``spec.requires``. Missed (with its
    reason) wins; then done once every required item is recorded (on ``done_on`` or else the
    last item's date), ``out of window`` when that date is outside the window; ``partly done``
    while some are recorded; else ``scheduled`` / ``due`` / ``overdue`` by today's date.
    """
    needed = spec.requires if requires is None else tuple(requires)
    missing = tuple(
        VISIT_ITEMS[i] + (" (incomplete)" if i in started else "")
        for i in needed
        if i not in recorded
    )
    if missed_reason:
        return VisitState("missed", None, missing, None, missed_reason)
    got = [recorded[i] for i in needed if i in recorded]
    window = visit_window(spec, day0) if day0 is not None else None
    complete = not missing and (bool(got) or done_on is not None)
    if complete:
        on = done_on or max(got)
        if window is None or window.contains(on):
            return VisitState("done", on, (), None, None)
        days = (on - window.closes).days if on > window.closes else (on - window.opens).days
        return VisitState("out of window", on, (), days, None)
    if got or done_on is not None or any(i in started for i in needed):
        return VisitState("partly done", done_on, missing, None, None)
    if window is None:
        return VisitState(None, None, missing, None, None)
    if today < window.opens:
        return VisitState("scheduled", None, missing, None, None)
    if today <= window.closes:
        return VisitState("due", None, missing, None, None)
    return VisitState("overdue", None, missing, None, None)
