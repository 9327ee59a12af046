"""Use cases: users, their roles and sites, logins with lockout, passwords, and permission
checks. Every authentication event is written to the audit trail (see :mod:`.auth_events`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from datetime import UTC, datetime
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import AccessDeniedError, AuthenticationError, InvalidValueError
from cordtrial.trial.models import Site, Trial, User, UserSite
from cordtrial.trial.rules.access import (
    MAX_PASSWORD_LENGTH,
    ROLES,
    can,
    can_see_site,
    check_full_name,
    check_password_policy,
    check_username,
    dummy_password_hash,
    hash_password,
    is_locked,
    lockout_after_failure,
    needs_rehash,
    verify_password,
)
from cordtrial.trial.rules.checks import check_choice, check_moment
from cordtrial.trial.rules.identifiers import find_confusable
from cordtrial.trial.services.auth_events import (
    AuthEventKind,
    add_auth_event,
    revoke_user_tokens,
)
from cordtrial.trial.services.common import check_version, get_by_id

__all__ = [
    "add_user",
    "assign_sites",
    "authenticate",
    "change_password",
    "change_role",
    "list_accounts",
    "password_context",
    "require_permission",
    "reset_password",
    "set_active",
    "set_password",
    "unlock_user",
    "update_user",
]

#: The actor of refused logins that name no account.
ANONYMOUS = "(anonymous)"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def password_context(session: Session, username: str, full_name: str = "") -> list[str]:
    """The words a user's password must not hold: the user name, the person's name and its
    parts, and every trial's protocol id."""
    words = [username, full_name, *full_name.split()]
    words += list(session.scalars(select(Trial.protocol_id)))
    return [w for w in words if w]


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
    user: User | None,
    username: str,
    password: str,
    role: str,
    site_ids: Collection[int] = (),
    all_sites: bool = False,
    full_name: str | None = None,
) -> User:
    """Create a user with a role and sites; the password is stored only as its Argon2id hash.

    The user name is NFKC-normalized and refused when it mixes scripts, holds an invisible
    character or could be mistaken for an existing one (same confusable skeleton: ``\u0430dmin``
    with a Cyrillic ``\u0430`` beside ``admin``). ``full_name`` is the printed name shown with the
    user's signatures (default: the user name). The password must pass
    :func:`~cordtrial.trial.rules.access.check_password_policy`.

    ``user`` is the administrator who creates the account (``manage_users``); ``None`` only for
    the store's first account, which is made by nobody else (it is its own actor in the trail).
    """
    username = check_username(username)
    if user is not None:
        require_permission(user, "manage_users")
    elif session.scalars(select(User.id).limit(1)).first() is not None:
        raise AccessDeniedError("(nobody)", "manage_users", because="the store has users")
    name = check_full_name(full_name if full_name is not None else username)
    check_choice("role", role, ROLES)
    check_password_policy(password, password_context(session, username, name))
    password_hash = hash_password(password)
    with unit_of_work(session, user.username if user is not None else username):
        existing = session.scalars(select(User.username)).all()
        twin = find_confusable(username, existing)
        if twin is not None:
            raise InvalidValueError(
                "username",
                username,
                "a user name not yet used, nor one that looks like it",
                "exists" if twin == username else f"looks like the existing user {twin!r}",
            )
        user = User(
            username=username,
            full_name=name,
            role=role,
            password_hash=password_hash,
            must_change_password=False,
            all_sites=bool(all_sites),
            active=True,
            failed_logins=0,
            locked_until=None,
        )
        user.site_links = [UserSite(site_id=s) for s in _check_sites(session, site_ids)]
        session.add(user)
    return user


def reset_password(
    session: Session,
    *,
    user: User,
    user_id: int,
    password: str,
    reason: str,
    now: datetime | None = None,
) -> User:
    """An administrator sets a new (temporary) password: the user must choose their own at the
    next login; a lockout is lifted and every token of the user revoked. Audited
    (``password_reset``)."""
    now = _utc_now() if now is None else check_moment("now", now)
    require_permission(user, "manage_users")
    actor = user.username
    target = get_by_id(session, User, user_id)
    check_password_policy(password, password_context(session, target.username, target.full_name))
    password_hash = hash_password(password)
    with unit_of_work(session, actor, reason):
        target = _locked_user(session, user_id)
        was_locked = is_locked(target.locked_until, now)
        target.password_hash = password_hash
        target.must_change_password = True
        target.failed_logins = 0
        target.locked_until = None
        add_auth_event(
            session, kind="password_reset", username=target.username, user=target, now=now,
            detail=f"by {actor}",
        )  # fmt: skip
        if was_locked:
            add_auth_event(
                session, kind="unlock", username=target.username, user=target, now=now,
                detail=f"by {actor} (password reset)",
            )  # fmt: skip
        revoke_user_tokens(session, target, now, "password reset")
    return target


