"""The demo trial's laboratory results (synthetic, issue 15).

**Every datum here is synthetic.** Each site has reference ranges typical of an adult hospital
laboratory (invented figures, not any laboratory's). Every participant has a baseline panel at
screening (before the transplant), then a panel at each visit done; values move a little under
tacrolimus (lymphocytes a little below the lower limit: CTCAE grade 1) and stay within CTCAE
grade 0-1, except B-002's creatinine 100 days after transplant: 131 umol/L against a baseline of
76 umol/L (more than 1.5 x baseline: CTCAE v5.0 creatinine increased, grade 2), an unscheduled
sample linked to the demo's adverse event "Raised serum creatinine on tacrolimus" (grade 2),
then back within the limits two weeks later.

The trial's eligibility gains laboratory limits (a synthetic protocol amendment, the kind of
limits phase 1 cell-therapy protocols set: neutrophils >= 1.5 x10^9/L, platelets >= 100 x10^9/L,
haemoglobin >= 90 g/L, creatinine <= 1.5 x ULN, ALT and AST <= 2.5 x ULN, bilirubin <= 1.5 x
ULN, INR <= 1.5) and each participant is assessed again on the screening date, from the
screening panel.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.models import AdverseEvent, Participant, User, Visit, VisitDefinition
from cordtrial.trial.rules.eligibility import EligibilityCriteria
from cordtrial.trial.rules.lab_limits import LabLimit
from cordtrial.trial.rules.labs import ANALYTES
from cordtrial.trial.services.labs import (
    LabEntry,
    link_lab_result_to_adverse_event,
    record_lab_panel,
    set_reference_range,
)
from cordtrial.trial.services.participants import assess_eligibility
from cordtrial.trial.services.trials import amend_eligibility

__all__ = ["DEMO_LAB_LIMITS", "DEMO_REFERENCE_RANGES", "seed_demo_labs"]

#: Site code -> analyte -> (sex, LLN, ULN) in the protocol's units (synthetic).
DEMO_REFERENCE_RANGES: Final[dict[str, dict[str, tuple[str, float | None, float | None]]]] = {
    site: {
        "neutrophils": ("any", 1.8, 7.5), "wbc": ("any", 4.0, 11.0),
        "lymphocytes": ("any", 1.0, 4.0), "platelets": ("any", 150.0, 400.0),
        "haemoglobin": ("M", 130.0, 170.0), "creatinine": ("any", 62.0, creatinine_uln),
        "alt": ("any", None, alt_uln), "ast": ("any", None, 40.0),
        "bilirubin": ("any", None, 21.0), "potassium": ("any", 3.5, 5.1),
        "inr": ("any", 0.8, 1.2),
    }
    for site, creatinine_uln, alt_uln in (("A", 106.0, 41.0), ("B", 110.0, 45.0))
}  # fmt: skip
_FEMALE_HAEMOGLOBIN: Final = (120.0, 155.0)

#: The demo protocol's laboratory eligibility limits (synthetic).
DEMO_LAB_LIMITS: Final = (
    LabLimit("neutrophils", ">=", 1.5),
    LabLimit("platelets", ">=", 100),
    LabLimit("haemoglobin", ">=", 90),
    LabLimit("creatinine", "<=", 1.5, "ULN"),
    LabLimit("alt", "<=", 2.5, "ULN"),
    LabLimit("ast", "<=", 2.5, "ULN"),
    LabLimit("bilirubin", "<=", 1.5, "ULN"),
    LabLimit("inr", "<=", 1.5),
)

#: Each participant's screening panel (protocol units; INR at screening only).
_BASELINE: Final[dict[str, dict[str, float]]] = {
    "A-001": {"neutrophils": 4.2, "wbc": 7.1, "lymphocytes": 1.9, "platelets": 245,
              "haemoglobin": 142, "creatinine": 78, "alt": 24, "ast": 22, "bilirubin": 9,
              "potassium": 4.1, "inr": 1.0},
    "A-002": {"neutrophils": 3.6, "wbc": 6.2, "lymphocytes": 1.7, "platelets": 268,
              "haemoglobin": 128, "creatinine": 64, "alt": 19, "ast": 20, "bilirubin": 7,
              "potassium": 4.0, "inr": 1.1},
    "B-001": {"neutrophils": 5.1, "wbc": 8.4, "lymphocytes": 2.2, "platelets": 210,
              "haemoglobin": 148, "creatinine": 84, "alt": 31, "ast": 27, "bilirubin": 12,
              "potassium": 4.3, "inr": 1.0},
    "B-002": {"neutrophils": 3.9, "wbc": 6.8, "lymphocytes": 1.8, "platelets": 232,
              "haemoglobin": 151, "creatinine": 76, "alt": 22, "ast": 21, "bilirubin": 10,
              "potassium": 4.2, "inr": 1.0},
}  # fmt: skip
#: Under tacrolimus, by visit after the screening: multiples of the baseline (lymphocytes fall
#: a little, creatinine and potassium rise a little; all within grade 0-1).
_COURSE: Final[tuple[dict[str, float], ...]] = (
    {"lymphocytes": 0.5, "creatinine": 1.12, "potassium": 1.08, "haemoglobin": 0.95},
    {"lymphocytes": 0.55, "creatinine": 1.2, "potassium": 1.1, "haemoglobin": 0.96},
    {"lymphocytes": 0.7, "creatinine": 1.25, "potassium": 1.08},
    {"lymphocytes": 0.85, "creatinine": 1.15, "potassium": 1.04},
    {"lymphocytes": 0.95, "creatinine": 1.05},
)
#: B-002's raised creatinine: days after the transplant -> umol/L (grade 2, then back).
_B002_CREATININE: Final = ((100, 131.0), (114, 96.0))
_AE_TERM: Final = "Raised serum creatinine on tacrolimus (synthetic)"


def _user(session: Session, username: str) -> User:
    return session.scalars(select(User).where(User.username == username)).one()


#: Decimals a laboratory reports each analyte with (the others: whole numbers).
_DECIMALS: Final = {"neutrophils": 1, "wbc": 1, "lymphocytes": 2, "potassium": 1, "inr": 1}


def _panel(values: dict[str, float], factors: dict[str, float]) -> list[LabEntry]:
    return [
        LabEntry(a, round(v * factors.get(a, 1.0), _DECIMALS.get(a, 0)), ANALYTES[a].unit)
        for a, v in values.items()
        if a != "inr" or not factors
    ]


def seed_demo_labs(
    session: Session, actor: str, protocol_id: str, ids: dict[str, int], today: date
) -> None:
    """Reference ranges, every participant's panels, B-002's grade 2 creatinine linked to its
    adverse event, and the laboratory eligibility limits (see the module docstring)."""
    admin = _user(session, actor)
    participants = {
        p.study_id: p
        for p in session.scalars(select(Participant).where(Participant.id.in_(ids.values())))
    }
    for site_id, code in {(p.site_id, p.site.code) for p in participants.values()}:
        for analyte, (sex, lln, uln) in DEMO_REFERENCE_RANGES[code].items():
            set_reference_range(
                session, admin, site_id=site_id, analyte=analyte, lln=lln, uln=uln, sex=sex
            )
        low, high = _FEMALE_HAEMOGLOBIN
        set_reference_range(
            session, admin, site_id=site_id, analyte="haemoglobin", lln=low, uln=high, sex="F"
        )
    visits = session.execute(
        select(Visit.participant_id, VisitDefinition.name, Visit.done_on)
        .join(VisitDefinition, Visit.visit_definition_id == VisitDefinition.id)
        .where(Visit.participant_id.in_(ids.values()), Visit.done_on.is_not(None))
        .order_by(Visit.participant_id, Visit.done_on)
    ).all()
    done: dict[int, list[tuple[str, date]]] = {}
    for pid, name, on in visits:
        if name != "day 0" and on is not None:
            done.setdefault(pid, []).append((name, on))
    for study_id, baseline in _BASELINE.items():
        participant = participants[study_id]
        for i, (_, on) in enumerate(done.get(participant.id, [])[: len(_COURSE) + 1]):
            factors = {} if i == 0 else _COURSE[i - 1]
            record_lab_panel(
                session, admin, participant_id=participant.id, collected_on=on,
                entries=_panel(baseline, factors),
            )  # fmt: skip
    _raised_creatinine(session, admin, participants["B-002"])
    _lab_eligibility(session, admin, protocol_id, list(participants.values()), done)


def _raised_creatinine(session: Session, admin: User, participant: Participant) -> None:
    day0 = participant.transplant_date
    assert day0 is not None
    results = [
        record_lab_panel(
            session, admin, participant_id=participant.id,
            collected_on=day0 + timedelta(days=after),
            entries=[LabEntry("creatinine", value, "umol/L")],
        )[0]
        for after, value in _B002_CREATININE
    ]  # fmt: skip
    first = results[0]
    assert first.ctcae_grade == 2, first.grade_basis
    event = session.scalars(
        select(AdverseEvent).where(
            AdverseEvent.participant_id == participant.id, AdverseEvent.term == _AE_TERM
        )
    ).one()
    link_lab_result_to_adverse_event(
        session, admin, lab_result_id=first.id, adverse_event_id=event.id
    )


def _lab_eligibility(
    session: Session,
    admin: User,
    protocol_id: str,
    participants: list[Participant],
    done: dict[int, list[tuple[str, date]]],
) -> None:
    trial = participants[0].trial
    criteria = replace(EligibilityCriteria.from_json(trial.eligibility), lab_limits=DEMO_LAB_LIMITS)
    amend_eligibility(
        session, user=admin, protocol_id=protocol_id, criteria=criteria,
        reason="protocol amendment (synthetic): laboratory limits at screening",
    )  # fmt: skip
    for participant in participants:
        screening = next(on for name, on in done[participant.id] if name == "screening")
        assess_eligibility(
            session, user=admin, participant_id=participant.id, assessed_on=screening
        )
