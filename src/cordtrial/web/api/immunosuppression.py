"""Immunosuppression: the protocol's regimen per drug, a participant's course (start, dose
changes, interruptions, stop), trough levels flagged against the target in force, and the
trial's out-of-range troughs."""

from datetime import date

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from cordtrial.trial.models import ImmunosuppressionCourse, User
from cordtrial.trial.rules.access import Action
from cordtrial.trial.services.immunosuppression import (
    CourseView,
    courses_of,
    list_regimens,
    out_of_range_troughs,
    record_dose_change,
    record_interruption,
    record_trough,
    set_regimen,
    start_course,
    stop_course,
)
from cordtrial.trial.services.reads import participant_record_for, visible_participant
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep
from cordtrial.web.schemas_immunosuppression import (
    CourseCreate,
    CourseRead,
    CourseStop,
    DoseChangeCreate,
    DoseChangeRead,
    InterruptionCreate,
    InterruptionRead,
    OutOfRangeRead,
    RegimenRead,
    RegimenUpdate,
    TroughCreate,
    TroughRead,
)

router = APIRouter(tags=["immunosuppression"])


def _course(view: CourseView, today: date) -> CourseRead:
    c = view.course
    return CourseRead(
        id=c.id, version=c.version, participant_id=c.participant_id, drug=view.regimen.drug,
        started_on=c.started_on, start_dose=c.start_dose, dose_unit=c.dose_unit,
        stopped_on=c.stopped_on, stop_reason=c.stop_reason, stop_note=c.stop_note,
        exposure_days=view.exposure_days(today),
        dose_changes=[DoseChangeRead.model_validate(x) for x in view.dose_changes],
        interruptions=[InterruptionRead.model_validate(x) for x in view.interruptions],
        troughs=[TroughRead.model_validate(x) for x in view.troughs],
    )  # fmt: skip


@router.get("/trials/{protocol_id}/immunosuppression-regimens", response_model=list[RegimenRead])
def get_regimens(protocol_id: str, user: CurrentUser, session: SessionDep) -> list[RegimenRead]:
    """The protocol's immunosuppression regimens, by drug."""
    return [RegimenRead.model_validate(r) for r in list_regimens(session, user, protocol_id)]


@router.put("/trials/{protocol_id}/immunosuppression-regimens/{drug}", response_model=RegimenRead)
def put_regimen(
    protocol_id: str, drug: str, body: RegimenUpdate, user: CurrentUser, session: SessionDep
) -> RegimenRead:
    """Set the protocol's regimen of a drug: dose, route, start, taper steps, planned stop and
    trough target ranges by period (a change needs a reason)."""
    values = body.model_dump()
    stored = set_regimen(session, user, protocol_id=protocol_id, drug=drug, **values)
    return RegimenRead.model_validate(stored)


@router.get("/participants/{participant_id}/immunosuppression", response_model=list[CourseRead])
def get_courses(
    participant_id: PathId, user: CurrentUser, session: SessionDep, now: Clock
) -> list[CourseRead]:
    """The participant's courses with dose changes, interruptions, troughs and days on drug."""
    participant = visible_participant(session, user, participant_id)
    return [_course(v, now.date()) for v in courses_of(session, user, participant.id)]


@router.post(
    "/participants/{participant_id}/immunosuppression",
    response_model=CourseRead,
    status_code=status.HTTP_201_CREATED,
)
def post_course(
    participant_id: PathId, body: CourseCreate, user: CurrentUser, session: SessionDep, now: Clock
) -> CourseRead:
    """Start the participant's course of a protocol drug."""
    participant = visible_participant(session, user, participant_id)
    course = start_course(session, user, participant_id=participant.id, **body.model_dump())
    (view,) = [v for v in courses_of(session, user, participant.id) if v.course.id == course.id]
    return _course(view, now.date())


def _visible_course(session: Session, user: User, course_id: int, action: Action) -> int:
    return participant_record_for(session, user, action, ImmunosuppressionCourse, course_id).id


@router.post(
    "/immunosuppression-courses/{course_id}/dose-changes",
    response_model=DoseChangeRead,
    status_code=status.HTTP_201_CREATED,
)
def post_dose_change(
    course_id: PathId, body: DoseChangeCreate, user: CurrentUser, session: SessionDep
) -> DoseChangeRead:
    """A new dose from a date on, with the reason."""
    course = _visible_course(session, user, course_id, "enter_data")
    change = record_dose_change(session, user, course_id=course, **body.model_dump())
    return DoseChangeRead.model_validate(change)


@router.post(
    "/immunosuppression-courses/{course_id}/interruptions",
    response_model=InterruptionRead,
    status_code=status.HTTP_201_CREATED,
)
def post_interruption(
    course_id: PathId, body: InterruptionCreate, user: CurrentUser, session: SessionDep
) -> InterruptionRead:
    """Days without drug (from-to inclusive; no end: not resumed yet), with the reason."""
    course = _visible_course(session, user, course_id, "enter_data")
    gap = record_interruption(session, user, course_id=course, **body.model_dump())
    return InterruptionRead.model_validate(gap)


@router.post("/immunosuppression-courses/{course_id}/stop", response_model=CourseRead)
def post_stop(
    course_id: PathId, body: CourseStop, user: CurrentUser, session: SessionDep, now: Clock
) -> CourseRead:
    """The actual stop and its reason (an investigator's decision); a correction needs a
    reason."""
    course_id = _visible_course(session, user, course_id, "stop_immunosuppression")
    course = stop_course(session, user, course_id=course_id, **body.model_dump())
    (view,) = [
        v for v in courses_of(session, user, course.participant_id) if v.course.id == course.id
    ]
    return _course(view, now.date())


@router.post(
    "/immunosuppression-courses/{course_id}/troughs",
    response_model=TroughRead,
    status_code=status.HTTP_201_CREATED,
)
def post_trough(
    course_id: PathId, body: TroughCreate, user: CurrentUser, session: SessionDep
) -> TroughRead:
    """A trough level in its UCUM unit: converted to the regimen's unit and flagged against the
    target range in force that day (422 naming the unit and the units allowed)."""
    course = _visible_course(session, user, course_id, "enter_data")
    return TroughRead.model_validate(
        record_trough(session, user, course_id=course, **body.model_dump())
    )


@router.get("/trials/{protocol_id}/troughs/out-of-range", response_model=list[OutOfRangeRead])
def get_out_of_range(
    protocol_id: str, user: CurrentUser, session: SessionDep, current_only: bool = False
) -> list[OutOfRangeRead]:
    """Troughs below or above target at the user's sites, newest first; ``current_only``: only
    those of courses still running (not stopped), as the dashboard lists them."""
    return [
        OutOfRangeRead(
            participant_id=r.participant.id,
            study_id=r.participant.study_id,
            site_code=r.participant.site.code,
            drug=r.drug,
            unit=r.target_unit,
            trough=TroughRead.model_validate(r.trough),
        )
        for r in out_of_range_troughs(session, user, protocol_id, current_only=current_only)
    ]
