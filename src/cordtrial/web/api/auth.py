"""Logging in and out: bearer tokens."""

from fastapi import APIRouter, status

from cordtrial.trial.services.tokens import login, revoke_token
from cordtrial.web.deps import Bearer, Clock, CurrentUser, SessionDep, SettingsDep
from cordtrial.web.schemas import LoginCreate, TokenRead, UserRead

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=TokenRead)
def log_in(body: LoginCreate, session: SessionDep, now: Clock, settings: SettingsDep) -> TokenRead:
    """Exchange a user name and password for a bearer token. Five failures in a row lock the
    account for 15 minutes; the error is the same whatever the cause."""
    issued = login(
        session,
        username=body.username,
        password=body.password,
        now=now,
        lifetime=settings.token_lifetime,
    )
    return TokenRead(access_token=issued.token, expires_at=issued.record.expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(user: CurrentUser, credentials: Bearer, session: SessionDep, now: Clock) -> None:
    """Revoke the token of this request."""
    assert credentials is not None  # CurrentUser needed one
    revoke_token(session, token=credentials.credentials, now=now)


@router.get("/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    """The user the token belongs to."""
    return UserRead.model_validate(user)
