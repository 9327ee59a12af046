"""Fixtures of the trial store's tests: a trial like the iPSC neural-cell study, its site and a
participant. The databases themselves (SQLite and PostgreSQL, ``database_url``, ``engine``,
``session``) are fixtures of tests/conftest.py, shared with the web and analysis tests.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from builders import acting_as, lesion_flat
from cordtrial.isncsci import Level
from cordtrial.trial.models import Participant, Trial
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial

# --- a trial like the iPSC neural-cell study ----------------------------------------------------

PROTOCOL = "IPSC-SCI-01"
INJURY = date(2026, 1, 5)
TRANSPLANT = date(2026, 1, 26)  # day 21 after injury
SCHEDULE = [
    VisitSpec("screening", -7, 7, 0),
    VisitSpec("day 0", 0, 0, 0),
    VisitSpec("week 2", 14, 3, 3),
    VisitSpec("week 4", 28, 3, 3),
    VisitSpec("week 12", 84, 7, 7),
    VisitSpec("week 24", 168, 14, 14),
    VisitSpec("week 52", 364, 28, 28),
]


def complete_c5_cells() -> dict[str, str]:
    """Cells of an AIS A exam with NLI C5 (normal to C5, nothing below, no sacral sparing)."""
    return lesion_flat(Level.C5)


@pytest.fixture
def trial(session: Session) -> Trial:
    trial = create_trial(
        session,
        user=acting_as(),
        protocol_id=PROTOCOL,
        title="iPSC-derived neural precursor cells in subacute complete SCI",
        phase="1",
        arms=[ArmSpec("cells", "iPSC-NS/PC transplantation")],
        visits=SCHEDULE,
    )
    add_site(
        session, user=acting_as(), protocol_id=PROTOCOL, code="S01", name="University Hospital"
    )
    return trial


@pytest.fixture
def participant(session: Session, trial: Trial) -> Participant:
    return enroll_participant(
        session,
        user=acting_as("coordinator"),
        protocol_id=PROTOCOL,
        site_code="S01",
        study_id="P001",
        injury_date=INJURY,
        injury_level="C5",
        injury_mechanism="fall",
        age_at_injury=34,
        sex="M",
        transplant_date=TRANSPLANT,
    )
