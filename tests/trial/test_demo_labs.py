"""The demo's laboratory results: ranges at both sites, a baseline panel before the transplant
and a panel at each visit done, exactly one grade 2 value (B-002's creatinine, linked to its
adverse event of the same grade), the laboratory eligibility limits assessed; the audit trail
of a fresh demo verifies."""

from __future__ import annotations

import time
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import verify_audit
from cordtrial.trial.demo import DEMO_SCHEDULE, seed_demo
from cordtrial.trial.models import (
    AdverseEvent,
    EligibilityAssessment,
    LabReferenceRange,
    LabResult,
    Participant,
    Visit,
)

TODAY = date(2026, 11, 25)
MAIN_VISITS = {v.name for v in DEMO_SCHEDULE}


def test_demo_labs_have_one_grade_2_creatinine_linked_to_its_event(session: Session) -> None:
    started = time.perf_counter()
    demo = seed_demo(session, today=TODAY)
    seconds = time.perf_counter() - started
    results = session.scalars(select(LabResult)).all()
    assert {r.ctcae_grade for r in results} <= {0, 1, 2}
    (raised,) = [r for r in results if r.ctcae_grade == 2]
    b002 = session.get(Participant, demo.participant_ids["B-002"])
    assert b002 is not None and b002.transplant_date is not None
    assert raised.participant_id == b002.id and raised.ctcae_term == "creatinine_increased"
    assert "x baseline" in raised.grade_basis
    event = session.get(AdverseEvent, raised.adverse_event_id)
    assert event is not None and event.term.startswith("Raised serum creatinine")
    assert event.ctcae_grade == raised.ctcae_grade
    for study_id, pid in demo.participant_ids.items():
        mine = [r for r in results if r.participant_id == pid]
        participant = session.get(Participant, pid)
        assert participant is not None and participant.transplant_date is not None
        assert min(r.collected_on for r in mine) < participant.transplant_date, study_id
        done = {  # the main study's visits (the long-term yearly visits take no labs)
            v.done_on
            for v in session.scalars(select(Visit).where(Visit.participant_id == pid))
            if v.done_on is not None
            and v.definition.name in MAIN_VISITS
            and v.done_on != participant.transplant_date
        }
        assert done <= {r.collected_on for r in mine}, study_id
        latest = session.scalars(
            select(EligibilityAssessment)
            .where(EligibilityAssessment.participant_id == pid)
            .order_by(EligibilityAssessment.id.desc())
        ).first()
        assert latest is not None and latest.eligible, latest and latest.reasons
        assert "lab_platelets" in {r["criterion"] for r in latest.reasons}
    sites = {r.site_id for r in session.scalars(select(LabReferenceRange))}
    assert len(sites) == 2
    assert verify_audit(session).ok
    assert seconds < 120  # the whole demo, labs included (about 16 s on a shared 2-core machine)
