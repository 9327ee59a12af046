"""Use case: the account a command acts as.

Every change is made by a user account: the web takes it from the login, the command line from
``--user USERNAME``. The account must exist, be active and be allowed the action; the audit trail
then names a real account, never free text (issue 12: ``--actor importer`` once wrote 1.77 M
rows under a name that was no account).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from cordtrial.trial.errors import AccessDeniedError, NotFoundError
from cordtrial.trial.models import User
from cordtrial.trial.rules.access import Action, can

__all__ = ["acting_user", "has_users"]


def acting_user(session: Session, username: str, action: Action) -> User:
    """The active user ``username``, whose role allows ``action``.

    Raises
    ------
    NotFoundError
        No user of that name.
    AccessDeniedError
        The account is inactive, or its role does not allow ``action``.
    """
    user = session.scalars(
        select(User).where(User.username == username.strip()).options(selectinload(User.site_links))
    ).first()
    if user is None:
        raise NotFoundError("user", username)
    if not user.active:
        raise AccessDeniedError(user.username, action, because="the account is inactive")
    if not can(user.role, action):
        raise AccessDeniedError(user.username, action, because=f"the role {user.role} does not")
    return user


def has_users(session: Session) -> bool:
    """Whether the store has any user account (the first one is made by nobody else)."""
    return (session.scalar(select(func.count()).select_from(User)) or 0) > 0
