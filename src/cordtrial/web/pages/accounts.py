"""Account pages: a user changes their own password; an administrator resets a user's password
(the user must change it at the next login) or lifts a lockout. All audited by the use cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cordtrial.trial.errors import AuthenticationError, InvalidValueError
from cordtrial.trial.models import User
from cordtrial.trial.services.users import (
    change_password,
    list_accounts,
    reset_password,
    unlock_user,
)
from cordtrial.web.deps import Clock, SessionDep
from cordtrial.web.pages.auth import CsrfChecked, PageUser, PasswordPageUser, _safe_next
from cordtrial.web.pages.rendering import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, user: PasswordPageUser, next: str = "/") -> Response:
    """The form to change one's own password."""
    return render(request, "account_password.html", user=user, next=_safe_next(next), error=None)


@router.post("/account/password", response_class=HTMLResponse)
def password_submit(
    request: Request,
    user: PasswordPageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
    current_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    repeat_password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Change the password; on a refusal the form again with the reason (nothing changed)."""
    username = user.username
    error: str | None = None
    if new_password != repeat_password:
        error = "The new password and its repetition differ."
    else:
        try:
            change_password(
                session,
                username=username,
                current_password=current_password,
                new_password=new_password,
                now=now,
            )
        except AuthenticationError:
            error = "The current password is wrong (five failures in a row lock the account)."
        except InvalidValueError as exc:
            error = f"The new password {exc.problem}: {exc.allowed}."
    if error is not None:
        session.rollback()
        return render(
            request,
            "account_password.html",
            user=user,
            next=_safe_next(next),
            error=error,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return RedirectResponse(_safe_next(next), status.HTTP_303_SEE_OTHER)


def _users_page(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "users.html",
        user=user,
        users=list_accounts(session, user),
        now=request.app.state.clock(),
        message=message,
        error=error,
        status_code=status_code,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Every user, with password reset and unlock (administrators)."""
    return _users_page(request, session, user)


@router.post("/users/{user_id}/password-reset", response_class=HTMLResponse)
def password_reset_submit(
    request: Request,
    user_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
    password: Annotated[str, Form(max_length=256)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Set a temporary password the user must change at the next login."""
    try:
        target = reset_password(
            session, user=user, user_id=user_id, password=password, reason=reason,
            now=now,
        )  # fmt: skip
    except InvalidValueError as exc:
        session.rollback()
        return _users_page(request, session, user, error=exc.human, status_code=422)
    return _users_page(
        request, session, user,
        message=f"Password of {target.username} reset: they must change it at the next login.",
    )  # fmt: skip


@router.post("/users/{user_id}/unlock", response_class=HTMLResponse)
def unlock_submit(
    request: Request,
    user_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Lift a lockout."""
    try:
        target = unlock_user(session, user=user, user_id=user_id, reason=reason, now=now)
    except InvalidValueError as exc:
        session.rollback()
        return _users_page(request, session, user, error=exc.human, status_code=422)
    return _users_page(request, session, user, message=f"{target.username} unlocked.")
