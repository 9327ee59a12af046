"""Log in and out of the pages, and ``PageUser``: the logged-in user, or a redirect to /login.

A login goes through :func:`cordtrial.trial.services.tokens.login` (the lockout after five
failures included); the issued token is the session cookie (see :mod:`.security`).
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
from cordtrial.web.pages.security import SESSION_COOKIE, check_csrf, session_token

__all__ = ["CsrfChecked", "OptionalPageUser", "PageUser", "router"]

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
        return user_for_token(session, token, now)
    except AuthenticationError:
        return None


OptionalPageUser = Annotated[User | None, Depends(get_optional_page_user)]


def get_page_user(request: Request, user: OptionalPageUser) -> User:
    """The logged-in user; otherwise a 303 redirect to the login page (then back here)."""
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            status.HTTP_303_SEE_OTHER,
            "login required",
            headers={"Location": f"/login?next={quote(target, safe='')}"},
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
    response = RedirectResponse(_safe_next(next), status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(settings.token_lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
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
