"""The trial package's public surface is deliberate: a change to it must change this test."""

from __future__ import annotations

import pickle

import cordtrial.trial as trial
from cordtrial.trial.errors import (
    AccessDeniedError,
    AdministrationRefusedError,
    AuditError,
    AuthenticationError,
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


def test_errors_say_words_to_people_and_names_to_programs() -> None:
    """Issue 16: ``human`` is the message people read (labels, dates, words, no reprs); ``str``
    keeps the field's name for programs and logs."""
    from datetime import date

    motor = InvalidValueError("cells.r_c6_motor", "74", "0-5 or NT", "is not a motor grade")
    assert str(motor) == "cells.r_c6_motor: '74' is not a motor grade (0-5 or NT)"
    assert motor.human == "Right C6 motor: 74 is not a motor grade (0-5 or NT)"
    late = InvalidValueError("resolution_date", date(2026, 11, 25), "on or after", "is too early")
    assert late.human == "Resolution date: 2026-11-25 is too early (on or after)"
    assert InvalidValueError("outcome", "not_recovered", "x").human.startswith(
        "Outcome: not recovered"
    )
    missing = InvalidValueError("ctcae_grade", None, "1-5")
    assert missing.human == "CTCAE grade: (missing) is not allowed (1-5)"
    assert NotFoundError("participant", "DEMO/X-9").human == "Participant DEMO/X-9 does not exist"
    assert "'" not in ConflictError("participant", "P1", 1, 2).human
    assert RuleViolationError("rule", ["a"]).human == str(RuleViolationError("rule", ["a"]))


def test_trial_error_is_an_exception_not_a_value_error() -> None:
    """Issue 12: only bad input is a ValueError; a conflict, a refused login, an audit refusal
    or an access denial must not be caught by a caller's ``except ValueError``."""
    assert TrialError.__bases__ == (Exception,)
    assert not issubclass(TrialError, ValueError)
    for cls in (ConflictError, AuthenticationError, AccessDeniedError, AuditError, BackupError):
        assert not issubclass(cls, ValueError | LookupError), cls
    assert issubclass(RuleViolationError, ValueError)
    assert not issubclass(NotFoundError, ValueError)


def test_access_denied_is_not_an_os_error() -> None:
    """Issue 12: ``except OSError`` in file-handling code (backup.py) must not swallow it."""
    error = AccessDeniedError("stat", "export_identified")
    assert not isinstance(error, OSError)
    try:
        try:
            raise error
        except OSError:  # what backup.py and the CLI catch around file writes
            raise AssertionError("access denial swallowed as an I/O error") from None
    except AccessDeniedError as caught:
        assert caught is error


def test_errors_survive_pickling() -> None:
    for error in (
        InvalidValueError("f", 1, "x"),
        NotFoundError("lot", "L9"),
        RuleViolationError("rule", ["a", "b"]),
        ConflictError("participant", 3, 1, 2),
        ReasonRequiredError("participant", 3, "change"),
        BackupError("the target database is not empty"),
        AccessDeniedError("coord", "enter_data", because="the account is inactive"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert str(copy) == str(error)
