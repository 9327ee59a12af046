"""Users, roles, sites and logins on each database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.errors import AccessDeniedError, AuthenticationError, InvalidValueError
from cordtrial.trial.models import AuditEntry, Site, Trial, User
from cordtrial.trial.services.trials import add_site
from cordtrial.trial.services.users import (
    add_user,
    assign_sites,
    authenticate,
    change_role,
    require_permission,
    set_active,
    set_password,
)

from ..conftest import PROTOCOL

PASSWORD = "a long enough passphrase"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def sites(session: Session, trial: Trial) -> list[int]:
    add_site(session, user=acting_as(), protocol_id=PROTOCOL, code="S02", name="Second")
    return list(session.scalars(select(Site.id).order_by(Site.code)))


@pytest.fixture
def coordinator(session: Session, sites: list[int]) -> User:
    return add_user(
        session, user=acting_as(), username="cora", password=PASSWORD, role="coordinator",
        site_ids=[sites[0]],
    )  # fmt: skip


def test_password_is_stored_hashed_and_audited_only_as_a_hash(
    session: Session, coordinator: User
) -> None:
    session.expire_all()
    user = session.get(User, coordinator.id)
    assert user is not None and user.password_hash.startswith("$argon2id$")
    (row,) = session.scalars(select(AuditEntry).where(AuditEntry.field == "password_hash"))
    assert row.new_value is not None and row.new_value.startswith('"concealed sha256:')
    assert PASSWORD not in " ".join(str(r.new_value) for r in session.scalars(select(AuditEntry)))


def test_login_succeeds_with_the_password(session: Session, coordinator: User) -> None:
    assert authenticate(session, username="cora", password=PASSWORD, now=NOW).id == coordinator.id


def test_wrong_password_and_unknown_user_look_the_same(session: Session, coordinator: User) -> None:
    with pytest.raises(AuthenticationError) as wrong:
        authenticate(session, username="cora", password="not the passphrase", now=NOW)
    with pytest.raises(AuthenticationError) as unknown:
        authenticate(session, username="nobody", password=PASSWORD, now=NOW)
    assert str(wrong.value) == str(unknown.value)
    assert wrong.value.reason != unknown.value.reason


def test_five_failures_lock_the_account_for_15_minutes(session: Session, coordinator: User) -> None:
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            authenticate(session, username="cora", password="wrong passphrase!", now=NOW)
    with pytest.raises(AuthenticationError) as locked:
        authenticate(session, username="cora", password=PASSWORD, now=NOW + timedelta(minutes=14))
    assert "locked until" in locked.value.reason
    user = authenticate(
        session, username="cora", password=PASSWORD, now=NOW + timedelta(minutes=15)
    )
    assert (user.failed_logins, user.locked_until) == (0, None)
    rows = list(
        session.scalars(
            select(AuditEntry).where(
                AuditEntry.field == "failed_logins", AuditEntry.action == "update"
            )
        )
    )
    assert [(r.reason, r.new_value) for r in rows[:5]] == [
        ("failed login", str(n)) for n in range(1, 6)
    ]
    assert rows[-1].reason == "successful login"


def test_inactive_user_cannot_log_in(session: Session, coordinator: User) -> None:
    set_active(session, user=acting_as(), user_id=coordinator.id, active=False, reason="left")
    with pytest.raises(AuthenticationError):
        authenticate(session, username="cora", password=PASSWORD, now=NOW)


def test_new_password_replaces_the_old(session: Session, coordinator: User) -> None:
    set_password(
        session, user=acting_as(), user_id=coordinator.id, password="another long passphrase",
        reason="reset on request",
    )  # fmt: skip
    with pytest.raises(AuthenticationError):
        authenticate(session, username="cora", password=PASSWORD, now=NOW)
    authenticate(session, username="cora", password="another long passphrase", now=NOW)


def test_role_and_sites_decide_what_a_user_may_do(
    session: Session, coordinator: User, sites: list[int]
) -> None:
    require_permission(coordinator, "enter_data", sites[0])
    with pytest.raises(AccessDeniedError, match="cora may not enter data at site"):
        require_permission(coordinator, "enter_data", sites[1])
    with pytest.raises(AccessDeniedError, match="cora may not randomize"):
        require_permission(coordinator, "randomize", sites[0])
    change_role(session, user=acting_as(), user_id=coordinator.id, role="investigator", reason="PI")
    require_permission(coordinator, "randomize", sites[0])


def test_site_assignment_changes_are_audited(
    session: Session, coordinator: User, sites: list[int]
) -> None:
    assign_sites(
        session,
        user=acting_as(),
        user_id=coordinator.id,
        site_ids=[sites[1]],
        reason="moved",
    )
    assert coordinator.site_ids == {sites[1]}
    actions = {
        (r.action, r.entity)
        for r in session.scalars(select(AuditEntry).where(AuditEntry.entity == "user_site"))
    }
    assert actions == {("create", "user_site"), ("delete", "user_site")}
    assert verify_audit(session).ok


def test_duplicate_user_and_unknown_site_are_refused(session: Session, coordinator: User) -> None:
    with pytest.raises(InvalidValueError, match="username: 'cora'"):
        add_user(session, user=acting_as(), username="cora", password=PASSWORD, role="monitor")
    with pytest.raises(InvalidValueError, match="site_ids: 999 is unknown"):
        add_user(
            session, user=acting_as(), username="mona", password=PASSWORD, role="monitor",
            site_ids=[999],
        )  # fmt: skip
    with pytest.raises(InvalidValueError, match="role: 'root'"):
        add_user(session, user=acting_as(), username="rob", password=PASSWORD, role="root")
