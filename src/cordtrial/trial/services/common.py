"""Helpers shared by the use cases: look-ups that name what is missing, optimistic locking."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.errors import ConflictError, NotFoundError
from cordtrial.trial.models import Participant, Record, Trial

__all__ = ["RowImportReport", "check_version", "get_by_id", "get_participant", "get_trial"]

R = TypeVar("R", bound=Record)


def get_by_id(session: Session, cls: type[R], record_id: int) -> R:
    """The record of ``cls`` with this id, or NotFoundError."""
    record = session.get(cls, record_id)
    if record is None:
        raise NotFoundError(cls.__tablename__, record_id)
    return record


def get_trial(session: Session, protocol_id: str) -> Trial:
    """The trial with this protocol id, or NotFoundError."""
    trial = session.scalars(select(Trial).where(Trial.protocol_id == protocol_id)).first()
    if trial is None:
        raise NotFoundError("trial", protocol_id)
    return trial


def get_participant(session: Session, protocol_id: str, study_id: str) -> Participant:
    """A participant by trial protocol id and study id, or NotFoundError."""
    participant = session.scalars(
        select(Participant)
        .join(Trial, Participant.trial_id == Trial.id)
        .where(Trial.protocol_id == protocol_id, Participant.study_id == study_id)
    ).first()
    if participant is None:
        raise NotFoundError("participant", f"{protocol_id}/{study_id}")
    return participant


def check_version(record: Record, expected_version: int | None) -> None:
    """Optimistic locking: refuse when the caller edited another version than the stored one."""
    if expected_version is not None and record.version != expected_version:
        raise ConflictError(record.__tablename__, record.id, expected_version, record.version)


def set_fields(record: Record, changes: dict[str, Any]) -> None:
    """Assign checked values to a record's attributes."""
    for name, value in changes.items():
        setattr(record, name, value)


@dataclass(slots=True)
class RowImportReport:
    """What a CSV import of records did (follow-up, immunosuppression, concomitant medication):
    rows imported, rows skipped (already stored), and each refused row (1-based row number of the
    file's data, study id, reason in words)."""

    table: str
    imported: int = 0
    skipped: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.table}: {self.imported} imported, {self.skipped} already stored, "
            f"{len(self.errors)} refused"
        )
