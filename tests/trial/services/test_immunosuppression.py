"""Immunosuppression use cases: the protocol's regimen, a participant's course (dose changes,
interruptions, stop) and trough levels flagged against the target in force; site scope,
permissions and the audit trail, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
from cordtrial.trial.models import AuditEntry, ImmunosuppressionCourse, Participant, Trial
from cordtrial.trial.services.immunosuppression import (
    course_for,
    courses_of,
    out_of_range_troughs,
    record_dose_change,
    record_interruption,
    record_trough,
    set_regimen,
    start_course,
    stop_course,
)
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.trials import add_site

#: Prograf US label, adult kidney with azathioprine (shared/reference/tacrolimus.md section 1).
TARGETS = [{"from_day": 0, "until_day": 91, "low": 7, "high": 20},
           {"from_day": 91, "until_day": 365, "low": 5, "high": 15}]  # fmt: skip


def _regimen(session: Session, trial: Trial, dose: float = 0.1) -> None:
    set_regimen(
        session, acting_as(), protocol_id=trial.protocol_id, drug="tacrolimus", dose=dose,
        dose_unit="mg/kg/d", route="oral", start_day=0, planned_stop_day=182,
        taper=[{"day": 120, "dose": 0.05}], targets=TARGETS, target_unit="ng/mL",
        source="tacrolimus.md: Prograf label, adult kidney + azathioprine",
    )  # fmt: skip


@pytest.fixture
def course(session: Session, trial: Trial, participant: Participant) -> ImmunosuppressionCourse:
    _regimen(session, trial)
    assert participant.transplant_date is not None
    return start_course(
        session, acting_as("coordinator", "coordinator"), participant_id=participant.id,
        drug="tacrolimus", started_on=participant.transplant_date, start_dose=7.0,
    )  # fmt: skip


def _at(participant: Participant, day: int) -> datetime:
    assert participant.transplant_date is not None
    on = participant.transplant_date + timedelta(days=day)
    return datetime(on.year, on.month, on.day, 8, tzinfo=UTC)


def test_a_trough_is_flagged_against_the_target_in_force_that_day(
    session: Session, participant: Participant, course: ImmunosuppressionCourse
) -> None:
    """12 ng/mL is in the month 1-3 range (7-20) and above month 4-12's (5-15); 6 is below
    7-20 and in 5-15."""
    coordinator = acting_as("coordinator", "coordinator")
    flags = []
    for day, value in ((90, 6.0), (91, 6.0), (90, 16.0), (91, 16.0)):
        trough = record_trough(
            session, coordinator, course_id=course.id, sampled_at=_at(participant, day),
            hours_since_dose=12, value=value, unit="ng/mL",
        )  # fmt: skip
        flags.append((trough.flag, trough.target_low, trough.target_high))
    assert flags == [("below", 7, 20), ("in_range", 5, 15), ("in_range", 7, 20),
                     ("above", 5, 15)]  # fmt: skip
    assert verify_audit(session).ok


def test_a_trough_in_nmol_is_stored_as_entered_and_in_the_protocol_unit(
    session: Session, participant: Participant, course: ImmunosuppressionCourse
) -> None:
    trough = record_trough(
        session, acting_as(), course_id=course.id, sampled_at=_at(participant, 10),
        hours_since_dose=11.5, value=30, unit="nmol/L",
    )  # fmt: skip
    # 30 nmol/L x 804.03 g/mol = 24.12 ng/mL: above 7-20
    assert (trough.entered_value, trough.entered_unit) == (30, "nmol/L")
    assert trough.value == pytest.approx(24.1209)
    assert trough.flag == "above"


def test_a_trough_in_an_incompatible_unit_is_refused_and_nothing_stored(
    session: Session, participant: Participant, course: ImmunosuppressionCourse
) -> None:
    with pytest.raises(InvalidValueError, match=r"unit: 'U/L' is another kind of unit"):
        record_trough(
            session, acting_as(), course_id=course.id, sampled_at=_at(participant, 10),
            hours_since_dose=12, value=10, unit="U/L",
        )  # fmt: skip
    assert courses_of(session, acting_as(), participant.id)[0].troughs == []


def test_a_course_records_dose_changes_interruptions_and_the_stop(
    session: Session, participant: Participant, course: ImmunosuppressionCourse
) -> None:
    assert participant.transplant_date is not None
    day0 = participant.transplant_date
    coordinator = acting_as("coordinator", "coordinator")
    record_dose_change(
        session,
        coordinator,
        course_id=course.id,
        changed_on=day0 + timedelta(days=14),
        dose=5,
        reason="trough above target",
    )
    record_interruption(session, coordinator, course_id=course.id,
                        from_date=day0 + timedelta(days=30), to_date=day0 + timedelta(days=32),
                        reason="vomiting")  # fmt: skip
    stop_course(session, acting_as("dr", "investigator"), course_id=course.id,
                stopped_on=day0 + timedelta(days=60), reason="infection")  # fmt: skip
    (view,) = courses_of(session, acting_as(), participant.id)
    assert [c.dose for c in view.dose_changes] == [5]
    assert view.course.stop_reason == "infection"
    # days 0-59 on drug (60 days) less the three interrupted days
    assert view.exposure_days(day0 + timedelta(days=400)) == 57
    actors = session.scalars(
        select(AuditEntry.actor).where(AuditEntry.entity.like("immunosuppression%"))
    ).all()
    assert {"admin", "coordinator", "dr"} <= set(actors)
    assert verify_audit(session).ok


def test_a_coordinator_may_not_stop_immunosuppression(
    session: Session, participant: Participant, course: ImmunosuppressionCourse
) -> None:
    """Stopping is the investigator's decision (rules.access: stop_immunosuppression)."""
    assert participant.transplant_date is not None
    with pytest.raises(AccessDeniedError):
        stop_course(session, acting_as("coordinator", "coordinator"), course_id=course.id,
                    stopped_on=participant.transplant_date, reason="planned")  # fmt: skip


