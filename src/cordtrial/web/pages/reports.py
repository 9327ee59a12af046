"""The report archive page (issue 17): the trial's DSMB and efficacy reports, each made once
per data snapshot in the background, listed with their date, data snapshot and engine versions,
and downloaded later as PDF or HTML.

Asking for a report (a form) queues a job (:mod:`cordtrial.web.report_jobs`) and comes back at
once; while a job runs the page shows its progress and reloads itself every few seconds (a
``<meta http-equiv="refresh">``, no script). Who: as :mod:`cordtrial.trial.services.reports`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from cordtrial.trial.errors import NotFoundError
from cordtrial.trial.models import Trial
from cordtrial.trial.services.common import get_trial
from cordtrial.trial.services.reports import get_report, list_reports, request_report
from cordtrial.web.deps import Clock, PathId, SessionDep, SettingsDep
from cordtrial.web.pages.auth import CsrfChecked, PageUser
from cordtrial.web.pages.rendering import render
from cordtrial.web.report_jobs import start_report_job

__all__ = ["router"]

router = APIRouter()
_KIND_WORDS = {"dsmb": "DSMB report", "efficacy": "Efficacy report"}
_MEDIA = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


@router.get("/trials/{protocol_id}/reports", response_class=HTMLResponse, include_in_schema=False)
def archive_page(
    request: Request, protocol_id: str, user: PageUser, session: SessionDep, now: Clock
) -> Response:
    """The trial's archived reports and report jobs, newest first."""
    reports = list_reports(session, user, protocol_id=protocol_id, now=now)
    trial = get_trial(session, protocol_id)
    return render(
        request, "reports.html", user=user, trial=trial, reports=reports, kinds=_KIND_WORDS,
        running=any(r.status in ("queued", "running") for r in reports),
    )  # fmt: skip


@router.post("/trials/{protocol_id}/reports", include_in_schema=False)
def archive_request(
    protocol_id: str,
    user: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    now: Clock,
    _: CsrfChecked,
    kind: Annotated[Literal["dsmb", "efficacy"], Form()],
) -> Response:
    """Ask for a report of the current data; back to the archive at once (303)."""
    report, created = request_report(session, user, protocol_id=protocol_id, kind=kind, now=now)
    if created:
        start_report_job(settings.database_url, report.id, settings.report_folder)
    return RedirectResponse(f"/trials/{protocol_id}/reports#report-{report.id}", status_code=303)


@router.get("/reports/{report_id}.{fmt}", include_in_schema=False)
def archive_download(
    report_id: PathId,
    fmt: Literal["pdf", "html"],
    user: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    now: Clock,
) -> Response:
    """An archived report's file, as it was written when the report was made."""
    report = get_report(session, user, report_id=report_id, now=now)
    name = report.pdf_file if fmt == "pdf" else report.html_file
    path = settings.report_folder / name if report.status == "done" and name else None
    if path is None or not path.is_file():
        raise NotFoundError("report file", f"{report_id}.{fmt}")
    trial = session.get(Trial, report.trial_id)
    assert trial is not None
    return FileResponse(path, media_type=_MEDIA[fmt], filename=name)
