"""The demo's immunosuppression: a tacrolimus course for every participant (the regimen cites
the reference sheet), exactly one trough out of range, the taper and the stops."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo
from cordtrial.trial.services.immunosuppression import (
    courses_of,
    list_regimens,
    out_of_range_troughs,
)

TODAY = date(2026, 11, 25)


def test_demo_has_a_tacrolimus_course_per_participant_with_one_trough_out_of_range(
    session: Session,
) -> None:
    demo = seed_demo(session, today=TODAY)
    admin = acting_as()
    (regimen,) = list_regimens(session, admin, DEMO_PROTOCOL_ID)
    assert regimen.drug == "tacrolimus" and "tacrolimus.md" in regimen.source
    (out,) = out_of_range_troughs(session, admin, DEMO_PROTOCOL_ID)
    assert (out.participant.study_id, out.trough.flag, out.trough.value) == ("B-001", "above", 23.5)
    stops = {}
    for study_id, pid in demo.participant_ids.items():
        (view,) = courses_of(session, admin, pid)
        assert view.troughs, study_id
        assert any("taper" in c.reason for c in view.dose_changes), study_id
        stops[study_id] = view.course.stop_reason
    # every transplant is about five years back: all courses are over, A-002's early
    assert stops == {
        "A-001": "planned", "A-002": "infection", "B-001": "planned", "B-002": "planned",
    }  # fmt: skip
    assert verify_audit(session).ok
