"""Use cases: users, their roles and sites, logins with lockout, and permission checks."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import AccessDeniedError, AuthenticationError, InvalidValueError
from cordtrial.trial.models import Site, User, UserSite
from cordtrial.trial.rules.access import (
    ROLES,
    can,
    can_see_site,
    check_username,
    hash_password,
    is_locked,
    lockout_after_failure,
    needs_rehash,
    verify_password,
)
from cordtrial.trial.rules.checks import check_choice, check_moment
from cordtrial.trial.services.common import check_version, get_by_id

__all__ = [
    "add_user",
    "assign_sites",
    "authenticate",
    "change_role",
    "require_permission",
    "set_active",
    "set_password",
    "update_user",
]


def _check_sites(session: Session, site_ids: Collection[int]) -> list[int]:
    wanted = sorted(set(site_ids))
    found = set(session.scalars(select(Site.id).where(Site.id.in_(wanted))))
    missing = [s for s in wanted if s not in found]
    if missing:
        raise InvalidValueError("site_ids", missing[0], "ids of existing sites", "is unknown")
    return wanted


def add_user(
    session: Session,
    *,
    actor: str,
    username: str,
    password: str,
    role: str,
    site_ids: Collection[int] = (),
    all_sites: bool = False,
) -> User:
    """Create a user with a role and sites; the password is stored only as its Argon2id hash."""
    username = check_username(username)
    check_choice("role", role, ROLES)
    password_hash = hash_password(password)
    with unit_of_work(session, actor):
        if session.scalars(select(User.id).where(User.username == username)).first() is not None:
            raise InvalidValueError("username", username, "a user name not yet used", "exists")
        user = User(
            username=username,
            role=role,
            password_hash=password_hash,
            all_sites=bool(all_sites),
            active=True,
            failed_logins=0,
            locked_until=None,
        )
        user.site_links = [UserSite(site_id=s) for s in _check_sites(session, site_ids)]
        session.add(user)
    return user


def set_password(session: Session, *, actor: str, user_id: int, password: str, reason: str) -> User:
    """Replace a user's password (and lift a lockout)."""
    password_hash = hash_password(password)
    with unit_of_work(session, actor, reason):
        user = get_by_id(session, User, user_id)
        user.password_hash = password_hash
        user.failed_logins = 0
        user.locked_until = None
    return user


def change_role(
    session: Session,
    *,
    actor: str,
    user_id: int,
    role: str,
    reason: str,
    expected_version: int | None = None,
) -> User:
    """Give a user another role."""
    check_choice("role", role, ROLES)
    with unit_of_work(session, actor, reason):
        user = get_by_id(session, User, user_id)
        check_version(user, expected_version)
        user.role = role
    return user


def assign_sites(
    session: Session,
    *,
    actor: str,
    user_id: int,
    site_ids: Collection[int],
    reason: str,
    all_sites: bool = False,
) -> User:
    """Set the sites a user sees (the links removed and added are audited)."""
    with unit_of_work(session, actor, reason):
        user = get_by_id(session, User, user_id)
        wanted = _check_sites(session, site_ids)
        keep = [link for link in user.site_links if link.site_id in wanted]
        have = {link.site_id for link in keep}
        user.site_links = keep + [UserSite(site_id=s) for s in wanted if s not in have]
        user.all_sites = bool(all_sites)
    return user


def set_active(session: Session, *, actor: str, user_id: int, active: bool, reason: str) -> User:
    """Deactivate (or reactivate) a user; users are never deleted, the trail refers to them."""
    with unit_of_work(session, actor, reason):
        user = get_by_id(session, User, user_id)
        user.active = bool(active)
    return user


def update_user(
    session: Session,
    *,
    actor: str,
    user_id: int,
    reason: str,
    role: str | None = None,
    site_ids: Collection[int] | None = None,
    all_sites: bool | None = None,
    active: bool | None = None,
    expected_version: int | None = None,
) -> User:
    """Change a user's role, sites, all-sites flag and active state **in one transaction**:
    every change is made, or (on any refusal) none. ``None`` leaves a field as it is."""
    if role is not None:
        check_choice("role", role, ROLES)
    if role is None and site_ids is None and all_sites is None and active is None:
        raise InvalidValueError("changes", {}, "role, site_ids, all_sites or active", "is empty")
    with unit_of_work(session, actor, reason):
        user = get_by_id(session, User, user_id)
        check_version(user, expected_version)
        if site_ids is not None:
            wanted = _check_sites(session, site_ids)
            keep = [link for link in user.site_links if link.site_id in wanted]
            have = {link.site_id for link in keep}
            user.site_links = keep + [UserSite(site_id=s) for s in wanted if s not in have]
        if role is not None:
            user.role = role
        if all_sites is not None:
            user.all_sites = bool(all_sites)
        if active is not None:
            user.active = bool(active)
    return user


def authenticate(session: Session, *, username: str, password: str, now: datetime) -> User:
    """Check a login. Each failure is counted (and audited); after the fifth in a row the
    account is locked for 15 minutes. A success resets the count and upgrades an outdated hash.

    Raises
    ------
    AuthenticationError
        With the same message whether the user is unknown, inactive, locked or the password
        wrong (``reason`` says which, for the server's log).
    """
    check_moment("now", now)
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        session.rollback()
        raise AuthenticationError(f"no user {username!r}")
    if not user.active:
        session.rollback()
        raise AuthenticationError(f"user {username!r} is inactive")
    if is_locked(user.locked_until, now):
        session.rollback()
        raise AuthenticationError(f"user {username!r} is locked until {user.locked_until}")
    if not verify_password(user.password_hash, password):
        failures = user.failed_logins + 1
        with unit_of_work(session, username, f"failed login {failures}"):
            user.failed_logins = failures
            user.locked_until = lockout_after_failure(failures, now)
        raise AuthenticationError(f"wrong password for {username!r} (failure {failures})")
    if user.failed_logins or user.locked_until is not None or needs_rehash(user.password_hash):
        with unit_of_work(session, username, "successful login"):
            user.failed_logins = 0
            user.locked_until = None
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
    return user


def require_permission(user: User, action: str, site_id: int | None = None) -> None:
    """Refuse (AccessDeniedError) unless the user is active, the role allows ``action`` and,
    for site data, the user may see ``site_id``."""
    if not user.active or not can(user.role, action):
        raise AccessDeniedError(user.username, action)
    if site_id is not None and not can_see_site(user.role, user.all_sites, user.site_ids, site_id):
        raise AccessDeniedError(user.username, action, f"site {site_id}")
