"""The regulators' clocks: a trial's jurisdictions, each adverse event's expedited clocks and
their submissions, the periodic reports and their filing (rules.clocks)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from cordtrial.trial.models import AdverseEvent
from cordtrial.trial.rules.clocks import JURISDICTION_NAMES
from cordtrial.trial.services.clocks import (
    clock_states,
    periodic_report_states,
    record_clock_submission,
    record_periodic_submission,
    set_jurisdictions,
    trial_jurisdictions,
)
from cordtrial.trial.services.reads import participant_record_for, visible_trial
from cordtrial.web.api.adverse_events import clock_read
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import (
    ClockRead,
    ExpeditedSubmissionCreate,
    JurisdictionsRead,
    JurisdictionsUpdate,
    PeriodicReportRead,
    PeriodicSubmissionCreate,
)

router = APIRouter(tags=["regulatory reporting"])


@router.get("/trials/{protocol_id}/jurisdictions", response_model=JurisdictionsRead)
def get_jurisdictions(
    protocol_id: str, user: CurrentUser, session: SessionDep
) -> JurisdictionsRead:
    """The jurisdictions whose safety-reporting rules the trial follows."""
    trial = visible_trial(session, user, protocol_id)
    chosen = list(trial_jurisdictions(trial))
    return JurisdictionsRead(
        jurisdictions=chosen,
        names=[JURISDICTION_NAMES[j] for j in chosen],
        provision_plan_submitted_on=trial.provision_plan_submitted_on,
    )


@router.put("/trials/{protocol_id}/jurisdictions", response_model=JurisdictionsRead)
def put_jurisdictions(
    protocol_id: str, body: JurisdictionsUpdate, user: CurrentUser, session: SessionDep
) -> JurisdictionsRead:
    """Set the trial's jurisdictions (us_ind, jp_asrm); every adverse event's clocks follow.
    Japan needs the day the provision plan was submitted; a change needs a reason."""
    trial = visible_trial(session, user, protocol_id)
    set_jurisdictions(
        session, user, trial_id=trial.id, jurisdictions=body.jurisdictions,
        provision_plan_submitted_on=body.provision_plan_submitted_on, reason=body.reason,
    )  # fmt: skip
    return get_jurisdictions(protocol_id, user, session)


@router.get("/adverse-events/{event_id}/clocks", response_model=list[ClockRead])
def get_clocks(
    event_id: PathId, user: CurrentUser, session: SessionDep, now: Clock
) -> list[ClockRead]:
    """The event's expedited clocks: one per rule of its trial's jurisdictions, each with its
    deadline, submission and state."""
    event = participant_record_for(session, user, "read", AdverseEvent, event_id)
    return [clock_read(s) for s in clock_states(session, [event.id], now.date()).get(event.id, [])]


@router.post("/adverse-events/{event_id}/clocks/{rule}/submission", response_model=ClockRead)
def post_clock_submission(
    event_id: PathId,
    rule: str,
    body: ExpeditedSubmissionCreate,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
) -> ClockRead:
    """Record that the report one clock asks for was submitted (date, authority, reference);
    a correction needs a reason. ``version`` is the adverse event's."""
    event = participant_record_for(session, user, "report_adverse_event", AdverseEvent, event_id)
    if event.version != body.version:
        from cordtrial.trial.errors import ConflictError

        raise ConflictError("adverse_event", event.id, body.version, event.version)
    record_clock_submission(
        session, user, event_id=event.id, rule=rule, submitted_on=body.submitted_on,
        authority=body.authority, reference=body.reference, reason=body.reason,
    )  # fmt: skip
    states = clock_states(session, [event.id], now.date())[event.id]
    return clock_read(next(s for s in states if s.rule.id == rule))


@router.get("/trials/{protocol_id}/periodic-reports", response_model=list[PeriodicReportRead])
def get_periodic_reports(
    protocol_id: str,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
    on: Annotated[date | None, Query(description="The day to evaluate on (default: today)")] = None,
) -> list[PeriodicReportRead]:
    """The trial's periodic safety reports that have begun: each period, its due date, whether
    it was filed, and the adverse events it must include."""
    trial = visible_trial(session, user, protocol_id)
    states = periodic_report_states(session, user, trial_id=trial.id, today=on or now.date())
    return [
        PeriodicReportRead(
            rule=s.report.rule.id,
            report=s.report.rule.report,
            authority=s.report.rule.authority,
            source=s.report.rule.source,
            includes=s.report.rule.includes,
            period_number=s.report.number,
            period_start=s.report.start,
            period_end=s.report.end,
            due=s.report.due,
            status=s.status.state,
            label=s.status.label,
            submitted_on=None if s.submission is None else s.submission.submitted_on,
            reference=None if s.submission is None else s.submission.reference,
            adverse_event_ids=[e.id for e in s.events],
            events_at_other_sites=s.hidden,
        )
        for s in states
    ]


@router.post(
    "/trials/{protocol_id}/periodic-reports/{rule}/{period_number}/submission",
    response_model=list[PeriodicReportRead],
)
def post_periodic_submission(
    protocol_id: str,
    rule: str,
    period_number: PathId,
    body: PeriodicSubmissionCreate,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
) -> list[PeriodicReportRead]:
    """Record the filing of one period of a periodic report (after its period ended); a
    correction needs a reason. Answers the trial's periodic reports."""
    trial = visible_trial(session, user, protocol_id)
    record_periodic_submission(
        session, user, trial_id=trial.id, rule=rule, period_number=period_number,
        submitted_on=body.submitted_on, reference=body.reference, reason=body.reason,
    )  # fmt: skip
    return get_periodic_reports(protocol_id, user, session, now, None)
