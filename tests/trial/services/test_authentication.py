"""Authentication under attack, on each database (issue 12): lockout under parallel requests,
no timing oracle for user names, every authentication event in the audit trail, tokens revoked
with the account, password policy, change and reset, look-alike user names."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.database import make_session_factory
from cordtrial.trial.errors import AuthenticationError, ConflictError, InvalidValueError
from cordtrial.trial.models import ApiToken, AuditEntry, AuthEvent, Trial, User
from cordtrial.trial.rules.access import set_password_hash_profile
from cordtrial.trial.services.tokens import login, revoke_token, user_for_token
from cordtrial.trial.services.users import (
    add_user,
    authenticate,
    change_password,
    reset_password,
    set_active,
    unlock_user,
    update_user,
)

from ..conftest import PROTOCOL

PASSWORD = "a long enough passphrase"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PARALLEL = 40


@pytest.fixture
def cora(session: Session) -> User:
    return add_user(
        session, user=acting_as(), username="cora", password=PASSWORD, role="coordinator",
        full_name="Cora Lindqvist",
    )  # fmt: skip


def _events(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuthEvent.kind).order_by(AuthEvent.id)))


# --- lockout under parallel requests ---------------------------------------------------------


def test_parallel_wrong_passwords_each_count_and_lock_the_account(
    engine: Engine, session: Session, cora: User
) -> None:
    """40 threads, each with its own connection, send a wrong password at the same moment:
    every one is refused as a login failure (never a version conflict) and the account locks."""
    factory = make_session_factory(engine)
    barrier = threading.Barrier(PARALLEL)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        with factory() as own:
            barrier.wait()
            try:
                authenticate(own, username="cora", password="wrong passphrase!", now=NOW)
                result = "accepted"
            except AuthenticationError:
                result = "401"
            except ConflictError:
                result = "409"
            except Exception as exc:  # any other failure is a result to report, too
                result = type(exc).__name__
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(outcomes) == {"401": PARALLEL}
    session.expire_all()
    user = session.get(User, cora.id)
    assert user is not None and user.locked_until is not None
    # every failure that saw the account unlocked was counted: none lost to a race
    kinds = Counter(_events(session))
    assert user.failed_logins == kinds["wrong_password"]
    assert kinds["wrong_password"] + kinds["locked_account"] == PARALLEL
    assert kinds["lockout"] == 1
    with pytest.raises(AuthenticationError):
        authenticate(session, username="cora", password=PASSWORD, now=NOW)
    assert verify_audit(session).ok


# --- same time for unknown and known users ---------------------------------------------------


@contextmanager
def _production_hashes() -> Iterator[None]:
    set_password_hash_profile("production")
    try:
        yield
    finally:
        set_password_hash_profile("test")


def _median_seconds(session: Session, username: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with pytest.raises(AuthenticationError):
            authenticate(session, username=username, password="not the passphrase", now=NOW)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_unknown_and_known_users_take_the_same_time(session: Session) -> None:
    """With the production Argon2 cost a wrong password costs one hash (~0.1 s); an unknown,
    inactive or locked user is checked against a dummy hash so it costs the same."""
    with _production_hashes():
        add_user(session, user=acting_as(), username="pat", password=PASSWORD, role="monitor")
        known = _median_seconds(session, "pat", runs=4)
        unknown = _median_seconds(session, "nobody")
    assert 0.5 < unknown / known < 2.0, (unknown, known)


# --- events in the audit trail ---------------------------------------------------------------


def test_every_authentication_event_is_audited(session: Session, cora: User) -> None:
    with pytest.raises(AuthenticationError):
        authenticate(session, username="nobody", password=PASSWORD, now=NOW)
    issued = login(session, username="cora", password=PASSWORD, now=NOW)
    revoke_token(session, token=issued.token, now=NOW)
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            authenticate(session, username="cora", password="wrong passphrase!", now=NOW)
    with pytest.raises(AuthenticationError):
        authenticate(session, username="cora", password=PASSWORD, now=NOW)
    unlock_user(session, user=acting_as(), user_id=cora.id, reason="called the help desk", now=NOW)
    reset_password(
        session, user=acting_as(), user_id=cora.id, password="temporary granite harbour",
        reason="forgotten", now=NOW,
    )  # fmt: skip
    change_password(
        session, username="cora", current_password="temporary granite harbour",
        new_password="my own quiet lighthouse", now=NOW,
    )  # fmt: skip
    set_active(session, user=acting_as(), user_id=cora.id, active=False, reason="left", now=NOW)
    with pytest.raises(AuthenticationError):
        authenticate(session, username="cora", password="my own quiet lighthouse", now=NOW)
    kinds = _events(session)
    assert set(kinds) >= {
        "unknown_user", "token_issued", "token_revoked", "wrong_password", "lockout",
        "locked_account", "unlock", "password_reset", "password_changed", "inactive_user",
    }  # fmt: skip
    # in the hash-chained trail, not only in a table
    audited = set(
        session.scalars(
            select(AuditEntry.new_value).where(
                AuditEntry.entity == "auth_event", AuditEntry.field == "kind"
            )
        )
    )
    assert {f'"{k}"' for k in kinds} == audited
    unknown = session.scalars(select(AuthEvent).where(AuthEvent.kind == "unknown_user")).one()
    assert (unknown.username, unknown.user_id) == ("nobody", None)
    assert verify_audit(session).ok


# --- tokens die with the account -------------------------------------------------------------


def test_deactivating_a_user_revokes_their_tokens(session: Session, cora: User) -> None:
    issued = login(session, username="cora", password=PASSWORD, now=NOW)
    update_user(session, user=acting_as(), user_id=cora.id, active=False, reason="left", now=NOW)
    update_user(session, user=acting_as(), user_id=cora.id, active=True, reason="back", now=NOW)
    with pytest.raises(AuthenticationError) as error:
        user_for_token(session, issued.token, NOW + timedelta(minutes=1))
    assert "revoked" in error.value.reason


def test_lockout_revokes_the_users_tokens(session: Session, cora: User) -> None:
    issued = login(session, username="cora", password=PASSWORD, now=NOW)
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            authenticate(session, username="cora", password="wrong passphrase!", now=NOW)
    later = NOW + timedelta(minutes=16)  # the lockout is over, the token still is not
    with pytest.raises(AuthenticationError) as error:
        user_for_token(session, issued.token, later)
    assert "revoked" in error.value.reason
    session.expire_all()
    assert session.scalars(select(ApiToken.revoked_at)).one() == NOW


# --- password policy, change and reset -------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", "is too short"),
        ("password1234", "is too easy to guess"),
        ("iloveyou12345", "is too easy to guess"),
        ("qwertyuiop123", "is too easy to guess"),
        ("newuser-granite-harbour", "holds the user name"),
        ("lindqvist granite harbour", "holds the user name, the person's name"),
        ("x" * 300, "is too long"),
    ],
)
def test_weak_passwords_are_refused(session: Session, password: str, problem: str) -> None:
    with pytest.raises(InvalidValueError) as error:
        add_user(
            session, user=acting_as(), username="newuser", password=password, role="monitor",
            full_name="Ann Lindqvist",
        )  # fmt: skip
    assert error.value.field == "password" and problem in str(error.value)
    assert password not in str(error.value)


def test_password_holding_the_study_name_is_refused(session: Session, trial: Trial) -> None:
    with pytest.raises(InvalidValueError, match="study name"):
        add_user(
            session, user=acting_as(), username="newuser", password=f"{PROTOCOL} granite harbour",
            role="monitor",
        )  # fmt: skip


def test_reset_forces_a_change_at_next_login(session: Session, cora: User) -> None:
    reset_password(
        session, user=acting_as(), user_id=cora.id, password="temporary granite harbour",
        reason="forgotten", now=NOW,
    )  # fmt: skip
    user = authenticate(session, username="cora", password="temporary granite harbour", now=NOW)
    assert user.must_change_password
    with pytest.raises(InvalidValueError, match="unchanged"):
        change_password(
            session, username="cora", current_password="temporary granite harbour",
            new_password="temporary granite harbour", now=NOW,
        )  # fmt: skip
    changed = change_password(
        session, username="cora", current_password="temporary granite harbour",
        new_password="my own quiet lighthouse", now=NOW,
    )  # fmt: skip
    assert not changed.must_change_password
    with pytest.raises(AuthenticationError):
        authenticate(session, username="cora", password="temporary granite harbour", now=NOW)


def test_password_change_needs_the_current_password(session: Session, cora: User) -> None:
    with pytest.raises(AuthenticationError):
        change_password(
            session, username="cora", current_password="not the passphrase",
            new_password="my own quiet lighthouse", now=NOW,
        )  # fmt: skip
    assert _events(session) == ["wrong_password"]


# --- look-alike user names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "problem"),
    [
        ("\u0430dmin", "mixes scripts"),  # Cyrillic a
        ("admin\u200b", "ZERO WIDTH SPACE"),
        ("ad\u0000min", "a control character (U+0000)"),
        ("ADMIN", "looks like the existing user 'admin'"),
        ("adm\u0131n", "looks like"),  # dotless i
    ],
)
def test_look_alike_user_names_are_refused(session: Session, username: str, problem: str) -> None:
    add_user(session, user=acting_as("setup"), username="admin", password=PASSWORD, role="admin")
    with pytest.raises(InvalidValueError) as error:
        add_user(session, user=acting_as(), username=username, password=PASSWORD, role="monitor")
    assert error.value.field == "username" and problem in str(error.value)


def test_user_names_are_nfkc_normalized(session: Session) -> None:
    user = add_user(
        session, user=acting_as(), username="\uff43\uff4f\uff52\uff41", password=PASSWORD,
        role="monitor",
    )  # fmt: skip
    assert user.username == "cora"
    assert authenticate(session, username="\uff43\uff4f\uff52\uff41", password=PASSWORD, now=NOW)
