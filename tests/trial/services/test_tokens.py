"""API bearer tokens on each database: issued at login, stored hashed, expire, revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.errors import AuthenticationError
from cordtrial.trial.models import ApiToken, AuditEntry, User
from cordtrial.trial.services.tokens import login, revoke_token, token_digest, user_for_token
from cordtrial.trial.services.users import add_user, set_active

PASSWORD = "a long enough passphrase"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def user(session: Session) -> User:
    return add_user(session, user=acting_as(), username="mona", password=PASSWORD, role="monitor")


def test_login_issues_a_token_stored_only_as_its_hash(session: Session, user: User) -> None:
    issued = login(session, username="mona", password=PASSWORD, now=NOW)
    stored = session.scalars(select(ApiToken.token_sha256)).one()
    assert stored == token_digest(issued.token) != issued.token
    trail = " ".join(str(r.new_value) for r in session.scalars(select(AuditEntry)))
    assert issued.token not in trail and stored not in trail
    assert user_for_token(session, issued.token, NOW + timedelta(hours=1)).id == user.id


def test_token_expires(session: Session, user: User) -> None:
    issued = login(session, username="mona", password=PASSWORD, now=NOW)
    with pytest.raises(AuthenticationError) as error:
        user_for_token(session, issued.token, NOW + timedelta(hours=8))
    assert error.value.reason.endswith("expired")


def test_revoked_token_and_unknown_token_are_refused(session: Session, user: User) -> None:
    issued = login(session, username="mona", password=PASSWORD, now=NOW)
    revoke_token(session, token=issued.token, now=NOW)
    with pytest.raises(AuthenticationError, match="password is wrong"):
        user_for_token(session, issued.token, NOW)
    with pytest.raises(AuthenticationError):
        user_for_token(session, "made-up", NOW)


def test_inactive_users_token_is_refused(session: Session, user: User) -> None:
    issued = login(session, username="mona", password=PASSWORD, now=NOW)
    set_active(session, user=acting_as(), user_id=user.id, active=False, reason="left the study")
    with pytest.raises(AuthenticationError):
        user_for_token(session, issued.token, NOW)


def test_login_respects_the_lockout(session: Session, user: User) -> None:
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            login(session, username="mona", password="wrong passphrase!", now=NOW)
    with pytest.raises(AuthenticationError):
        login(session, username="mona", password=PASSWORD, now=NOW + timedelta(minutes=1))
    assert session.scalars(select(ApiToken)).all() == []
