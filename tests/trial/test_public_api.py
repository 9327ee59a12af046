"""The trial package's public surface is deliberate: a change to it must change this test."""

from __future__ import annotations

import pickle

import cordtrial.trial as trial
from cordtrial.trial.errors import (
    AdministrationRefusedError,
    BackupError,
    ConflictError,
    InvalidValueError,
    NotFoundError,
    ReasonRequiredError,
    RuleViolationError,
    TrialError,
)

EXPECTED = {
    "AccessDeniedError", "AdministrationRefusedError", "AuditError", "AuditReport",
    "AuthenticationError", "BackupError", "ConflictError",
    "InvalidValueError", "NotFoundError", "RandomizationError", "ReasonRequiredError",
    "RuleViolationError", "Settings", "TrialError", "audit_head", "backup", "current_revision",
    "downgrade", "head_revision", "load_settings", "make_engine", "make_session_factory",
    "restore", "unit_of_work", "upgrade", "verify_audit",
}  # fmt: skip


def test_public_names_match_all() -> None:
    assert set(trial.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(trial, name) is not None


def test_errors_are_value_errors_with_context() -> None:
    error = InvalidValueError("ctcae_grade", 6, "an integer 1-5", "is out of range")
    assert isinstance(error, TrialError) and isinstance(error, ValueError)
    assert str(error) == "ctcae_grade: 6 is out of range (an integer 1-5)"
    assert (error.field, error.value, error.allowed) == ("ctcae_grade", 6, "an integer 1-5")
    assert isinstance(NotFoundError("lot", "L9"), LookupError)
    assert issubclass(AdministrationRefusedError, RuleViolationError)


def test_errors_survive_pickling() -> None:
    for error in (
        InvalidValueError("f", 1, "x"),
        NotFoundError("lot", "L9"),
        RuleViolationError("rule", ["a", "b"]),
        ConflictError("participant", 3, 1, 2),
        ReasonRequiredError("participant", 3, "change"),
        BackupError("the target database is not empty"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert str(copy) == str(error)
