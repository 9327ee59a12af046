"""Study ids are NFKC-normalized and refuse look-alikes (issue 12), on each database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import Participant
from cordtrial.trial.services.participants import enroll_participant

from ..conftest import INJURY, PROTOCOL


def _enrol(session: Session, study_id: str) -> Participant:
    return enroll_participant(
        session, user=acting_as("coordinator"), protocol_id=PROTOCOL, site_code="S01",
        study_id=study_id,
        injury_date=INJURY, injury_level="C5", injury_mechanism="fall", age_at_injury=34,
        sex="M",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("study_id", "problem"),
    [
        ("P001\u200b", "ZERO WIDTH SPACE"),
        ("P00l", "looks like the study id 'P001'"),
        ("POO1", "looks like the study id 'P001'"),
        ("p001", "looks like the study id 'P001'"),
        ("\u0420001", "looks like the study id 'P001'"),  # Cyrillic Er
        ("\u0420x\u0430", "mixes scripts"),
        ("P001", "exists"),
    ],
)
def test_look_alike_study_ids_are_refused(
    session: Session, participant: Participant, study_id: str, problem: str
) -> None:
    with pytest.raises(InvalidValueError) as error:
        _enrol(session, study_id)
    assert error.value.field == "study_id" and problem in str(error.value)


def test_study_ids_are_nfkc_normalized(session: Session, participant: Participant) -> None:
    assert _enrol(session, "\uff30\uff10\uff10\uff12").study_id == "P002"
