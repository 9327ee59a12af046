"""Test-wide setup: make ``tests/`` importable (``strategies``, ``builders``, ``databases``,
``figures``, ``oracle.oracle``), use the cheap password-hash profile, the trial store's database
fixtures shared by the trial, web and analysis tests (``database_url``, ``engine``, ``session``,
``sqlite_template``, ``pg_databases`` ...), and mark tests by what they need (``postgres``,
``browser``, ``oracle``, ``slow``) so that ``scripts/test --quick`` can leave those out of the
inner loop."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


# Users created in tests are hashed with the cheapest Argon2 cost: production cost (~0.25 s a
# hash) made up most of the suite's time. tests/trial/rules/test_access.py pins the production
# profile, which every real store uses.
from cordtrial.trial.rules.access import set_password_hash_profile  # noqa: E402

set_password_hash_profile("test")

from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from cordtrial.trial.audit import verify_audit  # noqa: E402
from cordtrial.trial.database import make_engine, make_session_factory, upgrade  # noqa: E402
from databases import BACKENDS, PostgresDatabases  # noqa: E402

# --- the trial store's databases (the trial, web and analysis tests) ------------------------------
# Every storage test runs on SQLite (a temporary file) and on PostgreSQL when
# CORDTRIAL_TEST_POSTGRES_URL names a server (scripts/test starts one); in CI (CI set) a missing
# URL is an error, never a skip. Each test gets a fresh database migrated to the latest revision:
# a copy of a migrated SQLite file, or a PostgreSQL database created from a migrated template.


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server the tests may create databases on."""
    url = os.environ.get("CORDTRIAL_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI is set but CORDTRIAL_TEST_POSTGRES_URL is not: PostgreSQL must run")
        pytest.skip("CORDTRIAL_TEST_POSTGRES_URL not set (scripts/test starts a server)")
    return url


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


_TESTS_DIR = Path(_TESTS)
# Whole modules that start a Dask cluster or run long seeded sweeps.
_SLOW_MODULES = {"test_distributed.py"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by what it needs: ``postgres`` (a PostgreSQL server: the ``postgresql``
    parameter or the ``postgres_url`` fixture), ``browser`` (Chromium, tests/browser),
    ``slow`` (a Dask cluster)."""
    for item in items:
        path = Path(str(item.fspath))
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        fixtures = getattr(item, "fixturenames", ())
        if "postgresql" in params or "postgres_url" in fixtures or "pg_databases" in fixtures:
            item.add_marker(pytest.mark.postgres)
        if _TESTS_DIR / "browser" in path.parents:
            item.add_marker(pytest.mark.browser)
        if path.name in _SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
