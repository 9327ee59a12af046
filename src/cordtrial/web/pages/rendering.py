"""Rendering of the server-side pages: the Jinja2 environment and the context every page gets
(the user, the navigation for the user's role, the CSRF token, the demo banner)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cordtrial.trial.errors import human_field
from cordtrial.trial.models import User
from cordtrial.trial.rules.access import can
from cordtrial.trial.rules.vocabulary import word
from cordtrial.web.pages.security import CSRF_COOKIE, cookie_secure, csrf_token_for
from cordtrial.web.settings import WebSettings

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "NavItem", "nav_items", "render", "templates"]

#: Where the page templates and static assets live (shipped as package data).
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
#: ``{{ value|word }}``: a vocabulary value in the words people read (life-threatening ...).
templates.env.filters["word"] = word
# a stored field name as people read it (Right C6 motor, Resolution date); see trial.errors
templates.env.filters["field_words"] = human_field


@dataclass(frozen=True, slots=True)
class NavItem:
    """A link of the navigation bar."""

    label: str
    href: str


def nav_items(user: User | None) -> list[NavItem]:
    """The navigation for a user: what the role may open (the calculator for everyone)."""
    items: list[NavItem] = []
    if user is not None and can(user.role, "read"):
        items += [
            NavItem("Dashboard", "/"),
            NavItem("Participants", "/participants"),
            NavItem("Adverse events", "/adverse-events"),
            NavItem("Reporting", "/reporting"),
            NavItem("Lots", "/lots"),
        ]
    if user is not None and can(user.role, "read_images"):
        items.append(NavItem("Imaging", "/imaging"))
    if user is not None and can(user.role, "read_audit"):
        items.append(NavItem("Audit log", "/audit"))
    if user is not None and can(user.role, "manage_users"):
        items.append(NavItem("Users", "/users"))
    items.append(NavItem("Calculator", "/calculator"))
    return items


def render(
    request: Request,
    name: str,
    *,
    user: User | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render template ``name`` with the common context (``user``, ``nav``, ``csrf_token``,
    ``demo``, ``path``) plus ``context``."""
    settings: WebSettings = request.app.state.settings
    common = {
        "user": user,
        "nav": nav_items(user),
        "csrf_token": csrf_token_for(request),
        "demo": settings.demo,
        "path": request.url.path,
        "can": (lambda action: user is not None and can(user.role, action)),
    }
    response = templates.TemplateResponse(
        request, name, {**common, **context}, status_code=status_code
    )
    fresh = getattr(request.state, "new_csrf", None)
    if fresh:
        response.set_cookie(
            CSRF_COOKIE, fresh, httponly=True, samesite="lax", secure=cookie_secure(request)
        )
    return response