#: The former name of :func:`reset_password`.
set_password = reset_password


def change_password(
    session: Session,
    *,
    username: str,
    current_password: str,
    new_password: str,
    now: datetime,
) -> User:
    """A user replaces their own password, re-entering the current one (a wrong one counts
    towards the lockout like any login). Clears a forced change. Audited (``password_changed``).
    """
    user = authenticate(session, username=username, password=current_password, now=now)
    check_password_policy(new_password, password_context(session, user.username, user.full_name))
    if new_password == current_password:
        raise InvalidValueError(
            "new_password", "(hidden)", "a password other than the current one", "is unchanged"
        )
    password_hash = hash_password(new_password)
    with unit_of_work(session, user.username, "password changed by the user"):
        user = _locked_user(session, user.id)
        user.password_hash = password_hash
        user.must_change_password = False
        add_auth_event(session, kind="password_changed", username=user.username, user=user, now=now)
    return user


def unlock_user(
    session: Session, *, user: User, user_id: int, reason: str, now: datetime | None = None
) -> User:
    """Lift a lockout (and reset the failure count). Audited (``unlock``)."""
    now = _utc_now() if now is None else check_moment("now", now)
    require_permission(user, "manage_users")
    actor = user.username
    with unit_of_work(session, actor, reason):
        target = _locked_user(session, user_id)
        target.failed_logins = 0
        target.locked_until = None
        add_auth_event(
            session, kind="unlock", username=target.username, user=target, now=now,
            detail=f"by {actor}",
        )  # fmt: skip
    return target


def change_role(
    session: Session,
    *,
    user: User,
    user_id: int,
    role: str,
    reason: str,
    expected_version: int | None = None,
) -> User:
    """Give a user another role."""
    check_choice("role", role, ROLES)
    require_permission(user, "manage_users")
    with unit_of_work(session, user.username, reason):
        target = get_by_id(session, User, user_id)
        check_version(target, expected_version)
        target.role = role
    return target


def assign_sites(
    session: Session,
    *,
    user: User,
    user_id: int,
    site_ids: Collection[int],
    reason: str,
    all_sites: bool = False,
) -> User:
    """Set the sites a user sees (the links removed and added are audited)."""
    require_permission(user, "manage_users")
    with unit_of_work(session, user.username, reason):
        target = get_by_id(session, User, user_id)
        wanted = _check_sites(session, site_ids)
        keep = [link for link in target.site_links if link.site_id in wanted]
        have = {link.site_id for link in keep}
        target.site_links = keep + [UserSite(site_id=s) for s in wanted if s not in have]
        target.all_sites = bool(all_sites)
    return target


def set_active(
    session: Session,
    *,
    user: User,
    user_id: int,
    active: bool,
    reason: str,
    now: datetime | None = None,
) -> User:
    """Deactivate (or reactivate) a user; users are never deleted, the trail refers to them.
    Deactivating revokes every token (API and page sessions) of the user."""
    now = _utc_now() if now is None else check_moment("now", now)
    require_permission(user, "manage_users")
    with unit_of_work(session, user.username, reason):
        target = get_by_id(session, User, user_id)
        target.active = bool(active)
        if not active:
            revoke_user_tokens(session, target, now, "account deactivated")
    return target


