"""A participant's visits: the state of each (what the protocol requires, what is recorded, what
is outstanding), the date one took place, a missed visit's reason."""

from fastapi import APIRouter

from cordtrial.trial.services.reads import visible_participant
from cordtrial.trial.services.visits import (
    VisitRow,
    mark_visit_missed,
    record_visit_done,
    visit_schedule,
)
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import VisitDoneUpdate, VisitMissedCreate, VisitRead

router = APIRouter(tags=["visits"])


def visit_read(r: VisitRow) -> VisitRead:
    """The API view of a visit row."""
    return VisitRead(
        name=r.name,
        version=r.version,
        target=r.target,
        opens=r.opens,
        closes=r.closes,
        done_on=r.done_on,
        status=r.status,
        label=r.label,
        requires=list(r.requires),
        missing=list(r.missing),
        days_outside=r.days_outside,
        missed_reason=r.missed_reason,
        exam_ids=list(r.exam_ids),
        exam_of_record_id=r.exam_of_record_id,
        contact_mode=r.contact_mode,
        long_term=r.long_term,
    )


@router.get("/participants/{participant_id}/visits", response_model=list[VisitRead])
def get_visits(
    participant_id: PathId, user: CurrentUser, session: SessionDep, now: Clock
) -> list[VisitRead]:
    """The participant's visits with target dates, windows and state today: scheduled, due,
    overdue, partly done, done, missed (with the reason) or out of window (with the days);
    what each requires and what is still missing; its exams and the exam of record."""
    visible_participant(session, user, participant_id)
    return [visit_read(r) for r in visit_schedule(session, participant_id, now.date())]


@router.put("/participants/{participant_id}/visits/{visit_name}", response_model=list[VisitRead])
def put_visit_done(
    participant_id: PathId,
    visit_name: str,
    body: VisitDoneUpdate,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
) -> list[VisitRead]:
    """Record the date a visit took place (a change of that date needs a reason). A visit is
    done once every item its protocol requires is recorded: saving them records the date."""
    record_visit_done(
        session,
        user=user,
        participant_id=participant_id,
        visit_name=visit_name,
        done_on=body.done_on,
        reason=body.reason,
    )
    return get_visits(participant_id, user, session, now)


@router.post(
    "/participants/{participant_id}/visits/{visit_name}/missed", response_model=list[VisitRead]
)
def post_visit_missed(
    participant_id: PathId,
    visit_name: str,
    body: VisitMissedCreate,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
) -> list[VisitRead]:
    """Mark a visit missed, with the reason (audited); refused (422) for a visit already done."""
    mark_visit_missed(
        session,
        user=user,
        participant_id=participant_id,
        visit_name=visit_name,
        reason=body.reason,
        today=now.date(),
        expected_version=body.version,
    )
    return get_visits(participant_id, user, session, now)
