"""The demo's concomitant medications: the four participants' usual SCI medications, an
antibiotic course with a stop date, omeprazole reviewed by the investigator and fluconazole still
flagged (tacrolimus interactions); the audit trail verifies."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo
from cordtrial.trial.models import ConcomitantMedication
from cordtrial.trial.services.medications import flagged_medications

TODAY = date(2026, 11, 25)


def test_demo_has_medications_with_one_flagged_and_one_reviewed(session: Session) -> None:
    demo = seed_demo(session, today=TODAY)
    meds = session.scalars(select(ConcomitantMedication)).all()
    by_participant = {pid: {m.name for m in meds if m.participant_id == pid}
                      for pid in demo.participant_ids.values()}  # fmt: skip
    assert all(by_participant.values())  # every demo participant takes something
    names = {m.name for m in meds}
    assert {"baclofen", "pregabalin", "pantoprazole", "fluconazole"} <= names
    assert all(m.atc_code for m in meds)  # named as in the ATC list: coded
    course = next(m for m in meds if m.name == "nitrofurantoin")
    assert course.stop_date is not None and (course.stop_date - course.start_date).days == 5
    reviewed = next(m for m in meds if m.name == "omeprazole")
    assert (reviewed.interaction_review, reviewed.reviewed_by) == ("reviewed", "investigator")
    flagged = flagged_medications(session, acting_as(), DEMO_PROTOCOL_ID)
    assert [(f.study_id, f.medication.name) for f in flagged] == [("A-002", "fluconazole")]
    assert all(m.start_date < TODAY for m in meds)
    assert verify_audit(session).ok
