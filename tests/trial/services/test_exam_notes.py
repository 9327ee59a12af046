"""The store requires a reason for every flagged value (ISNCSCI 2019), on entry and on
correction: services.exams.record_exam / correct_exam, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import AuditEntry, IsncsciExam, Participant
from cordtrial.trial.services.exams import correct_exam, record_exam

from ..conftest import complete_c5_cells

REASON = "humerus fracture, arm in a cast"


def _record(session: Session, participant: Participant, notes: dict | None = None,
            **cells: str | None) -> IsncsciExam:  # fmt: skip
    return record_exam(
        session, user=acting_as("examiner"), participant_id=participant.id,
        examined_on=date(2026, 1, 19),
        examiner="Dr A", cells={**complete_c5_cells(), **cells}, visit_name="screening",
        notes=notes,
    )  # fmt: skip


def test_a_flagged_value_without_a_reason_is_refused_and_nothing_stored(
    session: Session, participant: Participant
) -> None:
    with pytest.raises(InvalidValueError, match=r"notes\.flag_reasons\.r_c6_motor") as err:
        _record(session, participant, {"comments": "seen in bed"}, r_c6_motor="2*")
    assert err.value.field == "notes.flag_reasons.r_c6_motor"
    session.rollback()
    assert session.scalars(select(IsncsciExam)).first() is None


def test_a_flagged_value_with_its_reason_is_stored_with_the_notes(
    session: Session, participant: Participant
) -> None:
    notes = {"comments": " seen in bed ", "flag_reasons": {"r_c6_motor": REASON}}
    exam = _record(session, participant, notes, r_c6_motor="2*")
    session.expire_all()
    stored = session.get(IsncsciExam, exam.id)
    assert stored is not None
    assert stored.notes == {"comments": "seen in bed", "flag_reasons": {"r_c6_motor": REASON}}
    assert stored.cells["r_c6_motor"] == "2*"


def test_a_reason_for_a_value_not_flagged_is_refused(
    session: Session, participant: Participant
) -> None:
    with pytest.raises(InvalidValueError, match=r"r_c6_motor: 'cast' is given for"):
        _record(session, participant, {"flag_reasons": {"r_c6_motor": "cast"}})


def test_a_correction_that_flags_a_value_needs_its_reason(
    session: Session, participant: Participant
) -> None:
    exam = _record(session, participant)
    with pytest.raises(InvalidValueError, match=r"notes\.flag_reasons\.l_c7_motor"):
        correct_exam(session, user=acting_as("examiner"), exam_id=exam.id, reason="worksheet",
                     cells={"l_c7_motor": "1*"}, expected_version=1)  # fmt: skip
    session.rollback()
    assert session.get(IsncsciExam, exam.id).cells["l_c7_motor"] != "1*"  # type: ignore[union-attr]
    corrected = correct_exam(
        session, user=acting_as("examiner"), exam_id=exam.id, reason="worksheet",
        cells={"l_c7_motor": "1*"}, notes={"flag_reasons": {"l_c7_motor": REASON}},
        expected_version=1,
    )  # fmt: skip
    assert corrected.notes == {"flag_reasons": {"l_c7_motor": REASON}}
    audited = session.scalars(
        select(AuditEntry.field).where(
            AuditEntry.entity == "isncsci_exam", AuditEntry.reason == "worksheet"
        )
    ).all()
    assert "notes" in audited
    assert verify_audit(session).ok


def test_unflagging_a_value_drops_its_reason_and_keeps_the_comments(
    session: Session, participant: Participant
) -> None:
    notes = {"comments": "cooperative", "flag_reasons": {"r_c6_motor": REASON}}
    exam = _record(session, participant, notes, r_c6_motor="2*")
    corrected = correct_exam(session, user=acting_as("examiner"), exam_id=exam.id, reason="typo",
                             cells={"r_c6_motor": "2"}, expected_version=1)  # fmt: skip
    assert corrected.notes == {"comments": "cooperative"}


def test_other_corrections_keep_the_stored_reasons(
    session: Session, participant: Participant
) -> None:
    notes = {"flag_reasons": {"r_c6_motor": REASON}}
    exam = _record(session, participant, notes, r_c6_motor="2*")
    corrected = correct_exam(session, user=acting_as("examiner"), exam_id=exam.id, reason="name",
                             examiner="Dr B", expected_version=1)  # fmt: skip
    assert corrected.notes == notes and corrected.examiner == "Dr B"
