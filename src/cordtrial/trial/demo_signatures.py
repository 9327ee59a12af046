"""The demo trial's exam signatures (synthetic): the investigator signs each ISNCSCI exam two
days after it was taken, re-entering the password as anyone signing does (:func:`sign_exam`).

**Every datum here is synthetic.** Exams of the last :data:`AWAITING_DAYS` days are not signed
yet (A-001's year 5 exam), so that the dashboard's "Exams to complete or sign" has work in it
and a signed exam can be told from one waiting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.models import IsncsciExam, User
from cordtrial.trial.services.signatures import sign_exam

__all__ = ["AWAITING_DAYS", "SIGNED_AFTER_DAYS", "seed_demo_signatures"]

#: Exams taken fewer days than this before ``today`` still wait for their signature.
AWAITING_DAYS: Final = 90
#: Days between an exam and its signature.
SIGNED_AFTER_DAYS: Final = 2
_SIGNER: Final = "investigator"


def seed_demo_signatures(
    session: Session, participant_ids: list[int], today: date, password: str
) -> int:
    """Sign the complete exams of ``participant_ids`` taken at least :data:`AWAITING_DAYS`
    days before ``today``, as the demo's investigator (whose password is ``password``), each
    :data:`SIGNED_AFTER_DAYS` days after the exam at 16:00 UTC; returns how many were signed."""
    investigator = session.scalars(select(User).where(User.username == _SIGNER)).one()
    exams = session.execute(
        select(IsncsciExam.id, IsncsciExam.examined_on, IsncsciExam.version)
        .where(
            IsncsciExam.participant_id.in_(participant_ids),
            IsncsciExam.examined_on <= today - timedelta(days=AWAITING_DAYS),
            IsncsciExam.classification.is_not(None),
        )
        .order_by(IsncsciExam.examined_on, IsncsciExam.id)
    ).all()
    session.rollback()
    for exam_id, examined_on, version in exams:
        signed_on = examined_on + timedelta(days=SIGNED_AFTER_DAYS)
        sign_exam(
            session, user=investigator, password=password, exam_id=exam_id,
            now=datetime.combine(signed_on, time(16), tzinfo=UTC), expected_version=version,
        )  # fmt: skip
    return len(exams)
