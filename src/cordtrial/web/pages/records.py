"""Pages of trial records: adverse events (listing and entry), lot release, the audit log.

Entry goes through the use cases (:mod:`cordtrial.trial.services`); a refused value is shown
beside its field with what is allowed, and nothing is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cordtrial.trial.errors import InvalidValueError, RuleViolationError
from cordtrial.trial.models import AdverseEvent, Lot, Participant, User
from cordtrial.trial.rules.product import ReleaseResult, check_specification, decide_release
from cordtrial.trial.rules.vocabulary import (
    AE_CATEGORIES,
    AE_OUTCOMES,
    EXPECTEDNESS,
    SERIOUSNESS_CRITERIA,
)
from cordtrial.trial.services.product import release_lot
from cordtrial.trial.services.reads import (
    audit_scope,
    list_adverse_events,
    list_audit,
    list_audit_entities,
    list_lots,
    list_participants,
    list_trials,
    visible_participant,
)
from cordtrial.trial.services.safety import report_adverse_event
from cordtrial.trial.services.users import require_permission
from cordtrial.web.deps import Clock, SessionDep
from cordtrial.web.pages.auth import CsrfChecked, PageUser
from cordtrial.web.pages.rendering import render

__all__ = ["AE_FORM_FIELDS", "router"]

router = APIRouter()

_RELATEDNESS_ORDER = ("not_related", "unlikely", "possible", "probable", "definite")
_OUTCOME_ORDER = ("not_recovered", "recovering", "recovered", "recovered_with_sequelae",
                  "fatal", "unknown")  # fmt: skip
_OPTIONAL = frozenset({"serious_criteria", "resolution_date"})
#: The adverse event form's fields, in focus order.
AE_FORM_FIELDS = (
    "term", "category", "onset_date", "awareness_date", "ctcae_grade", "serious_criteria",
    "related_to_cells", "related_to_procedure", "related_to_immunosuppression",
    "expectedness", "outcome", "resolution_date",
)  # fmt: skip


def _visible_events(session: Session, user: User) -> list[tuple[Participant, AdverseEvent]]:
    rows = []
    for trial in list_trials(session, user):
        for p in list_participants(session, user, trial.protocol_id):
            rows += [(p, e) for e in list_adverse_events(session, user, p.id)]
    return sorted(rows, key=lambda r: r[1].onset_date, reverse=True)


@router.get("/adverse-events", response_class=HTMLResponse, include_in_schema=False)
def adverse_events_page(
    request: Request, user: PageUser, session: SessionDep, now: Clock
) -> Response:
    """Every adverse event at the user's sites, newest first."""
    return render(
        request,
        "adverse_events.html",
        user=user,
        rows=_visible_events(session, user),
        today=now.date(),
    )


def _ae_form(
    request: Request,
    user: User,
    participant: Participant,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "adverse_event_form.html",
        user=user,
        status_code=status_code,
        participant=participant,
        values=values,
        errors=errors,
        categories=sorted(AE_CATEGORIES),
        criteria=sorted(SERIOUSNESS_CRITERIA),
        relatedness=_RELATEDNESS_ORDER,
        expectedness=sorted(EXPECTEDNESS),
        outcomes=[o for o in _OUTCOME_ORDER if o in AE_OUTCOMES],
    )


