"""The demo trial's concomitant medications (synthetic): what people with a subacute SCI take
around a transplant under tacrolimus (antispasticity, neuropathic pain, gastric protection,
bladder and bowel care, thromboprophylaxis, a course of an antibiotic), and two medications that
change tacrolimus levels: A-001's omeprazole, reviewed by the investigator, and A-002's
fluconazole for candiduria, still flagged for review.

**Every datum here is synthetic.** Days are counted from each participant's transplant (day 0);
an entry not yet started by ``today`` is left out, one not yet stopped stays ongoing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.models import Participant, User
from cordtrial.trial.services.medications import record_medication, review_medication

__all__ = ["seed_demo_medications"]


@dataclass(frozen=True, slots=True)
class _Med:
    name: str
    dose: float | None
    unit: str | None
    route: str
    frequency: str
    indication: str
    start_day: int
    stop_day: int | None = None
    reviewed_day: int | None = None


_MEDICATIONS: Final[dict[str, tuple[_Med, ...]]] = {
    "A-001": (
        _Med("baclofen", 10, "mg", "oral", "three times daily", "spasticity", -14),
        _Med("pregabalin", 75, "mg", "oral", "twice daily", "neuropathic pain", 28),
        _Med("omeprazole", 20, "mg", "oral", "once daily",
             "gastric protection (corticosteroids, tacrolimus)", -2, 90, reviewed_day=1),
        _Med("nitrofurantoin", 100, "mg", "oral", "twice daily", "urinary tract infection",
             45, 50),
        _Med("macrogol", 13.1, "g", "oral", "once daily", "neurogenic bowel", -10),
    ),
    "A-002": (
        _Med("oxybutynin", 5, "mg", "oral", "three times daily",
             "neurogenic detrusor overactivity", -7),
        _Med("enoxaparin", 40, "mg", "sc", "once daily", "thromboprophylaxis", -13, 60),
        _Med("fluconazole", 200, "mg", "oral", "once daily", "candiduria", 20, 33),
        _Med("gabapentin", 300, "mg", "oral", "three times daily", "neuropathic pain", 14),
    ),
    "B-001": (
        _Med("tizanidine", 4, "mg", "oral", "three times daily", "spasticity", 10),
        _Med("senna glycosides", 15, "mg", "oral", "at night", "neurogenic bowel", -20),
        _Med("bisacodyl (enema)", 10, "mg", "rectal", "every other day", "neurogenic bowel", -20),
        _Med("amoxicillin and beta-lactamase inhibitor", 625, "mg", "oral", "three times daily",
             "pneumonia", 70, 77),
    ),
    "B-002": (
        _Med("pantoprazole", 40, "mg", "oral", "once daily", "gastric protection", -1, 60),
        _Med("paracetamol", 1, "g", "oral", "up to four times daily", "pain", -5),
        _Med("baclofen", 5, "mg", "oral", "three times daily", "spasticity", 30),
    ),
}  # fmt: skip


def _user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).one()
    session.rollback()
    return user


def seed_demo_medications(session: Session, ids: dict[str, int], today: date) -> None:
    """Add the demo participants' concomitant medications (``ids``: study id -> participant
    id) through the use cases: entered by the admin, one interaction reviewed by the
    investigator."""
    admin, investigator = _user(session, "admin"), _user(session, "investigator")
    day0 = {
        p.id: p.transplant_date
        for p in session.scalars(select(Participant).where(Participant.id.in_(ids.values())))
    }
    session.rollback()
    for study_id, meds in _MEDICATIONS.items():
        pid = ids.get(study_id)
        start0 = day0.get(pid) if pid is not None else None
        if pid is None or start0 is None:
            continue
        for med in meds:
            start = start0 + timedelta(days=med.start_day)
            if start >= today:
                continue
            stop = None if med.stop_day is None else start0 + timedelta(days=med.stop_day)
            stored = record_medication(
                session, admin, participant_id=pid, name=med.name, dose=med.dose,
                dose_unit=med.unit, route=med.route, frequency=med.frequency,
                indication=med.indication, start_date=start,
                stop_date=stop if stop is not None and stop < today else None,
            )  # fmt: skip
            if med.reviewed_day is not None:
                at = start0 + timedelta(days=med.reviewed_day)
                review_medication(
                    session, investigator, medication_id=stored.id,
                    now=datetime.combine(min(at, today), time(11), tzinfo=UTC),
                )  # fmt: skip
