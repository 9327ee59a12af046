"""The report archive (issue 17): ask for a report of the current data (made in the background,
once per data snapshot), follow its progress, list the archived reports."""

from fastapi import APIRouter, Request, Response, status

from cordtrial.trial.services.reports import get_report, list_reports, request_report
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep, SettingsDep
from cordtrial.web.report_jobs import start_report_job
from cordtrial.web.schemas import ReportCreate, ReportRead

router = APIRouter(tags=["reports"])


@router.get("/trials/{protocol_id}/reports", response_model=list[ReportRead])
def get_trial_reports(
    protocol_id: str, user: CurrentUser, session: SessionDep, now: Clock
) -> list[ReportRead]:
    """The trial's archived reports and report jobs, newest first (users who may read reports
    and see every site of the trial)."""
    rows = list_reports(session, user, protocol_id=protocol_id, now=now)
    return [ReportRead.model_validate(r) for r in rows]


@router.post(
    "/trials/{protocol_id}/reports",
    response_model=ReportRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        status.HTTP_200_OK: {
            "model": ReportRead,
            "description": "The report of the same data already asked for",
        }
    },
)
def post_trial_report(
    protocol_id: str,
    body: ReportCreate,
    request: Request,
    response: Response,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    now: Clock,
) -> ReportRead:
    """Ask for the report of the current data: 202 with a new job, or 200 with the report of
    the same data already asked for (queued, running or done)."""
    report, created = request_report(
        session, user, protocol_id=protocol_id, kind=body.kind, now=now
    )
    if created:
        start_report_job(settings.database_url, report.id, settings.report_folder)
    else:
        response.status_code = status.HTTP_200_OK
    return ReportRead.model_validate(report)


@router.get("/reports/{report_id}", response_model=ReportRead)
def get_one_report(
    report_id: PathId, user: CurrentUser, session: SessionDep, now: Clock
) -> ReportRead:
    """One report or job: its status and progress."""
    return ReportRead.model_validate(get_report(session, user, report_id=report_id, now=now))
