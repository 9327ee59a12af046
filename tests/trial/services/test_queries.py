"""Monitor data queries: raise, answer, close; every step audited (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial import ConflictError, InvalidValueError, NotFoundError, RuleViolationError
from cordtrial.trial.models import AuditEntry, IsncsciExam, Participant
from cordtrial.trial.services.exams import record_exam
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.queries import answer_query, close_query, list_queries, raise_query

from ..conftest import INJURY, PROTOCOL, complete_c5_cells

NOW = datetime(2026, 2, 12, 10, 0, tzinfo=UTC)


@pytest.fixture
def exam(session: Session, participant: Participant) -> IsncsciExam:
    return record_exam(session, user=acting_as("c"), participant_id=participant.id,
                       examined_on=date(2026, 1, 20), examiner="Dr Exam",
                       cells=complete_c5_cells())  # fmt: skip


def test_query_is_raised_answered_and_closed_with_audit(
    session: Session, participant: Participant, exam: IsncsciExam
) -> None:
    query = raise_query(session, user=acting_as("mon"), participant_id=participant.id,
                        entity="isncsci_exam", entity_id=exam.id, field="cells.r_c5_motor",
                        text="Source document says 4", now=NOW)  # fmt: skip
    assert (query.status, query.raised_by) == ("open", "mon")
    answer_query(session, user=acting_as("coord"), query_id=query.id, answer="Corrected", now=NOW,
                 expected_version=1)  # fmt: skip
    assert (query.status, query.answered_by) == ("answered", "coord")
    close_query(session, user=acting_as("mon"), query_id=query.id, now=NOW, note="verified")
    assert (query.status, query.closed_by, query.close_note) == ("closed", "mon", "verified")
    trail = session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "data_query", AuditEntry.field == "status")
    ).all()
    assert [(e.new_value, e.actor, e.reason) for e in trail] == [
        ('"open"', "mon", None),
        ('"answered"', "coord", "query answered"),
        ('"closed"', "mon", "query closed"),
    ]


def test_closed_query_cannot_be_answered_or_closed_again(
    session: Session, participant: Participant, exam: IsncsciExam
) -> None:
    query = raise_query(session, user=acting_as("mon"), participant_id=participant.id,
                        entity="isncsci_exam", entity_id=exam.id, text="?", now=NOW)  # fmt: skip
    close_query(session, user=acting_as("mon"), query_id=query.id, now=NOW)
    with pytest.raises(RuleViolationError, match="closed"):
        answer_query(session, user=acting_as("c"), query_id=query.id, answer="a", now=NOW)
    with pytest.raises(RuleViolationError, match="already closed"):
        close_query(session, user=acting_as("mon"), query_id=query.id, now=NOW)


def test_answer_with_a_stale_version_conflicts(
    session: Session, participant: Participant, exam: IsncsciExam
) -> None:
    query = raise_query(
        session, user=acting_as("mon"), participant_id=participant.id, entity="participant",
        entity_id=participant.id, text="?", now=NOW,
    )  # fmt: skip
    with pytest.raises(ConflictError):
        answer_query(session, user=acting_as("c"), query_id=query.id, answer="a", now=NOW,
                     expected_version=7)  # fmt: skip


def test_query_must_name_a_record_of_the_participant(
    session: Session, participant: Participant, exam: IsncsciExam
) -> None:
    other = enroll_participant(session, user=acting_as("c"), protocol_id=PROTOCOL, site_code="S01",
                               study_id="P002", injury_date=INJURY, injury_level="C5",
                               injury_mechanism="fall", age_at_injury=40, sex="F")  # fmt: skip
    with pytest.raises(NotFoundError):
        raise_query(session, user=acting_as("m"), participant_id=other.id, entity="isncsci_exam",
                    entity_id=exam.id, text="?", now=NOW)  # fmt: skip
    with pytest.raises(InvalidValueError, match="entity"):
        raise_query(session, user=acting_as("m"), participant_id=participant.id, entity="app_user",
                    entity_id=1, text="?", now=NOW)  # fmt: skip
    with pytest.raises(InvalidValueError, match="text"):
        raise_query(session, user=acting_as("m"), participant_id=participant.id,
                    entity="participant",
                    entity_id=participant.id, text="  ", now=NOW)  # fmt: skip
    assert list_queries(session, participant_ids=[participant.id, other.id]) == []
