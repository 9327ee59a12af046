"""Laboratory results: panels entered (converted to the protocol's units, graded by CTCAE v5.0),
a graded result reported as an adverse event in one step, sites' reference ranges."""

from fastapi import APIRouter, status

from cordtrial.trial.models import LabResult, Site
from cordtrial.trial.rules.labs import ANALYTES, TERMS, compatible_units
from cordtrial.trial.services.common import get_by_id
from cordtrial.trial.services.labs import (
    LabEntry,
    lab_analytes,
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
