"""The trial workspace pages: dashboard (more pages join this module's router)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cordtrial.trial.services.reads import list_participants, list_trials
from cordtrial.web.deps import SessionDep
from cordtrial.web.pages.auth import PageUser
from cordtrial.web.pages.rendering import render

__all__ = ["router"]

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The trial dashboard."""
    trials = list_trials(session, user)
    trial = trials[0] if trials else None
    participants = list_participants(session, user, trial.protocol_id) if trial else []
    return render(request, "dashboard.html", user=user, trial=trial, participants=participants)
