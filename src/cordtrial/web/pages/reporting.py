"""The regulators' clocks in the workspace: the trial's jurisdictions and their rules, the
periodic safety reports (each period, its deadline, the events it must include, its filing),
and the forms that set the jurisdictions and record a filing (rules.clocks, services.clocks)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cordtrial.trial.errors import (
    InvalidValueError,
    NotFoundError,
    ReasonRequiredError,
    RuleViolationError,
)
from cordtrial.trial.models import Trial, User
from cordtrial.trial.rules.access import can
from cordtrial.trial.rules.clocks import (
    EXPEDITED_RULES,
    JURISDICTION_NAMES,
    PERIODIC_RULES,
)
from cordtrial.trial.services.clocks import (
    PeriodicState,
    periodic_report_states,
    record_periodic_submission,
    set_jurisdictions,
    trial_jurisdictions,
)
from cordtrial.trial.services.reads import list_trials
from cordtrial.web.deps import Clock, SessionDep
from cordtrial.web.pages.auth import CsrfChecked, PageUser
from cordtrial.web.pages.rendering import render

__all__ = ["reports_due", "router"]

router = APIRouter()


def _trial(session: Session, user: User, protocol_id: str | None) -> Trial:
    trials = list_trials(session, user)
    for trial in trials:
        if trial.protocol_id == protocol_id:
            return trial
    if protocol_id is not None or not trials:
        raise NotFoundError("trial", protocol_id or "")
    return trials[0]


def reports_due(session: Session, user: User, trial: Trial, today: date) -> list[PeriodicState]:
    """The periodic reports the dashboard lists: every period begun and not yet filed
    (overdue first, then by deadline), with the events each must include."""
    states = periodic_report_states(session, user, trial_id=trial.id, today=today)
    return [s for s in states if s.submission is None]


def _page(
    request: Request,
    session: Session,
    user: User,
    trial: Trial,
    today: date,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    chosen = trial_jurisdictions(trial)
    return render(
        request,
        "reporting.html",
        user=user,
        status_code=status_code,
        trial=trial,
        today=today,
        chosen=chosen,
        names=JURISDICTION_NAMES,
        expedited_rules=[r for r in EXPEDITED_RULES if r.jurisdiction in chosen],
        periodic_rules=[r for r in PERIODIC_RULES if r.jurisdiction in chosen],
        states=list(
            reversed(periodic_report_states(session, user, trial_id=trial.id, today=today))
        ),
        may_file=can(user.role, "manage_trial"),
        values=values or {},
        errors=errors or {},
        message={"filed": "Filing of the periodic report recorded.",
                 "jurisdictions": "Reporting jurisdictions saved."}.get(
            str(request.query_params.get("saved", ""))
        ),
    )  # fmt: skip


@router.get("/reporting", response_class=HTMLResponse, include_in_schema=False)
def reporting_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    trial: str | None = None,
) -> Response:
    """The trial's reporting rules and periodic safety reports."""
    return _page(request, session, user, _trial(session, user, trial), now.date())


def _parse_date(field: str, text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValueError(field, text, "a date (YYYY-MM-DD)") from None


@router.post("/reporting/periodic", response_class=HTMLResponse, include_in_schema=False)
async def file_periodic_report(
    request: Request, user: PageUser, session: SessionDep, now: Clock, _: CsrfChecked
) -> Response:
    """Record the filing of one period of a periodic report."""
    form = await request.form()
    values = {
        k: str(form.get(k, "")) for k in ("trial", "period", "submitted_on", "reference", "reason")
    }
    values["rule"], _sep, values["period_number"] = values["period"].partition("|")
    trial = _trial(session, user, values["trial"] or None)
    try:
        submitted_on = _parse_date("submitted_on", values["submitted_on"])
        if submitted_on is None:
            raise InvalidValueError("submitted_on", "", "the date the report was filed")
        if not values["period_number"].isdigit():
            raise InvalidValueError("period_number", values["period_number"], "a period number")
        record_periodic_submission(
            session, user, trial_id=trial.id, rule=values["rule"],
            period_number=int(values["period_number"]), submitted_on=submitted_on,
            reference=values["reference"], reason=values["reason"].strip() or None,
        )  # fmt: skip
    except InvalidValueError as exc:
        errors = {exc.field.split(".")[0]: exc.human}
        return _page(request, session, user, trial, now.date(), values=values, errors=errors,
                     status_code=422)  # fmt: skip
    except RuleViolationError as exc:
        return _page(request, session, user, trial, now.date(), values=values,
                     errors={"submitted_on": "; ".join(exc.reasons)}, status_code=422)  # fmt: skip
    except ReasonRequiredError:
        return _page(request, session, user, trial, now.date(), values=values,
                     errors={"reason": "Reason: say why the recorded filing changes"},
                     status_code=422)  # fmt: skip
    return RedirectResponse(
        f"/reporting?trial={trial.protocol_id}&saved=filed", status.HTTP_303_SEE_OTHER
    )


@router.post("/reporting/jurisdictions", response_class=HTMLResponse, include_in_schema=False)
async def save_jurisdictions(
    request: Request, user: PageUser, session: SessionDep, now: Clock, _: CsrfChecked
) -> Response:
    """Set the trial's jurisdictions (and the day the Japanese provision plan was submitted)."""
    form = await request.form()
    chosen = [str(v) for v in form.getlist("jurisdictions")]
    values = {
        "trial": str(form.get("trial", "")),
        "plan": str(form.get("provision_plan_submitted_on", "")),
        "jreason": str(form.get("reason", "")),
    }
    trial = _trial(session, user, values["trial"] or None)
    try:
        set_jurisdictions(
            session, user, trial_id=trial.id, jurisdictions=chosen,
            provision_plan_submitted_on=_parse_date("provision_plan_submitted_on", values["plan"]),
            reason=values["jreason"].strip() or None,
        )  # fmt: skip
    except InvalidValueError as exc:
        errors = {exc.field.split(".")[0]: exc.human}
        return _page(request, session, user, trial, now.date(), values=values, errors=errors,
                     status_code=422)  # fmt: skip
    except ReasonRequiredError:
        return _page(request, session, user, trial, now.date(), values=values,
                     errors={"jreason": "Reason: say why the jurisdictions change"},
                     status_code=422)  # fmt: skip
    return RedirectResponse(
        f"/reporting?trial={trial.protocol_id}&saved=jurisdictions", status.HTTP_303_SEE_OTHER
    )
