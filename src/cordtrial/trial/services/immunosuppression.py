"""Use cases: immunosuppression (issue 15).

The protocol's regimen per drug (trial-wide, ``manage_regimen``); a participant's course of it:
the start, every dose change with its reason, interruptions, the actual stop and its reason
(``stop_immunosuppression``, an investigator's decision); trough levels converted to the
regimen's unit and flagged against the target range in force on the day of the sample
(rules.immunosuppression). Every write names the acting user, is checked here against the
participant's site and is audited in one transaction; the trial-wide lists are one query each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session, joinedload

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError, NotFoundError, RuleViolationError
from cordtrial.trial.models import (
    DoseChange,
    DoseInterruption,
    ImmunosuppressionCourse,
    ImmunosuppressionRegimen,
    Participant,
    TroughLevel,
    User,
)
from cordtrial.trial.rules.access import Action
from cordtrial.trial.rules.checks import (
    check_choice,
    check_date,
    check_int,
    check_moment,
    check_number,
    check_text,
)
from cordtrial.trial.rules.immunosuppression import (
    DOSE_UNITS,
    DRUGS,
    ROUTES,
    STOP_REASON_LABELS,
    STOP_REASONS,
    TROUGH_UNITS,
    TaperStep,
    TargetRange,
    check_taper,
    check_targets,
    convert_trough,
    exposure_days,
    flag_trough,
    target_in_force,
)
from cordtrial.trial.services.common import check_version, get_by_id, get_trial
from cordtrial.trial.services.reads import participant_for
from cordtrial.trial.services.users import require_permission

__all__ = [
    "CourseView",
    "OutOfRange",
    "course_for",
    "courses_of",
    "list_regimens",
    "out_of_range_troughs",
    "record_dose_change",
    "record_interruption",
    "record_trough",
    "regimen_taper",
    "regimen_targets",
    "set_regimen",
    "start_course",
    "stop_course",
]


def regimen_targets(regimen: ImmunosuppressionRegimen) -> list[TargetRange]:
    """The regimen's target ranges as rules values."""
    return check_targets(regimen.targets)


def regimen_taper(regimen: ImmunosuppressionRegimen) -> list[TaperStep]:
    """The regimen's taper steps as rules values."""
    return check_taper(
        regimen.taper, start_day=regimen.start_day, planned_stop_day=regimen.planned_stop_day
    )


def set_regimen(
    session: Session,
    user: User,
    *,
    protocol_id: str,
    drug: str,
    dose: float,
    dose_unit: str,
    route: str,
    start_day: int,
    planned_stop_day: int | None,
    taper: Sequence[object],
    targets: Sequence[object],
    target_unit: str,
    source: str,
    reason: str | None = None,
) -> ImmunosuppressionRegimen:
    """Set the protocol's regimen of ``drug`` (a change needs a reason). Targets are protocol
    parameters: ``source`` says where they come from (protocol section, label)."""
    require_permission(user, "manage_regimen")
    trial = get_trial(session, protocol_id)
    check_choice("drug", drug, DRUGS)
    check_choice("dose_unit", dose_unit, DOSE_UNITS)
    check_choice("route", route, ROUTES)
    check_choice("target_unit", target_unit, TROUGH_UNITS)
    start = check_int("start_day", start_day, low=-30, high=365)
    stop = None
    if planned_stop_day is not None:
        stop = check_int("planned_stop_day", planned_stop_day, low=start + 1, high=3650)
    steps = check_taper(taper, start_day=start, planned_stop_day=stop)
    ranges = check_targets(targets)
    values = {
        "dose": check_number("dose", dose, low=0, low_open=True),
        "dose_unit": dose_unit, "route": route, "start_day": start, "planned_stop_day": stop,
        "taper": [s.to_json() for s in steps], "targets": [r.to_json() for r in ranges],
        "target_unit": target_unit, "source": check_text("source", source, max_length=2000),
    }  # fmt: skip
    stored = session.scalars(
        select(ImmunosuppressionRegimen).where(
            ImmunosuppressionRegimen.trial_id == trial.id, ImmunosuppressionRegimen.drug == drug
        )
    ).first()
    with unit_of_work(session, user.username, reason if stored is not None else None):
        if stored is None:
            stored = ImmunosuppressionRegimen(trial_id=trial.id, drug=drug)
            session.add(stored)
        for key, value in values.items():
            setattr(stored, key, value)
    return stored


