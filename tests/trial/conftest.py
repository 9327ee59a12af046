"""Databases for the trial store's tests: every storage test runs on SQLite (a temporary file)
and on PostgreSQL when ``CORDTRIAL_TEST_POSTGRES_URL`` names a server (``scripts/test`` starts
one). In CI (``CI`` set) a missing URL is an error, never a skip.

Each test gets a fresh database migrated to the latest revision: a copy of a migrated SQLite
file, or a PostgreSQL database created from a migrated template database.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from builders import acting_as, lesion_flat
from cordtrial.isncsci import Level
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.database import make_engine, make_session_factory, upgrade
from cordtrial.trial.models import Participant, Trial
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial

BACKENDS = ["sqlite", "postgresql"]
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server the tests may create databases on."""
    url = os.environ.get("CORDTRIAL_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI is set but CORDTRIAL_TEST_POSTGRES_URL is not: PostgreSQL must run")
        pytest.skip("CORDTRIAL_TEST_POSTGRES_URL not set (scripts/test starts a server)")
    return url


def _admin(url: str, sql: str) -> None:
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


class PostgresDatabases:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        self.prefix = f"cordtrial_t{os.getpid()}"
        self.template: str | None = None

    def url(self, name: str) -> str:
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        name = f"{self.prefix}_{next(_counter)}"
        suffix = f" TEMPLATE {template}" if template else ""
        _admin(self.server_url, f"CREATE DATABASE {name}{suffix}")
        return name

    def drop(self, name: str) -> None:
        _admin(self.server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def pg_databases(postgres_url: str) -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(postgres_url)
    template = databases.create()
    upgrade(databases.url(template))
    databases.template = template
    yield databases
    databases.drop(template)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "cordtrial.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database (no tables), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    databases: PostgresDatabases = request.getfixturevalue("pg_databases")
    name = databases.create()
    yield databases.url(name)
    databases.drop(name)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a database migrated to the latest revision, on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "cordtrial.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    databases: PostgresDatabases = request.getfixturevalue("pg_databases")
    name = databases.create(template=databases.template)
    yield databases.url(name)
    databases.drop(name)


@pytest.fixture
def engine(database_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on a fresh database. After the test, the audit trail must verify: every
    scenario of the store's tests (and the web tests, which use this fixture) leaves a chain
    that is intact and accounts for every stored value. Tests that damage the trail on purpose
    say so with ``@pytest.mark.audit_tampered``."""
    engine = make_engine(database_url)
    yield engine
    try:
        if request.node.get_closest_marker("audit_tampered") is None:
            with make_session_factory(engine)() as session:
                report = verify_audit(session)
            assert report.ok, f"the audit trail does not verify after the test:\n{report}"
    finally:
        engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_session_factory(engine)() as session:
        yield session


@pytest.fixture
def other_session(engine: Engine) -> Iterator[Session]:
    """A second session on the same database (a second user)."""
    with make_session_factory(engine)() as session:
        yield session


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
