"""Roles, site scope, password policy and hashing, lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.access import (
    LOCKOUT_MINUTES,
    MAX_FAILED_LOGINS,
    PERMISSIONS,
    can,
    can_see_site,
    check_password_policy,
    check_username,
    hash_password,
    is_locked,
    lockout_after_failure,
    verify_password,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        ("admin", "manage_users", True),
        ("investigator", "sign", True),
        ("investigator", "manage_users", False),
        ("coordinator", "enter_data", True),
        ("coordinator", "randomize", False),
        ("monitor", "raise_query", True),
        ("monitor", "enter_data", False),
        ("statistician", "export_pseudonymized", True),
        ("statistician", "correct_data", False),
        ("guest", "read", False),
        ("reader", "read_images", True),
        ("investigator", "manage_imaging", True),
        ("coordinator", "manage_imaging", False),
        ("statistician", "read_images", False),
    ],
)
def test_role_permissions(role: str, action: str, allowed: bool) -> None:
    """Roles as in issue 4: monitors read and raise queries, statisticians read and export."""
    assert can(role, action) is allowed


def test_every_role_but_the_blinded_imaging_reader_may_read() -> None:
    """Issue 14: a central MRI reader sees only the reads assigned to them, no trial data."""
    assert all("read" in actions for role, actions in PERMISSIONS.items() if role != "reader")
    assert PERMISSIONS["reader"] == frozenset({"read_images"})


def test_site_scope() -> None:
    assert can_see_site("coordinator", False, {1, 2}, 2)
    assert not can_see_site("coordinator", False, {1, 2}, 3)
    assert can_see_site("statistician", True, set(), 3)
    assert can_see_site("admin", False, set(), 3)


def test_password_is_hashed_with_argon2id_and_verified() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse battery!")
    assert not verify_password("not a hash", "correct horse battery")


def test_short_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(InvalidValueError, match=r"password: '\(hidden\)' is too short") as err:
        check_password_policy("short pass")
    assert "short pass" not in str(err.value)


@pytest.mark.parametrize("name", ["ab", "with space", "semi;colon"])
def test_bad_username_is_refused(name: str) -> None:
    with pytest.raises(InvalidValueError, match="username"):
        check_username(name)


def test_lockout_starts_at_the_fifth_failure_and_lasts_15_minutes() -> None:
    assert lockout_after_failure(MAX_FAILED_LOGINS - 1, NOW) is None
    until = lockout_after_failure(MAX_FAILED_LOGINS, NOW)
    assert until == NOW + timedelta(minutes=LOCKOUT_MINUTES)
    assert is_locked(until, NOW + timedelta(minutes=14))
    assert not is_locked(until, NOW + timedelta(minutes=15))
    assert not is_locked(None, NOW)


def test_production_password_hash_cost_is_rfc9106_low_memory() -> None:
    """RFC 9106 section 4, second recommended option: Argon2id, t=3, m=64 MiB, p=4."""
    from argon2 import Type

    from cordtrial.trial.rules.access import (
        PASSWORD_HASH_PROFILES,
        password_hash_parameters,
        set_password_hash_profile,
    )

    production = PASSWORD_HASH_PROFILES["production"]
    assert (production.type, production.time_cost, production.memory_cost) == (Type.ID, 3, 65536)
    assert production.parallelism == 4
    set_password_hash_profile("production")
    try:
        assert password_hash_parameters() == production
        assert "$m=65536,t=3,p=4$" in hash_password("correct horse battery")
    finally:
        set_password_hash_profile("test")
    assert password_hash_parameters().time_cost == 1
    with pytest.raises(InvalidValueError, match="password_hash_profile"):
        set_password_hash_profile("fastest")
