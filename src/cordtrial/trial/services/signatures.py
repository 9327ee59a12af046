"""Use cases: an investigator signs an exam by re-entering the password; signatures and whether
each is still valid (void once the exam's data change)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import RuleViolationError
from cordtrial.trial.models import ExamSignature, IsncsciExam, Participant, User
from cordtrial.trial.rules.checks import check_moment, check_text
from cordtrial.trial.rules.signatures import (
    DEFAULT_MEANING,
    exam_content_hash,
    is_signature_void,
)
from cordtrial.trial.services.common import check_version, get_by_id
from cordtrial.trial.services.reads import participant_record_for
from cordtrial.trial.services.users import authenticate, require_permission

__all__ = [
    "SignatureStatus",
    "current_exam_hash",
    "exam_signatures",
    "sign_exam",
    "signature_statuses",
]


def current_exam_hash(exam: IsncsciExam) -> str:
    """The content hash of an exam as it is stored now."""
    return exam_content_hash(
        exam_id=exam.id,
        participant_id=exam.participant_id,
        visit_id=exam.visit_id,
        examined_on=exam.examined_on,
        examiner=exam.examiner,
        cells=exam.cells,
        notes=exam.notes,
    )


def sign_exam(
    session: Session,
    *,
    user: User,
    password: str,
    exam_id: int,
    now: datetime,
    meaning: str = DEFAULT_MEANING,
    expected_version: int | None = None,
) -> ExamSignature:
    """Sign an exam as ``user``, who re-enters the password (a failure counts towards the
    lockout like any login). The user must be allowed to ``sign`` at the participant's site
    (checked before the password, then again for the account as the password opened it); the
    exam must be classified (every cell recorded), and a user signs a given version of it once.
    ``expected_version`` is the exam version the
    signer reviewed: a signature over another version is refused (ConflictError).
    """
    participant_record_for(session, user, "sign", IsncsciExam, exam_id)
    check_moment("now", now)
    meaning = check_text("meaning", meaning, max_length=500)
    user = authenticate(session, username=user.username, password=password, now=now)
    exam = get_by_id(session, IsncsciExam, exam_id)
    participant = get_by_id(session, Participant, exam.participant_id)
    require_permission(user, "sign", participant.site_id)
    check_version(exam, expected_version)
    if exam.classification is None:
        session.rollback()
        raise RuleViolationError(
            "signature", [f"exam {exam_id} is not complete ({exam.classification_note})"]
        )
    already = session.scalars(
        select(ExamSignature.signed_at).where(
            ExamSignature.exam_id == exam.id,
            ExamSignature.user_id == user.id,
            ExamSignature.exam_version == exam.version,
        )
    ).first()
    if already is not None:
        session.rollback()
        raise RuleViolationError(
            "signature",
            [f"{user.username} already signed version {exam.version} of exam {exam_id} "
             f"on {already:%Y-%m-%d %H:%M} UTC"],
        )  # fmt: skip
    with unit_of_work(session, user.username):
        signature = ExamSignature(
            exam_id=exam.id,
            user_id=user.id,
            signer=user.username,
            signer_name=user.full_name,
            signed_at=now,
            meaning=meaning,
            exam_version=exam.version,
            content_sha256=current_exam_hash(exam),
        )
        session.add(signature)
    return signature


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    """A signature and whether the exam's data changed since (``void``)."""

    signature: ExamSignature
    void: bool


def exam_signatures(session: Session, exam_id: int) -> list[SignatureStatus]:
    """An exam's signatures, oldest first, each marked void when the exam changed since."""
    exam = get_by_id(session, IsncsciExam, exam_id)
    current = current_exam_hash(exam)
    signatures = session.scalars(
        select(ExamSignature).where(ExamSignature.exam_id == exam_id).order_by(ExamSignature.id)
    ).all()
    return [SignatureStatus(s, is_signature_void(s.content_sha256, current)) for s in signatures]


def signature_statuses(
    session: Session, exams: Sequence[IsncsciExam]
) -> dict[int, list[SignatureStatus]]:
    """:func:`exam_signatures` of many exams in one query, by exam id (every exam listed, with
    an empty list when unsigned)."""
    statuses: dict[int, list[SignatureStatus]] = {e.id: [] for e in exams}
    if not statuses:
        return statuses
    current = {e.id: current_exam_hash(e) for e in exams}
    for s in session.scalars(
        select(ExamSignature)
        .where(ExamSignature.exam_id.in_(list(statuses)))
        .order_by(ExamSignature.id)
    ):
        statuses[s.exam_id].append(
            SignatureStatus(s, is_signature_void(s.content_sha256, current[s.exam_id]))
        )
    return statuses