@router.get(
    "/participants/{participant_id}/adverse-events/new",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def new_adverse_event(
    request: Request, participant_id: int, user: PageUser, session: SessionDep, now: Clock
) -> Response:
    """The adverse event form for a participant (needs ``report_adverse_event``)."""
    participant = visible_participant(session, user, participant_id)
    require_permission(user, "report_adverse_event", participant.site_id)
    today = now.date().isoformat()
    values = {"onset_date": today, "awareness_date": today, "serious_criteria": []}
    return _ae_form(request, user, participant, values, {})


def _parse_date(name: str, raw: str, required: bool = True) -> date | None:
    raw = raw.strip()
    if not raw and not required:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidValueError(name, raw, "a date YYYY-MM-DD", "is not a date") from None


def _parse_grade(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise InvalidValueError("ctcae_grade", raw, "a CTCAE grade 1-5", "is not") from None


@router.post(
    "/participants/{participant_id}/adverse-events",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def create_adverse_event(
    request: Request,
    participant_id: int,
    user: PageUser,
    session: SessionDep,
    _: CsrfChecked,
) -> Response:
    """Report an adverse event; on a refused value, the form again with the error beside its
    field (422) and nothing saved."""
    participant = visible_participant(session, user, participant_id)
    require_permission(user, "report_adverse_event", participant.site_id)
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k, "")) for k in AE_FORM_FIELDS}
    values["serious_criteria"] = [str(v) for v in form.getlist("serious_criteria")]
    missing = {
        name: f"{name}: is missing (required)"
        for name in AE_FORM_FIELDS
        if name not in _OPTIONAL and not values[name].strip()
    }
    if missing:
        return _ae_form(
            request, user, participant, values, missing, status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    try:
        event = report_adverse_event(
            session,
            actor=user.username,
            participant_id=participant.id,
            term=values["term"],
            category=values["category"],
            onset_date=_parse_date("onset_date", values["onset_date"]),  # type: ignore[arg-type]
            awareness_date=_parse_date("awareness_date", values["awareness_date"]),  # type: ignore[arg-type]
            ctcae_grade=_parse_grade(values["ctcae_grade"]),
            serious_criteria=values["serious_criteria"],
            related_to_cells=values["related_to_cells"],
            related_to_procedure=values["related_to_procedure"],
            related_to_immunosuppression=values["related_to_immunosuppression"],
            expectedness=values["expectedness"],
            outcome=values["outcome"],
            resolution_date=_parse_date("resolution_date", values["resolution_date"], False),
        )
    except InvalidValueError as exc:
        session.rollback()
        field = exc.field.split(".")[0]
        return _ae_form(
            request,
            user,
            participant,
            values,
            {field: str(exc)},
            status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return RedirectResponse(
        f"/participants/{participant.id}?reported={event.id}#adverse-events",
        status.HTTP_303_SEE_OTHER,
    )


@dataclass(frozen=True, slots=True)
class LotView:
    """A lot with each release test judged against its specification, as of today."""

    lot: Lot
    outcomes: list[tuple[str, bool, str]]
    releasable: bool


def _lot_views(session: Session, today: date) -> list[LotView]:
    views = []
    for lot in list_lots(session):
        limits = check_specification(lot.specification.limits)
        results = [ReleaseResult(t.test, t.value, t.finding) for t in lot.release_tests]
        decision = decide_release(limits, results, lot.expiry_date, today)
        views.append(
            LotView(
                lot,
                [(o.test, o.passed, o.detail) for o in decision.outcomes],
                decision.releasable,
            )
        )
    return views


def _lots_page(
    request: Request,
    user: User,
    session: Session,
    today: date,
    *,
    message: str | None = None,
    failures: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "lots.html",
        user=user,
        status_code=status_code,
        lots=_lot_views(session, today),
        message=message,
        failures=failures or [],
        today=today,
    )


@router.get("/lots", response_class=HTMLResponse, include_in_schema=False)
def lots_page(
    request: Request, user: PageUser, session: SessionDep, now: Clock, released: str = ""
) -> Response:
    """Lots: status, release tests against the specification, and (for roles that manage the
    product) the release decision."""
    require_permission(user, "read")
    message = f"Lot {released} released." if released else None
    return _lots_page(request, user, session, now.date(), message=message)


@router.post("/lots/{lot_number}/release", response_class=HTMLResponse, include_in_schema=False)
def release_lot_submit(
    request: Request,
    lot_number: str,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
) -> Response:
    """Release a lot (needs ``manage_product``); refused with every failing test otherwise."""
    require_permission(user, "manage_product")
    try:
        release_lot(session, actor=user.username, lot_number=lot_number, today=now.date())
    except RuleViolationError as exc:
        session.rollback()
        return _lots_page(
            request,
            user,
            session,
            now.date(),
            failures=[f"Lot {lot_number} not released: {r}" for r in exc.reasons],
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return RedirectResponse(f"/lots?released={lot_number}", status.HTTP_303_SEE_OTHER)


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    entity: str = "",
    entity_id: str = "",
    after: int = 0,
) -> Response:
    """The audit trail (needs ``read_audit``: monitors and admins), optionally of one entity
    and record, 100 entries a page; a user scoped to sites sees the entries of their sites'
    records only (as in the API)."""
    require_permission(user, "read_audit")
    entries = list_audit(
        session,
        entity=entity or None,
        entity_id=entity_id.strip() or None,
        after_seq=after,
        limit=100,
        scope=audit_scope(session, user),
    )
    entities = list_audit_entities(session)
    return render(
        request,
        "audit.html",
        user=user,
        entries=entries,
        entities=list(entities),
        entity=entity,
        entity_id=entity_id,
        next_after=entries[-1].seq if len(entries) == 100 else None,
    )
