"""Monitor data queries: monitors raise and close them, the site answers; scoped to sites."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from cordtrial.trial.models import DataQuery
from cordtrial.trial.services.queries import (
    answer_query,
    close_query,
    list_queries,
    raise_query,
)
from cordtrial.trial.services.reads import (
    list_participants,
    visible_participant,
    visible_participant_record,
)
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import DataQueryAnswer, DataQueryClose, DataQueryCreate, DataQueryRead

router = APIRouter(tags=["queries"])
StatusFilter = Annotated[str | None, Query(description="open, answered or closed")]


@router.get("/trials/{protocol_id}/queries", response_model=list[DataQueryRead])
def get_trial_queries(
    protocol_id: str, user: CurrentUser, session: SessionDep, status: StatusFilter = None
) -> list[DataQueryRead]:
    """The trial's queries at the user's sites (optionally of one status)."""
    ids = [p.id for p in list_participants(session, user, protocol_id)]
    rows = list_queries(session, participant_ids=ids, status=status)
    return [DataQueryRead.model_validate(q) for q in rows]


@router.get("/participants/{participant_id}/queries", response_model=list[DataQueryRead])
def get_participant_queries(
    participant_id: PathId, user: CurrentUser, session: SessionDep, status: StatusFilter = None
) -> list[DataQueryRead]:
    """The participant's queries."""
    visible_participant(session, user, participant_id)
    rows = list_queries(session, participant_ids=[participant_id], status=status)
    return [DataQueryRead.model_validate(q) for q in rows]


@router.post(
    "/participants/{participant_id}/queries",
    response_model=DataQueryRead,
    status_code=status.HTTP_201_CREATED,
)
def post_query(
    participant_id: PathId,
    body: DataQueryCreate,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
) -> DataQueryRead:
    """Raise a query about a record of the participant (or one field of it)."""
    query = raise_query(
        session, user=user, participant_id=participant_id, entity=body.entity,
        entity_id=body.entity_id, field=body.field, text=body.text, now=now,
    )  # fmt: skip
    return DataQueryRead.model_validate(query)


@router.get("/queries/{query_id}", response_model=DataQueryRead)
def get_query(query_id: PathId, user: CurrentUser, session: SessionDep) -> DataQueryRead:
    """A query."""
    query = visible_participant_record(session, user, DataQuery, query_id)
    return DataQueryRead.model_validate(query)


@router.post("/queries/{query_id}/answer", response_model=DataQueryRead)
def post_answer(
    query_id: PathId, body: DataQueryAnswer, user: CurrentUser, session: SessionDep, now: Clock
) -> DataQueryRead:
    """Answer an open query (a data correction is made on the record itself, with a reason)."""
    query = answer_query(session, user=user, query_id=query_id, answer=body.answer,
                         now=now, expected_version=body.version)  # fmt: skip
    return DataQueryRead.model_validate(query)


@router.post("/queries/{query_id}/close", response_model=DataQueryRead)
def post_close(
    query_id: PathId, body: DataQueryClose, user: CurrentUser, session: SessionDep, now: Clock
) -> DataQueryRead:
    """Close an answered query, or withdraw an open one."""
    query = close_query(session, user=user, query_id=query_id, note=body.note,
                        now=now, expected_version=body.version)  # fmt: skip
    return DataQueryRead.model_validate(query)
