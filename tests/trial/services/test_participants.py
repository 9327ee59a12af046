"""Eligibility assessments and randomization, recorded on each database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.errors import InvalidValueError, RandomizationError
from cordtrial.trial.models import AllocationSlot, AuditEntry, Participant, Trial
from cordtrial.trial.services.exams import record_exam
from cordtrial.trial.services.participants import (
    assess_eligibility,
    enroll_participant,
    update_participant,
)
from cordtrial.trial.services.randomization import create_allocation_list, randomize
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial

from ..conftest import INJURY, PROTOCOL, SCHEDULE, TRANSPLANT, complete_c5_cells

SCREENED = date(2026, 1, 19)


def _screen(session: Session, participant: Participant) -> int:
    exam = record_exam(
        session, user=acting_as("examiner"), participant_id=participant.id, examined_on=SCREENED,
        examiner="Dr A", cells=complete_c5_cells(), visit_name="screening",
    )  # fmt: skip
    return exam.id


def test_eligible_participant_is_recorded_with_reasons_and_exam(
    session: Session, participant: Participant
) -> None:
    exam_id = _screen(session, participant)
    assessment = assess_eligibility(
        session, user=acting_as("investigator"), participant_id=participant.id, assessed_on=SCREENED
    )
    session.expire_all()
    assert assessment.eligible
    assert assessment.exam_id == exam_id
    assert [r["criterion"] for r in assessment.reasons] == [
        "age", "mechanism", "nli", "ais", "days_to_transplant",
    ]  # fmt: skip
    assert assessment.reasons[2]["detail"] == "NLI C5 (required C4-T10)"
    assert assessment.criteria["min_age"] == 18


def test_without_a_classified_exam_the_participant_is_not_eligible(
    session: Session, participant: Participant
) -> None:
    assessment = assess_eligibility(
        session, user=acting_as("investigator"), participant_id=participant.id, assessed_on=SCREENED
    )
    assert not assessment.eligible
    assert {r["criterion"] for r in assessment.reasons if not r["met"]} == {"nli", "ais"}


def test_eligibility_uses_the_participant_timing(
    session: Session, participant: Participant
) -> None:
    _screen(session, participant)
    update_participant(
        session, user=acting_as("c"), participant_id=participant.id, reason="surgery postponed",
        transplant_date=date(2026, 2, 5),
    )  # fmt: skip
    assessment = assess_eligibility(
        session, user=acting_as("investigator"), participant_id=participant.id, assessed_on=SCREENED
    )
    assert [r["detail"] for r in assessment.reasons if not r["met"]] == [
        "transplant 31 days after injury (required 14-28)"
    ]


def test_exam_of_another_participant_is_refused(session: Session, participant: Participant) -> None:
    other = enroll_participant(
        session, user=acting_as("c"), protocol_id=PROTOCOL, site_code="S01", study_id="P002",
        injury_date=INJURY, injury_level="C6", injury_mechanism="sports", age_at_injury=25,
        sex="F", transplant_date=TRANSPLANT,
    )  # fmt: skip
    exam_id = _screen(session, participant)
    with pytest.raises(InvalidValueError, match="exam_id"):
        assess_eligibility(
            session,
            user=acting_as("i"),
            participant_id=other.id,
            assessed_on=SCREENED,
            exam_id=exam_id,
        )


# --- randomization -------------------------------------------------------------------------


@pytest.fixture
def controlled(session: Session) -> Trial:
    trial = create_trial(
        session, user=acting_as(), protocol_id="RCT-01", title="Controlled trial", phase="2",
        arms=[ArmSpec("cells", "Cells"), ArmSpec("control", "Standard care")],
        visits=SCHEDULE, strata_factors=["site"],
    )  # fmt: skip
    add_site(session, user=acting_as(), protocol_id="RCT-01", code="S01", name="Site 1")
    create_allocation_list(
        session, user=acting_as("statistician"), protocol_id="RCT-01", seed="rct-01-secret-seed",
        strata=["site=S01"], block_sizes=[2, 4], per_stratum=4,
    )  # fmt: skip
    return trial


def _enrol(session: Session, study_id: str, age: int = 30) -> Participant:
    return enroll_participant(
        session, user=acting_as("c"), protocol_id="RCT-01", site_code="S01", study_id=study_id,
        injury_date=INJURY, injury_level="C5", injury_mechanism="fall", age_at_injury=age,
        sex="M", transplant_date=TRANSPLANT,
    )  # fmt: skip


def _eligible(session: Session, participant: Participant) -> None:
    _screen(session, participant)
    assess_eligibility(
        session, user=acting_as("i"), participant_id=participant.id, assessed_on=SCREENED
    )


def test_randomization_follows_the_stored_list(session: Session, controlled: Trial) -> None:
    slots = session.scalars(select(AllocationSlot).order_by(AllocationSlot.position)).all()
    expected = [s.arm_code for s in slots]
    session.rollback()
    arms = []
    for n in range(4):
        participant = _enrol(session, f"R{n}")
        _eligible(session, participant)
        arms.append(randomize(session, user=acting_as("c"), participant_id=participant.id).code)
    assert arms == expected[:4]
    assert verify_audit(session).ok


def test_unassigned_allocations_are_concealed_in_the_audit_trail(
    session: Session, controlled: Trial
) -> None:
    rows = session.scalars(select(AuditEntry).where(AuditEntry.field == "arm_code")).all()
    assert rows
    assert all("concealed sha256:" in (r.new_value or "") for r in rows)
    assert not any(r.field == "salt" for r in session.scalars(select(AuditEntry)))


def test_ineligible_participant_is_not_randomized(session: Session, controlled: Trial) -> None:
    participant = _enrol(session, "R9", age=16)
    _eligible(session, participant)
    with pytest.raises(RandomizationError, match="R9 is not eligible"):
        randomize(session, user=acting_as("c"), participant_id=participant.id)
    assert session.scalars(select(AllocationSlot.participant_id).where(
        AllocationSlot.participant_id.is_not(None))).first() is None  # fmt: skip


def test_participant_is_randomized_once(session: Session, controlled: Trial) -> None:
    participant = _enrol(session, "R1")
    _eligible(session, participant)
    randomize(session, user=acting_as("c"), participant_id=participant.id)
    with pytest.raises(RandomizationError, match="already randomized"):
        randomize(session, user=acting_as("c"), participant_id=participant.id)


def test_exhausted_stratum_is_refused(session: Session, controlled: Trial) -> None:
    size = len(session.scalars(select(AllocationSlot)).all())
    session.rollback()
    for n in range(size):
        participant = _enrol(session, f"R{n}")
        _eligible(session, participant)
        randomize(session, user=acting_as("c"), participant_id=participant.id)
    late = _enrol(session, "LATE")
    _eligible(session, late)
    with pytest.raises(RandomizationError, match="no free allocation left in stratum site=S01"):
        randomize(session, user=acting_as("c"), participant_id=late.id)
