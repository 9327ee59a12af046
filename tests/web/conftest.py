"""The API's tests run on SQLite and on PostgreSQL (the trial store's database fixtures), through
FastAPI's TestClient, with a fixed clock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from builders import acting_as
from cordtrial.trial.database import make_engine, make_session_factory
from cordtrial.trial.demo import seed_demo
from cordtrial.trial.models import User
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.exams import record_exam
from cordtrial.trial.services.measures import record_wisci
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.product import add_ipsc_line, add_specification, register_lot
from cordtrial.trial.services.queries import raise_query
from cordtrial.trial.services.safety import report_adverse_event
from cordtrial.trial.services.tokens import issue_token
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial
from cordtrial.trial.services.users import add_user
from cordtrial.web import WebSettings, create_app
from cordtrial.web.pages.security import SESSION_COOKIE, session_csrf_token
from databases import BACKENDS, PostgresDatabases
from trial.conftest import complete_c5_cells

NOW = datetime(2026, 2, 12, 10, 0, tzinfo=UTC)
PASSWORD = "a long enough passphrase"
PROTOCOL = "IPSC-SCI-01"
ROLES = ["admin", "investigator", "coordinator", "monitor", "statistician", "reader"]
SPEC_LIMITS = {
    "viability": {"min": 70}, "cell_count": {"min": 1e6, "max": 1e8},
    "sterility": {"expected": "no growth"}, "mycoplasma": {"expected": "negative"},
    "endotoxin": {"max": 5}, "residual_undifferentiated": {"max": 0.1},
    "karyotype": {"expected": "normal"},
}  # fmt: skip


@dataclass
class World:
    """A trial with sites S01 and S02, a participant at each, records of the first, and one
    user per role at S01 (and an investigator at S02), each with a token."""

    client: TestClient
    session: Session
    site_ids: dict[str, int]
    participant_id: int
    other_participant_id: int
    exam_id: int
    adverse_event_id: int
    measure_id: int
    lot_number: str
    tokens: dict[str, str]
    user_ids: dict[str, int]
    query_id: int
    #: An MRI of the first participant with its two central readers assigned ("reader" and
    #: "reader_b"), and the read assigned to "reader" (issue 14).
    mri_id: int = 0
    read_id: int = 0
    #: A laboratory result of the first participant, not graded (issue 15).
    lab_id: int = 0
    #: A concomitant medication of the first participant, flagged for an interaction (issue 15).
    medication_id: int = 0
    #: The first participant's tacrolimus course (issue 15).
    course_id: int = 0

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def _populate(session: Session) -> dict[str, int]:
    create_trial(
        session, user=acting_as("setup"), protocol_id=PROTOCOL, title="iPSC-NS/PC in subacute SCI",
        phase="1", arms=[ArmSpec("cells", "iPSC-NS/PC")],
        visits=[VisitSpec("screening", -7, 7, 0), VisitSpec("day 0", 0),
                VisitSpec("week 2", 14, 3, 3)],
    )  # fmt: skip
    s1 = add_site(session, user=acting_as("setup"), protocol_id=PROTOCOL, code="S01", name="One").id
    s2 = add_site(session, user=acting_as("setup"), protocol_id=PROTOCOL, code="S02", name="Two").id
    common = {
        "injury_date": date(2026, 1, 5), "injury_level": "C5", "injury_mechanism": "fall",
        "age_at_injury": 34, "sex": "M", "transplant_date": date(2026, 1, 26),
    }  # fmt: skip
    p1 = enroll_participant(
        session,
        user=acting_as("setup"),
        protocol_id=PROTOCOL,
        site_code="S01",
        study_id="P001",
        **common,
    )  # type: ignore[arg-type]
    p2 = enroll_participant(
        session,
        user=acting_as("setup"),
        protocol_id=PROTOCOL,
        site_code="S02",
        study_id="P002",
        **common,
    )  # type: ignore[arg-type]
    exam = record_exam(
        session,
        user=acting_as("setup"),
        participant_id=p1.id,
        examined_on=date(2026, 1, 20),
        examiner="Dr Exam",
        cells=complete_c5_cells(),
        visit_name="screening",
    )
    ae = report_adverse_event(
        session, user=acting_as("setup"), participant_id=p1.id, term="Neuropathic pain",
        category="neuropathic_pain", onset_date=date(2026, 2, 1), awareness_date=date(2026, 2, 2),
        ctcae_grade=2, serious_criteria=[], related_to_cells="possible",
        related_to_procedure="not_related", related_to_immunosuppression="not_related",
        expectedness="expected", outcome="not_recovered",
    )  # fmt: skip
    wisci = record_wisci(
        session,
        user=acting_as("setup"),
        participant_id=p1.id,
        assessed_on=date(2026, 2, 9),
        assessor="PT",
        level=0,
    )
    add_ipsc_line(
        session, user=acting_as("setup"), name="iPSC-01", description="HLA-homozygous line"
    )
    add_specification(session, user=acting_as("setup"), spec_version="v1", limits=SPEC_LIMITS)
    register_lot(
        session,
        user=acting_as("setup"),
        lot_number="L001",
        ipsc_line="iPSC-01",
        spec_version="v1",
        manufactured_on=date(2026, 1, 2),
        expiry_date=date(2026, 6, 30),
    )
    query = raise_query(
        session, user=acting_as("setup"), participant_id=p1.id, entity="isncsci_exam",
        entity_id=exam.id,
        field="cells.r_c5_motor", text="Source says 4, not 5?", now=NOW,
    )  # fmt: skip
    return {"s1": s1, "s2": s2, "p1": p1.id, "p2": p2.id, "exam": exam.id, "ae": ae.id,
            "wisci": wisci.id, "query": query.id}  # fmt: skip


def _imaging(session: Session, ids: dict[str, int], user_ids: dict[str, int]) -> tuple[int, int]:
    from cordtrial.trial.models import User
    from cordtrial.trial.services.imaging import assign_readers, record_mri

    add_user(session, user=acting_as("setup"), username="reader_b", password=PASSWORD,
             role="reader", site_ids=[ids["s1"]])  # fmt: skip
    admin = session.get(User, user_ids["admin"])
    assert admin is not None
    mri = record_mri(
        session, admin, participant_id=ids["p1"], acquired_on=date(2026, 2, 10),
        imaging_site="S01 radiology", field_strength_t=3.0, sequences=["sagittal T2"],
        study_instance_uid="1.2.826.0.1.3680043.8.498.1",
    )  # fmt: skip
    reads = assign_readers(session, admin, mri_id=mri.id, readers=["reader", "reader_b"])
    return mri.id, reads[0].id


def _immunosuppression(session: Session, participant_id: int) -> int:
    from cordtrial.trial.services.immunosuppression import set_regimen, start_course

    set_regimen(
        session, acting_as("setup"), protocol_id=PROTOCOL, drug="tacrolimus", dose=0.1,
        dose_unit="mg/kg/d", route="oral", start_day=0, planned_stop_day=182, taper=[],
        targets=[{"from_day": 0, "until_day": None, "low": 7, "high": 20}], target_unit="ng/mL",
        source="test regimen",
    )  # fmt: skip
    return start_course(
        session, acting_as("setup"), participant_id=participant_id, drug="tacrolimus",
        started_on=date(2026, 1, 26), start_dose=7,
    ).id  # fmt: skip


@pytest.fixture
def world(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[World]:
    factory = make_session_factory(engine)
    session = factory()
    ids = _populate(session)
    tokens: dict[str, str] = {}
    user_ids: dict[str, int] = {}
    for role in ROLES:
        user = add_user(
            session,
            user=acting_as("setup"),
            username=role,
            password=PASSWORD,
            role=role,
            site_ids=[ids["s1"]],
        )
        user_ids[role] = user.id
    other = add_user(
        session,
        user=acting_as("setup"),
        username="other_site",
        password=PASSWORD,
        role="investigator",
        site_ids=[ids["s2"]],
    )
    user_ids["other_site"] = other.id
    mri_id, read_id = _imaging(session, ids, user_ids)
    from cordtrial.trial.services.labs import LabEntry, record_lab_panel

    (lab,) = record_lab_panel(
        session, acting_as("setup"), participant_id=ids["p1"], collected_on=date(2026, 2, 9),
        entries=[LabEntry("alt", 30, "U/L")],
    )  # fmt: skip
    from cordtrial.trial.services.medications import record_medication

    medication = record_medication(
        session, acting_as("setup"), participant_id=ids["p1"], name="fluconazole", route="oral",
        frequency="once daily", indication="candiduria", start_date=date(2026, 2, 2),
    )  # fmt: skip
    course_id = _immunosuppression(session, ids["p1"])
    for name, user_id in user_ids.items():
        tokens[name] = issue_token(session, user_id=user_id, now=NOW).token
    app = create_app(
        # report jobs write their files into the test's folder
        WebSettings(database_url=database_url, reports_dir=tmp_path / "reports"),
        session_factory=factory,
        clock=lambda: NOW,
    )
    with TestClient(app) as client:
        yield World(
            client,
            session,
            {"S01": ids["s1"], "S02": ids["s2"]},
            ids["p1"],
            ids["p2"],
            ids["exam"],
            ids["ae"],
            ids["wisci"],
            "L001",
            tokens,
            user_ids,
            ids["query"],
            mri_id,
            read_id,
            lab.id,
            medication.id,
            course_id,
        )
    session.close()


# --- the seeded demo trial (its pages, audit log, dashboard) -----------------------------------

#: the clock of the demo store's tests (the demo is seeded as of this day)
DEMO_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@dataclass
class Demo:
    """The synthetic demo trial seeded into a store; ``client(username)`` logs in as a demo user."""

    factory: sessionmaker[Session]
    participant_ids: dict[str, int]
    app_url: str

    def client(self, username: str | None) -> TestClient:
        app = create_app(
            WebSettings(database_url=self.app_url, demo=True),
            session_factory=self.factory,
            clock=lambda: DEMO_NOW,
        )
        client = TestClient(app, follow_redirects=False)
        if username is not None:
            with self.factory() as session:
                user = session.scalars(select(User).where(User.username == username)).one()
                token = issue_token(session, user_id=user.id, now=DEMO_NOW).token
            client.cookies.set(SESSION_COOKIE, token)
            client.headers["x-test-csrf"] = session_csrf_token(token)
        return client


@pytest.fixture(scope="module", params=BACKENDS)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """The demo trial seeded once per module, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("pages") / "cordtrial.db"
        shutil.copyfile(template, path)
        url, drop = f"sqlite:///{path}", None
    else:
        databases: PostgresDatabases = request.getfixturevalue("pg_databases")
        name = databases.create(template=databases.template)
        url, drop = databases.url(name), name
    engine = make_engine(url)
    factory = make_session_factory(engine)
    seeded = seed_demo(factory, today=DEMO_NOW.date())
    yield Demo(factory, seeded.participant_ids, url)
    engine.dispose()
    if drop is not None:
        request.getfixturevalue("pg_databases").drop(drop)