def test_a_stop_for_another_reason_needs_a_note_and_a_correction_needs_a_reason(
    session: Session, participant: Participant, course: ImmunosuppressionCourse
) -> None:
    assert participant.transplant_date is not None
    on = participant.transplant_date + timedelta(days=50)
    with pytest.raises(InvalidValueError, match="stop_note"):
        stop_course(session, acting_as(), course_id=course.id, stopped_on=on, reason="other")
    with pytest.raises(InvalidValueError, match="stop_reason: 'bored'"):
        stop_course(session, acting_as(), course_id=course.id, stopped_on=on, reason="bored")
    stop_course(session, acting_as(), course_id=course.id, stopped_on=on, reason="toxicity")
    with pytest.raises(ReasonRequiredError):
        stop_course(session, acting_as(), course_id=course.id, stopped_on=on, reason="planned")
    stop_course(session, acting_as(), course_id=course.id, stopped_on=on, reason="planned",
                correction_reason="entered the wrong reason")  # fmt: skip


def test_a_dose_change_after_the_stop_is_refused(
    session: Session, participant: Participant, course: ImmunosuppressionCourse
) -> None:
    assert participant.transplant_date is not None
    day0 = participant.transplant_date
    stop_course(session, acting_as(), course_id=course.id,
                stopped_on=day0 + timedelta(days=60), reason="planned")  # fmt: skip
    with pytest.raises(InvalidValueError, match=r"changed_on.*is after the stop"):
        record_dose_change(session, acting_as(), course_id=course.id,
                           changed_on=day0 + timedelta(days=61), dose=1, reason="r")  # fmt: skip


def test_a_second_course_of_the_same_drug_is_refused(
    session: Session, participant: Participant, course: ImmunosuppressionCourse
) -> None:
    with pytest.raises(RuleViolationError, match="already started"):
        start_course(session, acting_as(), participant_id=participant.id, drug="tacrolimus",
                     started_on=course.started_on, start_dose=5)  # fmt: skip


def test_a_regimen_change_needs_a_reason_and_only_an_admin_sets_one(
    session: Session, trial: Trial
) -> None:
    _regimen(session, trial)
    with pytest.raises(ReasonRequiredError):
        _regimen(session, trial, dose=0.15)
    with pytest.raises(AccessDeniedError):
        set_regimen(
            session, acting_as("dr", "investigator"), protocol_id=trial.protocol_id,
            drug="tacrolimus", dose=0.1, dose_unit="mg/kg/d", route="oral", start_day=0,
            planned_stop_day=None, taper=[], targets=[], target_unit="ng/mL", source="s",
        )  # fmt: skip


def test_out_of_range_list_is_site_scoped_in_one_query(
    session: Session, trial: Trial, participant: Participant, course: ImmunosuppressionCourse
) -> None:
    site2 = add_site(session, user=acting_as(), protocol_id=trial.protocol_id, code="S02",
                     name="Two")  # fmt: skip
    other = enroll_participant(
        session, user=acting_as(), protocol_id=trial.protocol_id, site_code="S02",
        study_id="P900", injury_date=participant.injury_date, injury_level="C5",
        injury_mechanism="fall", age_at_injury=40, sex="F",
        transplant_date=participant.transplant_date,
    )  # fmt: skip
    assert participant.transplant_date is not None
    other_course = start_course(session, acting_as(), participant_id=other.id, drug="tacrolimus",
                                started_on=participant.transplant_date, start_dose=6)  # fmt: skip
    for c, p, value in ((course, participant, 25.0), (other_course, other, 3.0),
                        (course, participant, 10.0)):  # fmt: skip
        record_trough(session, acting_as(), course_id=c.id, sampled_at=_at(p, 10),
                      hours_since_dose=12, value=value, unit="ng/mL")  # fmt: skip
    everyone = out_of_range_troughs(session, acting_as(), trial.protocol_id)
    assert sorted((r.participant.study_id, r.trough.flag) for r in everyone) == [
        ("P001", "above"), ("P900", "below")
    ]  # fmt: skip
    site1_user = acting_as("dr", "investigator", site_ids=[participant.site_id])
    scoped = out_of_range_troughs(session, site1_user, trial.protocol_id)
    assert [r.participant.study_id for r in scoped] == ["P001"]
    assert site2.id != participant.site_id
    with pytest.raises(NotFoundError):
        course_for(session, site1_user, other.id, "tacrolimus")