def list_regimens(session: Session, user: User, protocol_id: str) -> list[ImmunosuppressionRegimen]:
    """The trial's immunosuppression regimens, by drug."""
    require_permission(user, "read")
    trial = get_trial(session, protocol_id)
    return list(
        session.scalars(
            select(ImmunosuppressionRegimen)
            .where(ImmunosuppressionRegimen.trial_id == trial.id)
            .order_by(ImmunosuppressionRegimen.drug)
        )
    )


def _regimen(session: Session, trial_id: int, drug: str) -> ImmunosuppressionRegimen:
    found = session.scalars(
        select(ImmunosuppressionRegimen).where(
            ImmunosuppressionRegimen.trial_id == trial_id, ImmunosuppressionRegimen.drug == drug
        )
    ).first()
    if found is None:
        raise NotFoundError("immunosuppression_regimen", drug)
    return found


def start_course(
    session: Session,
    user: User,
    *,
    participant_id: int,
    drug: str,
    started_on: date,
    start_dose: float,
    dose_unit: str = "mg/d",
) -> ImmunosuppressionCourse:
    """Start the participant's course of the protocol's ``drug`` (one course per drug)."""
    participant = participant_for(session, user, "enter_data", participant_id)
    regimen = _regimen(session, participant.trial_id, drug)
    on = check_date("started_on", started_on, not_before=participant.injury_date)
    dose = check_number("start_dose", start_dose, low=0, low_open=True)
    check_choice("dose_unit", dose_unit, DOSE_UNITS)
    if _course(session, participant.id, regimen.id) is not None:
        raise RuleViolationError("course", [f"{DRUGS[drug].label} is already started"])
    course = ImmunosuppressionCourse(
        participant_id=participant.id, regimen_id=regimen.id, started_on=on, start_dose=dose,
        dose_unit=dose_unit,
    )  # fmt: skip
    with unit_of_work(session, user.username):
        session.add(course)
    return course


def _course(
    session: Session, participant_id: int, regimen_id: int
) -> ImmunosuppressionCourse | None:
    return session.scalars(
        select(ImmunosuppressionCourse).where(
            ImmunosuppressionCourse.participant_id == participant_id,
            ImmunosuppressionCourse.regimen_id == regimen_id,
        )
    ).first()


def course_for(
    session: Session, user: User, participant_id: int, drug: str, action: Action = "read"
) -> ImmunosuppressionCourse:
    """The participant's course of ``drug`` (NotFoundError when not started), for ``action``."""
    participant = participant_for(session, user, action, participant_id)
    course = _course(session, participant.id, _regimen(session, participant.trial_id, drug).id)
    if course is None:
        raise NotFoundError("immunosuppression_course", f"{participant.study_id}/{drug}")
    return course


def _open_course(
    session: Session, user: User, course_id: int, action: Action = "enter_data"
) -> tuple[ImmunosuppressionCourse, Participant]:
    course = get_by_id(session, ImmunosuppressionCourse, course_id)
    participant = participant_for(session, user, action, course.participant_id)
    return course, participant


def _in_course(course: ImmunosuppressionCourse, name: str, on: date) -> date:
    check_date(name, on, not_before=course.started_on)
    if course.stopped_on is not None and on > course.stopped_on:
        raise InvalidValueError(
            name, on, f"a date from {course.started_on} to the stop on {course.stopped_on}",
            "is after the stop",
        )  # fmt: skip
    return on


