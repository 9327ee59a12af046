"""The report archive's use cases: ask for a report of the current data, follow its job, list
and open the archived reports (issue 17).

A report is made once per data snapshot: asking again while the data have not changed (the
audit trail's head, :func:`data_version`, is the same) gives the report already asked for --
queued, running or done -- instead of a second job. The job's state lives in the
``archived_report`` table, so any worker process answers for any job; the work itself is done
elsewhere (:mod:`cordtrial.analysis.archive`), which reports its progress here.

Who: the role must have the ``report`` action (admin, investigator, monitor, statistician) and
see every site of the trial (a report lists participants and their events). Asking for a report
changes no trial data, so it writes no audit entry (which would advance the data version the
report is keyed by); the archive row keeps who asked and when.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import audit_head
from cordtrial.trial.errors import AccessDeniedError, InvalidValueError, NotFoundError
from cordtrial.trial.models import ArchivedReport, Trial, User
from cordtrial.trial.services.common import get_trial
from cordtrial.trial.services.users import require_permission

__all__ = [
    "REPORT_KINDS",
    "STALE_AFTER",
    "ReportKind",
    "data_version",
    "finish_report",
    "get_report",
    "list_reports",
    "request_report",
    "set_report_progress",
]

ReportKind = Literal["dsmb", "efficacy"]
REPORT_KINDS: Final = frozenset(get_args(ReportKind))
#: A queued or running job that has said nothing for this long was interrupted (its process
#: ended); it is shown as failed and a new one may be asked for.
STALE_AFTER: Final = timedelta(minutes=10)
_ACTIVE: Final = ("queued", "running")


def data_version(session: Session) -> str:
    """The version of the store's data: the audit trail's head (sequence number and hash),
    which every change of trial data advances; one indexed read."""
    seq, head = audit_head(session)
    return f"{seq}:{head[:16]}"


def _check_reader(session: Session, user: User, trial: Trial) -> None:
    require_permission(user, "report")
    if not (user.role == "admin" or user.all_sites or {s.id for s in trial.sites} <= user.site_ids):
        raise AccessDeniedError(user.username, "report", "a trial with sites outside theirs")


def _fresh(report: ArchivedReport, now: datetime) -> ArchivedReport:
    """``report`` with an interrupted job marked failed (not committed by itself)."""
    if report.status in _ACTIVE and now - report.updated_at > STALE_AFTER:
        report.status, report.error = "failed", "interrupted: the job stopped reporting progress"
        report.finished_at = now
    return report


def request_report(
    session: Session, user: User, *, protocol_id: str, kind: str, now: datetime
) -> tuple[ArchivedReport, bool]:
    """The report of ``kind`` of the trial's current data: the one already asked for at this
    data version (queued, running or done), else a new queued job. Returns ``(report,
    created)``; the caller starts the job of a created one. Commits."""
    if kind not in REPORT_KINDS:
        raise InvalidValueError("kind", kind, " or ".join(sorted(REPORT_KINDS)))
    trial = get_trial(session, protocol_id)
    _check_reader(session, user, trial)
    version = data_version(session)
    for known in session.scalars(
        select(ArchivedReport)
        .where(ArchivedReport.trial_id == trial.id, ArchivedReport.kind == kind,
               ArchivedReport.data_version == version)
        .order_by(ArchivedReport.id.desc())
    ):  # fmt: skip
        if _fresh(known, now).status != "failed":
            session.commit()
            return known, False
    report = ArchivedReport(
        trial_id=trial.id, kind=kind, status="queued", progress=0, stage="waiting to start",
        data_version=version, requested_by=user.username, requested_at=now, updated_at=now,
    )  # fmt: skip
    session.add(report)
    session.commit()
    return report, True


def list_reports(
    session: Session, user: User, *, protocol_id: str, now: datetime
) -> list[ArchivedReport]:
    """The trial's reports and jobs, newest first (interrupted jobs shown as failed)."""
    trial = get_trial(session, protocol_id)
    _check_reader(session, user, trial)
    reports = list(
        session.scalars(
            select(ArchivedReport)
            .where(ArchivedReport.trial_id == trial.id)
            .order_by(ArchivedReport.id.desc())
        )
    )
    for r in reports:
        _fresh(r, now)
    session.commit()
    return reports


def get_report(session: Session, user: User, *, report_id: int, now: datetime) -> ArchivedReport:
    """One report or job, for a user who may read the trial's reports."""
    require_permission(user, "report")
    report = session.get(ArchivedReport, report_id)
    if report is None:
        raise NotFoundError("report", report_id)
    trial = session.get(Trial, report.trial_id)
    assert trial is not None
    _check_reader(session, user, trial)
    _fresh(report, now)
    session.commit()
    return report


def set_report_progress(
    session: Session, report_id: int, *, progress: int, stage: str, now: datetime
) -> None:
    """The job's progress (0-100) and what it is doing; ``running`` from the first call.
    Commits (a short transaction of its own: other workers see it at once)."""
    report = session.get(ArchivedReport, report_id)
    if report is None:
        raise NotFoundError("report", report_id)
    report.status, report.progress, report.stage = "running", max(0, min(progress, 100)), stage
    report.updated_at = now
    session.commit()


def finish_report(
    session: Session, report_id: int, *, now: datetime, error: str = "", **document: object
) -> None:
    """The job's end: ``done`` with the document's facts (``snapshot_hash``, ``data_cut``,
    ``versions``, ``pdf_file``, ``html_file``, ``pdf_sha256``, ``pdf_bytes``, ``seconds``,
    ``peak_rss_mib``), or ``failed`` with ``error``. Commits."""
    report = session.get(ArchivedReport, report_id)
    if report is None:
        raise NotFoundError("report", report_id)
    for name, value in document.items():
        setattr(report, name, value)
    report.status = "failed" if error else "done"
    report.progress = report.progress if error else 100
    report.stage = "failed" if error else "done"
    report.error = error or None
    report.updated_at = report.finished_at = now
    session.commit()
