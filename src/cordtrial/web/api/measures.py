"""Functional measures: SCIM III, WISCI II, 10-metre walk, 6-minute walk."""

from typing import Any, Literal

from fastapi import APIRouter, status

from cordtrial.trial.services.measures import (
    Measure,
    correct_measure,
    record_scim,
    record_six_minute_walk,
    record_ten_metre_walk,
    record_wisci,
)
from cordtrial.trial.services.reads import MEASURE_KINDS, list_measures
from cordtrial.web.deps import CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import (
    MeasureRead,
    MeasureUpdate,
    ScimCreate,
    SixMinuteWalkCreate,
    TenMetreWalkCreate,
    WisciCreate,
)

router = APIRouter(tags=["measures"])

Kind = Literal["scim", "wisci", "ten_metre_walk", "six_minute_walk"]
_COMMON = {"id", "version", "participant_id", "visit_id", "assessed_on", "assessor"}


def _read(kind: str, measure: Measure) -> MeasureRead:
    values: dict[str, Any] = {
        c.key: getattr(measure, c.key) for c in measure.__table__.columns if c.key not in _COMMON
    }
    return MeasureRead(
        id=measure.id,
        version=measure.version,
        kind=kind,
        participant_id=measure.participant_id,
        visit_id=measure.visit_id,
        assessed_on=measure.assessed_on,
        assessor=measure.assessor,
        values=values,
    )


@router.get("/participants/{participant_id}/measures/{kind}", response_model=list[MeasureRead])
def get_measures(
    participant_id: PathId, kind: Kind, user: CurrentUser, session: SessionDep
) -> list[MeasureRead]:
    """The participant's measures of one kind."""
    return [_read(kind, m) for m in list_measures(session, user, participant_id, kind)]


@router.post(
    "/participants/{participant_id}/measures/scim",
    response_model=MeasureRead,
    status_code=status.HTTP_201_CREATED,
)
def post_scim(
    participant_id: PathId, body: ScimCreate, user: CurrentUser, session: SessionDep
) -> MeasureRead:
    """Record a SCIM III assessment (the total is computed)."""
    measure = record_scim(session, user=user, participant_id=participant_id, **body.model_dump())
    return _read("scim", measure)


@router.post(
    "/participants/{participant_id}/measures/wisci",
    response_model=MeasureRead,
    status_code=status.HTTP_201_CREATED,
)
def post_wisci(
    participant_id: PathId, body: WisciCreate, user: CurrentUser, session: SessionDep
) -> MeasureRead:
    """Record a WISCI II level."""
    measure = record_wisci(session, user=user, participant_id=participant_id, **body.model_dump())
    return _read("wisci", measure)


@router.post(
    "/participants/{participant_id}/measures/ten_metre_walk",
    response_model=MeasureRead,
    status_code=status.HTTP_201_CREATED,
)
def post_ten_metre_walk(
    participant_id: PathId, body: TenMetreWalkCreate, user: CurrentUser, session: SessionDep
) -> MeasureRead:
    """Record a 10-metre walk test."""
    measure = record_ten_metre_walk(
        session, user=user, participant_id=participant_id, **body.model_dump()
    )
    return _read("ten_metre_walk", measure)


@router.post(
    "/participants/{participant_id}/measures/six_minute_walk",
    response_model=MeasureRead,
    status_code=status.HTTP_201_CREATED,
)
def post_six_minute_walk(
    participant_id: PathId, body: SixMinuteWalkCreate, user: CurrentUser, session: SessionDep
) -> MeasureRead:
    """Record a 6-minute walk test."""
    measure = record_six_minute_walk(
        session, user=user, participant_id=participant_id, **body.model_dump()
    )
    return _read("six_minute_walk", measure)


@router.patch("/measures/{kind}/{measure_id}", response_model=MeasureRead)
def patch_measure(
    kind: Kind, measure_id: PathId, body: MeasureUpdate, user: CurrentUser, session: SessionDep
) -> MeasureRead:
    """Correct a measure's values (re-validated as a whole; version and reason required)."""
    cls: Any = MEASURE_KINDS[kind]
    corrected = correct_measure(
        session,
        cls,
        user=user,
        measure_id=measure_id,
        reason=body.reason,
        expected_version=body.version,
        **body.values,
    )
    return _read(kind, corrected)
