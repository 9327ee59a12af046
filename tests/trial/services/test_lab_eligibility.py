"""Laboratory eligibility limits checked from the participant's entered results in the
screening window, recorded with the assessment; a missing result is not yet assessable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.errors import RuleViolationError
from cordtrial.trial.models import Participant, User
from cordtrial.trial.rules.eligibility import EligibilityCriteria
from cordtrial.trial.rules.lab_limits import LabLimit
from cordtrial.trial.services.labs import (
    LabEntry,
    lab_eligibility,
    link_lab_result_to_adverse_event,
    record_lab_panel,
    set_reference_range,
)
from cordtrial.trial.services.participants import assess_eligibility
from cordtrial.trial.services.safety import report_adverse_event
from cordtrial.trial.services.trials import amend_eligibility
from cordtrial.trial.services.users import add_user

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def admin(session: Session) -> User:
    return add_user(
        session, user=acting_as("admin"), username="admin", password=PASSWORD, role="admin"
    )


@pytest.fixture
def limited(session: Session, admin: User, participant: Participant) -> Participant:
    criteria = EligibilityCriteria(
        lab_limits=(LabLimit("platelets", ">=", 100), LabLimit("creatinine", "<=", 1.5, "ULN")),
        lab_window_days=14,
    )
    amend_eligibility(
        session, user=admin, protocol_id=participant.trial.protocol_id, criteria=criteria,
        reason="amendment 1: laboratory limits",
    )  # fmt: skip
    set_reference_range(
        session, admin, site_id=participant.site_id, analyte="creatinine", lln=60, uln=110
    )
    return participant


def test_limits_are_checked_from_the_latest_result_in_the_window(
    session: Session, admin: User, limited: Participant
) -> None:
    assert limited.transplant_date is not None
    day0 = limited.transplant_date
    old = day0 - timedelta(days=16)  # outside the 14-day window: not used
    record_lab_panel(
        session, admin, participant_id=limited.id, collected_on=old,
        entries=[LabEntry("platelets", 250, "10*9/L"), LabEntry("creatinine", 80, "umol/L")],
    )  # fmt: skip
    sample = day0 - timedelta(days=3)
    record_lab_panel(
        session, admin, participant_id=limited.id, collected_on=sample,
        entries=[LabEntry("platelets", 82000, "/uL")],
    )  # fmt: skip
    reasons = {r.criterion: r for r in lab_eligibility(session, admin, limited.id, day0)}
    assert reasons["lab_platelets"].detail == (
        f"Platelet count 82 x10^9/L is below the limit 100 x10^9/L (sample {sample})"
    )
    assert not reasons["lab_creatinine"].assessable
    assessment = assess_eligibility(
        session, user=admin, participant_id=limited.id, assessed_on=day0
    )
    assert not assessment.eligible
    stored = {r["criterion"]: r for r in assessment.reasons}
    assert stored["lab_platelets"]["met"] is False
    assert stored["lab_creatinine"]["assessable"] is False
    assert "not yet assessable" in stored["lab_creatinine"]["detail"]


def test_a_result_after_the_transplant_is_not_a_screening_value(
    session: Session, admin: User, limited: Participant
) -> None:
    assert limited.transplant_date is not None
    after = limited.transplant_date + timedelta(days=2)
    record_lab_panel(
        session, admin, participant_id=limited.id, collected_on=after,
        entries=[LabEntry("platelets", 250, "10*9/L")],
    )  # fmt: skip
    reasons = lab_eligibility(session, admin, limited.id, after)
    assert not reasons[0].assessable
    assert f"14 days up to {limited.transplant_date}" in reasons[0].detail


def test_the_window_ends_at_the_transplant_when_checked_later(
    session: Session, admin: User, limited: Participant
) -> None:
    assert limited.transplant_date is not None
    before = limited.transplant_date - timedelta(days=5)
    record_lab_panel(
        session, admin, participant_id=limited.id, collected_on=before,
        entries=[LabEntry("platelets", 250, "10*9/L")],
    )  # fmt: skip
    months_later = limited.transplant_date + timedelta(days=120)
    assert lab_eligibility(session, admin, limited.id, months_later)[0].met


def test_values_within_the_limits_make_the_participant_lab_eligible(
    session: Session, admin: User, limited: Participant
) -> None:
    assert limited.transplant_date is not None
    sample = limited.transplant_date - timedelta(days=1)
    record_lab_panel(
        session, admin, participant_id=limited.id, collected_on=sample,
        entries=[LabEntry("platelets", 180, "10*9/L"), LabEntry("creatinine", 1.8, "mg/dL")],
    )  # fmt: skip
    platelets, creatinine = lab_eligibility(session, admin, limited.id, limited.transplant_date)
    assert platelets.met
    # 1.8 mg/dL = 159.2 umol/L <= 1.5 x 110 = 165
    assert creatinine.met and "1.5 x ULN = 165 µmol/L (ULN 110)" in creatinine.detail


def test_a_result_is_linked_to_an_event_of_at_least_its_grade(
    session: Session, admin: User, limited: Participant
) -> None:
    assert limited.transplant_date is not None
    on = limited.transplant_date + timedelta(days=40)
    (result,) = record_lab_panel(
        session, admin, participant_id=limited.id, collected_on=on,
        entries=[LabEntry("creatinine", 200, "umol/L")],
    )  # fmt: skip
    assert result.ctcae_grade == 2  # > 1.5 x ULN (165): CTCAE v5.0 creatinine increased
    events = [
        report_adverse_event(
            session,
            user=admin,
            participant_id=limited.id,
            term="Raised creatinine",
            category="other",
            onset_date=on,
            awareness_date=on,
            ctcae_grade=g,
            serious_criteria=[],
            related_to_cells="not_related",
            related_to_procedure="not_related",
            related_to_immunosuppression="probable",
            expectedness="expected",
            outcome="recovering",
        )
        for g in (1, 2)
    ]
    with pytest.raises(RuleViolationError, match="grade 1 is below the result's grade 2"):
        link_lab_result_to_adverse_event(
            session, admin, lab_result_id=result.id, adverse_event_id=events[0].id
        )
    session.rollback()
    linked = link_lab_result_to_adverse_event(
        session, admin, lab_result_id=result.id, adverse_event_id=events[1].id
    )
    assert linked.adverse_event_id == events[1].id
