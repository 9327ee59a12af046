"""Test-wide setup: make ``tests/`` importable (``strategies``, ``oracle.oracle``)."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


# Users created in tests are hashed with the cheapest Argon2 cost: production cost (~0.25 s a
# hash) made up most of the suite's time. tests/trial/rules/test_access.py pins the production
# profile, which every real store uses.
from cordtrial.trial.rules.access import set_password_hash_profile  # noqa: E402

set_password_hash_profile("test")
