"""The demo trial's immunosuppression (issue 15): a tacrolimus course for every participant, with
trough levels (exactly one out of range), the protocol's taper and the stop.

**Every datum here is synthetic**; the regimen's figures come from the reference sheet
``shared/reference/tacrolimus.md`` and are cited in :data:`DEMO_REGIMEN_SOURCE`:

* Duration: 6 months, as in the Pathway Study (HuCNS-SC in cervical SCI, Levi 2019: "continued
  for 6 months post-transplant"); planned stop on day 182.
* Dose and targets: the Prograf US label's adult kidney row with azathioprine (initial oral
  dose 0.2 mg/kg/day in two doses; whole-blood trough month 1-3: 7-20 ng/mL, month 4-12:
  5-15 ng/mL), months read as days 0-90 and 91-364. The sheet found no published SCI target.
* The taper (to 75 % on day 91, 50 % on day 152) is a synthetic protocol choice.

A-001 completes the course and stops as planned; A-002's course is interrupted for three days
and stopped early for an infection; B-001's day-7 trough is above target and the dose is
lowered the next day. A course is seeded only up to ``today``: with the demo's transplants about
five years back, B-001 and B-002 also complete the course and stop as planned.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.models import Participant
from cordtrial.trial.services.acting import acting_user
from cordtrial.trial.services.immunosuppression import (
    record_dose_change,
    record_interruption,
    record_trough,
    set_regimen,
    start_course,
    stop_course,
)

__all__ = ["DEMO_REGIMEN_SOURCE", "DEMO_TROUGHS", "seed_demo_immunosuppression"]

DEMO_REGIMEN_SOURCE: Final = (
    "Synthetic demo protocol. Duration 6 months: Pathway Study (Levi AD et al., J Neurotrauma "
    "2019). Dose and trough targets: Prograf US prescribing information, adult kidney "
    "transplant with azathioprine (0.2 mg/kg/day; month 1-3: 7-20 ng/mL, month 4-12: "
    "5-15 ng/mL), as in shared/reference/tacrolimus.md section 1. Taper to 75 % on day 91 and "
    "50 % on day 152: synthetic."
)

#: Start dose (mg/d, for about 70 kg at 0.2 mg/kg/d) and the troughs (day since transplant,
#: ng/mL), per participant. Only B-001's day-7 level (23.5) is out of range.
_START_DOSE: Final = {"A-001": 14.0, "A-002": 10.0, "B-001": 16.0, "B-002": 14.0}
DEMO_TROUGHS: Final[dict[str, tuple[tuple[int, float], ...]]] = {
    "A-001": ((7, 11.2), (14, 12.8), (28, 10.4), (56, 9.6), (84, 9.1), (120, 7.4), (168, 6.2)),
    "A-002": ((7, 9.8), (14, 13.5), (28, 12.1), (56, 8.7), (84, 10.3), (120, 8.0)),
    "B-001": ((7, 23.5), (14, 15.2), (28, 12.6), (56, 11.0), (84, 9.9), (120, 8.3), (168, 6.6)),
    "B-002": ((7, 10.9), (14, 12.2), (28, 11.4), (56, 9.2), (84, 8.8), (120, 7.1)),
}
_TAPER: Final = ((91, 0.75), (152, 0.5))
_PLANNED_STOP: Final = 182


def seed_demo_immunosuppression(
    session: Session, actor: str, protocol_id: str, ids: dict[str, int], today: date
) -> None:
    """The regimen and the four courses, everything up to ``today``."""
    user = acting_user(session, actor, "manage_regimen")
    set_regimen(
        session, user, protocol_id=protocol_id, drug="tacrolimus", dose=0.2,
        dose_unit="mg/kg/d", route="oral", start_day=0, planned_stop_day=_PLANNED_STOP,
        taper=[{"day": d, "dose": round(0.2 * f, 3)} for d, f in _TAPER],
        targets=[{"from_day": 0, "until_day": 91, "low": 7, "high": 20},
                 {"from_day": 91, "until_day": 365, "low": 5, "high": 15}],
        target_unit="ng/mL", source=DEMO_REGIMEN_SOURCE,
    )  # fmt: skip
    rows = session.execute(
        select(Participant.study_id, Participant.transplant_date).where(
            Participant.id.in_(ids.values())
        )
    ).all()
    day0s = {study_id: day0 for study_id, day0 in rows}
    for study_id, start_dose in _START_DOSE.items():
        day0 = day0s[study_id]
        assert day0 is not None
        elapsed = (today - day0).days
        course = start_course(
            session, user, participant_id=ids[study_id], drug="tacrolimus", started_on=day0,
            start_dose=start_dose,
        )  # fmt: skip

        def on(day: int, base: date = day0) -> date:
            return base + timedelta(days=day)

        stop_day = 150 if study_id == "A-002" else _PLANNED_STOP
        if study_id == "B-001":
            record_dose_change(
                session, user, course_id=course.id, changed_on=on(8), dose=12.0,
                reason="trough above target (23.5 ng/mL on day 7)",
            )  # fmt: skip
        if study_id == "A-002":
            record_interruption(
                session, user, course_id=course.id, from_date=on(40), to_date=on(42),
                reason="vomiting, unable to take oral doses (synthetic)",
            )  # fmt: skip
        dose = 12.0 if study_id == "B-001" else start_dose
        for day, fraction in _TAPER:
            if day < min(elapsed + 1, stop_day):
                record_dose_change(
                    session, user, course_id=course.id, changed_on=on(day),
                    dose=round(dose * fraction, 1), reason=f"protocol taper (day {day})",
                )  # fmt: skip
        for day, level in DEMO_TROUGHS[study_id]:
            if day <= elapsed and day < stop_day:
                record_trough(
                    session, user, course_id=course.id,
                    sampled_at=datetime.combine(on(day), time(8, 0), tzinfo=UTC),
                    hours_since_dose=12.0, value=level, unit="ng/mL",
                )  # fmt: skip
        if stop_day <= elapsed:
            infection = study_id == "A-002"
            stop_course(
                session, user, course_id=course.id, stopped_on=on(stop_day),
                reason="infection" if infection else "planned",
                note="urinary tract infection (synthetic)" if infection else "",
            )  # fmt: skip
