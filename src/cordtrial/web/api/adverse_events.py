"""Adverse events: severity (CTCAE) and seriousness (ICH E2A) apart; expedited reports flagged."""

from fastapi import APIRouter, status

from cordtrial.trial.models import AdverseEvent
from cordtrial.trial.services.reads import (
    list_adverse_events,
    visible_participant,
    visible_participant_record,
)
from cordtrial.trial.services.safety import report_adverse_event, update_adverse_event
from cordtrial.trial.services.users import require_permission
from cordtrial.web.deps import CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import AdverseEventCreate, AdverseEventRead, AdverseEventUpdate

router = APIRouter(tags=["adverse events"])


@router.get("/participants/{participant_id}/adverse-events", response_model=list[AdverseEventRead])
def get_adverse_events(
    participant_id: PathId, user: CurrentUser, session: SessionDep
) -> list[AdverseEventRead]:
    """The participant's adverse events."""
    require_permission(user, "read")
    rows = list_adverse_events(session, user, participant_id)
    return [AdverseEventRead.model_validate(e) for e in rows]


@router.post(
    "/participants/{participant_id}/adverse-events",
    response_model=AdverseEventRead,
    status_code=status.HTTP_201_CREATED,
)
def post_adverse_event(
    participant_id: PathId, body: AdverseEventCreate, user: CurrentUser, session: SessionDep
) -> AdverseEventRead:
    """Report an adverse event."""
    participant = visible_participant(session, user, participant_id)
    require_permission(user, "report_adverse_event", participant.site_id)
    event = report_adverse_event(
        session, actor=user.username, participant_id=participant_id, **body.model_dump()
    )
    return AdverseEventRead.model_validate(event)


@router.get("/adverse-events/{event_id}", response_model=AdverseEventRead)
def get_adverse_event(event_id: PathId, user: CurrentUser, session: SessionDep) -> AdverseEventRead:
    """An adverse event."""
    require_permission(user, "read")
    event = visible_participant_record(session, user, AdverseEvent, event_id)
    return AdverseEventRead.model_validate(event)


@router.patch("/adverse-events/{event_id}", response_model=AdverseEventRead)
def patch_adverse_event(
    event_id: PathId, body: AdverseEventUpdate, user: CurrentUser, session: SessionDep
) -> AdverseEventRead:
    """Follow up an adverse event (version and reason required; the expedited-report flag and
    deadline are recomputed)."""
    event = visible_participant_record(session, user, AdverseEvent, event_id)
    site_id = visible_participant(session, user, event.participant_id).site_id
    require_permission(user, "report_adverse_event", site_id)
    changes = body.model_dump(exclude_unset=True, exclude={"version", "reason"})
    updated = update_adverse_event(
        session,
        actor=user.username,
        event_id=event_id,
        reason=body.reason,
        expected_version=body.version,
        **changes,
    )
    return AdverseEventRead.model_validate(updated)