def record_dose_change(
    session: Session, user: User, *, course_id: int, changed_on: date, dose: float, reason: str
) -> DoseChange:
    """A new dose from ``changed_on`` on, with why (one change per day)."""
    course, participant = _open_course(session, user, course_id)
    on = _in_course(course, "changed_on", changed_on)
    change = DoseChange(
        participant_id=participant.id, course_id=course.id, changed_on=on,
        dose=check_number("dose", dose, low=0, low_open=True),
        reason=check_text("reason", reason, max_length=500),
    )  # fmt: skip
    taken = session.scalars(
        select(DoseChange.id).where(DoseChange.course_id == course.id, DoseChange.changed_on == on)
    ).first()
    if taken is not None:
        raise InvalidValueError("changed_on", on, "one dose change per day")
    with unit_of_work(session, user.username):
        session.add(change)
    return change


def record_interruption(
    session: Session,
    user: User,
    *,
    course_id: int,
    from_date: date,
    to_date: date | None,
    reason: str,
) -> DoseInterruption:
    """Days without drug, ``from_date`` to ``to_date`` inclusive (none: not resumed yet)."""
    course, participant = _open_course(session, user, course_id)
    start = _in_course(course, "from_date", from_date)
    if to_date is not None:
        _in_course(course, "to_date", check_date("to_date", to_date, not_before=start))
    interruption = DoseInterruption(
        participant_id=participant.id, course_id=course.id, from_date=start, to_date=to_date,
        reason=check_text("reason", reason, max_length=500),
    )  # fmt: skip
    with unit_of_work(session, user.username):
        session.add(interruption)
    return interruption


def stop_course(
    session: Session,
    user: User,
    *,
    course_id: int,
    stopped_on: date,
    reason: str,
    note: str = "",
    correction_reason: str | None = None,
    expected_version: int | None = None,
) -> ImmunosuppressionCourse:
    """The actual stop (the first day without drug) and why; ``other`` needs a note. Changing
    a stop already recorded needs ``correction_reason``. ``expected_version`` (the version the
    form was read at) refuses a stop over a change made meanwhile (ConflictError)."""
    course, _ = _open_course(session, user, course_id, "stop_immunosuppression")
    check_version(course, expected_version)
    on = check_date("stopped_on", stopped_on, not_before=course.started_on)
    check_choice("stop_reason", reason, STOP_REASONS)
    text = check_text("stop_note", note, max_length=500, required=reason == "other")
    # the first stop is the course's next step, its reason the stop reason; changing it is a
    # correction and needs one of its own
    why = f"stopped: {STOP_REASON_LABELS[reason]}" if course.stopped_on is None else None
    with unit_of_work(session, user.username, why or correction_reason):
        course.stopped_on, course.stop_reason, course.stop_note = on, reason, text or None
    return course


def record_trough(
    session: Session,
    user: User,
    *,
    course_id: int,
    sampled_at: datetime,
    hours_since_dose: float,
    value: float,
    unit: str,
) -> TroughLevel:
    """A trough level: converted from its UCUM ``unit`` to the regimen's and flagged against
    the target range in force on the sample's day since the transplant."""
    course, participant = _open_course(session, user, course_id)
    moment = check_moment("sampled_at", sampled_at)
    check_date("sampled_at", moment.date(), not_before=course.started_on)
    hours = check_number("hours_since_dose", hours_since_dose, low=0, high=72)
    regimen = course.regimen
    level = convert_trough(
        regimen.drug, check_number("value", value, low=0, high=1e6), unit, regimen.target_unit
    )
    day0 = participant.transplant_date
    target = None if day0 is None else target_in_force(
        regimen_targets(regimen), (moment.date() - day0).days
    )  # fmt: skip
    trough = TroughLevel(
        participant_id=participant.id, course_id=course.id, sampled_at=moment,
        hours_since_dose=hours, entered_value=float(value), entered_unit=unit, value=level,
        target_low=None if target is None else target.low,
        target_high=None if target is None else target.high,
        flag=flag_trough(level, target),
    )  # fmt: skip
    with unit_of_work(session, user.username):
        session.add(trough)
    return trough


