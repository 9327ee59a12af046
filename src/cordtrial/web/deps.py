"""Dependencies of the routes, as ``Annotated`` aliases: a session per request, the clock, the
settings and the authenticated user (from an ``Authorization: Bearer`` token)."""

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, cast

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from cordtrial.trial.errors import AccessDeniedError, AuthenticationError
from cordtrial.trial.models import User
from cordtrial.trial.services.tokens import user_for_token
from cordtrial.web.settings import WebSettings

__all__ = [
    "Bearer",
    "Clock",
    "CurrentUser",
    "PasswordChangeUser",
    "PathId",
    "SessionDep",
    "SettingsDep",
]

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/auth/login")


def get_session(request: Request) -> Iterator[Session]:
    """A session for one request; closed (and any open transaction rolled back) at the end."""
    factory = cast(sessionmaker[Session], request.app.state.session_factory)
    with factory() as session:
        yield session


def get_now(request: Request) -> datetime:
    """The current moment (UTC), from the application's clock."""
    clock = cast(Callable[[], datetime], request.app.state.clock)
    return clock()


def get_settings(request: Request) -> WebSettings:
    """The application's settings."""
    return cast(WebSettings, request.app.state.settings)


#: A record's id in a path: a positive 32-bit integer (what the database's ids are).
PathId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The record's id")]
SessionDep = Annotated[Session, Depends(get_session)]
Clock = Annotated[datetime, Depends(get_now)]
SettingsDep = Annotated[WebSettings, Depends(get_settings)]
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_token_user(request: Request, session: SessionDep, now: Clock, credentials: Bearer) -> User:
    """The active user whose token came with the request (401 otherwise), even one who must
    change a password reset by an administrator. Named in the access log."""
    if credentials is None:
        raise AuthenticationError("no bearer token")
    user = user_for_token(session, credentials.credentials, now)
    request.state.username = user.username
    return user


def get_current_user(user: Annotated[User, Depends(get_token_user)]) -> User:
    """The token's user, refused (403) until they change a password reset by an administrator
    (``POST /api/auth/password``)."""
    if user.must_change_password:
        raise AccessDeniedError(
            user.username, "work before changing the password an administrator set"
        )
    return user


#: The token's user, for the routes open to one who must change their password first.
PasswordChangeUser = Annotated[User, Depends(get_token_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
