"""Use cases: monitors raise data queries on a participant's record, the site answers, the
monitor closes them (rules in :mod:`cordtrial.trial.rules.queries`). Every step is audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import NotFoundError
from cordtrial.trial.models import Base, DataQuery, Record, User
from cordtrial.trial.rules.checks import check_choice, check_moment, check_text
from cordtrial.trial.rules.queries import (
    QUERY_ENTITIES,
    QUERY_STATUSES,
    check_can_answer,
    check_can_close,
)
from cordtrial.trial.services.common import check_version, get_by_id
from cordtrial.trial.services.reads import participant_for, participant_record_for

__all__ = ["answer_query", "close_query", "list_queries", "raise_query"]


def _record_class(entity: str) -> type[Record]:
    for mapper in Base.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == entity:
            return mapper.class_
    raise NotFoundError("entity", entity)  # unreachable for QUERY_ENTITIES


def _owner(session: Session, entity: str, entity_id: int) -> int | None:
    record = session.get(_record_class(entity), entity_id)
    if record is None:
        return None
    return record.id if entity == "participant" else getattr(record, "participant_id", None)


def raise_query(
    session: Session,
    *,
    user: User,
    participant_id: int,
    entity: str,
    entity_id: int,
    text: str,
    now: datetime,
    field: str = "",
) -> DataQuery:
    """Raise a query about a record of the participant (``field`` empty: the whole record).

    Raises
    ------
    InvalidValueError
        For an entity that cannot be queried, an empty text or a naive ``now``.
    NotFoundError
        When the record does not exist or belongs to another participant (or the participant
        is at a site ``user`` may not see).
    AccessDeniedError
        When ``user`` may not raise queries.
    """
    participant = participant_for(session, user, "raise_query", participant_id)
    check_choice("entity", entity, QUERY_ENTITIES)
    text = check_text("text", text, max_length=4000)
    field = check_text("field", field, max_length=100, required=False)
    check_moment("now", now)
    if _owner(session, entity, entity_id) != participant.id:
        raise NotFoundError(entity, entity_id)
    with unit_of_work(session, user.username):
        query = DataQuery(
            participant_id=participant.id, entity=entity, entity_id=entity_id, field=field,
            text=text, status="open", raised_by=user.username, raised_at=now,
        )  # fmt: skip
        session.add(query)
    return query


def answer_query(
    session: Session,
    *,
    user: User,
    query_id: int,
    answer: str,
    now: datetime,
    expected_version: int | None = None,
) -> DataQuery:
    """Answer an open query (a correction of the data itself is a separate, audited change)."""
    participant_record_for(session, user, "answer_query", DataQuery, query_id)
    answer = check_text("answer", answer, max_length=4000)
    check_moment("now", now)
    query = get_by_id(session, DataQuery, query_id)
    check_version(query, expected_version)
    check_can_answer(query.status)
    with unit_of_work(session, user.username, "query answered"):
        query.answer, query.answered_by, query.answered_at = answer, user.username, now
        query.status = "answered"
    return query


def close_query(
    session: Session,
    *,
    user: User,
    query_id: int,
    now: datetime,
    note: str | None = None,
    expected_version: int | None = None,
) -> DataQuery:
    """Close an answered query (or withdraw an open one), with an optional note."""
    participant_record_for(session, user, "close_query", DataQuery, query_id)
    if note is not None:
        note = check_text("note", note, max_length=4000, required=False) or None
    check_moment("now", now)
    query = get_by_id(session, DataQuery, query_id)
    check_version(query, expected_version)
    check_can_close(query.status)
    reason = "query closed" if query.status == "answered" else "query withdrawn"
    with unit_of_work(session, user.username, reason):
        query.status, query.closed_by, query.closed_at, query.close_note = (
            "closed", user.username, now, note,
        )  # fmt: skip
    return query


def list_queries(
    session: Session, *, participant_ids: Sequence[int], status: str | None = None
) -> Sequence[DataQuery]:
    """The queries of these participants (optionally of one status), oldest first."""
    if status is not None:
        check_choice("status", status, QUERY_STATUSES)
    query = select(DataQuery).where(DataQuery.participant_id.in_(list(participant_ids)))
    if status is not None:
        query = query.where(DataQuery.status == status)
    return session.scalars(query.order_by(DataQuery.id)).all()