@dataclass(slots=True)
class CourseView:
    """A course with its regimen, dose changes, interruptions and troughs (oldest first)."""

    course: ImmunosuppressionCourse
    regimen: ImmunosuppressionRegimen
    dose_changes: list[DoseChange] = field(default_factory=list)
    interruptions: list[DoseInterruption] = field(default_factory=list)
    troughs: list[TroughLevel] = field(default_factory=list)

    def exposure_days(self, today: date) -> int:
        """Days on drug to ``today`` (rules.immunosuppression.exposure_days)."""
        return exposure_days(
            self.course.started_on, self.course.stopped_on,
            [(i.from_date, i.to_date) for i in self.interruptions], as_of=today,
        )  # fmt: skip


def courses_of(session: Session, user: User, participant_id: int) -> list[CourseView]:
    """The participant's courses with everything recorded in them (four queries, whatever the
    number of courses)."""
    participant = participant_for(session, user, "read", participant_id)
    rows = session.execute(
        select(ImmunosuppressionCourse, ImmunosuppressionRegimen)
        .join(ImmunosuppressionRegimen)
        .where(ImmunosuppressionCourse.participant_id == participant.id)
        .order_by(ImmunosuppressionCourse.started_on, ImmunosuppressionCourse.id)
    ).all()
    views = {c.id: CourseView(c, r) for c, r in rows}
    for change in session.scalars(
        select(DoseChange)
        .where(DoseChange.participant_id == participant.id)
        .order_by(DoseChange.changed_on, DoseChange.id)
    ):
        views[change.course_id].dose_changes.append(change)
    for gap in session.scalars(
        select(DoseInterruption)
        .where(DoseInterruption.participant_id == participant.id)
        .order_by(DoseInterruption.from_date, DoseInterruption.id)
    ):
        views[gap.course_id].interruptions.append(gap)
    for trough in session.scalars(
        select(TroughLevel)
        .where(TroughLevel.participant_id == participant.id)
        .order_by(TroughLevel.sampled_at, TroughLevel.id)
    ):
        views[trough.course_id].troughs.append(trough)
    return list(views.values())


def _visible(user: User) -> ColumnElement[bool]:
    if user.role == "admin" or user.all_sites:
        return true()
    return Participant.site_id.in_(sorted(user.site_ids))


@dataclass(frozen=True, slots=True)
class OutOfRange:
    """A trough below or above its target, with its participant and drug."""

    trough: TroughLevel
    participant: Participant
    drug: str
    target_unit: str


def out_of_range_troughs(
    session: Session,
    user: User,
    protocol_id: str,
    *,
    limit: int | None = None,
    current_only: bool = False,
) -> list[OutOfRange]:
    """The trial's troughs below or above target at the user's sites, newest first (one
    query); ``current_only``: only those of courses not stopped (what may still need a dose
    change)."""
    require_permission(user, "read")
    trial = get_trial(session, protocol_id)
    query = (
        select(TroughLevel, Participant, ImmunosuppressionRegimen.drug,
               ImmunosuppressionRegimen.target_unit)
        .join(Participant, Participant.id == TroughLevel.participant_id)
        .join(ImmunosuppressionCourse, ImmunosuppressionCourse.id == TroughLevel.course_id)
        .join(ImmunosuppressionRegimen,
              ImmunosuppressionRegimen.id == ImmunosuppressionCourse.regimen_id)
        .where(Participant.trial_id == trial.id, _visible(user),
               TroughLevel.flag.in_(("below", "above")))
        .options(joinedload(Participant.site))
        .order_by(TroughLevel.sampled_at.desc(), TroughLevel.id.desc())
    )  # fmt: skip
    if current_only:
        query = query.where(ImmunosuppressionCourse.stopped_on.is_(None))
    if limit is not None:
        query = query.limit(limit)
    return [OutOfRange(t, p, drug, unit) for t, p, drug, unit in session.execute(query).all()]
