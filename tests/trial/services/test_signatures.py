"""Exam signatures on each database: re-entered password, bound to the exam's content, void
after a change."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import unit_of_work, verify_audit
from cordtrial.trial.errors import (
    AccessDeniedError,
    AuditError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RuleViolationError,
)
from cordtrial.trial.models import ExamSignature, IsncsciExam, Participant, User
from cordtrial.trial.rules.signatures import (
    DEFAULT_MEANING,
    exam_content_hash,
    is_signature_void,
    signature_manifestation,
)
from cordtrial.trial.services.exams import correct_exam, record_exam
from cordtrial.trial.services.signatures import exam_signatures, sign_exam
from cordtrial.trial.services.users import add_user, update_user

from ..conftest import complete_c5_cells

PASSWORD = "a long enough passphrase"
NOW = datetime(2026, 2, 12, 10, 0, tzinfo=UTC)


@pytest.fixture
def investigator(session: Session, participant: Participant) -> User:
    return add_user(
        session, user=acting_as(), username="ivan", password=PASSWORD, role="investigator",
        site_ids=[participant.site_id], full_name="Ivan Petrov",
    )  # fmt: skip


@pytest.fixture
def exam(session: Session, participant: Participant) -> IsncsciExam:
    return record_exam(
        session, user=acting_as("c"), participant_id=participant.id, examined_on=date(2026, 1, 20),
        examiner="Dr Exam", cells=complete_c5_cells(), visit_name="screening",
    )  # fmt: skip


def _account(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


def _sign(session: Session, exam: IsncsciExam, password: str = PASSWORD) -> ExamSignature:
    ivan = _account(session, "ivan")
    return sign_exam(session, user=ivan, password=password, exam_id=exam.id, now=NOW)


def test_content_hash_changes_with_any_entered_value() -> None:
    base = {
        "exam_id": 1, "participant_id": 2, "visit_id": None, "examined_on": date(2026, 1, 1),
        "examiner": "A", "cells": {"r_c5_motor": "5"},
    }  # fmt: skip
    first = exam_content_hash(**base)  # type: ignore[arg-type]
    assert first == exam_content_hash(**base)  # type: ignore[arg-type]
    for name, value in [("cells", {"r_c5_motor": "4"}), ("examiner", "B"), ("visit_id", 3)]:
        changed = exam_content_hash(**{**base, name: value})  # type: ignore[arg-type]
        assert is_signature_void(first, changed)
    assert exam_content_hash(**{**base, "cells": {"r_c5_motor": None}}) != first  # type: ignore[arg-type]


def test_signature_binds_to_the_exam_version(
    session: Session, investigator: User, exam: IsncsciExam
) -> None:
    signature = _sign(session, exam)
    assert (signature.signer, signature.exam_version) == ("ivan", exam.version)
    (status,) = exam_signatures(session, exam.id)
    assert status.signature.id == signature.id and not status.void
    assert verify_audit(session).ok


def test_signature_is_void_after_the_data_change(
    session: Session, investigator: User, exam: IsncsciExam
) -> None:
    _sign(session, exam)
    correct_exam(
        session, user=acting_as("c"), exam_id=exam.id, reason="transcription error",
        cells={"r_c6_lt": "1"},
    )  # fmt: skip
    (status,) = exam_signatures(session, exam.id)
    assert status.void
    _sign(session, exam)
    assert [s.void for s in exam_signatures(session, exam.id)] == [True, False]


def test_signing_needs_the_password_and_counts_failures(
    session: Session, investigator: User, exam: IsncsciExam
) -> None:
    with pytest.raises(AuthenticationError):
        _sign(session, exam, password="not my passphrase")
    session.expire_all()
    assert session.get(User, investigator.id).failed_logins == 1  # type: ignore[union-attr]
    assert exam_signatures(session, exam.id) == []


def test_only_investigators_at_the_site_sign(
    session: Session, participant: Participant, exam: IsncsciExam
) -> None:
    add_user(session, user=acting_as(), username="cora", password=PASSWORD, role="coordinator",
             site_ids=[participant.site_id])  # fmt: skip
    cora = _account(session, "cora")
    with pytest.raises(AccessDeniedError, match="cora may not sign"):
        sign_exam(session, user=cora, password=PASSWORD, exam_id=exam.id, now=NOW)
    add_user(session, user=acting_as(), username="ines", password=PASSWORD, role="investigator")
    ines = _account(session, "ines")
    # an exam at a site the investigator may not see is not found, as if it did not exist
    with pytest.raises(NotFoundError, match="isncsci_exam"):
        sign_exam(session, user=ines, password=PASSWORD, exam_id=exam.id, now=NOW)


def test_signature_over_another_version_is_refused(
    session: Session, investigator: User, exam: IsncsciExam
) -> None:
    with pytest.raises(ConflictError, match="current version is 1"):
        sign_exam(session, user=investigator, password=PASSWORD, exam_id=exam.id, now=NOW,
                  expected_version=7)  # fmt: skip


def test_incomplete_exam_cannot_be_signed(
    session: Session, investigator: User, participant: Participant
) -> None:
    exam = record_exam(
        session, user=acting_as("c"), participant_id=participant.id, examined_on=date(2026, 1, 20),
        examiner="Dr Exam", cells={"r_c5_motor": "5"},
    )  # fmt: skip
    with pytest.raises(RuleViolationError, match="not complete"):
        _sign(session, exam)


def test_signatures_are_append_only(
    session: Session, investigator: User, exam: IsncsciExam
) -> None:
    signature = _sign(session, exam)
    with pytest.raises(AuditError, match="append-only"), unit_of_work(session, "x", "why"):
        signature.meaning = "something else"
    with pytest.raises(Exception, match="append-only"), session.begin():
        session.execute(text("UPDATE exam_signature SET signer = 'x'"))
    assert session.scalars(select(ExamSignature.signer)).all() == ["ivan"]


def test_signature_shows_printed_name_date_time_and_meaning(
    session: Session, investigator: User, exam: IsncsciExam
) -> None:
    """21 CFR 11.50(a): the printed name of the signer, the date and time, and the meaning;
    the name is kept as signed, whatever the user's name becomes."""
    signature = _sign(session, exam)
    update_user(session, user=acting_as(), user_id=investigator.id, full_name="Ivan P.", reason="x")
    session.expire_all()
    shown = signature_manifestation(
        signer_name=signature.signer_name, signer=signature.signer,
        signed_at=signature.signed_at, meaning=signature.meaning,
    )  # fmt: skip
    assert shown == (
        f"Signed by Ivan Petrov (ivan) on 2026-02-12 at 10:00 UTC: “{DEFAULT_MEANING}”"
    )


def test_a_user_signs_a_given_exam_version_once(
    session: Session, investigator: User, exam: IsncsciExam
) -> None:
    """Issue 16: the same investigator signed version 2 twice, both "valid"."""
    _sign(session, exam)
    with pytest.raises(RuleViolationError, match="ivan already signed version 1 of exam"):
        _sign(session, exam)
    assert len(exam_signatures(session, exam.id)) == 1
