"""Adverse events stored with computed expedited-report flag and deadline."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.errors import InvalidValueError, ReasonRequiredError, RuleViolationError
from cordtrial.trial.models import AdverseEvent, AuditEntry, ExpeditedClock, Participant
from cordtrial.trial.services.safety import (
    add_follow_up,
    list_follow_ups,
    record_expedited_submission,
    report_adverse_event,
    update_adverse_event,
)


def _report(session: Session, participant: Participant, **change: object) -> AdverseEvent:
    kwargs: dict[str, object] = {
        "user": acting_as("investigator"), "participant_id": participant.id,
        "term": "New neuropathic pain below the level", "category": "neuropathic_pain",
        "onset_date": date(2026, 2, 3), "awareness_date": date(2026, 2, 4), "ctcae_grade": 2,
        "serious_criteria": ["hospitalisation"], "related_to_cells": "possible",
        "related_to_procedure": "possible", "related_to_immunosuppression": "not_related",
        "expectedness": "unexpected", "outcome": "recovering",
        "narrative": "Admitted with new burning pain below the level on day 2.", **change,
    }  # fmt: skip
    return report_adverse_event(session, **kwargs)  # type: ignore[arg-type]


def test_susar_is_stored_with_its_deadline(session: Session, participant: Participant) -> None:
    event = _report(session, participant)
    session.expire_all()
    stored = session.get(AdverseEvent, event.id)
    assert stored is not None
    assert stored.expedited_report_required
    assert stored.expedited_report_due == date(2026, 2, 19)
    assert stored.serious_criteria == ["hospitalisation"]


def test_non_serious_event_needs_no_expedited_report(
    session: Session, participant: Participant
) -> None:
    event = _report(session, participant, serious_criteria=[], ctcae_grade=3)
    assert (event.expedited_report_required, event.expedited_report_due) == (False, None)


def test_follow_up_recomputes_the_flag_and_is_audited(
    session: Session, participant: Participant
) -> None:
    event = _report(session, participant, serious_criteria=[])
    updated = update_adverse_event(
        session, user=acting_as("investigator"), event_id=event.id,
        reason="became life-threatening",
        serious_criteria=["life_threatening"], ctcae_grade=4,
    )  # fmt: skip
    assert updated.expedited_report_due == date(2026, 2, 11)
    changed = {
        r.field for r in session.scalars(select(AuditEntry).where(AuditEntry.action == "update"))
    }
    assert {"serious_criteria", "ctcae_grade", "expedited_report_due"} <= changed


def test_invalid_event_is_refused_and_not_stored(
    session: Session, participant: Participant
) -> None:
    with pytest.raises(InvalidValueError, match="ctcae_grade: 0 is out of range"):
        _report(session, participant, ctcae_grade=0)
    with pytest.raises(
        InvalidValueError, match="serious_criteria: 'hospitalisation' is not allowed"
    ):
        _report(session, participant, serious_criteria="hospitalisation")
    assert session.scalars(select(AdverseEvent)).first() is None


def test_unknown_field_cannot_be_updated(session: Session, participant: Participant) -> None:
    event = _report(session, participant)
    with pytest.raises(InvalidValueError, match="field: 'severity'"):
        update_adverse_event(
            session, user=acting_as("i"), event_id=event.id, reason="r", severity=3
        )


def test_submission_of_the_expedited_report_is_stored_and_audited(
    session: Session, participant: Participant
) -> None:
    event = _report(session, participant)
    record_expedited_submission(
        session, user=acting_as("investigator"), event_id=event.id, submitted_on=date(2026, 2, 18),
        authority="MHRA", reference="SUSAR-2026-0042",
    )  # fmt: skip
    session.expire_all()
    (clock,) = session.scalars(
        select(ExpeditedClock).where(ExpeditedClock.adverse_event_id == event.id)
    )
    # A trial with no jurisdictions set follows 21 CFR 312.32: serious, not fatal -> 15 days.
    assert (clock.rule, clock.due) == ("us_ind_15_day", date(2026, 2, 19))
    assert (clock.submitted_on, clock.authority, clock.reference) \
        == (date(2026, 2, 18), "MHRA", "SUSAR-2026-0042")  # fmt: skip
    fields = {
        r.field
        for r in session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "expedited_clock", AuditEntry.action == "update"
            )
        )
    }
    assert {"submitted_on", "authority", "reference"} <= fields
    with pytest.raises(ReasonRequiredError):
        record_expedited_submission(
            session, user=acting_as("investigator"), event_id=event.id, submitted_on=date(2026, 2,
            19),
            authority="MHRA", reference="SUSAR-2026-0043",
        )  # fmt: skip


def test_submission_before_awareness_is_refused_naming_the_date(
    session: Session, participant: Participant
) -> None:
    event = _report(session, participant)
    with pytest.raises(InvalidValueError, match=r"submitted_on: .* is too early"):
        record_expedited_submission(
            session, user=acting_as("i"), event_id=event.id, submitted_on=date(2026, 2, 1),
            authority="MHRA", reference="R1",
        )  # fmt: skip


def test_submission_is_refused_for_an_event_needing_no_expedited_report(
    session: Session, participant: Participant
) -> None:
    event = _report(session, participant, serious_criteria=[])
    with pytest.raises(RuleViolationError, match="needs no expedited report"):
        record_expedited_submission(
            session, user=acting_as("i"), event_id=event.id, submitted_on=date(2026, 2, 5),
            authority="MHRA", reference="R1",
        )  # fmt: skip


def test_serious_event_without_narrative_is_not_stored(
    session: Session, participant: Participant
) -> None:
    with pytest.raises(InvalidValueError, match="narrative"):
        _report(session, participant, narrative="")
    assert session.scalars(select(AdverseEvent)).first() is None


def test_follow_up_reports_are_kept_in_date_order(
    session: Session, participant: Participant
) -> None:
    event = _report(session, participant)
    add_follow_up(session, user=acting_as("i"), event_id=event.id, reported_on=date(2026, 2, 20),
                  text="Discharged; pain controlled with pregabalin.")  # fmt: skip
    add_follow_up(session, user=acting_as("i"), event_id=event.id, reported_on=date(2026, 2, 10),
                  text="MRI: no syrinx.")  # fmt: skip
    assert [f.text for f in list_follow_ups(session, event.id)] == [
        "MRI: no syrinx.", "Discharged; pain controlled with pregabalin.",
    ]  # fmt: skip
