"""Users, their roles and sites (admins)."""

from fastapi import APIRouter, status

from cordtrial.trial.services.users import (
    add_user,
    list_accounts,
    reset_password,
    unlock_user,
    update_user,
)
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import PasswordReset, UserCreate, UserRead, UserUnlock, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserRead])
def get_users(user: CurrentUser, session: SessionDep) -> list[UserRead]:
    """Every user."""
    return [UserRead.model_validate(u) for u in list_accounts(session, user)]


@router.post("", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, user: CurrentUser, session: SessionDep) -> UserRead:
    """Create a user (the password is stored only as its Argon2id hash)."""
    created = add_user(
        session,
        user=user,
        username=body.username,
        password=body.password,
        role=body.role,
        site_ids=body.site_ids,
        all_sites=body.all_sites,
        full_name=body.full_name,
    )
    return UserRead.model_validate(created)


@router.patch("/{user_id}", response_model=UserRead)
def patch_user(
    user_id: PathId, body: UserUpdate, user: CurrentUser, session: SessionDep, now: Clock
) -> UserRead:
    """Change a user's role, sites, all-sites flag, active state or printed name, all in one
    transaction. Deactivating a user revokes their tokens and page sessions."""
    updated = update_user(
        session,
        user=user,
        user_id=user_id,
        reason=body.reason,
        role=body.role,
        site_ids=body.site_ids,
        all_sites=body.all_sites,
        active=body.active,
        full_name=body.full_name,
        expected_version=body.version,
        now=now,
    )
    return UserRead.model_validate(updated)


@router.post("/{user_id}/password-reset", response_model=UserRead)
def post_password_reset(
    user_id: PathId, body: PasswordReset, user: CurrentUser, session: SessionDep, now: Clock
) -> UserRead:
    """Set a temporary password: the user must change it at the next login. Lifts a lockout
    and revokes the user's tokens. Audited."""
    reset = reset_password(
        session,
        user=user,
        user_id=user_id,
        password=body.password,
        reason=body.reason,
        now=now,
    )
    return UserRead.model_validate(reset)


@router.post("/{user_id}/unlock", response_model=UserRead)
def post_unlock(
    user_id: PathId, body: UserUnlock, user: CurrentUser, session: SessionDep, now: Clock
) -> UserRead:
    """Lift a lockout. Audited."""
    unlocked = unlock_user(session, user=user, user_id=user_id, reason=body.reason, now=now)
    return UserRead.model_validate(unlocked)
