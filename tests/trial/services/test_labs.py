"""Laboratory results: a panel converted and graded against the site's range and the baseline,
all or nothing; a graded result reported as an adverse event in one step."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.errors import AccessDeniedError, InvalidValueError, RuleViolationError
from cordtrial.trial.models import AdverseEvent, LabResult, Participant, User
from cordtrial.trial.services.labs import (
    LabEntry,
    list_lab_results,
    record_lab_panel,
    report_lab_as_adverse_event,
    set_reference_range,
)
from cordtrial.trial.services.users import add_user

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def admin(session: Session) -> User:
    return add_user(
        session, user=acting_as("admin"), username="admin", password=PASSWORD, role="admin"
    )


@pytest.fixture
def ranges(session: Session, admin: User, participant: Participant) -> None:
    set_reference_range(
        session, admin, site_id=participant.site_id, analyte="creatinine", lln=0.7, uln=1.2,
        unit="mg/dL",
    )  # fmt: skip
    set_reference_range(
        session, admin, site_id=participant.site_id, analyte="neutrophils", lln=1.8, uln=7.5
    )


def test_a_panel_is_converted_and_graded_against_the_range_and_the_baseline(
    session: Session, admin: User, participant: Participant, ranges: None
) -> None:
    assert participant.transplant_date is not None
    before = participant.transplant_date - timedelta(days=3)
    record_lab_panel(
        session, admin, participant_id=participant.id, collected_on=before,
        entries=[LabEntry("creatinine", 0.6, "mg/dL"), LabEntry("neutrophils", 4000, "/uL")],
    )  # fmt: skip
    later = participant.transplant_date + timedelta(days=30)
    results = record_lab_panel(
        session, admin, participant_id=participant.id, collected_on=later,
        entries=[LabEntry("creatinine", 1.0, "mg/dL"), LabEntry("neutrophils", 1.2, "10*9/L")],
    )  # fmt: skip
    creatinine, neutrophils = results
    # 1.0 mg/dL = 88.4 umol/L: below the ULN (106 umol/L) but 1.67 x baseline (53 umol/L):
    # CTCAE v5.0 creatinine increased grade 2 (>1.5-3.0 x baseline)
    assert creatinine.value == pytest.approx(88.4, rel=1e-3)
    assert creatinine.baseline == pytest.approx(53.04, rel=1e-3)
    assert (creatinine.ctcae_grade, creatinine.ctcae_term) == (2, "creatinine_increased")
    assert "x baseline" in creatinine.grade_basis
    assert (neutrophils.ctcae_grade, neutrophils.ctcae_term) == (2, "neutrophil_count_decreased")
    assert [r.analyte for r in list_lab_results(session, admin, participant.id)] == [
        "creatinine", "neutrophils", "creatinine", "neutrophils"
    ]  # fmt: skip
    assert verify_audit(session).ok


def test_a_bad_value_refuses_the_whole_panel_naming_its_row(
    session: Session, admin: User, participant: Participant
) -> None:
    with pytest.raises(InvalidValueError, match=r"results\[1\]\.unit: 'g/L'") as caught:
        record_lab_panel(
            session, admin, participant_id=participant.id, collected_on=date(2026, 2, 1),
            entries=[LabEntry("creatinine", 1.0, "mg/dL"), LabEntry("platelets", 150, "g/L")],
        )  # fmt: skip
    assert "10*9/L" in str(caught.value)
    assert session.scalars(select(LabResult)).first() is None


def test_a_graded_result_becomes_a_linked_adverse_event_in_one_step(
    session: Session, admin: User, participant: Participant, ranges: None
) -> None:
    assert participant.transplant_date is not None
    on = participant.transplant_date + timedelta(days=20)
    (result,) = record_lab_panel(
        session, admin, participant_id=participant.id, collected_on=on,
        entries=[LabEntry("creatinine", 2.0, "mg/dL")],
    )  # fmt: skip
    event = report_lab_as_adverse_event(
        session, admin, lab_result_id=result.id, awareness_date=on,
        related_to_cells="not_related", related_to_procedure="not_related",
        related_to_immunosuppression="probable", expectedness="expected", outcome="recovering",
        category="immunosuppression_effect",
    )  # fmt: skip
    session.refresh(result)
    assert result.adverse_event_id == event.id
    stored = session.get(AdverseEvent, event.id)
    assert stored is not None
    assert (stored.term, stored.ctcae_grade, stored.onset_date) == (
        "Creatinine increased",
        result.ctcae_grade,
        on,
    )
    with pytest.raises(RuleViolationError, match="already reported"):
        report_lab_as_adverse_event(
            session, admin, lab_result_id=result.id, awareness_date=on,
            related_to_cells="not_related", related_to_procedure="not_related",
            related_to_immunosuppression="probable", expectedness="expected",
            outcome="recovering",
        )  # fmt: skip
    assert verify_audit(session).ok


def test_who_may_enter_labs_and_set_ranges(
    session: Session, admin: User, participant: Participant
) -> None:
    monitor = add_user(
        session,
        user=acting_as("admin"),
        username="mon",
        password=PASSWORD,
        role="monitor",
        all_sites=True,
    )
    with pytest.raises(AccessDeniedError):
        record_lab_panel(
            session, monitor, participant_id=participant.id, collected_on=date(2026, 2, 1),
            entries=[LabEntry("alt", 30, "U/L")],
        )  # fmt: skip
    with pytest.raises(AccessDeniedError):
        set_reference_range(
            session, monitor, site_id=participant.site_id, analyte="alt", lln=None, uln=40
        )
