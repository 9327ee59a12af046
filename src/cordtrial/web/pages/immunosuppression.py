"""Immunosuppression in the workspace (issue 15): the participant page's section (the course,
dose changes, interruptions, troughs with their flags and a chart of dose and trough against
the target band), the forms of a trough and of a dose change, the forms that start and stop a
course (the services check who may), and the investigators' list of out-of-range troughs (one
query; a few of them on the dashboard)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from cordtrial.trial.errors import (
    ConflictError,
    InvalidValueError,
    NotFoundError,
    RuleViolationError,
)
from cordtrial.trial.models import Participant, User
from cordtrial.trial.rules.immunosuppression import (
    DOSE_UNITS,
    DRUGS,
    FLAG_LABELS,
    STOP_REASON_LABELS,
    TROUGH_UNITS,
    dose_on,
)
from cordtrial.trial.services.immunosuppression import (
    CourseView,
    OutOfRange,
    courses_of,
    list_regimens,
    out_of_range_troughs,
    record_dose_change,
    record_trough,
    regimen_targets,
    start_course,
    stop_course,
)
from cordtrial.trial.services.reads import list_trials, participant_for
from cordtrial.web.deps import Clock, SessionDep
from cordtrial.web.pages.auth import CsrfChecked, PageUser
from cordtrial.web.pages.immunosuppression_chart import CourseChart, course_chart
from cordtrial.web.pages.rendering import render

__all__ = ["CourseSection", "dashboard_out_of_range", "immunosuppression_section", "router"]

router = APIRouter()

#: Out-of-range troughs shown on the dashboard (the page lists them all).
DASHBOARD_TROUGHS = 5


@dataclass(frozen=True, slots=True)
class CourseSection:
    """A course as the participant page shows it."""

    view: CourseView
    drug_label: str
    exposure_days: int
    stop_label: str
    targets: list[str]
    chart: Markup
    flags: dict[str, str] = field(default_factory=lambda: dict(FLAG_LABELS))


def _dose_steps(view: CourseView, day0: date) -> list[tuple[int, float]]:
    course = view.course
    days = {course.started_on}
    days |= {c.changed_on for c in view.dose_changes}
    for gap in view.interruptions:
        days.add(gap.from_date)
        if gap.to_date is not None:
            days.add(gap.to_date + timedelta(days=1))
    if course.stopped_on is not None:
        days.add(course.stopped_on)
    changes = [(c.changed_on, c.dose) for c in view.dose_changes]
    gaps = [(g.from_date, g.to_date) for g in view.interruptions]
    return [
        ((day - day0).days, dose_on(day, started_on=course.started_on,
                                    start_dose=course.start_dose, changes=changes,
                                    interruptions=gaps, stopped_on=course.stopped_on))
        for day in sorted(days)
    ]  # fmt: skip


def immunosuppression_section(
    session: Session, user: User, participant: Participant, today: date
) -> list[CourseSection]:
    """The participant's courses, each with its chart (four queries whatever the course)."""
    sections = []
    for view in courses_of(session, user, participant.id):
        day0 = participant.transplant_date or view.course.started_on
        targets = regimen_targets(view.regimen)
        end = view.course.stopped_on or today
        chart = CourseChart(
            drug=DRUGS[view.regimen.drug].label, trough_unit=view.regimen.target_unit,
            dose_unit=view.course.dose_unit,
            troughs=[((t.sampled_at.date() - day0).days, t.value, t.flag in ("below", "above"))
                     for t in view.troughs],
            targets=[(t.from_day, t.until_day, t.low, t.high) for t in targets],
            doses=_dose_steps(view, day0), last_day=(end - day0).days,
        )  # fmt: skip
        reason = view.course.stop_reason
        stop = "ongoing" if view.course.stopped_on is None else (
            f"stopped {view.course.stopped_on}: {STOP_REASON_LABELS.get(reason or '', reason)}"
            + (f" ({view.course.stop_note})" if view.course.stop_note else "")
        )  # fmt: skip
        sections.append(
            CourseSection(
                view=view,
                drug_label=DRUGS[view.regimen.drug].label,
                exposure_days=view.exposure_days(today),
                stop_label=stop,
                targets=[t.describe(view.regimen.target_unit) for t in targets],
                chart=course_chart(chart),
            )
        )
    return sections


