"""Use case: delete a record entered in error (the audit trail keeps every value it had)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import RuleViolationError
from cordtrial.trial.models import Record
from cordtrial.trial.services.common import check_version, get_by_id

__all__ = ["delete_record"]


def delete_record(
    session: Session,
    kind: type[Record],
    *,
    actor: str,
    record_id: int,
    reason: str,
    expected_version: int | None = None,
) -> None:
    """Delete a record entered in error; the reason is required and the trail keeps its values.

    Refused (RuleViolationError) when other records still refer to it; append-only records
    (custody events) are refused by the audit trail (AuditError).
    """
    record = get_by_id(session, kind, record_id)
    check_version(record, expected_version)
    try:
        with unit_of_work(session, actor, reason):
            session.delete(record)
    except IntegrityError as exc:
        raise RuleViolationError(
            "deletion", [f"{kind.__tablename__} {record_id} is still referred to by other records"]
        ) from exc
