"""Users, their roles and sites (admins)."""

from fastapi import APIRouter, status

from cordtrial.trial.services.reads import list_users
from cordtrial.trial.services.users import add_user, require_permission, update_user
from cordtrial.web.deps import CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserRead])
def get_users(user: CurrentUser, session: SessionDep) -> list[UserRead]:
    """Every user."""
    require_permission(user, "manage_users")
    return [UserRead.model_validate(u) for u in list_users(session)]


@router.post("", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, user: CurrentUser, session: SessionDep) -> UserRead:
    """Create a user (the password is stored only as its Argon2id hash)."""
    require_permission(user, "manage_users")
    created = add_user(
        session,
        actor=user.username,
        username=body.username,
        password=body.password,
        role=body.role,
        site_ids=body.site_ids,
        all_sites=body.all_sites,
    )
    return UserRead.model_validate(created)


@router.patch("/{user_id}", response_model=UserRead)
def patch_user(
    user_id: PathId, body: UserUpdate, user: CurrentUser, session: SessionDep
) -> UserRead:
    """Change a user's role, sites, all-sites flag or active state, all in one transaction."""
    require_permission(user, "manage_users")
    updated = update_user(
        session,
        actor=user.username,
        user_id=user_id,
        reason=body.reason,
        role=body.role,
        site_ids=body.site_ids,
        all_sites=body.all_sites,
        active=body.active,
        expected_version=body.version,
    )
    return UserRead.model_validate(updated)
