"""Use cases: API bearer tokens. A login (with the lockout of :func:`authenticate`) issues an
opaque random token; only its SHA-256 is stored, with an expiry; logout revokes it.

The token is 256 random bits (``secrets.token_urlsafe(32)``): a plain SHA-256 is enough to keep
a stolen database from yielding usable tokens, since there is nothing to guess (unlike a
password, which needs a slow hash).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import AuthenticationError, InvalidValueError
from cordtrial.trial.models import ApiToken, User
from cordtrial.trial.rules.access import is_locked
from cordtrial.trial.rules.checks import check_moment
from cordtrial.trial.services.auth_events import add_auth_event
from cordtrial.trial.services.common import get_by_id
from cordtrial.trial.services.users import authenticate

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "IssuedToken",
    "issue_token",
    "login",
    "revoke_token",
    "token_digest",
    "user_for_token",
]

#: How long a token lasts unless the caller says otherwise (a working day).
DEFAULT_TOKEN_LIFETIME = timedelta(hours=8)


def token_digest(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as issued: the secret (shown once) and its stored record."""

    token: str
    record: ApiToken


def issue_token(
    session: Session,
    *,
    user_id: int,
    now: datetime,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
) -> IssuedToken:
    """Issue a token for a user (no password check: :func:`login` is the way in for people)."""
    check_moment("now", now)
    if lifetime <= timedelta(0):
        raise InvalidValueError("lifetime", lifetime, "a positive duration")
    user = get_by_id(session, User, user_id)
    token = secrets.token_urlsafe(32)
    with unit_of_work(session, user.username):
        record = ApiToken(
            user_id=user.id,
            token_sha256=token_digest(token),
            issued_at=now,
            expires_at=now + lifetime,
            revoked_at=None,
        )
        session.add(record)
        add_auth_event(
            session, kind="token_issued", username=user.username, user=user, now=now,
            detail=f"expires {record.expires_at.isoformat(timespec='minutes')}",
        )  # fmt: skip
    return IssuedToken(token, record)


def login(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
) -> IssuedToken:
    """Check a login (failures count towards the lockout) and issue a token."""
    user = authenticate(session, username=username, password=password, now=now)
    return issue_token(session, user_id=user.id, now=now, lifetime=lifetime)


def user_for_token(session: Session, token: str, now: datetime) -> User:
    """The active user a token belongs to.

    Raises
    ------
    AuthenticationError
        When the token is unknown, expired or revoked, or its user inactive or locked.
    """
    record = session.scalars(
        select(ApiToken).where(ApiToken.token_sha256 == token_digest(token))
    ).first()
    if record is None:
        raise AuthenticationError("unknown token")
    if record.revoked_at is not None:
        raise AuthenticationError(f"token {record.id} was revoked")
    if now >= record.expires_at:
        raise AuthenticationError(f"token {record.id} expired")
    user = record.user
    if not user.active:
        raise AuthenticationError(f"user {user.username!r} is inactive")
    if is_locked(user.locked_until, now):
        raise AuthenticationError(f"user {user.username!r} is locked")
    return user


def revoke_token(session: Session, *, token: str, now: datetime) -> None:
    """Revoke a token (logout); revoking an unknown or revoked token does nothing."""
    check_moment("now", now)
    record = session.scalars(
        select(ApiToken).where(ApiToken.token_sha256 == token_digest(token))
    ).first()
    if record is None or record.revoked_at is not None:
        return
    user = record.user
    with unit_of_work(session, user.username, "logout"):
        record.revoked_at = now
        add_auth_event(
            session, kind="token_revoked", username=user.username, user=user, now=now,
            detail="logout",
        )  # fmt: skip
