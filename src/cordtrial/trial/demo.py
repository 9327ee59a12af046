"""A synthetic demo trial, modelled on the iPSC neural-cell study, built through the use cases.

**Every datum here is synthetic.** The design follows the first-in-human trial of
iPSC-derived neural stem/progenitor cells in subacute complete spinal cord injury (Keio
University; jRCTa031190228; protocol: Sugai et al., *Regen Ther* 2021;18:321-333): participants
with a traumatic AIS A injury between C4 and T10 receive 2 x 10^6 cells into the injury
epicentre 14-28 days after injury, and are followed for 52 weeks, then for years (long-term
follow-up and MRI surveillance: :mod:`.demo_follow_up`, :mod:`.demo_imaging`). Names, dates, exam
values and events below are invented; the intended course of each participant is written beside
it (:data:`DEMO_TRAJECTORIES`) and a test checks that the ISNCSCI engine classifies the exams to
exactly those grades.

Every participant was transplanted about five years before ``today``. Dates are placed relative
to each participant's transplant (day 0), and day 0 relative to ``today``, so that the dashboard
always has due and overdue visits (the year 5 visits) and an expedited safety report whose
deadline is still ahead (the one event placed relative to ``today``: B-001's late syrinx
enlargement).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.isncsci import KEY_MUSCLES, SENSORY_LEVELS, Level
from cordtrial.trial.demo_follow_up import seed_long_term_follow_up
from cordtrial.trial.demo_imaging import seed_demo_imaging
from cordtrial.trial.demo_immunosuppression import seed_demo_immunosuppression
from cordtrial.trial.demo_labs import seed_demo_labs
from cordtrial.trial.demo_medications import seed_demo_medications
from cordtrial.trial.demo_reporting import file_demo_reports, set_demo_jurisdictions
from cordtrial.trial.demo_signatures import seed_demo_signatures
from cordtrial.trial.models import AdverseEvent, Participant, Trial, User
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.exams import record_exam
from cordtrial.trial.services.measures import record_scim, record_ten_metre_walk, record_wisci
from cordtrial.trial.services.participants import assess_eligibility, enroll_participant
from cordtrial.trial.services.product import (
    add_ipsc_line,
    add_specification,
    administer_cells,
    record_custody_event,
    record_release_test,
    register_lot,
    release_lot,
)
from cordtrial.trial.services.safety import (
    add_follow_up,
    report_adverse_event,
)
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial
from cordtrial.trial.services.users import add_user
from cordtrial.trial.services.visits import mark_visit_missed, record_visit_done

__all__ = [
    "DEMO_EXAM_VISITS",
    "DEMO_PASSWORD",
    "DEMO_PROTOCOL_ID",
    "DEMO_SCHEDULE",
    "DEMO_TRAJECTORIES",
    "DEMO_USERS",
    "DemoTrial",
    "demo_exam_cells",
    "seed_demo",
]

#: The demo trial's protocol id (the analysis and the pages find the demo by it).
DEMO_PROTOCOL_ID: Final = "DEMO-IPSC-SCI"
#: The demo's administrator account: it adds itself first (as the first user of a store does,
#: see ``cordtrial user add``), then everything else; the trail names no one who is not a user.
_ACTOR = "admin"
#: The one password of every demo user (synthetic data: nothing to protect).
DEMO_PASSWORD: Final = "synthetic-demo"
#: Demo users: user name -> (role, site codes, password). An empty site tuple means all sites.
DEMO_USERS: Final[dict[str, tuple[str, tuple[str, ...], str]]] = {
    "admin": ("admin", (), DEMO_PASSWORD),
    "investigator": ("investigator", ("A", "B"), DEMO_PASSWORD),
    "coordinator_a": ("coordinator", ("A",), DEMO_PASSWORD),
    "coordinator_b": ("coordinator", ("B",), DEMO_PASSWORD),
    "monitor": ("monitor", ("A", "B"), DEMO_PASSWORD),
    "statistician": ("statistician", ("A", "B"), DEMO_PASSWORD),
    # central MRI readers (issue 14, see demo_imaging)
    "reader_1": ("reader", ("A", "B"), DEMO_PASSWORD),
    "reader_2": ("reader", ("A", "B"), DEMO_PASSWORD),
    "reader_3": ("reader", ("A", "B"), DEMO_PASSWORD),
}
#: Their printed names (invented, shown with signatures).
DEMO_FULL_NAMES: Final[dict[str, str]] = {
    "admin": "Alex Moreau",
    "investigator": "Ines Kovac",
    "coordinator_a": "Carla Ruiz",
    "coordinator_b": "Ben Okafor",
    "monitor": "Mona Lind",
    "statistician": "Sam Tanaka",
    "reader_1": "Rita Okonjo",
    "reader_2": "Rune Halvorsen",
    "reader_3": "Rosa Ferreira",
}

#: Visit schedule of the study (screening, day 0 = transplant, weeks 2, 4, 12, 24, 52) with
#: windows in days (synthetic choices); every visit but day 0 (the transplant) requires the
#: ISNCSCI exam.
DEMO_SCHEDULE: Final = (
    VisitSpec("screening", -7, 7, 0),
    VisitSpec("day 0", 0, 0, 0, requires=()),
    VisitSpec("week 2", 14, 3, 3),
    VisitSpec("week 4", 28, 3, 3),
    VisitSpec("week 12", 84, 7, 7),
    VisitSpec("week 24", 168, 14, 14),
    VisitSpec("week 52", 364, 28, 28),
)
_EXAM_VISITS = ("screening", "week 2", "week 4", "week 12", "week 24", "week 52")

# The state of an exam, as the few numbers that set its grade (see demo_exam_cells).
_A = {"motor": "0", "sensory": "0", "sacral": "0", "vac": "No", "dap": "No"}
_B = {"motor": "0", "sensory": "1", "sacral": "1", "vac": "No", "dap": "Yes"}


def _c(motor: str) -> dict[str, str]:
    return {"motor": motor, "sensory": "1", "sacral": "1", "vac": "Yes", "dap": "Yes"}


@dataclass(frozen=True, slots=True)
class _Person:
    study_id: str
    site: str
    injury_level: Level
    sex: str
    age: int
    mechanism: str
    injury_days_before_transplant: int
    transplant_days_ago: int
    #: visit name -> exam state, for the visits done so far
    exams: dict[str, dict[str, str]]
    #: visit name -> (SCIM self-care, respiration/sphincter, mobility)
    scim: dict[str, tuple[int, int, int]]
    wisci: dict[str, int]
    ten_metre_walk_s: dict[str, float]


_PEOPLE: Final = (
    # Improves to AIS D: motor function returns below T6; stands and walks by week 52.
    _Person(
        "A-001",
        "A",
        Level.T6,
        "M",
        29,
        "transport",
        21,
        1900,  # about 5.2 years: long-term follow-up to year 5 (demo_follow_up)
        {
            "screening": _A,
            "week 2": _A,
            "week 4": _B,
            "week 12": _c("2"),
            "week 24": _c("3"),
            "week 52": _c("4"),
            "year 5": _c("4"),  # the long-term follow-up's year 5 exam (demo_follow_up)
        },
        {
            "screening": (6, 10, 2),
            "week 12": (12, 20, 8),
            "week 24": (16, 28, 20),
            "week 52": (19, 34, 28),
        },
        {"week 4": 0, "week 12": 0, "week 24": 9, "week 52": 13},
        {"week 24": 38.5, "week 52": 21.0},
    ),
    # Improves to AIS C: sacral sparing, then voluntary anal contraction and weak muscles.
    _Person(
        "A-002",
        "A",
        Level.C5,
        "F",
        41,
        "fall",
        14,
        1870,  # about 5.1 years: lost to follow-up in year 4 (demo_follow_up)
        {
            "screening": _A,
            "week 2": _A,
            "week 4": _A,
            "week 12": _B,
            "week 24": _c("1"),
            "week 52": _c("2"),
        },
        {
            "screening": (2, 8, 1),
            "week 12": (4, 12, 3),
            "week 24": (6, 16, 5),
            "week 52": (8, 20, 7),
        },
        {"week 4": 0, "week 12": 0, "week 24": 0, "week 52": 0},
        {},
    ),
    # Unchanged AIS A through week 52; in long-term follow-up, the year 5 visit is overdue.
    _Person(
        "B-001",
        "B",
        Level.C4,
        "M",
        52,
        "sports",
        28,
        1920,  # about 5.3 years (demo_follow_up)
        {
            "screening": _A,
            "week 2": _A,
            "week 4": _A,
            "week 12": _A,
            "week 24": _A,
            "week 52": _A,
        },
        {
            "screening": (1, 6, 0),
            "week 12": (2, 8, 1),
            "week 24": (3, 9, 1),
            "week 52": (3, 10, 2),
        },
        {"week 4": 0, "week 12": 0, "week 24": 0, "week 52": 0},
        {},
    ),
    # Unchanged AIS A; the week 12 visit was missed (see _missed_visit); in long-term
    # follow-up, the year 5 visit is due now.
    _Person(
        "B-002",
        "B",
        Level.T10,
        "M",
        23,
        "assault",
        18,
        1840,  # about 5.0 years (demo_follow_up)
        {"screening": _A, "week 2": _A, "week 4": _A, "week 24": _A, "week 52": _A},
        {"screening": (8, 12, 4), "week 24": (9, 14, 5), "week 52": (10, 15, 6)},
        {"week 4": 0, "week 24": 0, "week 52": 0},
        {},
    ),
)

#: The AIS grade each demo participant's exams classify to, in visit order.
DEMO_TRAJECTORIES: Final[dict[str, tuple[str, ...]]] = {
    "A-001": ("A", "A", "B", "C", "D", "D", "D"),
    "A-002": ("A", "A", "A", "B", "C", "C"),
    "B-001": ("A", "A", "A", "A", "A", "A"),
    "B-002": ("A", "A", "A", "A", "A"),
}

#: The visits at which each demo participant was examined (ISNCSCI), in order: the grades of
#: :data:`DEMO_TRAJECTORIES` belong to them one by one.
DEMO_EXAM_VISITS: Final[dict[str, tuple[str, ...]]] = {p.study_id: tuple(p.exams) for p in _PEOPLE}

_RELEASE_SPEC = {
    "viability": {"min": 70}, "cell_count": {"min": 1e6, "max": 1e8},
    "sterility": {"expected": "no growth"}, "mycoplasma": {"expected": "negative"},
    "endotoxin": {"max": 5}, "residual_undifferentiated": {"max": 0.1},
    "karyotype": {"expected": "normal"},
}  # fmt: skip
_PASSING_TESTS: dict[str, float | str] = {
    "viability": 86.0, "cell_count": 2.4e7, "sterility": "no growth",
    "mycoplasma": "negative", "endotoxin": 0.5, "residual_undifferentiated": 0.01,
    "karyotype": "normal",
}  # fmt: skip


def demo_exam_cells(
    injury_level: Level,
    *,
    motor: str,
    sensory: str,
    sacral: str,
    vac: str,
    dap: str,
) -> dict[str, str]:
    """Canonical exam cells: normal (motor 5, sensory 2) down to ``injury_level`` on both sides,
    then ``motor`` for every key muscle and ``sensory`` for every dermatome below it, S4-5 light
    touch and pin prick ``sacral``, and VAC/DAP as given (synthetic)."""
    cells: dict[str, str] = {}
    for side in ("r", "l"):
        for level in KEY_MUSCLES:
            cells[f"{side}_{level.column}_motor"] = "5" if level <= injury_level else motor
        for level in SENSORY_LEVELS:
            value = "2" if level <= injury_level else sensory
            cells[f"{side}_{level.column}_lt"] = value
            cells[f"{side}_{level.column}_pp"] = value
        cells[f"{side}_s4_5_lt"] = sacral
        cells[f"{side}_s4_5_pp"] = sacral
        cells[f"{side}_nkm"] = ""
    cells["vac"] = vac
    cells["dap"] = dap
    return cells


@dataclass(frozen=True, slots=True)
class DemoTrial:
    """The seeded demo: its protocol id, participant ids by study id, and whether this call
    created it (``False``: it was there already and nothing was written)."""

    protocol_id: str
    participant_ids: dict[str, int]
    created: bool


SessionSource = Session | Callable[[], Session]


def seed_demo(source: SessionSource, *, today: date) -> DemoTrial:
    """Build the synthetic demo trial (see the module docstring) through the use cases, audited
    as the demo's ``admin`` account; if a trial with :data:`DEMO_PROTOCOL_ID` exists, write nothing.

    Parameters
    ----------
    source : Session or sessionmaker
        A session, or a factory of sessions (one is opened and closed).
    today : date
        The day the demo is seen from: visits due and overdue, deadlines, are relative to it.
    """
    if isinstance(source, Session):
        return _seed(source, today)
    with source() as session:
        return _seed(session, today)


def _existing(session: Session) -> DemoTrial | None:
    trial = session.scalars(select(Trial).where(Trial.protocol_id == DEMO_PROTOCOL_ID)).first()
    session.rollback()
    if trial is None:
        return None
    rows = session.execute(
        select(Participant.study_id, Participant.id).where(Participant.trial_id == trial.id)
    ).all()
    session.rollback()
    return DemoTrial(DEMO_PROTOCOL_ID, {s: i for s, i in rows}, created=False)


def _admin(session: Session) -> User:
    """The demo's administrator, who makes every change of the demo (made first, by nobody
    else, in an empty store)."""
    admin = session.scalars(select(User).where(User.username == _ACTOR)).first()
    if admin is None:
        role, _, password = DEMO_USERS[_ACTOR]
        admin = add_user(
            session, user=None, username=_ACTOR, password=password, role=role, all_sites=True
        )
    return admin


def _seed(session: Session, today: date) -> DemoTrial:
    existing = _existing(session)
    if existing is not None:
        return existing
    _admin(session)
    create_trial(
        session,
        user=_admin(session),
        protocol_id=DEMO_PROTOCOL_ID,
        title="SYNTHETIC DEMO: iPSC-derived neural stem/progenitor cells in subacute complete SCI",
        phase="1",
        arms=[ArmSpec("cells", "iPSC-NS/PC transplantation (2 x 10^6 cells)")],
        visits=DEMO_SCHEDULE,
    )
    site_ids = {
        code: add_site(
            session, user=_admin(session), protocol_id=DEMO_PROTOCOL_ID, code=code, name=name
        ).id
        for code, name in (("A", "Site A (synthetic)"), ("B", "Site B (synthetic)"))
    }
    for username, (role, sites, password) in DEMO_USERS.items():
        if username == _ACTOR:
            continue
        add_user(
            session,
            user=_admin(session),
            username=username,
            password=password,
            role=role,
            site_ids=[site_ids[s] for s in sites],
            all_sites=not sites,
            full_name=DEMO_FULL_NAMES[username],
        )
    _product(session, today)
    ids = {p.study_id: _participant(session, p, today) for p in _PEOPLE}
    set_demo_jurisdictions(session, _ACTOR, DEMO_PROTOCOL_ID, _plan_submitted(today))
    _adverse_events(session, ids, today)
    file_demo_reports(session, _ACTOR, DEMO_PROTOCOL_ID, today)
    _missed_visit(session, ids, today)
    seed_demo_labs(session, _ACTOR, DEMO_PROTOCOL_ID, ids, today)  # issue 15: laboratory
    seed_demo_imaging(session, ids, today)  # issue 14: MRI surveillance
    seed_long_term_follow_up(session, DEMO_PROTOCOL_ID, ids, today, _long_term_exams())  # 14
    seed_demo_medications(session, ids, today)  # issue 15: concomitant medication
    seed_demo_immunosuppression(session, _ACTOR, DEMO_PROTOCOL_ID, ids, today)  # issue 15
    seed_demo_signatures(session, list(ids.values()), today, DEMO_USERS["investigator"][2])
    return DemoTrial(DEMO_PROTOCOL_ID, ids, created=True)


def _long_term_exams() -> dict[str, dict[str, dict[str, str]]]:
    """The exam cells of the long-term visits (visits not in :data:`DEMO_SCHEDULE`)."""
    main = {v.name for v in DEMO_SCHEDULE}
    return {
        p.study_id: {
            name: demo_exam_cells(p.injury_level, **state)
            for name, state in p.exams.items() if name not in main
        }
        for p in _PEOPLE
    }  # fmt: skip


def _plan_submitted(today: date) -> date:
    """The day the demo's provision plan was submitted: 30 to 89 days before the first
    transplant, chosen so that a 60-day period ended six days ago: its report, due in four days
    and not yet filed, is on the dashboard."""
    before_first = max(p.transplant_days_ago for p in _PEOPLE) + 30
    return today - timedelta(days=before_first + (5 - before_first) % 60)


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _product(session: Session, today: date) -> None:
    made = today - timedelta(days=1960)
    add_ipsc_line(
        session,
        user=_admin(session),
        name="iPSC-DEMO-01",
        description="Synthetic: clinical-grade HLA-homozygous iPSC line (demo only)",
        donor_id="DONOR-DEMO-01",
    )
    add_specification(session, user=_admin(session), spec_version="v1", limits=_RELEASE_SPEC)
    # cryopreserved: the first lot (synthetic shelf life of 6 years) serves every participant
    for lot_number, made_on, shelf_days in (
        ("DEMO-LOT-001", made, 2190),
        ("DEMO-LOT-002", today - timedelta(30), 730),
    ):
        register_lot(
            session,
            user=_admin(session),
            lot_number=lot_number,
            ipsc_line="iPSC-DEMO-01",
            spec_version="v1",
            manufactured_on=made_on,
            expiry_date=made_on + timedelta(days=shelf_days),
        )
        record_custody_event(
            session, user=_admin(session), lot_number=lot_number, event="manufactured",
            holder="Cell processing facility (synthetic)", location="CPF clean room",
            at=_at(made_on),
        )  # fmt: skip
    for test, value in _PASSING_TESTS.items():
        numeric = not isinstance(value, str)
        record_release_test(
            session,
            user=_admin(session),
            lot_number="DEMO-LOT-001",
            test=test,
            tested_on=made + timedelta(days=7),
            tested_by="QC analyst (synthetic)",
            value=float(value) if numeric else None,
            finding=None if numeric else str(value),
        )
    release_lot(
        session, user=_admin(session), lot_number="DEMO-LOT-001", today=made + timedelta(days=14)
    )
    # the second lot waits in quarantine with part of its tests done
    for test in ("viability", "sterility"):
        value = _PASSING_TESTS[test]
        numeric = not isinstance(value, str)
        record_release_test(
            session,
            user=_admin(session),
            lot_number="DEMO-LOT-002",
            test=test,
            tested_on=today - timedelta(days=20),
            tested_by="QC analyst (synthetic)",
            value=float(value) if numeric else None,
            finding=None if numeric else str(value),
        )


def _participant(session: Session, person: _Person, today: date) -> int:
    day0 = today - timedelta(days=person.transplant_days_ago)
    participant = enroll_participant(
        session,
        user=_admin(session),
        protocol_id=DEMO_PROTOCOL_ID,
        site_code=person.site,
        study_id=person.study_id,
        injury_date=day0 - timedelta(days=person.injury_days_before_transplant),
        injury_level=person.injury_level.name,
        injury_mechanism=person.mechanism,
        age_at_injury=person.age,
        sex=person.sex,
        transplant_date=day0,
    )
    pid = participant.id
    targets = {v.name: day0 + timedelta(days=v.target_day) for v in DEMO_SCHEDULE}
    # day 0 requires no item: its date is recorded; the others are done by their exams
    record_visit_done(
        session,
        user=_admin(session),
        participant_id=pid,
        visit_name="day 0",
        done_on=targets["day 0"],
    )
    for name, state in person.exams.items():
        if name not in targets:
            continue  # a long-term visit's exam: recorded with the long-term follow-up
        record_exam(
            session,
            user=_admin(session),
            participant_id=pid,
            examined_on=targets[name],
            examiner="Examiner (synthetic)",
            cells=demo_exam_cells(person.injury_level, **state),
            visit_name=name,
        )
        if name == "screening":
            assess_eligibility(
                session, user=_admin(session), participant_id=pid, assessed_on=targets[name]
            )
    administer_cells(
        session,
        user=_admin(session),
        participant_id=pid,
        lot_number="DEMO-LOT-001",
        dose_cells=2_000_000,
        volume_ml=0.02,
        injection_site=f"intraspinal, injury epicentre ({person.injury_level.name})",
        administered_at=_at(day0, 10),
        operator="Surgeon (synthetic)",
        identity_checked_by="Scrub nurse (synthetic)",
        participant_identity_confirmed=True,
        product_identity_confirmed=True,
    )
    assessor = "Physiotherapist (synthetic)"
    for name, (self_care, resp, mobility) in person.scim.items():
        record_scim(
            session, user=_admin(session), participant_id=pid, assessed_on=targets[name],
            assessor=assessor, self_care=self_care, respiration_sphincter=resp,
            mobility=mobility, visit_name=name,
        )  # fmt: skip
    for name, level in person.wisci.items():
        record_wisci(
            session, user=_admin(session), participant_id=pid, assessed_on=targets[name],
            assessor=assessor, level=level, visit_name=name,
        )  # fmt: skip
    for name, seconds in person.ten_metre_walk_s.items():
        record_ten_metre_walk(
            session, user=_admin(session), participant_id=pid, assessed_on=targets[name],
            assessor=assessor, seconds=seconds, start_mode="standing", visit_name=name,
        )  # fmt: skip
    return pid


def _adverse_events(session: Session, ids: dict[str, int], today: date) -> None:
    not_related = "not_related"
    day0 = {p.study_id: today - timedelta(days=p.transplant_days_ago) for p in _PEOPLE}
    events = [
        # (study id, onset, term, category, grade, serious, cells, procedure,
        #  immunosuppression, expectedness, outcome, resolved days after onset)
        ("A-001", day0["A-001"] + timedelta(20), "Neuropathic pain below the level of injury",
         "neuropathic_pain", 2, [], "unlikely", "possible", not_related, "expected",
         "recovered", 40),
        ("A-002", day0["A-002"] + timedelta(80), "Urinary tract infection", "infection", 2, [],
         not_related, not_related, "possible", "expected", "recovered", 10),
        ("B-002", day0["B-002"] + timedelta(100), "Raised serum creatinine on tacrolimus",
         "immunosuppression_effect", 2, [], not_related, not_related, "probable", "expected",
         "recovering", None),
        # a SUSAR in year 5 (late syrinx enlargement): serious, possibly related, unexpected ->
        # expedited report due in 15 days, so the dashboard always has one still ahead
        ("B-001", today - timedelta(6), "Syrinx enlargement at the graft site", "syrinx", 3,
         ["hospitalisation"], "possible", "possible", not_related, "unexpected",
         "not_recovered", None),
    ]  # fmt: skip
    for (study_id, onset, term, category, grade, serious, cells, procedure, immuno, expected,
         outcome, resolved_after) in events:  # fmt: skip
        report_adverse_event(
            session,
            user=_admin(session),
            participant_id=ids[study_id],
            term=f"{term} (synthetic)",
            category=category,
            onset_date=onset,
            awareness_date=onset + timedelta(days=1),
            ctcae_grade=grade,
            serious_criteria=serious,
            related_to_cells=cells,
            related_to_procedure=procedure,
            related_to_immunosuppression=immuno,
            expectedness=expected,
            outcome=outcome,
            resolution_date=None if resolved_after is None else onset + timedelta(resolved_after),
            narrative=_NARRATIVES.get(study_id, "") if serious else "",
        )
    susar = session.scalars(
        select(AdverseEvent).where(AdverseEvent.expedited_report_required.is_(True))
    ).one()
    add_follow_up(
        session, user=_admin(session), event_id=susar.id, reported_on=today - timedelta(days=2),
        text="MRI: syrinx stable in size over 3 days; neurological exam unchanged (synthetic).",
    )  # fmt: skip


_NARRATIVES = {
    "B-001": "Five years after transplant the participant reported new dysaesthesia below the "
    "level. An unscheduled MRI showed enlargement of the syrinx known since year 4 at the graft "
    "site; admitted for observation and neurosurgical review. No drainage needed so far "
    "(synthetic).",
}


def _missed_visit(session: Session, ids: dict[str, int], today: date) -> None:
    """B-002's week 12 visit was missed, with its reason, so the pages show one."""
    mark_visit_missed(
        session, user=_admin(session), participant_id=ids["B-002"], visit_name="week 12",
        reason="participant admitted to another hospital (synthetic)", today=today,
    )  # fmt: skip
