"""Pages of the long-term follow-up (issue 14): a participant's long-term timeline with the
disposition, consent and contact-attempt forms, and the product look-back.

The timeline shows whatever :data:`cordtrial.trial.services.timeline.TIMELINE_PROVIDERS` give
(visits, dispositions, consents, contact attempts; the imaging records add their MRIs there).
Forms post here; a refusal re-renders the page (422) with the error beside the form and nothing
saved.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cordtrial.trial.errors import (
    AccessDeniedError,
    InvalidValueError,
    NotFoundError,
    TrialError,
)
from cordtrial.trial.models import User
from cordtrial.trial.rules.consent import CONSENT_APPLIES_TO
from cordtrial.trial.rules.follow_up import (
    ALLOWED_TRANSITIONS,
    ContactAttemptFacts,
    DispositionFacts,
)
from cordtrial.trial.rules.vocabulary import (
    CONSENT_ITEMS,
    CONTACT_METHODS,
    CONTACT_OUTCOMES,
    DISPOSITIONS,
    RELATEDNESS_ORDER,
)
from cordtrial.trial.services.consent import (
    consent_statuses,
    list_consent_versions,
    record_consent,
)
from cordtrial.trial.services.disposition import (
    current_disposition,
    list_contact_attempts,
    record_contact_attempt,
    record_disposition,
    record_long_term_contact,
)
from cordtrial.trial.services.look_back import look_back, product_chain
from cordtrial.trial.services.reads import visible_participant
from cordtrial.trial.services.timeline import participant_timeline
from cordtrial.trial.services.visits import visit_schedule
from cordtrial.web.deps import Clock, SessionDep
from cordtrial.web.pages.auth import CsrfChecked, PageUser
from cordtrial.web.pages.rendering import render

__all__ = ["router"]

router = APIRouter()


def _long_term_view(
    request: Request,
    participant_id: int,
    user: User,
    session: Session,
    now: datetime,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    participant = visible_participant(session, user, participant_id)
    today = now.date()
    current = current_disposition(session, participant_id)
    state = current.status if current is not None else "active"
    schedule = visit_schedule(session, participant_id, today)
    return render(
        request,
        "long_term.html",
        user=user,
        participant=participant,
        timeline=participant_timeline(session, user, participant_id, today),
        disposition=current,
        disposition_label=current.label if current is not None else "active",
        next_statuses=[s for s in DISPOSITIONS if s in ALLOWED_TRANSITIONS[state]],
        dispositions=DISPOSITIONS,
        consent=consent_statuses(session, [participant], today)[participant.id],
        versions=list_consent_versions(session, participant.trial.protocol_id),
        consent_items=CONSENT_ITEMS,
        applies_to=CONSENT_APPLIES_TO,
        attempts=list_contact_attempts(session, user, participant_id),
        methods=CONTACT_METHODS,
        outcomes=CONTACT_OUTCOMES,
        relatedness=RELATEDNESS_ORDER,
        long_term_visits=[
            v for v in schedule if v.long_term and v.status not in ("done", "out of window")
        ],
        chain=product_chain(session, user, participant_id),
        today=today,
        error=error,
        status_code=status_code,
    )


@router.get(
    "/participants/{participant_id}/long-term", response_class=HTMLResponse, include_in_schema=False
)
def long_term_page(
    request: Request, participant_id: int, user: PageUser, session: SessionDep, now: Clock
) -> Response:
    """A participant's long-term timeline (visits, disposition changes, consents, contact
    attempts and what other records add), their disposition, consent and the product chain,
    with the forms to record them (for roles that enter data)."""
    return _long_term_view(request, participant_id, user, session, now)


def _date(form: Any, name: str, *, required: bool = True) -> date | None:
    text = str(form.get(name, "") or "").strip()
    if not text and not required:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValueError(
            name, text or None, "a date (YYYY-MM-DD)", "is not a date"
        ) from None


def _yes_no(form: Any, name: str) -> bool | None:
    value = str(form.get(name, "") or "")
    return {"yes": True, "no": False}.get(value)


async def _post(
    request: Request,
    participant_id: int,
    user: User,
    session: Session,
    now: datetime,
    which: str,
    action: Any,
) -> Response:
    visible_participant(session, user, participant_id)
    form = await request.form()
    try:
        action(form)
    except (NotFoundError, AccessDeniedError):
        raise  # the page error handlers: 404 / 403
    except TrialError as exc:
        session.rollback()
        return _long_term_view(
            request, participant_id, user, session, now, error=(which, exc.human),
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )  # fmt: skip
    return RedirectResponse(
        f"/participants/{participant_id}/long-term?saved={which}#{which}",
        status.HTTP_303_SEE_OTHER,
    )


@router.post(
    "/participants/{participant_id}/disposition",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def disposition_form(
    request: Request,
    participant_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
) -> Response:
    """Record a disposition change (audited); refusals are shown beside the form."""

    def save(form: Any) -> None:
        facts = DispositionFacts(
            status=str(form.get("status", "")),
            effective_on=_date(form, "effective_on"),  # type: ignore[arg-type]
            reason=str(form.get("reason", "")),
            data_use_allowed=_yes_no(form, "data_use_allowed"),
            recontact_allowed=_yes_no(form, "recontact_allowed"),
            death_date=_date(form, "death_date", required=False),
            death_cause=str(form.get("death_cause", "")).strip() or None,
            autopsy_asked=_yes_no(form, "autopsy_asked"),
            autopsy_done=_yes_no(form, "autopsy_done"),
            death_related_to_product=str(form.get("death_related_to_product", "")) or None,
        )
        record_disposition(session, user=user, participant_id=participant_id, facts=facts, now=now)

    return await _post(request, participant_id, user, session, now, "disposition", save)


@router.post(
    "/participants/{participant_id}/consents", response_class=HTMLResponse, include_in_schema=False
)
async def consent_form(
    request: Request,
    participant_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
) -> Response:
    """Record the signature of a consent form version with each item's answer."""

    def save(form: Any) -> None:
        items = {i: v for i in CONSENT_ITEMS if (v := _yes_no(form, f"item_{i}")) is not None}
        record_consent(
            session, user=user, participant_id=participant_id,
            version=str(form.get("version", "")),
            signed_on=_date(form, "signed_on"),  # type: ignore[arg-type]
            items=items,
        )  # fmt: skip

    return await _post(request, participant_id, user, session, now, "consent", save)


