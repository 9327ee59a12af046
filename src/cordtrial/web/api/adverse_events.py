"""Adverse events: severity (CTCAE) and seriousness (ICH E2A) apart; relatedness per cause;
expedited reports flagged, their submission recorded; follow-up reports and history."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from cordtrial.trial.models import AdverseEvent
from cordtrial.trial.services.clocks import ClockState, clock_states, overall_status
from cordtrial.trial.services.lists import MAX_PAGE, trial_adverse_events
from cordtrial.trial.services.reads import (
    list_adverse_events,
    visible_participant_record,
)
from cordtrial.trial.services.safety import (
    add_follow_up,
    event_history,
    list_follow_ups,
    record_expedited_submission,
    report_adverse_event,
    update_adverse_event,
)
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import (
    AdverseEventCreate,
    AdverseEventPage,
    AdverseEventRead,
    AdverseEventUpdate,
    AuditEntryRead,
    ClockRead,
    ExpeditedSubmissionCreate,
    FollowUpCreate,
    FollowUpRead,
)

router = APIRouter(tags=["adverse events"])


def clock_read(state: ClockState) -> ClockRead:
    """A clock as the API shows it."""
    rule, clock = state.rule, state.clock
    return ClockRead(
        rule=rule.id, report=rule.report, authority=rule.authority, source=rule.source,
        applies=clock.applies, due=clock.due, submitted_on=clock.submitted_on,
        submitted_to=clock.authority, reference=clock.reference, status=state.status.state,
        label=state.status.label,
    )  # fmt: skip


def _reads(session: Session, events: list[AdverseEvent], today: date) -> list[AdverseEventRead]:
    states = clock_states(session, [e.id for e in events], today)
    reads = []
    for event in events:
        read = AdverseEventRead.model_validate(event)
        mine = states.get(event.id, [])
        badge = overall_status(mine)
        read.expedited_status, read.expedited_label = badge.state, badge.label
        read.clocks = [clock_read(s) for s in mine]
        reads.append(read)
    return reads


def read_event(session: Session, event: AdverseEvent, today: date) -> AdverseEventRead:
    """An adverse event as the API shows it, with its clocks."""
    return _reads(session, [event], today)[0]


_read = read_event


@router.get("/participants/{participant_id}/adverse-events", response_model=list[AdverseEventRead])
def get_adverse_events(
    participant_id: PathId, user: CurrentUser, session: SessionDep, now: Clock
) -> list[AdverseEventRead]:
    """The participant's adverse events."""
    rows = list_adverse_events(session, user, participant_id)
    return _reads(session, list(rows), now.date())


@router.get("/trials/{protocol_id}/adverse-events", response_model=AdverseEventPage)
def get_trial_adverse_events(
    protocol_id: str,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
    site: Annotated[str | None, Query(max_length=32, description="A site code")] = None,
    participant: Annotated[
        str | None, Query(max_length=32, description="A participant's study id")
    ] = None,
    since: Annotated[date | None, Query(description="With onset on or after this date")] = None,
    cursor: Annotated[
        int | None, Query(ge=0, le=2**31 - 1, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows a page")] = 100,
) -> AdverseEventPage:
    """The trial's adverse events at the user's sites, by id, ``limit`` a page (cursor paging:
    pass the ``next_cursor`` of a page as ``cursor`` for the next): of one site (code), one
    participant (study id), with onset on or after ``since``."""
    page, next_cursor = trial_adverse_events(
        session, user, protocol_id, site=site, participant=participant, since=since,
        cursor=cursor, limit=limit,
    )  # fmt: skip
    return AdverseEventPage(
        items=_reads(session, list(page), now.date()),
        next_cursor=next_cursor,
    )


@router.post(
    "/participants/{participant_id}/adverse-events",
    response_model=AdverseEventRead,
    status_code=status.HTTP_201_CREATED,
)
def post_adverse_event(
    participant_id: PathId,
    body: AdverseEventCreate,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
) -> AdverseEventRead:
    """Report an adverse event (a serious one needs its narrative)."""
    event = report_adverse_event(
        session, user=user, participant_id=participant_id, **body.model_dump()
    )
    return _read(session, event, now.date())


@router.get("/adverse-events/{event_id}", response_model=AdverseEventRead)
def get_adverse_event(
    event_id: PathId, user: CurrentUser, session: SessionDep, now: Clock
) -> AdverseEventRead:
    """An adverse event, with where its expedited report stands today."""
    event = visible_participant_record(session, user, AdverseEvent, event_id)
    return _read(session, event, now.date())


@router.patch("/adverse-events/{event_id}", response_model=AdverseEventRead)
def patch_adverse_event(
    event_id: PathId,
    body: AdverseEventUpdate,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
) -> AdverseEventRead:
    """Follow up an adverse event: grade, seriousness, outcome, resolution date, relatedness per
    cause, narrative (version and reason required; the expedited-report flag and deadline are
    recomputed)."""
    changes = body.model_dump(exclude_unset=True, exclude={"version", "reason"})
    updated = update_adverse_event(
        session,
        user=user,
        event_id=event_id,
        reason=body.reason,
        expected_version=body.version,
        **changes,
    )
    return _read(session, updated, now.date())


@router.post("/adverse-events/{event_id}/expedited-submission", response_model=AdverseEventRead)
def post_expedited_submission(
    event_id: PathId,
    body: ExpeditedSubmissionCreate,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
) -> AdverseEventRead:
    """Record the submission of the expedited (SUSAR) report: date, authority, reference. The
    deadline is then met, or shown late by so many days. 422 for an event that needs none;
    changing a recorded submission needs a reason."""
    event = record_expedited_submission(
        session,
        user=user,
        event_id=event_id,
        submitted_on=body.submitted_on,
        authority=body.authority,
        reference=body.reference,
        expected_version=body.version,
        reason=body.reason,
        rule=body.rule,
    )
    return _read(session, event, now.date())


@router.get("/adverse-events/{event_id}/follow-ups", response_model=list[FollowUpRead])
def get_follow_ups(event_id: PathId, user: CurrentUser, session: SessionDep) -> list[FollowUpRead]:
    """The event's follow-up reports, oldest first."""
    visible_participant_record(session, user, AdverseEvent, event_id)
    return [FollowUpRead.model_validate(f) for f in list_follow_ups(session, event_id)]


@router.post(
    "/adverse-events/{event_id}/follow-ups",
    response_model=FollowUpRead,
    status_code=status.HTTP_201_CREATED,
)
def post_follow_up(
    event_id: PathId, body: FollowUpCreate, user: CurrentUser, session: SessionDep
) -> FollowUpRead:
    """Add a follow-up report (what was learned and when; append-only)."""
    follow_up = add_follow_up(
        session,
        user=user,
        event_id=event_id,
        reported_on=body.reported_on,
        text=body.text,
    )
    return FollowUpRead.model_validate(follow_up)


@router.get("/adverse-events/{event_id}/history", response_model=list[AuditEntryRead])
def get_history(event_id: PathId, user: CurrentUser, session: SessionDep) -> list[AuditEntryRead]:
    """The event's history from the audit trail: who changed which field, when, and why."""
    visible_participant_record(session, user, AdverseEvent, event_id)
    return [AuditEntryRead.model_validate(e) for e in event_history(session, event_id)]
