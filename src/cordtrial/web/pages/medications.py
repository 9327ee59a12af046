"""Concomitant medication in the workspace (issue 15): the participant page's section (each
medication with its interaction flag in words and a "Mark reviewed" action), the form of a new
medication (the name searched in the ATC list through a plain HTML datalist: no script needed),
the stop and review actions, and the list of the medications to review at the user's sites (one
query; a few of them on the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import ConcomitantMedication, Participant, User
from cordtrial.trial.rules.medications import REVIEW_LABELS, ROUTE_LABELS, atc_catalogue
from cordtrial.trial.services.medications import (
    FlaggedMedication,
    flagged_medications,
    list_medications,
    medication_flags,
    record_medication,
    review_medication,
    stop_medication,
)
from cordtrial.trial.services.reads import list_trials, participant_for
from cordtrial.web.deps import Clock, SessionDep
from cordtrial.web.pages.auth import CsrfChecked, PageUser
from cordtrial.web.pages.rendering import render

__all__ = ["MedicationRow", "dashboard_to_review", "medication_rows", "router"]

router = APIRouter()

#: Medications to review shown on the dashboard (the page lists them all).
DASHBOARD_MEDICATIONS = 5

#: The form's fields and their labels (errors name the field in these words).
LABELS = {
    "name": "Medication",
    "atc_code": "ATC code",
    "dose": "Dose",
    "dose_unit": "Dose unit",
    "route": "Route",
    "frequency": "Frequency",
    "indication": "Indication",
    "start_date": "Start date",
    "stop_date": "Stop date",
}


@dataclass(frozen=True, slots=True)
class MedicationRow:
    """A medication as the participant page shows it."""

    medication: ConcomitantMedication
    route: str
    flags: list[str]
    review: str | None


def medication_rows(session: Session, user: User, participant_id: int) -> list[MedicationRow]:
    """The participant's medications for the page (one statement), flags in words."""
    return [
        MedicationRow(
            m,
            ROUTE_LABELS.get(m.route, m.route),
            medication_flags(m),
            REVIEW_LABELS.get(m.interaction_review or ""),
        )
        for m in list_medications(session, user, participant_id)
    ]


def _form(
    request: Request,
    user: User,
    participant: Participant,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "medication_form.html",
        user=user,
        status_code=status_code,
        participant=participant,
        catalogue=atc_catalogue(),
        routes=ROUTE_LABELS,
        labels=LABELS,
        values=values,
        errors=errors,
    )


@router.get(
    "/participants/{participant_id}/medications/new",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def new_medication(
    request: Request, participant_id: int, user: PageUser, session: SessionDep, now: Clock
) -> Response:
    """The form of a concomitant medication (needs ``enter_data`` at the participant's site)."""
    participant = participant_for(session, user, "enter_data", participant_id)
    values = {"start_date": now.date().isoformat(), "route": "oral"}
    return _form(request, user, participant, values, {})


def _date(values: dict[str, str], name: str, errors: dict[str, str]) -> date | None:
    text = values.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = f"{LABELS[name]}: {text} is not a date (write it as YYYY-MM-DD)"
        return None


@router.post(
    "/participants/{participant_id}/medications",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def save_medication(
    request: Request,
    participant_id: int,
    user: PageUser,
    session: SessionDep,
    _: CsrfChecked,
) -> Response:
    """Save a medication; a refused value shows the form again with the error beside its field
    (422), nothing saved."""
    participant = participant_for(session, user, "enter_data", participant_id)
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k in LABELS}
    errors: dict[str, str] = {}
    dose: float | None = None
    if values.get("dose", "").strip():
        try:
            dose = float(values["dose"])
        except ValueError:
            errors["dose"] = f"Dose: {values['dose']} is not a number"
    start = _date(values, "start_date", errors)
    stop = _date(values, "stop_date", errors)
    if start is None and "start_date" not in errors:
        errors["start_date"] = "Start date: is missing (required)"
    if start is not None and not errors:
        fields: dict[str, Any] = {
            name: values.get(name, "").strip() for name in
            ("name", "atc_code", "dose_unit", "route", "frequency", "indication")
        }  # fmt: skip
        try:
            record_medication(
                session, user, participant_id=participant.id, dose=dose, start_date=start,
                stop_date=stop, **fields,
            )  # fmt: skip
        except InvalidValueError as exc:
            session.rollback()
            label = LABELS.get(exc.field, exc.field)
            errors[exc.field if exc.field in LABELS else "name"] = (
                f"{label}: {exc.human.split(': ', 1)[-1]}"
            )
    if errors:
        return _form(
            request, user, participant, values, errors, status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    return RedirectResponse(
        f"/participants/{participant.id}?saved=medication#medications", status.HTTP_303_SEE_OTHER
    )


@router.post("/medications/{medication_id}/review", include_in_schema=False)
async def review(
    request: Request,
    medication_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
) -> Response:
    """Mark a flagged medication reviewed (investigators), back to the participant page (or to
    the list of medications to review, when marked there)."""
    medication = review_medication(session, user, medication_id=medication_id, now=now)
    form = await request.form()
    if form.get("back") == "to-review":
        trial = quote(str(form.get("trial", "")), safe="")
        return RedirectResponse(
            f"/medications/to-review?trial={trial}&reviewed={medication.id}",
            status.HTTP_303_SEE_OTHER,
        )
    return RedirectResponse(
        f"/participants/{medication.participant_id}#medication-{medication.id}",
        status.HTTP_303_SEE_OTHER,
    )


@router.post("/medications/{medication_id}/stop", include_in_schema=False)
async def stop(
    request: Request,
    medication_id: int,
    user: PageUser,
    session: SessionDep,
    _: CsrfChecked,
) -> Response:
    """Record that an ongoing medication was stopped on the date given."""
    form = await request.form()
    text = str(form.get("stop_date", "")).strip()
    try:
        on = date.fromisoformat(text)
    except ValueError:
        raise InvalidValueError("stop_date", text, "a date (YYYY-MM-DD)") from None
    medication = stop_medication(session, user, medication_id=medication_id, stop_date=on)
    return RedirectResponse(
        f"/participants/{medication.participant_id}#medication-{medication.id}",
        status.HTTP_303_SEE_OTHER,
    )


# --- the medications to review -----------------------------------------------------------------


def dashboard_to_review(
    session: Session, user: User, protocol_id: str
) -> tuple[list[FlaggedMedication], int]:
    """The first medications to review for the dashboard and how many there are (one query)."""
    rows = flagged_medications(session, user, protocol_id)
    return rows[:DASHBOARD_MEDICATIONS], len(rows)


@router.get("/medications/to-review", response_class=HTMLResponse, include_in_schema=False)
def to_review_page(
    request: Request, user: PageUser, session: SessionDep, trial: str | None = None
) -> Response:
    """The concomitant medications flagged for an interaction with the immunosuppressant and not
    yet reviewed, at the user's sites, by participant."""
    trials = list_trials(session, user)
    current = next((t for t in trials if t.protocol_id == trial), trials[0] if trials else None)
    rows = flagged_medications(session, user, current.protocol_id) if current else []
    return render(
        request, "medications_to_review.html", user=user, trial=current, rows=rows,
        routes=ROUTE_LABELS,
    )  # fmt: skip
