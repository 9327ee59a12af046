"""Use case: delete a record entered in error (the audit trail keeps every value it had)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import RuleViolationError
from cordtrial.trial.models import Participant, Record, User
from cordtrial.trial.services.common import check_version, get_by_id
from cordtrial.trial.services.reads import participant_for
from cordtrial.trial.services.users import require_permission

__all__ = ["delete_record"]


def delete_record(
    session: Session,
    kind: type[Record],
    *,
    user: User,
    record_id: int,
    reason: str,
    expected_version: int | None = None,
) -> None:
    """Delete a record entered in error; the reason is required and the trail keeps its values.

    Refused (RuleViolationError) when other records still refer to it; append-only records
    (custody events) are refused by the audit trail (AuditError). A participant's record is
    deleted by a user who may ``correct_data`` at the participant's site; any other record
    (sites, trials, lots ...) by one who may ``manage_trial``.
    """
    record = get_by_id(session, kind, record_id)
    participant_id = getattr(record, "participant_id", None)
    if isinstance(record, Participant):
        participant_id = record.id
    if participant_id is not None:
        participant_for(session, user, "correct_data", participant_id)
    else:
        require_permission(user, "manage_trial")
    check_version(record, expected_version)
    try:
        with unit_of_work(session, user.username, reason):
            session.delete(record)
    except IntegrityError as exc:
        raise RuleViolationError(
            "deletion", [f"{kind.__tablename__} {record_id} is still referred to by other records"]
        ) from exc
