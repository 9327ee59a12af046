"""The demo trial's long-term follow-up (issue 14), built through the use cases. **Synthetic.**

The schedule grows past week 52: a yearly visit in person from year 2 to year 5 (SCIM III, and
at year 5 the ISNCSCI exam; the graft surveillance MRI is recorded by the imaging records), then
a yearly phone call to year 10 (the GRNOPC1 thoracic trial followed its participants for 10
years: McKenna et al., *J Neurosurg Spine* 2022;37(3):321-330; the durations here are synthetic
choices). Consent form 1.0
asks for long-term contact, autopsy and future use of samples; version 2.0 (re-consent required)
adds the yearly phone follow-up to year 10; version 2.1 (re-consent of participants in long-term
follow-up) describes the long-term MRI surveillance.

Every participant completed the main study and entered the long-term follow-up.

- A-001 (transplanted about 5.2 years ago) came to every yearly visit to year 5 and re-consented
  to version 2.0 (the one participant who re-consented); version 2.1 is now due for them.
- A-002 (about 5.1 years ago) came to years 2 and 3, could not be reached in year 4 (phone, letter
  returned undelivered, general practitioner) and was declared lost to follow-up.
- B-001 (about 5.3 years ago) came to years 2 to 4; the year 5 visit is overdue. B-002 (about 5.0
  years ago) came to years 2 to 4; the year 5 visit is due now. Neither has re-consented yet:
  versions 2.0 and 2.1 are due for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.models import Participant, User
from cordtrial.trial.rules.consent import ConsentVersionFacts
from cordtrial.trial.rules.follow_up import ContactAttemptFacts, DispositionFacts, yearly_visits
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.consent import add_consent_version, record_consent
from cordtrial.trial.services.disposition import (
    record_contact_attempt,
    record_disposition,
    record_long_term_contact,
)
from cordtrial.trial.services.exams import record_exam
from cordtrial.trial.services.measures import record_scim
from cordtrial.trial.services.trials import add_long_term_visits

__all__ = ["DEMO_LONG_TERM_SCHEDULE", "LOST_IN_YEAR_4", "RECONSENTED", "seed_long_term_follow_up"]

#: The long-term visits of the demo: in person yearly from year 2 to 5 (year 5 with the ISNCSCI
#: exam), by phone to year 10.
DEMO_LONG_TERM_SCHEDULE: Final[tuple[VisitSpec, ...]] = (
    *yearly_visits(2, 4, requires=("scim",), window_days=60),
    *yearly_visits(5, 5, requires=("isncsci", "scim"), window_days=60),
    *yearly_visits(6, 10, contact_mode="phone", window_days=90),
)
_ALL_ITEMS = {"long_term_contact": True, "autopsy": True, "future_sample_use": True}
#: SCIM III (self-care, respiration and sphincter, mobility) at the long-term visits each
#: participant came to, and the day offset from the visit's target day (synthetic).
_LONG_TERM_SCIM: Final[dict[str, tuple[int, dict[str, tuple[int, int, int]]]]] = {
    "A-001": (3, {"year 2": (19, 35, 29), "year 3": (20, 35, 30), "year 4": (20, 36, 30),
                  "year 5": (20, 36, 31)}),
    "A-002": (-5, {"year 2": (8, 21, 7), "year 3": (9, 21, 8)}),
    "B-001": (10, {"year 2": (3, 10, 2), "year 3": (3, 10, 2), "year 4": (4, 10, 2)}),
    "B-002": (-2, {"year 2": (10, 15, 6), "year 3": (11, 16, 6), "year 4": (11, 16, 7)}),
}  # fmt: skip
#: The participant lost to follow-up in year 4, and the one who re-consented to version 2.0.
LOST_IN_YEAR_4: Final = "A-002"
RECONSENTED: Final = "A-001"


def seed_long_term_follow_up(
    session: Session,
    protocol: str,
    participant_ids: dict[str, int],
    today: date,
    exams: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
) -> None:
    """Add the long-term schedule, consent versions, signatures, dispositions, contact attempts
    and long-term visits of the demo (see the module docstring), as the demo's admin;
    ``exams``: study id -> long-term visit -> ISNCSCI exam cells recorded at that visit."""
    admin = session.scalars(select(User).where(User.username == "admin")).one()
    add_long_term_visits(
        session, user=admin, protocol_id=protocol, visits=DEMO_LONG_TERM_SCHEDULE,
        reason="protocol amendment 2: long-term follow-up (synthetic)",
    )  # fmt: skip
    day0: dict[str, date] = {}
    for study_id, pid in participant_ids.items():
        participant = session.get(Participant, pid)
        assert participant is not None and participant.transplant_date is not None
        day0[study_id] = participant.transplant_date
    first = min(day0.values()) - timedelta(days=60)
    versions = (
        ConsentVersionFacts("1.0", first, tuple(_ALL_ITEMS), summary="Main study (synthetic)"),
        ConsentVersionFacts("2.0", today - timedelta(days=400), tuple(_ALL_ITEMS), True,
                            summary="Adds a yearly phone follow-up to year 10 (synthetic)"),
        ConsentVersionFacts("2.1", today - timedelta(days=20), ("long_term_contact",), True,
                            "long_term", "Describes the long-term MRI surveillance (synthetic)"),
    )  # fmt: skip
    for facts in versions:
        add_consent_version(session, user=admin, protocol_id=protocol, facts=facts)
    for study_id, pid in sorted(participant_ids.items()):
        start = day0[study_id]
        version = "1.0" if start - timedelta(days=10) < versions[1].effective_on else "2.0"
        record_consent(session, user=admin, participant_id=pid, version=version,
                       signed_on=start - timedelta(days=10), items=_ALL_ITEMS)  # fmt: skip
        _enter_long_term(session, admin, pid, start)
        offset, scim = _LONG_TERM_SCIM.get(study_id, (0, {}))
        for spec in DEMO_LONG_TERM_SCHEDULE:
            if spec.name in scim:
                on = start + timedelta(days=spec.target_day + offset)
                _long_term_visit(session, admin, pid, spec.name, on, scim[spec.name])
                cells = (exams or {}).get(study_id, {}).get(spec.name)
                if cells is not None:
                    record_exam(session, user=admin, participant_id=pid, examined_on=on,
                                examiner="Examiner (synthetic)", cells=cells,
                                visit_name=spec.name)  # fmt: skip
        if study_id == LOST_IN_YEAR_4:
            _lose_in_year_4(session, admin, pid, start)
        if study_id == RECONSENTED:
            record_consent(session, user=admin, participant_id=pid, version="2.0",
                           signed_on=today - timedelta(days=380), items=_ALL_ITEMS)  # fmt: skip


def _long_term_visit(
    session: Session, admin: User, pid: int, name: str, on: date, scim: tuple[int, int, int]
) -> None:
    record_long_term_contact(session, user=admin, participant_id=pid, visit_name=name, done_on=on)
    record_scim(
        session, user=admin, participant_id=pid, assessed_on=on,
        assessor="Physiotherapist (synthetic)", self_care=scim[0],
        respiration_sphincter=scim[1], mobility=scim[2], visit_name=name,
    )  # fmt: skip


def _enter_long_term(session: Session, admin: User, pid: int, day0: date) -> None:
    completed = day0 + timedelta(days=364)
    record_disposition(session, user=admin, participant_id=pid,
                       facts=DispositionFacts("completed_main_study", completed,
                                              "week 52 visit done (synthetic)"))  # fmt: skip
    record_disposition(
        session,
        user=admin,
        participant_id=pid,
        facts=DispositionFacts(
            "long_term_follow_up", completed, "agreed to long-term follow-up (synthetic)"
        ),
    )


def _lose_in_year_4(session: Session, admin: User, pid: int, day0: date) -> None:
    year4 = day0 + timedelta(days=round(365.25 * 4))
    attempts = (
        (year4 - timedelta(days=20), "phone", "no_answer", "three calls on different days"),
        (year4 + timedelta(days=5), "letter", "returned_undelivered", "moved, no forwarding"),
        (year4 + timedelta(days=30), "general_practitioner", "no_answer", "practice has no news"),
    )
    for on, method, outcome, note in attempts:
        record_contact_attempt(session, user=admin, participant_id=pid,
                               facts=ContactAttemptFacts(on, method, outcome,
                                                         f"{note} (synthetic)"))  # fmt: skip
    record_disposition(session, user=admin, participant_id=pid,
                       facts=DispositionFacts("lost_to_follow_up", year4 + timedelta(days=60),
                                              "not reached in year 4 (synthetic)"))  # fmt: skip
