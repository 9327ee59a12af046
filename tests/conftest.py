"""Test-wide setup: make ``tests/`` importable (``strategies``, ``oracle.oracle``), use the cheap
password-hash profile, and mark tests by what they need (``postgres``, ``browser``, ``oracle``,
``slow``) so that ``scripts/test --quick`` can leave those out of the inner loop."""

from __future__ import annotations

import sys
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
