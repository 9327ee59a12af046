"""Users, their roles and sites (admins)."""

from fastapi import APIRouter, status

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import User
from cordtrial.trial.services.common import check_version, get_by_id
from cordtrial.trial.services.reads import list_users
from cordtrial.trial.services.users import (
    add_user,
    assign_sites,
    change_role,
    require_permission,
    set_active,
)
from cordtrial.web.deps import CurrentUser, SessionDep
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
def update_user(user_id: int, body: UserUpdate, user: CurrentUser, session: SessionDep) -> UserRead:
    """Change a user's role, sites or active state."""
    require_permission(user, "manage_users")
    target = get_by_id(session, User, user_id)
    check_version(target, body.version)
    changes = body.model_dump(exclude_unset=True, exclude={"version", "reason"})
    if not changes:
        raise InvalidValueError("changes", {}, "role, site_ids, all_sites or active", "is empty")
    if body.role is not None:
        change_role(
            session, actor=user.username, user_id=user_id, role=body.role, reason=body.reason
        )
    if body.site_ids is not None or body.all_sites is not None:
        target = get_by_id(session, User, user_id)
        assign_sites(
            session,
            actor=user.username,
            user_id=user_id,
            site_ids=body.site_ids if body.site_ids is not None else target.site_ids,
            all_sites=body.all_sites if body.all_sites is not None else target.all_sites,
            reason=body.reason,
        )
    if body.active is not None:
        set_active(
            session, actor=user.username, user_id=user_id, active=body.active, reason=body.reason
        )
    return UserRead.model_validate(get_by_id(session, User, user_id))
