"""Log in and out of the pages, and ``PageUser``: the logged-in user, or a redirect to /login
(or, for a user whose password an administrator reset, to /account/password).

A login goes through :func:`cordtrial.trial.services.tokens.login` (the lockout after five
failures included); the issued token is the session cookie (see :mod:`.security`), lasting
``CORDTRIAL_TOKEN_MINUTES``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cordtrial.trial.demo import DEMO_USERS
from cordtrial.trial.errors import AuthenticationError
from cordtrial.trial.models import User
from cordtrial.trial.services.tokens import login, revoke_token, user_for_token
from cordtrial.web.deps import Clock, SessionDep, SettingsDep
from cordtrial.web.pages.rendering import render
from cordtrial.web.pages.security import (
    SESSION_COOKIE,
    check_csrf,
    cookie_secure,
    session_token,
)

__all__ = ["CsrfChecked", "OptionalPageUser", "PageUser", "PasswordPageUser", "router"]

#: Where a user whose password was reset must go first.
PASSWORD_PAGE = "/account/password"

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # only paths of this site: no scheme, no //host (an open redirect otherwise)
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def get_optional_page_user(request: Request, session: SessionDep, now: Clock) -> User | None:
    """The user of the session cookie, or ``None`` (no cookie, or an expired/revoked token)."""
    token = session_token(request)
    if token is None:
        return None
    try:
        user = user_for_token(session, token, now)
    except AuthenticationError:
        return None
    request.state.username = user.username
    return user


OptionalPageUser = Annotated[User | None, Depends(get_optional_page_user)]


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def get_password_page_user(request: Request, user: OptionalPageUser) -> User:
    """The logged-in user (even one who must change their password); otherwise a 303 redirect
    to the login page (then back here)."""
    if user is None:
        raise HTTPException(
            status.HTTP_303_SEE_OTHER,
            "login required",
            headers={"Location": f"/login?next={quote(_here(request), safe='')}"},
        )
    return user


PasswordPageUser = Annotated[User, Depends(get_password_page_user)]


def get_page_user(request: Request, user: PasswordPageUser) -> User:
    """The logged-in user; a user whose password an administrator reset is sent (303) to the
    password page first."""
    if user.must_change_password:
        raise HTTPException(
            status.HTTP_303_SEE_OTHER,
            "password change required",
            headers={"Location": f"{PASSWORD_PAGE}?next={quote(_here(request), safe='')}"},
        )
    return user


PageUser = Annotated[User, Depends(get_page_user)]
#: Put ``_: CsrfChecked`` in a POST route to refuse forms without this session's CSRF token.
CsrfChecked = Annotated[None, Depends(check_csrf)]


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(
    request: Request, user: OptionalPageUser, settings: SettingsDep, next: str = "/"
) -> Response:
    """The login form (already logged in: straight on)."""
    if user is not None:
        return RedirectResponse(_safe_next(next), status.HTTP_303_SEE_OTHER)
    return render(
        request,
        "login.html",
        user=None,
        next=_safe_next(next),
        error=None,
        demo_users=DEMO_USERS if settings.demo else {},
    )


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
def login_submit(
    request: Request,
    session: SessionDep,
    now: Clock,
    settings: SettingsDep,
    _: CsrfChecked,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password; on success set the session cookie and go on to ``next``."""
    try:
        issued = login(
            session,
            username=username.strip(),
            password=password,
            now=now,
            lifetime=settings.token_lifetime,
        )
    except AuthenticationError:
        return render(
            request,
            "login.html",
            user=None,
            status_code=status.HTTP_401_UNAUTHORIZED,
            next=_safe_next(next),
            error="Wrong user name or password (or the account is locked for 15 minutes "
            "after five failed attempts).",
            username=username,
            demo_users=DEMO_USERS if settings.demo else {},
        )
    target = _safe_next(next)
    if issued.record.user.must_change_password:
        target = f"{PASSWORD_PAGE}?next={quote(target, safe='')}"
    response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(settings.token_lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: SessionDep, now: Clock, _: CsrfChecked) -> Response:
    """Revoke the session's token and forget the cookie."""
    token = session_token(request)
    if token is not None:
        revoke_token(session, token=token, now=now)
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE)
    return response