def dashboard_out_of_range(session: Session, user: User, protocol_id: str) -> list[OutOfRange]:
    """The newest out-of-range troughs of courses not stopped, for the dashboard (one query):
    work that may still need a dose change; every other one is on the out-of-range page."""
    return out_of_range_troughs(
        session, user, protocol_id, limit=DASHBOARD_TROUGHS, current_only=True
    )


# --- the forms: a trough, a dose change ---------------------------------------------------------

_LABELS = {
    "sampled_on": "Sample date", "sampled_time": "Sample time", "sampled_at": "Sample time",
    "hours_since_dose": "Hours since the last dose", "value": "Trough level", "unit": "Unit",
    "changed_on": "From", "dose": "New dose", "reason": "Reason", "course": "Drug",
}  # fmt: skip


def _form(
    request: Request,
    user: User,
    participant: Participant,
    courses: list[CourseView],
    kind: str,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request, "immunosuppression_form.html", user=user, status_code=status_code,
        participant=participant, courses=courses, kind=kind, values=values, errors=errors,
        units=list(TROUGH_UNITS), drugs=DRUGS,
    )  # fmt: skip


def _open_courses(session: Session, user: User, participant: Participant) -> list[CourseView]:
    return [v for v in courses_of(session, user, participant.id)]


@router.get(
    "/participants/{participant_id}/immunosuppression/{kind}/new",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def new_entry(
    request: Request, participant_id: int, kind: str, user: PageUser, session: SessionDep,
    now: Clock,
) -> Response:  # fmt: skip
    """The form of a trough level (``kind`` troughs) or a dose change (``dose-changes``)."""
    if kind not in ("troughs", "dose-changes"):
        raise NotFoundError("form", kind)
    participant = participant_for(session, user, "enter_data", participant_id)
    values = {"sampled_on": now.date().isoformat(), "changed_on": now.date().isoformat(),
              "sampled_time": "08:00", "hours_since_dose": "12", "unit": "ng/mL"}  # fmt: skip
    return _form(request, user, participant, _open_courses(session, user, participant), kind,
                 values, {})  # fmt: skip


def _number(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise InvalidValueError(name, raw or None, "a number", "is not a number") from None


def _date(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidValueError(name, raw or None, "a date (YYYY-MM-DD)", "is not a date") from None


@router.post(
    "/participants/{participant_id}/immunosuppression/{kind}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def save_entry(
    request: Request,
    participant_id: int,
    kind: str,
    user: PageUser,
    session: SessionDep,
    _: CsrfChecked,
) -> Response:
    """Save a trough or a dose change; a refused value shows the form again with the error
    beside its field (422), nothing saved."""
    if kind not in ("troughs", "dose-changes"):
        raise NotFoundError("form", kind)
    participant = participant_for(session, user, "enter_data", participant_id)
    courses = _open_courses(session, user, participant)
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items() if k != "csrf_token"}
    try:
        ids = {str(v.course.id): v.course.id for v in courses}
        if values.get("course") not in ids:
            raise InvalidValueError("course", values.get("course"), "a course started")
        course_id = ids[values["course"]]
        if kind == "troughs":
            on = _date("sampled_on", values.get("sampled_on", ""))
            try:
                at = datetime.strptime(values.get("sampled_time", ""), "%H:%M").time()
            except ValueError:
                raise InvalidValueError("sampled_time", values.get("sampled_time") or None,
                                        "a time (HH:MM)", "is not a time") from None  # fmt: skip
            record_trough(
                session, user, course_id=course_id,
                sampled_at=datetime.combine(on, at, tzinfo=UTC),
                hours_since_dose=_number("hours_since_dose", values.get("hours_since_dose", "")),
                value=_number("value", values.get("value", "")), unit=values.get("unit", ""),
            )  # fmt: skip
        else:
            record_dose_change(
                session, user, course_id=course_id,
                changed_on=_date("changed_on", values.get("changed_on", "")),
                dose=_number("dose", values.get("dose", "")), reason=values.get("reason", ""),
            )  # fmt: skip
    except (InvalidValueError, RuleViolationError) as exc:
        session.rollback()
        if isinstance(exc, InvalidValueError):
            name = "sampled_on" if exc.field == "sampled_at" else exc.field
            text = f"{_LABELS.get(exc.field, exc.field)}: {exc.human.split(': ', 1)[-1]}"
        else:
            name, text = "course", "; ".join(exc.reasons)
        return _form(request, user, participant, courses, kind, values, {name: text},
                     status.HTTP_422_UNPROCESSABLE_CONTENT)  # fmt: skip
    return RedirectResponse(
        f"/participants/{participant.id}?saved={kind}#immunosuppression",
        status.HTTP_303_SEE_OTHER,
    )


# --- the investigators' list -----------------------------------------------------------------


@router.get("/immunosuppression/out-of-range", response_class=HTMLResponse, include_in_schema=False)
def out_of_range_page(
    request: Request, user: PageUser, session: SessionDep, trial: str | None = None
) -> Response:
    """Every trough below or above its target at the user's sites, newest first."""
    trials = list_trials(session, user)
    current = next((t for t in trials if t.protocol_id == trial), trials[0] if trials else None)
    rows: Sequence[OutOfRange] = (
        out_of_range_troughs(session, user, current.protocol_id) if current else []
    )
    return render(
        request, "immunosuppression_out_of_range.html", user=user, trial=current, rows=rows,
        flags=FLAG_LABELS, drugs=DRUGS,
    )  # fmt: skip


# --- the course: start and stop -----------------------------------------------------------------

_COURSE_LABELS = {
    "drug": "Drug", "started_on": "Start date", "start_dose": "Start dose",
    "dose_unit": "Dose unit", "stopped_on": "Stop date", "stop_reason": "Reason",
    "stop_note": "Note", "version": "Record version",
    "correction_reason": "Reason for the correction",
}  # fmt: skip
_REASONS_IN_WORDS = ", ".join(STOP_REASON_LABELS.values())
_UNPROCESSABLE = status.HTTP_422_UNPROCESSABLE_CONTENT


def _course_error(exc: InvalidValueError | RuleViolationError) -> tuple[str, str]:
    """The field to mark and the error in words (``Start date: 2020-01-01 is too early ...``)."""
    if isinstance(exc, RuleViolationError):
        return "drug", "; ".join(exc.reasons)
    if exc.field == "stop_reason":
        return exc.field, f"Reason: {exc.value or '(missing)'} is not a reason to stop " \
            f"(one of: {_REASONS_IN_WORDS})"  # fmt: skip
    return exc.field, f"{_COURSE_LABELS.get(exc.field, exc.field)}: {exc.human.split(': ', 1)[-1]}"


def _course_form(
    request: Request, user: User, participant: Participant, kind: str, values: dict[str, Any],
    errors: dict[str, str], *, regimens: Sequence[str] = (), course: CourseView | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    return render(
        request, "immunosuppression_course_form.html", user=user, status_code=status_code,
        participant=participant, kind=kind, values=values, errors=errors, regimens=regimens,
        course=course, drugs=DRUGS, reasons=STOP_REASON_LABELS, dose_units=DOSE_UNITS,
    )  # fmt: skip


def _regimen_drugs(session: Session, user: User, participant: Participant) -> list[str]:
    return [r.drug for r in list_regimens(session, user, participant.trial.protocol_id)]


@router.get(
    "/participants/{participant_id}/immunosuppression-courses/new",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def new_course(
    request: Request, participant_id: int, user: PageUser, session: SessionDep, now: Clock
) -> Response:
    """The form that starts a course of one of the protocol's regimens."""
    participant = participant_for(session, user, "enter_data", participant_id)
    drugs = _regimen_drugs(session, user, participant)
    values = {"started_on": now.date().isoformat(), "dose_unit": "mg/d",
              "drug": drugs[0] if drugs else ""}  # fmt: skip
    return _course_form(request, user, participant, "start", values, {}, regimens=drugs)


@router.post(
    "/participants/{participant_id}/immunosuppression-courses",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def save_course(
    request: Request, participant_id: int, user: PageUser, session: SessionDep, _: CsrfChecked
) -> Response:
    """Start the course; a refused value shows the form again with the error beside its
    field (422), nothing saved. The service checks the permission."""
    participant = participant_for(session, user, "read", participant_id)
    drugs = _regimen_drugs(session, user, participant)
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items() if k != "csrf_token"}
    try:
        drug = values.get("drug", "")
        if drug not in drugs:
            allowed = ", ".join(DRUGS[d].label for d in drugs) or "none: no regimen is set"
            raise InvalidValueError("drug", drug or None, f"a drug of the protocol: {allowed}")
        start_course(
            session, user, participant_id=participant.id, drug=drug,
            started_on=_date("started_on", values.get("started_on", "")),
            start_dose=_number("start_dose", values.get("start_dose", "")),
            dose_unit=values.get("dose_unit", "mg/d"),
        )  # fmt: skip
    except (InvalidValueError, RuleViolationError) as exc:
        session.rollback()
        name, text = _course_error(exc)
        return _course_form(request, user, participant, "start", values, {name: text},
                            regimens=drugs, status_code=_UNPROCESSABLE)  # fmt: skip
    return RedirectResponse(
        f"/participants/{participant.id}?saved=course#immunosuppression",
        status.HTTP_303_SEE_OTHER,
    )


def _view_of(session: Session, user: User, participant: Participant, drug: str) -> CourseView:
    for view in courses_of(session, user, participant.id):
        if view.regimen.drug == drug:
            return view
    raise NotFoundError("immunosuppression_course", f"{participant.study_id}/{drug}")


@router.get(
    "/participants/{participant_id}/immunosuppression-courses/{drug}/stop",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def stop_form(
    request: Request, participant_id: int, drug: str, user: PageUser, session: SessionDep,
    now: Clock,
) -> Response:  # fmt: skip
    """The form that records the course's stop, its reason and a note (for the roles that may
    stop immunosuppression: the others get the refusal in words)."""
    participant = participant_for(session, user, "stop_immunosuppression", participant_id)
    view = _view_of(session, user, participant, drug)
    c = view.course
    values = {"stopped_on": (c.stopped_on or now.date()).isoformat(),
              "stop_reason": c.stop_reason or "planned", "stop_note": c.stop_note or "",
              "version": str(c.version)}  # fmt: skip
    return _course_form(request, user, participant, "stop", values, {}, course=view)


@router.post(
    "/participants/{participant_id}/immunosuppression-courses/{drug}/stop",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def save_stop(
    request: Request, participant_id: int, drug: str, user: PageUser, session: SessionDep,
    _: CsrfChecked,
) -> Response:  # fmt: skip
    """Record the stop; the service refuses a role that may not stop immunosuppression (403 in
    words), a refused value shows the form again with the error beside its field (422)."""
    participant = participant_for(session, user, "read", participant_id)
    view = _view_of(session, user, participant, drug)
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items() if k != "csrf_token"}
    try:
        try:
            version = int(values.get("version", ""))
        except ValueError:
            raise InvalidValueError("version", values.get("version") or None,
                                    "the version the form was read at") from None  # fmt: skip
        correction = values.get("correction_reason") or None
        if view.course.stopped_on is not None and correction is None:
            raise InvalidValueError("correction_reason", None,
                                    "why the recorded stop is changed", "is missing")  # fmt: skip
        stop_course(
            session, user, course_id=view.course.id,
            stopped_on=_date("stopped_on", values.get("stopped_on", "")),
            reason=values.get("stop_reason", ""), note=values.get("stop_note", ""),
            correction_reason=correction,
            expected_version=version,
        )  # fmt: skip
    except ConflictError:
        session.rollback()
        errors = {"version": "The course was changed since this form was opened: reload it."}
        return _course_form(request, user, participant, "stop", values, errors, course=view,
                            status_code=status.HTTP_409_CONFLICT)  # fmt: skip
    except (InvalidValueError, RuleViolationError) as exc:
        session.rollback()
        name, text = _course_error(exc)
        return _course_form(request, user, participant, "stop", values, {name: text},
                            course=view, status_code=_UNPROCESSABLE)  # fmt: skip
    return RedirectResponse(
        f"/participants/{participant.id}?saved=stop#immunosuppression", status.HTTP_303_SEE_OTHER
    )
