"""Authentication events in the audit trail, and revoking a user's tokens.

Every event is an append-only :class:`~cordtrial.trial.models.AuthEvent` row written inside a
unit of work, so the audit trail (and its hash chain) holds it like any other change. Kinds:

``unknown_user``, ``inactive_user``, ``locked_account``, ``wrong_password`` (a login refused,
and why); ``lockout`` (the failure that locked the account); ``unlock`` (an administrator lifted
a lockout); ``token_issued``, ``token_revoked`` (one token: login, logout), ``tokens_revoked``
(all of a user's tokens, when the account is locked, deactivated or its password reset);
``password_changed`` (by the user), ``password_reset`` (by an administrator).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.models import ApiToken, AuthEvent, User

__all__ = ["AUTH_EVENT_KINDS", "AuthEventKind", "add_auth_event", "revoke_user_tokens"]

AuthEventKind = Literal[
    "unknown_user",
    "inactive_user",
    "locked_account",
    "wrong_password",
    "lockout",
    "unlock",
    "token_issued",
    "token_revoked",
    "tokens_revoked",
    "password_changed",
    "password_reset",
]
AUTH_EVENT_KINDS: Final = frozenset(get_args(AuthEventKind))
#: The longest user name an event keeps of what was typed at a login.
_NAME_KEPT = 64


def add_auth_event(
    session: Session,
    *,
    kind: AuthEventKind,
    username: str,
    now: datetime,
    user: User | None = None,
    detail: str = "",
) -> AuthEvent:
    """Add an event to the session (the caller's unit of work writes it and its audit rows)."""
    event = AuthEvent(
        at=now,
        kind=kind,
        username=username[:_NAME_KEPT],
        user_id=None if user is None else user.id,
        detail=detail[:200],
    )
    session.add(event)
    return event


def revoke_user_tokens(session: Session, user: User, now: datetime, why: str) -> int:
    """Revoke every live token of ``user`` (API tokens and page sessions alike) inside the
    caller's unit of work; records a ``tokens_revoked`` event when there were any."""
    live = session.scalars(
        select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now
        )
    ).all()
    for token in live:
        token.revoked_at = now
    if live:
        add_auth_event(
            session,
            kind="tokens_revoked",
            username=user.username,
            user=user,
            now=now,
            detail=f"{len(live)} token(s): {why}",
        )
    return len(live)
