"""Concomitant medication use cases: recorded, corrected with a reason, stopped; an interacting
medication flagged for review and marked reviewed by an investigator; all audited and
site-scoped."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.errors import (
    AccessDeniedError,
    InvalidValueError,
    NotFoundError,
    ReasonRequiredError,
    RuleViolationError,
)
from cordtrial.trial.models import AuditEntry, ConcomitantMedication, Participant, Trial
from cordtrial.trial.services.medications import (
    correct_medication,
    flagged_medications,
    list_medications,
    medication_flags,
    record_medication,
    review_medication,
    search_medications,
    stop_medication,
)
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.trials import add_site

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _record(session: Session, participant: Participant, name: str, **values: object):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = {
        "route": "oral", "frequency": "once daily", "indication": "test",
        "start_date": date(2026, 2, 1),
    }  # fmt: skip
    fields.update(values)
    return record_medication(
        session, acting_as("coord", "coordinator"), participant_id=participant.id, name=name,
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_medication_is_recorded_and_listed_with_its_audit(
    session: Session, participant: Participant
) -> None:
    med = _record(session, participant, "baclofen", atc_code="M03BX01", dose=10, dose_unit="mg")
    assert med.interaction_review is None and medication_flags(med) == []
    assert [m.name for m in list_medications(session, acting_as(), participant.id)] == ["baclofen"]
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "concomitant_medication")
    ).all()
    assert entries and {e.actor for e in entries} == {"coord"}
    assert verify_audit(session).ok


def test_an_interacting_medication_is_flagged_and_reviewed_by_an_investigator(
    session: Session, participant: Participant
) -> None:
    med = _record(session, participant, "fluconazole", atc_code="J02AC01", route="iv")
    assert med.interaction_review == "flagged"
    assert medication_flags(med) == ["May raise tacrolimus and ciclosporin levels: check trough"]
    with pytest.raises(AccessDeniedError):
        review_medication(session, acting_as("coord", "coordinator"), medication_id=med.id, now=NOW)
    reviewed = review_medication(session, acting_as("dr", "investigator"), medication_id=med.id,
                                 now=NOW)  # fmt: skip
    assert (reviewed.interaction_review, reviewed.reviewed_by) == ("reviewed", "dr")
    assert reviewed.reviewed_at == NOW
    with pytest.raises(RuleViolationError, match="already reviewed"):
        review_medication(session, acting_as("dr", "investigator"), medication_id=med.id, now=NOW)
    assert verify_audit(session).ok


def test_a_medication_without_interaction_cannot_be_reviewed(
    session: Session, participant: Participant
) -> None:
    med = _record(session, participant, "pregabalin")
    with pytest.raises(RuleViolationError, match="not flagged"):
        review_medication(session, acting_as(), medication_id=med.id, now=NOW)


def test_a_correction_needs_a_reason_and_re_flags_a_new_interaction(
    session: Session, participant: Participant
) -> None:
    med = _record(session, participant, "pantoprazole", atc_code="A02BC02")
    with pytest.raises(ReasonRequiredError):
        correct_medication(session, acting_as(), medication_id=med.id, reason=None,  # type: ignore[arg-type]
                           name="omeprazole")  # fmt: skip
    session.rollback()
    fixed = correct_medication(
        session, acting_as(), medication_id=med.id, reason="wrong PPI transcribed",
        name="omeprazole", atc_code="A02BC01",
    )  # fmt: skip
    assert fixed.interaction_review == "flagged"
    assert medication_flags(fixed) == ["May raise tacrolimus levels: check trough"]
    back = correct_medication(session, acting_as(), medication_id=med.id, reason="it was right",
                              name="pantoprazole", atc_code="A02BC02")  # fmt: skip
    assert back.interaction_review is None
    assert verify_audit(session).ok


def test_a_correction_refuses_unknown_fields_and_bad_values(
    session: Session, participant: Participant
) -> None:
    med = _record(session, participant, "baclofen")
    with pytest.raises(InvalidValueError, match="field: 'participant_id'"):
        correct_medication(session, acting_as(), medication_id=med.id, reason="x",
                           participant_id=2)  # fmt: skip
    with pytest.raises(InvalidValueError, match="route"):
        correct_medication(session, acting_as(), medication_id=med.id, reason="x", route="mouth")


def test_a_medication_is_stopped_once_not_before_its_start(
    session: Session, participant: Participant
) -> None:
    med = _record(session, participant, "amoxicillin")
    with pytest.raises(InvalidValueError, match="stop_date"):
        stop_medication(session, acting_as(), medication_id=med.id, stop_date=date(2026, 1, 1))
    stopped = stop_medication(session, acting_as(), medication_id=med.id,
                              stop_date=date(2026, 2, 8))  # fmt: skip
    assert stopped.stop_date == date(2026, 2, 8)
    with pytest.raises(RuleViolationError, match="was stopped on 2026-02-08"):
        stop_medication(session, acting_as(), medication_id=med.id, stop_date=date(2026, 2, 9))


def test_roles_and_sites_are_enforced(
    session: Session, trial: Trial, participant: Participant
) -> None:
    with pytest.raises(AccessDeniedError):
        _record_as(session, participant, acting_as("stats", "statistician"))
    other_site = add_site(session, user=acting_as(), protocol_id=trial.protocol_id, code="S02",
                          name="Other")  # fmt: skip
    outsider = acting_as("far", "coordinator", site_ids=[other_site.id])
    with pytest.raises(NotFoundError):
        _record_as(session, participant, outsider)
    with pytest.raises(NotFoundError):
        list_medications(session, outsider, participant.id)


def _record_as(session: Session, participant: Participant, user) -> ConcomitantMedication:  # type: ignore[no-untyped-def]
    return record_medication(
        session, user, participant_id=participant.id, name="baclofen", route="oral",
        frequency="tid", indication="spasticity", start_date=date(2026, 2, 1),
    )  # fmt: skip


def test_the_trial_wide_flag_list_is_site_scoped(
    session: Session, trial: Trial, participant: Participant
) -> None:
    other_site = add_site(session, user=acting_as(), protocol_id=trial.protocol_id, code="S02",
                          name="Other")  # fmt: skip
    far = enroll_participant(
        session, user=acting_as(), protocol_id=trial.protocol_id, site_code="S02",
        study_id="P002", injury_date=date(2026, 1, 10), injury_level="T4",
        injury_mechanism="fall", age_at_injury=40, sex="F",
    )  # fmt: skip
    _record(session, participant, "clarithromycin")
    _record(session, participant, "baclofen")
    _record(session, far, "rifampicin")
    reviewed = _record(session, far, "diltiazem")
    review_medication(session, acting_as(), medication_id=reviewed.id, now=NOW)

    everyone = flagged_medications(session, acting_as(), trial.protocol_id)
    assert [(f.study_id, f.medication.name) for f in everyone] == [
        ("P001", "clarithromycin"), ("P002", "rifampicin"),
    ]  # fmt: skip
    assert everyone[1].flags == ["May lower tacrolimus and ciclosporin levels: check trough"]
    local = acting_as("far", "coordinator", site_ids=[other_site.id])
    assert [f.medication.name for f in flagged_medications(session, local, trial.protocol_id,
                                                           include_reviewed=True)] == [
        "rifampicin", "diltiazem",
    ]  # fmt: skip


def test_search_needs_read() -> None:
    assert [e.atc_code for e in search_medications(acting_as(), "baclofen")] == ["M03BX01"]
    with pytest.raises(AccessDeniedError):
        search_medications(acting_as("r", "reader"), "baclofen")
