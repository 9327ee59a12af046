"""Session cookie and CSRF protection of the pages.

The session cookie holds an API token of :mod:`cordtrial.trial.services.tokens` (only its
SHA-256 is stored; logout revokes it), ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` over HTTPS
(:func:`cookie_secure`). Every POST form carries
a CSRF token in a hidden field ``csrf_token``: with a session, an HMAC of the session token (so a
page of another origin, which cannot read the cookie, cannot forge it); before login (the login
form), a random value also set as a cookie (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request, status

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "SESSION_COOKIE",
    "check_csrf",
    "cookie_secure",
    "csrf_token_for",
    "session_csrf_token",
    "session_token",
]

SESSION_COOKIE = "cordtrial_session"
CSRF_COOKIE = "cordtrial_csrf"
CSRF_FIELD = "csrf_token"


def cookie_secure(request: Request) -> bool:
    """Whether cookies get the ``Secure`` flag: setting ``secure_cookies`` ``always``; ``auto``
    when the request came over HTTPS (directly, or through a trusted proxy that says so with
    ``X-Forwarded-Proto``, see ``CORDTRIAL_TRUSTED_PROXIES``)."""
    mode = getattr(request.app.state.settings, "secure_cookies", "auto")
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def session_token(request: Request) -> str | None:
    """The token in the session cookie, if any."""
    return request.cookies.get(SESSION_COOKIE) or None


def session_csrf_token(token: str) -> str:
    """The CSRF token of the session whose cookie holds ``token``."""
    return hmac.new(token.encode(), b"cordtrial csrf", hashlib.sha256).hexdigest()


def csrf_token_for(request: Request) -> str:
    """The CSRF token forms of this request must carry.

    With a session: derived from the session token. Without one: the pre-login cookie's value,
    or a fresh one (then stored on ``request.state.new_csrf`` for the response to set).
    """
    token = session_token(request)
    if token is not None:
        return session_csrf_token(token)
    existing = getattr(request.state, "new_csrf", None) or request.cookies.get(CSRF_COOKIE)
    if existing:
        return str(existing)
    fresh = secrets.token_urlsafe(24)
    request.state.new_csrf = fresh
    return fresh


async def check_csrf(request: Request) -> None:
    """Refuse (403) a form post whose ``csrf_token`` field does not match this session's."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    token = session_token(request)
    if token is not None:
        expected: str | None = session_csrf_token(token)
    else:
        expected = request.cookies.get(CSRF_COOKIE)
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "csrf_token: missing or does not match this session (reload the page and try again)",
        )
