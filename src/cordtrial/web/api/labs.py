"""Laboratory results: panels entered (converted to the protocol's units, graded by CTCAE v5.0),
a graded result reported as an adverse event in one step (or linked to one already reported),
sites' reference ranges, the laboratory eligibility limits checked, a lab system's CSV file
imported."""

from dataclasses import asdict
from datetime import date

from fastapi import APIRouter, Request, status

from cordtrial.trial.models import LabResult, Site
from cordtrial.trial.rules.labs import ANALYTES, TERMS, compatible_units
from cordtrial.trial.services.common import get_by_id
from cordtrial.trial.services.lab_import import import_lab_results
from cordtrial.trial.services.labs import (
    LabEntry,
    lab_analytes,
    lab_eligibility,
    link_lab_result_to_adverse_event,
    list_lab_results,
    list_reference_ranges,
    record_lab_panel,
    report_lab_as_adverse_event,
    set_reference_range,
)
from cordtrial.trial.services.reads import participant_record_for, visible_participant
from cordtrial.web.api.adverse_events import read_event
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import (
    AdverseEventRead,
    AnalyteRead,
    LabAdverseEventCreate,
    LabCriterionRead,
    LabImportRead,
    LabImportRowRead,
    LabLinkCreate,
    LabPanelCreate,
    LabResultRead,
    ReferenceRangeRead,
    ReferenceRangeUpdate,
)

router = APIRouter(tags=["laboratory"])


def _read(result: LabResult) -> LabResultRead:
    read = LabResultRead.model_validate(result)
    read.unit = ANALYTES[result.analyte].unit
    return read


@router.get("/lab-analytes", response_model=list[AnalyteRead])
def get_analytes(user: CurrentUser) -> list[AnalyteRead]:
    """The analytes recorded, their protocol units, the units accepted, the terms graded."""
    lab_analytes(user)
    return [
        AnalyteRead(
            analyte=a.code,
            label=a.label,
            unit=a.unit,
            units=compatible_units(a.code),
            ctcae_terms=[t.label for t in TERMS.values() if t.analyte == a.code],
        )
        for a in ANALYTES.values()
    ]


@router.get("/participants/{participant_id}/labs", response_model=list[LabResultRead])
def get_labs(participant_id: PathId, user: CurrentUser, session: SessionDep) -> list[LabResultRead]:
    """The participant's laboratory results, oldest first."""
    participant = visible_participant(session, user, participant_id)
    return [_read(r) for r in list_lab_results(session, user, participant.id)]


@router.post(
    "/participants/{participant_id}/labs",
    response_model=list[LabResultRead],
    status_code=status.HTTP_201_CREATED,
)
def post_lab_panel(
    participant_id: PathId, body: LabPanelCreate, user: CurrentUser, session: SessionDep
) -> list[LabResultRead]:
    """Enter a panel: each value in its UCUM unit, converted and graded; all or nothing (422
    naming the row, ``results[2].unit``)."""
    participant = visible_participant(session, user, participant_id)
    results = record_lab_panel(
        session, user, participant_id=participant.id, collected_on=body.collected_on,
        entries=[LabEntry(r.analyte, r.value, r.unit) for r in body.results],
    )  # fmt: skip
    return [_read(r) for r in results]


@router.post(
    "/labs/{lab_id}/adverse-event",
    response_model=AdverseEventRead,
    status_code=status.HTTP_201_CREATED,
)
def post_lab_adverse_event(
    lab_id: PathId, body: LabAdverseEventCreate, user: CurrentUser, session: SessionDep, now: Clock
) -> AdverseEventRead:
    """Report a graded result as an adverse event: term, grade and onset from the result,
    linked to it (422 for a result not graded or already reported)."""
    result = participant_record_for(session, user, "report_adverse_event", LabResult, lab_id)
    event = report_lab_as_adverse_event(session, user, lab_result_id=result.id, **body.model_dump())
    return read_event(session, event, now.date())


@router.get("/sites/{site_id}/reference-ranges", response_model=list[ReferenceRangeRead])
def get_reference_ranges(
    site_id: PathId, user: CurrentUser, session: SessionDep
) -> list[ReferenceRangeRead]:
    """The site's laboratory reference ranges (in the protocol's units)."""
    site = get_by_id(session, Site, site_id)
    return [
        ReferenceRangeRead.model_validate(r) for r in list_reference_ranges(session, user, site.id)
    ]


@router.put("/sites/{site_id}/reference-ranges/{analyte}", response_model=ReferenceRangeRead)
def put_reference_range(
    site_id: PathId,
    analyte: str,
    body: ReferenceRangeUpdate,
    user: CurrentUser,
    session: SessionDep,
) -> ReferenceRangeRead:
    """Set the site's reference range of an analyte (limits in ``unit``); a change needs a
    reason."""
    stored = set_reference_range(
        session, user, site_id=site_id, analyte=analyte, **body.model_dump()
    )
    return ReferenceRangeRead.model_validate(stored)


@router.get("/participants/{participant_id}/lab-eligibility", response_model=list[LabCriterionRead])
def get_lab_eligibility(
    participant_id: PathId,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
    on: date | None = None,
) -> list[LabCriterionRead]:
    """The trial's laboratory eligibility limits checked from the entered results in the
    screening window ending ``on`` (default today) or at the transplant, the earlier; nothing
    recorded (``POST .../eligibility`` records an assessment). Empty when the trial has none."""
    participant = visible_participant(session, user, participant_id)
    reasons = lab_eligibility(session, user, participant.id, on or now.date())
    return [
        LabCriterionRead(criterion=r.criterion, met=r.met, assessable=r.assessable, detail=r.detail)
        for r in reasons
    ]


@router.post("/labs/{lab_id}/link", response_model=LabResultRead)
def post_lab_link(
    lab_id: PathId, body: LabLinkCreate, user: CurrentUser, session: SessionDep
) -> LabResultRead:
    """Link a graded result to an adverse event of the same participant already reported for
    it (422 when the event's grade is below the result's, or the result is already linked)."""
    result = participant_record_for(session, user, "report_adverse_event", LabResult, lab_id)
    linked = link_lab_result_to_adverse_event(
        session, user, lab_result_id=result.id, adverse_event_id=body.adverse_event_id
    )
    return _read(linked)


@router.post(
    "/trials/{protocol_id}/labs/import",
    response_model=LabImportRead,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "A lab system's CSV file (docs/trial.md: study_id, collected_at, "
            "analyte, value, unit, optional reference_low, reference_high)",
        }
    },
)
async def post_lab_import(
    protocol_id: str, request: Request, user: CurrentUser, session: SessionDep
) -> LabImportRead:
    """Import a lab system's CSV file (the body, ``text/csv``): each refused row reported with
    its number, field, value and reason, the others recorded as panels by participant and
    sample time; rows already stored are not stored twice."""
    body = await request.body()
    report = import_lab_results(session, user, protocol_id=protocol_id, frame=body)
    return LabImportRead(
        rows=report.rows,
        inserted=report.inserted,
        already_present=report.already_present,
        panels=report.panels,
        rejected=report.rejected,
        errors=[LabImportRowRead(**asdict(e)) for e in report.errors],
        warnings=[LabImportRowRead(**asdict(e)) for e in report.warnings],
    )
