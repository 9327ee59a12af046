"""Logging in and out (bearer tokens), and changing one's own password."""

from fastapi import APIRouter, status

from cordtrial.trial.services.tokens import login, revoke_token
from cordtrial.trial.services.users import change_password
from cordtrial.web.deps import Bearer, Clock, PasswordChangeUser, SessionDep, SettingsDep
from cordtrial.web.schemas import LoginCreate, PasswordChange, TokenRead, UserRead

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=TokenRead)
def log_in(body: LoginCreate, session: SessionDep, now: Clock, settings: SettingsDep) -> TokenRead:
    """Exchange a user name and password for a bearer token (it lasts
    ``CORDTRIAL_TOKEN_MINUTES``). Five failures in a row lock the account for 15 minutes; the
    error is the same whatever the cause. After a password reset by an administrator the token
    serves only ``/api/auth/password``, ``/api/auth/me`` and ``/api/auth/logout`` until the user
    has chosen a new password."""
    issued = login(
        session,
        username=body.username,
        password=body.password,
        now=now,
        lifetime=settings.token_lifetime,
    )
    return TokenRead(access_token=issued.token, expires_at=issued.record.expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(user: PasswordChangeUser, credentials: Bearer, session: SessionDep, now: Clock) -> None:
    """Revoke the token of this request."""
    assert credentials is not None  # the user came from one
    revoke_token(session, token=credentials.credentials, now=now)


@router.post("/password", response_model=UserRead)
def change_own_password(
    body: PasswordChange, user: PasswordChangeUser, session: SessionDep, now: Clock
) -> UserRead:
    """Change one's own password, re-entering the current one (a wrong one counts towards the
    lockout). The new password: 12-256 characters, not common or guessable, without the user
    name, the person's name or a study name. Audited."""
    changed = change_password(
        session,
        username=user.username,
        current_password=body.current_password,
        new_password=body.new_password,
        now=now,
    )
    return UserRead.model_validate(changed)


@router.get("/me", response_model=UserRead)
def me(user: PasswordChangeUser) -> UserRead:
    """The user the token belongs to."""
    return UserRead.model_validate(user)
