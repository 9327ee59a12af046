"""Trials, sites and participants on each database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.errors import (
    ConflictError,
    InvalidValueError,
    NotFoundError,
    ReasonRequiredError,
    RuleViolationError,
)
from cordtrial.trial.models import Participant, Trial, Visit
from cordtrial.trial.rules.eligibility import EligibilityCriteria
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.participants import enroll_participant, update_participant
from cordtrial.trial.services.records import delete_record
from cordtrial.trial.services.trials import ArmSpec, add_site, amend_eligibility, create_trial

from ..conftest import INJURY, PROTOCOL, SCHEDULE


def test_trial_is_stored_with_arms_schedule_and_criteria(session: Session, trial: Trial) -> None:
    session.expire_all()
    stored = session.scalars(select(Trial)).one()
    assert stored.protocol_id == PROTOCOL
    assert [a.code for a in stored.arms] == ["cells"]
    assert [(v.name, v.target_day) for v in stored.visit_definitions] == [
        (v.name, v.target_day) for v in SCHEDULE
    ]
    assert stored.eligibility["nli_from"] == "C4"
    assert [s.code for s in stored.sites] == ["S01"]


def test_invalid_phase_is_refused(session: Session) -> None:
    with pytest.raises(InvalidValueError, match="phase: '5' is not allowed"):
        create_trial(
            session, user=acting_as(), protocol_id="X", title="t", phase="5",
            arms=[ArmSpec("a", "A")], visits=[VisitSpec("day 0", 0)],
        )  # fmt: skip
    assert session.scalars(select(Trial)).first() is None


def test_site_code_is_unique_within_a_trial(session: Session, trial: Trial) -> None:
    with pytest.raises(InvalidValueError, match="code: 'S01'"):
        add_site(session, user=acting_as(), protocol_id=PROTOCOL, code="S01", name="Again")


def test_amending_criteria_needs_a_reason(session: Session, trial: Trial) -> None:
    criteria = EligibilityCriteria(max_days_to_transplant=35)
    with pytest.raises(InvalidValueError, match="reason: '' is empty"):
        amend_eligibility(
            session, user=acting_as("a"), protocol_id=PROTOCOL, criteria=criteria, reason=""
        )
    amended = amend_eligibility(
        session, user=acting_as("a"), protocol_id=PROTOCOL, criteria=criteria, reason="amendment 2"
    )
    assert amended.eligibility["max_days_to_transplant"] == 35
    assert amended.version == 2


def test_enrolment_creates_one_visit_per_scheduled_visit(
    session: Session, participant: Participant
) -> None:
    visits = session.scalars(select(Visit).where(Visit.participant_id == participant.id)).all()
    assert sorted(v.definition.name for v in visits) == sorted(v.name for v in SCHEDULE)
    assert all(v.done_on is None for v in visits)


def test_study_id_is_unique_in_the_trial(session: Session, participant: Participant) -> None:
    with pytest.raises(InvalidValueError, match="study_id: 'P001'"):
        enroll_participant(
            session, user=acting_as("c"), protocol_id=PROTOCOL, site_code="S01", study_id="P001",
            injury_date=INJURY, injury_level="C5", injury_mechanism="fall", age_at_injury=30,
            sex="F",
        )  # fmt: skip


def test_unknown_site_is_named(session: Session, trial: Trial) -> None:
    with pytest.raises(NotFoundError, match="site 'IPSC-SCI-01/S09' does not exist"):
        enroll_participant(
            session, user=acting_as("c"), protocol_id=PROTOCOL, site_code="S09", study_id="P002",
            injury_date=INJURY, injury_level="C5", injury_mechanism="fall", age_at_injury=30,
            sex="F",
        )  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("injury_level", "C9", "injury_level: 'C9'"),
        ("sex", "male", "sex: 'male' is not allowed"),
        ("age_at_injury", -1, "age_at_injury: -1 is out of range"),
        ("injury_mechanism", "bad luck", "injury_mechanism: 'bad luck'"),
    ],
)
def test_bad_participant_data_names_the_field(
    session: Session, participant: Participant, field: str, value: object, message: str
) -> None:
    with pytest.raises(InvalidValueError, match=message):
        update_participant(
            session,
            user=acting_as("m"),
            participant_id=participant.id,
            reason="r",
            **{field: value},
        )


def test_correction_requires_a_reason(session: Session, participant: Participant) -> None:
    with pytest.raises(ReasonRequiredError):
        update_participant(
            session,
            user=acting_as("m"),
            participant_id=participant.id,
            reason=None,
            sex="F",  # type: ignore[arg-type]
        )
    session.expire_all()
    assert session.get(Participant, participant.id).sex == "M"  # type: ignore[union-attr]


def test_stale_version_is_a_conflict(session: Session, participant: Participant) -> None:
    update_participant(
        session, user=acting_as("m"), participant_id=participant.id, reason="r", sex="F"
    )
    with pytest.raises(ConflictError, match="you edited version 1, the current version is 2"):
        update_participant(
            session, user=acting_as("m"), participant_id=participant.id, reason="r",
            expected_version=1, sex="U",
        )  # fmt: skip


def test_concurrent_edits_do_not_silently_overwrite(
    session: Session, other_session: Session, participant: Participant
) -> None:
    mine = other_session.get(Participant, participant.id)
    assert mine is not None
    update_participant(
        session, user=acting_as("a"), participant_id=participant.id, reason="r", sex="F"
    )
    with pytest.raises(ConflictError, match="participant"):
        update_participant(
            other_session, user=acting_as("b"), participant_id=participant.id, reason="r", sex="U"
        )
    session.expire_all()
    assert session.get(Participant, participant.id).sex == "F"  # type: ignore[union-attr]


def test_transplant_before_injury_is_refused(session: Session, participant: Participant) -> None:
    with pytest.raises(InvalidValueError, match=r"transplant_date: .* is too early"):
        update_participant(
            session, user=acting_as("m"), participant_id=participant.id, reason="r",
            transplant_date=date(2025, 12, 1),
        )  # fmt: skip
    session.expire_all()
    assert session.get(Participant, participant.id).transplant_date is not None  # type: ignore[union-attr]


def test_record_still_referred_to_cannot_be_deleted(session: Session, trial: Trial) -> None:
    with pytest.raises(RuleViolationError, match=r"trial .* is still referred to"):
        delete_record(session, Trial, user=acting_as(), record_id=trial.id, reason="test")
    assert session.get(Trial, trial.id) is not None