@router.post(
    "/participants/{participant_id}/contact-attempts",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def contact_attempt_form(
    request: Request,
    participant_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
) -> Response:
    """Record an attempt to reach the participant."""

    def save(form: Any) -> None:
        facts = ContactAttemptFacts(
            _date(form, "attempted_on"),  # type: ignore[arg-type]
            str(form.get("method", "")),
            str(form.get("outcome", "")),
            str(form.get("note", "")),
        )
        record_contact_attempt(session, user=user, participant_id=participant_id, facts=facts)

    return await _post(request, participant_id, user, session, now, "contacts", save)


@router.post(
    "/participants/{participant_id}/long-term-visits/{visit_name}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def long_term_contact_form(
    request: Request,
    participant_id: int,
    visit_name: str,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
) -> Response:
    """Record that a long-term visit took place (refused without consent to long-term
    contact, or when the disposition excludes it)."""

    def save(form: Any) -> None:
        record_long_term_contact(
            session, user=user, participant_id=participant_id, visit_name=visit_name,
            done_on=_date(form, "done_on"),  # type: ignore[arg-type]
        )  # fmt: skip

    return await _post(request, participant_id, user, session, now, "visits", save)


@router.get("/look-back", response_class=HTMLResponse, include_in_schema=False)
def look_back_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    lot: str = "",
    ipsc_line: str = "",
    donor: str = "",
) -> Response:
    """Product look-back: every recipient of a lot, an iPSC line or a donor's lines, at the
    sites the user may see."""
    query = {"lot": lot.strip(), "ipsc_line": ipsc_line.strip(), "donor": donor.strip()}
    asked = {k: v for k, v in query.items() if v}
    found = None
    error = None
    if asked:
        try:
            found = look_back(
                session, user, lot_number=asked.get("lot"), ipsc_line=asked.get("ipsc_line"),
                donor_id=asked.get("donor"),
            )  # fmt: skip
        except (InvalidValueError, NotFoundError) as exc:
            error = exc.human
    return render(
        request, "look_back.html", user=user, query=query, found=found, error=error,
        status_code=200 if error is None else status.HTTP_422_UNPROCESSABLE_CONTENT,
    )  # fmt: skip