def update_user(
    session: Session,
    *,
    user: User,
    user_id: int,
    reason: str,
    role: str | None = None,
    site_ids: Collection[int] | None = None,
    all_sites: bool | None = None,
    active: bool | None = None,
    full_name: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> User:
    """Change a user's role, sites, all-sites flag, active state and printed name **in one
    transaction**: every change is made, or (on any refusal) none. ``None`` leaves a field as
    it is. Deactivating revokes every token of the user."""
    now = _utc_now() if now is None else check_moment("now", now)
    if role is not None:
        check_choice("role", role, ROLES)
    name = check_full_name(full_name) if full_name is not None else None
    if (role, site_ids, all_sites, active, name) == (None, None, None, None, None):
        raise InvalidValueError(
            "changes", {}, "role, site_ids, all_sites, active or full_name", "is empty"
        )
    require_permission(user, "manage_users")
    with unit_of_work(session, user.username, reason):
        target = get_by_id(session, User, user_id)
        check_version(target, expected_version)
        if site_ids is not None:
            wanted = _check_sites(session, site_ids)
            keep = [link for link in target.site_links if link.site_id in wanted]
            have = {link.site_id for link in keep}
            target.site_links = keep + [UserSite(site_id=s) for s in wanted if s not in have]
        if role is not None:
            target.role = role
        if all_sites is not None:
            target.all_sites = bool(all_sites)
        if active is not None:
            target.active = bool(active)
            if not active:
                revoke_user_tokens(session, target, now, "account deactivated")
        if name is not None:
            target.full_name = name
    return target


def _locked_user(session: Session, user_id: int) -> User:
    # Read the user again inside the unit of work, locking the row (PostgreSQL: SELECT ... FOR
    # UPDATE; SQLite: the unit of work already holds the database's write lock), so concurrent
    # logins count one after the other: no lost update, no version conflict.
    user = session.scalars(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if user is None:
        raise AuthenticationError(f"user {user_id} is gone")
    return user


def _login_name(username: object) -> str:
    if not isinstance(username, str):
        return ""
    return unicodedata.normalize("NFKC", username.strip())[:MAX_PASSWORD_LENGTH]


def authenticate(session: Session, *, username: str, password: str, now: datetime) -> User:
    """Check a login. Each failure is counted (and audited); after the fifth in a row the
    account is locked for 15 minutes and its tokens revoked. A success resets the count and
    upgrades an outdated hash.

    The count is read and written under a row lock in one transaction, so parallel wrong
    passwords each count (and each is refused with AuthenticationError, never a conflict).
    Unknown, inactive and locked users are checked against a dummy hash, so every refusal takes
    the time of a wrong password. Every refusal is an audited :class:`AuthEvent`.

    Raises
    ------
    AuthenticationError
        With the same message whether the user is unknown, inactive, locked or the password
        wrong (``reason`` says which, for the server's log).
    """
    check_moment("now", now)
    name = _login_name(username)
    password = password if isinstance(password, str) else ""
    user = session.scalars(select(User).where(User.username == name)).first()
    if user is None or not user.active or is_locked(user.locked_until, now):
        verify_password(dummy_password_hash(), password)
        if user is None:
            _refuse(session, "unknown_user", name, None, now, f"no user {name!r}")
        elif not user.active:
            _refuse(session, "inactive_user", name, user, now, f"user {name!r} is inactive")
        _refuse(
            session, "locked_account", name, user, now,
            f"user {name!r} is locked until {user.locked_until}",
        )  # fmt: skip
    if not verify_password(user.password_hash, password):
        with unit_of_work(session, user.username, "failed login"):
            user = _locked_user(session, user.id)
            failures = user.failed_logins + 1
            already_locked = is_locked(user.locked_until, now)
            user.failed_logins = failures
            user.locked_until = lockout_after_failure(failures, now) or user.locked_until
            add_auth_event(
                session, kind="wrong_password", username=name, user=user, now=now,
                detail=f"failure {failures} in a row",
            )  # fmt: skip
            if not already_locked and is_locked(user.locked_until, now):
                add_auth_event(
                    session, kind="lockout", username=name, user=user, now=now,
                    detail=f"locked until {user.locked_until}",
                )  # fmt: skip
                revoke_user_tokens(session, user, now, "account locked")
        raise AuthenticationError(f"wrong password for {name!r} (failure {failures})")
    if user.failed_logins or user.locked_until is not None or needs_rehash(user.password_hash):
        with unit_of_work(session, user.username, "successful login"):
            user = _locked_user(session, user.id)
            if is_locked(user.locked_until, now):
                # locked by parallel failures since the password was checked
                raise AuthenticationError(f"user {name!r} is locked until {user.locked_until}")
            user.failed_logins = 0
            user.locked_until = None
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
    return user


def _refuse(
    session: Session,
    kind: AuthEventKind,
    name: str,
    user: User | None,
    now: datetime,
    reason: str,
) -> NoReturn:
    actor = user.username if user is not None else ANONYMOUS
    with unit_of_work(session, actor):
        add_auth_event(session, kind=kind, username=name, user=user, now=now)
    raise AuthenticationError(reason)


def list_accounts(session: Session, user: User) -> list[User]:
    """Every user account, by name, for an administrator (``manage_users``)."""
    require_permission(user, "manage_users")
    return list(session.scalars(select(User).order_by(User.username)))


def require_permission(user: User, action: str, site_id: int | None = None) -> None:
    """Refuse (AccessDeniedError) unless the user is active, the role allows ``action`` and,
    for site data, the user may see ``site_id``."""
    if not user.active or not can(user.role, action):
        raise AccessDeniedError(user.username, action)
    if site_id is not None and not can_see_site(user.role, user.all_sites, user.site_ids, site_id):
        raise AccessDeniedError(user.username, action, f"site {site_id}")
