"""MRI surveillance: examinations, blinded central reads, adjudication, the readers' worklist,
reader agreement and every participant's surveillance status (issue 14).

Blinding is the use cases' (:mod:`cordtrial.trial.services.imaging`): a reader sees only the
MRIs and reads assigned to them, and the other reads of an MRI once both central reads are
locked; an MRI not assigned to them is 404, like one that does not exist.
"""

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from cordtrial.trial.models import MriRead
from cordtrial.trial.rules.imaging import ReadFacts
from cordtrial.trial.services.imaging import (
    MriView,
    assign_adjudicator,
    assign_readers,
    list_mris,
    record_mri,
    record_site_read,
    submit_read,
    surveillance,
    visible_reads,
    worklist,
)
from cordtrial.trial.services.reads import list_participants
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep

__all__ = [
    "MriCreate",
    "MriExamRead",
    "MriReadCreate",
    "MriReadRead",
    "ReaderAssignment",
    "SurveillanceRead",
    "WorkItemRead",
    "router",
]

router = APIRouter(tags=["imaging"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MriCreate(_In):
    acquired_on: date
    imaging_site: str
    field_strength_t: float = Field(description="Scanner field strength in tesla")
    sequences: list[str] = Field(description="The sequences acquired, e.g. sagittal T2")
    study_instance_uid: str | None = Field(None, description="DICOM Study Instance UID")


class MriExamRead(BaseModel):
    id: int
    participant_id: int
    acquired_on: date
    days_since_transplant: int | None
    imaging_site: str
    field_strength_t: float
    sequences: list[str]
    study_instance_uid: str | None
    source: str
    reading: str = Field(description="Where the reading stands, in words")
    impression: str | None = Field(description="The agreed or adjudicated impression, once final")


class MriReadCreate(_In):
    """A structured read (lengths in mm, volume in mm3; see cordtrial.trial.rules.imaging)."""

    impression: str = Field(description="stable, changed or suspicious_for_tumour")
    new_mass: bool
    contrast_enhancement: bool
    mass_effect: bool
    haemorrhage: bool
    cord_compression: bool
    oedema: bool
    syrinx_present: bool
    syrinx_length_mm: float | None = None
    syrinx_change: str | None = Field(None, description="new, larger, unchanged, smaller, resolved")
    graft_length_mm: float | None = None
    graft_volume_mm3: float | None = None
    basic_score: int | None = Field(None, description="BASIC score 0-4 (Talbott 2015)")
    finding: str = ""

    def facts(self) -> ReadFacts:
        return ReadFacts(**self.model_dump())


class MriReadRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    mri_exam_id: int
    kind: str
    reader: str
    status: str
    locked_at: datetime | None
    impression: str | None
    new_mass: bool | None
    contrast_enhancement: bool | None
    mass_effect: bool | None
    haemorrhage: bool | None
    cord_compression: bool | None
    oedema: bool | None
    syrinx_present: bool | None
    syrinx_length_mm: float | None
    syrinx_change: str | None
    graft_length_mm: float | None
    graft_volume_mm3: float | None
    basic_score: int | None
    finding: str | None
    adverse_event_id: int | None


class ReaderAssignment(_In):
    readers: list[str] = Field(description="The two central readers' user names")


class AdjudicatorAssignment(_In):
    reader: str = Field(description="The third reader's user name")


class WorkItemRead(BaseModel):
    read: MriReadRead
    study_id: str
    acquired_on: date
    days_since_transplant: int | None
    sequences: list[str]
    central_reads: list[MriReadRead] = Field(description="For an adjudication: the two reads")


class SurveillanceRead(BaseModel):
    participant_id: int
    study_id: str
    last_mri: date | None
    next_mri: str | None
    next_due: date | None
    window_closes: date | None
    state: str
    overdue: bool


def _mri(view: MriView) -> MriExamRead:
    m = view.mri
    return MriExamRead(
        id=m.id, participant_id=m.participant_id, acquired_on=m.acquired_on,
        days_since_transplant=view.days_since_transplant, imaging_site=m.imaging_site,
        field_strength_t=m.field_strength_t, sequences=list(m.sequences),
        study_instance_uid=m.study_instance_uid, source=m.source, reading=view.state.label,
        impression=view.state.impression,
    )  # fmt: skip


def _read(read: MriRead) -> MriReadRead:
    return MriReadRead.model_validate(read)


@router.get("/participants/{participant_id}/mris", response_model=list[MriExamRead])
def get_mris(participant_id: PathId, user: CurrentUser, session: SessionDep) -> list[MriExamRead]:
    """The participant's MRIs with days since transplant and where their reading stands."""
    return [_mri(v) for v in list_mris(session, user, participant_id)]


@router.post(
    "/participants/{participant_id}/mris",
    response_model=MriExamRead,
    status_code=status.HTTP_201_CREATED,
)
def post_mri(
    participant_id: PathId, body: MriCreate, user: CurrentUser, session: SessionDep
) -> MriExamRead:
    """Record an MRI examination (not before the first cell administration)."""
    mri = record_mri(session, user, participant_id=participant_id, **body.model_dump())
    view = next(v for v in list_mris(session, user, participant_id) if v.mri.id == mri.id)
    return _mri(view)


@router.get("/mris/{mri_id}/reads", response_model=list[MriReadRead])
def get_reads(mri_id: PathId, user: CurrentUser, session: SessionDep) -> list[MriReadRead]:
    """The reads of an MRI the user may see: a central reader sees their own, and the others
    only once both central reads are locked."""
    return [_read(r) for r in visible_reads(session, user, mri_id)]


@router.post(
    "/mris/{mri_id}/readers", response_model=list[MriReadRead], status_code=status.HTTP_201_CREATED
)
def post_readers(
    mri_id: PathId, body: ReaderAssignment, user: CurrentUser, session: SessionDep
) -> list[MriReadRead]:
    """Assign the two blinded central readers (users with the role reader)."""
    return [_read(r) for r in assign_readers(session, user, mri_id=mri_id, readers=body.readers)]


@router.post(
    "/mris/{mri_id}/adjudicator", response_model=MriReadRead, status_code=status.HTTP_201_CREATED
)
def post_adjudicator(
    mri_id: PathId, body: AdjudicatorAssignment, user: CurrentUser, session: SessionDep
) -> MriReadRead:
    """Assign a third reader when the two central reads disagree on the impression or a
    tumour-relevant item (422 otherwise)."""
    return _read(assign_adjudicator(session, user, mri_id=mri_id, reader=body.reader))


@router.post(
    "/mris/{mri_id}/site-read", response_model=MriReadRead, status_code=status.HTTP_201_CREATED
)
def post_site_read(
    mri_id: PathId, body: MriReadCreate, user: CurrentUser, session: SessionDep, now: Clock
) -> MriReadRead:
    """Record the site's read (locked at once; hidden from central readers until theirs are)."""
    return _read(record_site_read(session, user, mri_id=mri_id, facts=body.facts(), now=now))


@router.post("/reads/{read_id}", response_model=MriReadRead)
def post_read(
    read_id: PathId, body: MriReadCreate, user: CurrentUser, session: SessionDep, now: Clock
) -> MriReadRead:
    """Submit and lock a read assigned to oneself. A read suspicious for tumour or with a new
    mass opens an adverse event of special interest (tumour finding), linked to the read."""
    return _read(submit_read(session, user, read_id=read_id, facts=body.facts(), now=now))


@router.get("/imaging/worklist", response_model=list[WorkItemRead])
def get_worklist(user: CurrentUser, session: SessionDep) -> list[WorkItemRead]:
    """The reads assigned to the user and not yet locked (for an adjudication, with the two
    central reads)."""
    return [
        WorkItemRead(
            read=_read(i.read),
            study_id=i.study_id,
            acquired_on=i.mri.acquired_on,
            days_since_transplant=i.days_since_transplant,
            sequences=list(i.mri.sequences),
            central_reads=[_read(r) for r in i.central_reads],
        )
        for i in worklist(session, user)
    ]


@router.get("/trials/{protocol_id}/imaging/surveillance", response_model=list[SurveillanceRead])
def get_surveillance(
    protocol_id: str, user: CurrentUser, session: SessionDep, now: Clock
) -> list[SurveillanceRead]:
    """Every participant's MRI surveillance: last MRI, next protocol MRI due, overdue."""
    people = list_participants(session, user, protocol_id)
    states = surveillance(session, user, people, now.date())
    return [
        SurveillanceRead(
            participant_id=p.id,
            study_id=p.study_id,
            last_mri=states[p.id].last_mri,
            next_mri=states[p.id].next_name,
            next_due=states[p.id].next_due,
            window_closes=states[p.id].window_closes,
            state=states[p.id].state,
            overdue=states[p.id].overdue,
        )
        for p in people
    ]


@router.get("/trials/{protocol_id}/imaging/agreement")
def get_agreement(protocol_id: str, user: CurrentUser, session: SessionDep) -> list[dict[str, Any]]:
    """Agreement of the two central readers per item: Cohen's kappa with its 95% CI
    (Fleiss-Cohen-Everitt 1969 variance), over the MRIs both have read."""
    from cordtrial.analysis.imaging import reader_agreement
    from cordtrial.analysis.store import load_trial

    data = load_trial(session, protocol_id, user=user)
    if not len(data.mri_reads):
        return []
    table = reader_agreement(data.mri_reads)
    return [
        {str(k): (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        for row in table.to_dict(orient="records")
    ]
