"""A synthetic trial of a chosen size, seeded through the use cases, for the statement-count
test (tests/web/test_statement_counts.py) and the trial-scale benchmark
(benchmarks/bench_trial_scale.py).

Every participant has a day 0, so their visits have states (done, due, overdue, partly done);
the records come in fixed proportions, so a page sees every kind of row at any size: a complete
exam at screening for each participant (the bulk import), an incomplete exam at day 0 for every
fifth, a signature for every tenth, a WISCI II level at week 2 for every third, an adverse event
for each (every fourth serious and related to the cell product, so the stopping rule counts it),
and a data query for every seventh. Synthetic: no real person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as, lesion_flat
from cordtrial.isncsci import Level
from cordtrial.trial.models import AdverseEvent, IsncsciExam, Participant, User
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.exams import record_exam
from cordtrial.trial.services.imports import import_exams
from cordtrial.trial.services.measures import record_wisci
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.queries import raise_query
from cordtrial.trial.services.safety import report_adverse_event
from cordtrial.trial.services.signatures import sign_exam
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial
from cordtrial.trial.services.users import add_user

__all__ = ["SCALE_NOW", "SCALE_PASSWORD", "SCALE_PROTOCOL", "ScaleTrial", "seed_scale_trial"]

SCALE_PROTOCOL = "SCALE-01"
SCALE_PASSWORD = "a long enough passphrase"
#: The clock of the pages: week 2 of the first participants is overdue, of the last due.
SCALE_NOW = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
_SCHEDULE = [
    VisitSpec("screening", -7, 7, 0, ("isncsci",)),
    VisitSpec("day 0", 0, 0, 0, ("isncsci",)),
    VisitSpec("week 2", 14, 3, 3, ("isncsci", "wisci")),
    VisitSpec("month 3", 90, 14, 14, ("isncsci",)),
]


@dataclass(frozen=True, slots=True)
class ScaleTrial:
    """What was seeded: participant ids by study id, an exam and an adverse event of the first
    participant, the users (admin ``scale_admin``, and one per role at the first site)."""

    participant_ids: dict[str, int]
    exam_id: int
    adverse_event_id: int
    site_ids: dict[str, int]


def _study_id(p: int) -> str:
    return f"P{p:04d}"


def seed_scale_trial(session: Session, participants: int, sites: int) -> ScaleTrial:
    """Seed the trial :data:`SCALE_PROTOCOL` with ``participants`` over ``sites`` sites (see the
    module's docstring for what each participant has)."""
    create_trial(
        session, user=acting_as("seed"), protocol_id=SCALE_PROTOCOL, title="Synthetic scale trial",
        phase="2", arms=[ArmSpec("cells", "iPSC-NS/PC")], visits=_SCHEDULE,
    )  # fmt: skip
    site_ids = {
        f"S{s:02d}": add_site(
            session,
            user=acting_as("seed"),
            protocol_id=SCALE_PROTOCOL,
            code=f"S{s:02d}",
            name=f"Site {s}",
        ).id
        for s in range(1, sites + 1)
    }
    ids: dict[str, int] = {}
    for p in range(1, participants + 1):
        day0 = date(2026, 1, 1) + timedelta(days=p % 70)
        ids[_study_id(p)] = enroll_participant(
            session, user=acting_as("seed"), protocol_id=SCALE_PROTOCOL,
            site_code=f"S{(p - 1) % sites + 1:02d}", study_id=_study_id(p),
            injury_date=day0 - timedelta(days=21), injury_level="C5", injury_mechanism="fall",
            age_at_injury=20 + p % 50, sex="F" if p % 2 else "M", transplant_date=day0,
        ).id  # fmt: skip
    add_user(session, user=acting_as("seed"), username="scale_admin", password=SCALE_PASSWORD,
             role="admin", site_ids=[])  # fmt: skip
    for role in ("investigator", "coordinator", "monitor", "statistician"):
        add_user(session, user=acting_as("seed"), username=f"scale_{role}", password=SCALE_PASSWORD,
                 role=role, site_ids=[site_ids["S01"]])  # fmt: skip
    cells = lesion_flat(Level.C5)
    frame = pd.DataFrame(
        [
            {"participant": _study_id(p), "visit": "screening",
             "examined_on": (date(2026, 1, 1) + timedelta(days=p % 70 - 3)).isoformat(),
             "examiner": "Dr Scale", **cells}
            for p in range(1, participants + 1)
        ],
        dtype=object,
    )  # fmt: skip
    report = import_exams(session, actor="seed", protocol_id=SCALE_PROTOCOL, frame=frame)
    assert not report.errors, report.errors[:3]
    partial = {**cells, "r_c5_motor": None}
    for p in range(1, participants + 1):
        pid = ids[_study_id(p)]
        day0 = date(2026, 1, 1) + timedelta(days=p % 70)
        if p % 5 == 0:
            record_exam(session, user=acting_as("seed"), participant_id=pid, examined_on=day0,
                        examiner="Dr Scale", cells=partial, visit_name="day 0")  # fmt: skip
        if p % 3 == 0:
            record_wisci(session, user=acting_as("seed"), participant_id=pid, visit_name="week 2",
                         assessed_on=day0 + timedelta(days=14), assessor="PT", level=4)  # fmt: skip
        serious = p % 4 == 0
        report_adverse_event(
            session, user=acting_as("seed"), participant_id=pid,
            term="Wound infection" if serious else "Neuropathic pain",
            category="infection" if serious else "neuropathic_pain",
            onset_date=day0 + timedelta(days=3), awareness_date=day0 + timedelta(days=4),
            ctcae_grade=3 if serious else 1 + p % 2,
            serious_criteria=["hospitalisation"] if serious else [],
            related_to_cells="possible" if serious else "not_related",
            related_to_procedure="not_related", related_to_immunosuppression="not_related",
            expectedness="unexpected" if serious else "expected",
            outcome="recovering" if serious else "not_recovered",
            narrative="Synthetic serious event." if serious else "",
        )  # fmt: skip
    screening = dict(
        session.execute(
            select(IsncsciExam.participant_id, IsncsciExam.id)
            .join(Participant, Participant.id == IsncsciExam.participant_id)
            .where(IsncsciExam.classification.is_not(None))
        ).all()
    )
    signer = session.scalars(select(User).where(User.username == "scale_admin")).one()
    for p in range(10, participants + 1, 10):
        sign_exam(session, user=signer, password=SCALE_PASSWORD,
                  exam_id=screening[ids[_study_id(p)]], now=SCALE_NOW)  # fmt: skip
    for p in range(7, participants + 1, 7):
        raise_query(
            session, user=acting_as("seed"), participant_id=ids[_study_id(p)],
            entity="isncsci_exam",
            entity_id=screening[ids[_study_id(p)]], field="cells.r_c5_motor",
            text="Source says 4, not 5?", now=SCALE_NOW,
        )  # fmt: skip
    first = ids[_study_id(1)]
    event = session.scalars(
        select(AdverseEvent.id).where(AdverseEvent.participant_id == first)
    ).first()
    assert event is not None
    return ScaleTrial(ids, screening[first], event, site_ids)
