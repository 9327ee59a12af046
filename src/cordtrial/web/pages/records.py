"""Pages of trial records: adverse events (listing, entry, follow-up with its history, follow-up
reports and the expedited report's submission), lot release, the audit log.

Entry goes through the use cases (:mod:`cordtrial.trial.services`); a refused value is shown
beside its field with what is allowed, and nothing is saved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cordtrial.trial.errors import InvalidValueError, RuleViolationError
from cordtrial.trial.models import AdverseEvent, Lot, Participant, User
from cordtrial.trial.rules.access import can
from cordtrial.trial.rules.lab_limits import unit_label
from cordtrial.trial.rules.labs import ANALYTES, TERMS
from cordtrial.trial.rules.product import ReleaseResult, check_specification, decide_release
from cordtrial.trial.rules.vocabulary import (
    AE_CATEGORIES,
    AE_OUTCOME_ORDER,
    EXPECTEDNESS,
    RELATEDNESS_CAUSES,
    RELATEDNESS_ORDER,
    SERIOUSNESS_ORDER,
    word,
)
from cordtrial.trial.services.clocks import clock_states, overall_status
from cordtrial.trial.services.labs import lab_results_of_event, reportable_lab_result
from cordtrial.trial.services.product import release_lot
from cordtrial.trial.services.reads import (
    audit_scope,
    list_audit,
    list_audit_entities,
    list_lots,
    list_participants,
    list_trials,
    list_users,
    participant_audit_scope,
    participant_for,
    participant_record_for,
    visible_participant,
    visible_participant_record,
)
from cordtrial.trial.services.safety import (
    add_follow_up,
    event_history,
    list_follow_ups,
    record_expedited_submission,
    report_adverse_event,
    update_adverse_event,
)
from cordtrial.web.deps import Clock, SessionDep
from cordtrial.web.pages.auth import CsrfChecked, PageUser
from cordtrial.web.pages.rendering import render

__all__ = ["AE_FORM_FIELDS", "router"]

router = APIRouter()

_OPTIONAL = frozenset({"serious_criteria", "resolution_date", "narrative"})
#: The adverse event form's fields, in focus order.
AE_FORM_FIELDS = (
    "term", "category", "onset_date", "awareness_date", "ctcae_grade", "serious_criteria",
    "related_to_cells", "related_to_procedure", "related_to_immunosuppression",
    "expectedness", "outcome", "resolution_date", "narrative",
)  # fmt: skip
#: The fields a follow-up changes (the follow-up form), in focus order.
AE_FOLLOW_UP_FIELDS = (
    "ctcae_grade", "serious_criteria", "related_to_cells", "related_to_procedure",
    "related_to_immunosuppression", "outcome", "resolution_date", "narrative",
)  # fmt: skip
#: What people read for each field of an adverse event (forms, errors, history).
AE_LABELS = {
    "term": "Event term", "category": "Category", "onset_date": "Onset date",
    "awareness_date": "Sponsor aware on", "ctcae_grade": "CTCAE grade",
    "serious_criteria": "Seriousness criteria (ICH E2A)",
    "related_to_cells": "Related to the cell product",
    "related_to_procedure": "Related to the procedure",
    "related_to_immunosuppression": "Related to immunosuppression",
    "expectedness": "Expectedness", "outcome": "Outcome", "resolution_date": "Resolution date",
    "narrative": "Narrative", "expedited_report_required": "Expedited report required",
    "expedited_report_due": "Expedited report due",
    "expedited_submitted_on": "Expedited report submitted on",
    "expedited_authority": "Authority", "expedited_reference": "Reference",
    "submitted_on": "Submitted on", "authority": "Authority", "reference": "Reference",
    "reported_on": "Reported on", "text": "Follow-up report", "reason": "Reason for the change",
    "participant_id": "Participant", "version": "Record version", "field": "Field",
}  # fmt: skip


def _shown(value: object) -> str:
    """A value as people read it: dates as dates, vocabulary as words, lists joined."""
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | frozenset | set):
        return ", ".join(word(v) for v in value) or "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return word(value)


def error_text(exc: InvalidValueError) -> str:
    """A refused value in clinical words: ``Resolution date: 2026-11-25 is too early (a date on
    or after 2026-11-26)``."""
    name = exc.field.split(".")[0]
    if name not in AE_LABELS:
        return exc.human
    return f"{AE_LABELS[name]}: {_shown(exc.value)} {exc.problem} ({exc.allowed})"


def _trail_value(text: str | None) -> str:
    if text is None:
        return "(empty)"
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return _shown(value)


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
        criteria=SERIOUSNESS_ORDER,
        relatedness=RELATEDNESS_ORDER,
        expectedness=sorted(EXPECTEDNESS),
        outcomes=AE_OUTCOME_ORDER,
        labels=AE_LABELS,
    )


@router.get(
    "/participants/{participant_id}/adverse-events/new",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def new_adverse_event(
    request: Request,
    participant_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    lab: int | None = None,
) -> Response:
    """The adverse event form for a participant (needs ``report_adverse_event``); with
    ``?lab=ID`` prefilled from a graded laboratory result (term, grade, onset), which the saved
    event is linked to."""
    participant = participant_for(session, user, "report_adverse_event", participant_id)
    today = now.date().isoformat()
    values: dict[str, Any] = {"onset_date": today, "awareness_date": today, "serious_criteria": []}
    if lab is not None:
        result = reportable_lab_result(session, user, lab, participant.id)
        values |= {
            "term": TERMS[result.ctcae_term or ""].label, "ctcae_grade": str(result.ctcae_grade),
            "onset_date": result.collected_on.isoformat(), "lab_result_id": str(result.id),
            "lab_basis": result.grade_basis,
        }  # fmt: skip
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
    participant = participant_for(session, user, "report_adverse_event", participant_id)
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k, "")) for k in AE_FORM_FIELDS}
    values["serious_criteria"] = [str(v) for v in form.getlist("serious_criteria")]
    lab_id = str(form.get("lab_result_id", "")).strip()
    lab_result = None
    if lab_id:
        values["lab_result_id"] = lab_id
        if not lab_id.isdigit():
            raise InvalidValueError("lab_result_id", lab_id, "a laboratory result's id")
        lab_result = reportable_lab_result(session, user, int(lab_id), participant.id)
    missing = {
        name: f"{AE_LABELS[name]}: is missing (required)"
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
            user=user,
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
            narrative=values["narrative"],
            lab_result=lab_result,
        )
    except InvalidValueError as exc:
        session.rollback()
        field = exc.field.split(".")[0]
        return _ae_form(
            request,
            user,
            participant,
            values,
            {field: error_text(exc)},
            status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return RedirectResponse(
        f"/participants/{participant.id}?reported={event.id}#adverse-events",
        status.HTTP_303_SEE_OTHER,
    )


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """A change of an adverse event as people read it."""

    at: str
    actor: str
    field: str
    old: str
    new: str
    reason: str


def _event_page(
    request: Request,
    user: User,
    session: Session,
    event: AdverseEvent,
    today: date,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    participant = visible_participant(session, user, event.participant_id)
    history = [
        HistoryRow(
            e.at.strftime("%Y-%m-%d %H:%M"),
            e.actor,
            AE_LABELS.get(e.field, word(e.field)),
            _trail_value(e.old_value),
            _trail_value(e.new_value),
            e.reason or "",
        )
        for e in reversed(event_history(session, event.id))
        # the row version is bookkeeping; an empty field recorded empty says nothing
        if e.field != "version" and _trail_value(e.old_value) != _trail_value(e.new_value)
    ]
    current = {name: getattr(event, name) for name in AE_FOLLOW_UP_FIELDS} | {
        "narrative": event.narrative or "",
        "resolution_date": event.resolution_date or "",
    }
    clocks = clock_states(session, [event.id], today).get(event.id, [])
    return render(
        request,
        "adverse_event.html",
        user=user,
        status_code=status_code,
        participant=participant,
        event=event,
        expedited=overall_status(clocks),
        clocks=clocks,
        causes=RELATEDNESS_CAUSES,
        follow_ups=list_follow_ups(session, event.id),
        history=history,
        values=values or {},
        current=current,
        errors=errors or {},
        message=message,
        criteria=SERIOUSNESS_ORDER,
        relatedness=RELATEDNESS_ORDER,
        outcomes=AE_OUTCOME_ORDER,
        labels=AE_LABELS,
        today=today,
        can_edit=_can_report(user),
        lab_results=lab_results_of_event(session, user, event),
        analytes=ANALYTES,
        unit_label=unit_label,
    )


def _can_report(user: User) -> bool:
    # whether to show the forms (the participant is one the user sees); the use cases decide
    return user.active and can(user.role, "report_adverse_event")


@router.get("/adverse-events/{event_id}", response_class=HTMLResponse, include_in_schema=False)
def adverse_event_page(
    request: Request,
    event_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    saved: str = "",
) -> Response:
    """An adverse event: its facts (relatedness per cause), narrative, expedited report (due,
    overdue, submitted), follow-up reports and history; for roles that report adverse events,
    the follow-up form (with a reason), the submission form and the follow-up report form."""
    event = visible_participant_record(session, user, AdverseEvent, event_id)
    messages = {
        "follow-up": "Follow-up saved.",
        "submission": "Submission of the expedited report recorded.",
        "report": "Follow-up report added.",
    }
    return _event_page(request, user, session, event, now.date(), message=messages.get(saved))


def _editable_event(session: Session, user: User, event_id: int) -> AdverseEvent:
    return participant_record_for(session, user, "report_adverse_event", AdverseEvent, event_id)


def _refused(
    request: Request,
    user: User,
    session: Session,
    event_id: int,
    today: date,
    values: dict[str, Any],
    errors: dict[str, str],
) -> Response:
    session.rollback()
    event = visible_participant_record(session, user, AdverseEvent, event_id)
    return _event_page(
        request, user, session, event, today, values=values, errors=errors,
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )  # fmt: skip


@router.post("/adverse-events/{event_id}", response_class=HTMLResponse, include_in_schema=False)
async def follow_up_adverse_event(
    request: Request,
    event_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
) -> Response:
    """Follow up an adverse event: grade, seriousness, relatedness per cause, outcome, resolution
    date, narrative, with the reason (required); refused values are shown beside their field."""
    event = _editable_event(session, user, event_id)
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k, "")) for k in AE_FOLLOW_UP_FIELDS}
    values["serious_criteria"] = [str(v) for v in form.getlist("serious_criteria")]
    reason = str(form.get("reason", "")).strip()
    values["reason"] = reason
    if not reason:
        errors = {"reason": f"{AE_LABELS['reason']}: is missing (required for a follow-up)"}
        return _refused(request, user, session, event_id, now.date(), values, errors)
    try:
        version = int(str(form.get("version", "")))
        changes: dict[str, Any] = {
            "ctcae_grade": _parse_grade(values["ctcae_grade"]),
            "serious_criteria": values["serious_criteria"],
            "related_to_cells": values["related_to_cells"],
            "related_to_procedure": values["related_to_procedure"],
            "related_to_immunosuppression": values["related_to_immunosuppression"],
            "outcome": values["outcome"],
            "resolution_date": _parse_date("resolution_date", values["resolution_date"], False),
            "narrative": values["narrative"],
        }
        current = {
            "ctcae_grade": event.ctcae_grade,
            "serious_criteria": sorted(event.serious_criteria),
            "related_to_cells": event.related_to_cells,
            "related_to_procedure": event.related_to_procedure,
            "related_to_immunosuppression": event.related_to_immunosuppression,
            "outcome": event.outcome,
            "resolution_date": event.resolution_date,
            "narrative": event.narrative or "",
        }
        changed = {k: v for k, v in changes.items() if current[k] != (
            sorted(v) if k == "serious_criteria" else v)}  # fmt: skip
        update_adverse_event(
            session, user=user, event_id=event_id, reason=reason,
            expected_version=version, **changed,
        )  # fmt: skip
    except InvalidValueError as exc:
        errors = {exc.field.split(".")[0]: error_text(exc)}
        return _refused(request, user, session, event_id, now.date(), values, errors)
    except ValueError:
        errors = {"version": "The form is out of date: reload the page."}
        return _refused(request, user, session, event_id, now.date(), values, errors)
    return RedirectResponse(
        f"/adverse-events/{event_id}?saved=follow-up", status.HTTP_303_SEE_OTHER
    )


@router.post(
    "/adverse-events/{event_id}/submission", response_class=HTMLResponse, include_in_schema=False
)
async def submit_expedited_report(
    request: Request,
    event_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
) -> Response:
    """Record the expedited report's submission: date, authority, reference."""
    event = _editable_event(session, user, event_id)
    form = await request.form()
    values = {
        k: str(form.get(k, ""))
        for k in ("rule", "submitted_on", "authority", "reference", "reason")
    }
    try:
        submitted_on = _parse_date("submitted_on", values["submitted_on"])
        record_expedited_submission(
            session, user=user, event_id=event.id, submitted_on=submitted_on,  # type: ignore[arg-type]
            authority=values["authority"], reference=values["reference"],
            reason=values["reason"].strip() or None, rule=values["rule"] or None,
        )  # fmt: skip
    except InvalidValueError as exc:
        errors = {exc.field.split(".")[0]: error_text(exc)}
        return _refused(request, user, session, event_id, now.date(), values, errors)
    except RuleViolationError as exc:
        return _refused(
            request, user, session, event_id, now.date(), values,
            {"submitted_on": "; ".join(exc.reasons)},
        )  # fmt: skip
    return RedirectResponse(
        f"/adverse-events/{event_id}?saved=submission", status.HTTP_303_SEE_OTHER
    )


@router.post(
    "/adverse-events/{event_id}/follow-ups", response_class=HTMLResponse, include_in_schema=False
)
async def add_follow_up_report(
    request: Request,
    event_id: int,
    user: PageUser,
    session: SessionDep,
    now: Clock,
    _: CsrfChecked,
) -> Response:
    """Add a follow-up report (date and what was learned)."""
    event = _editable_event(session, user, event_id)
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("reported_on", "text")}
    try:
        reported_on = _parse_date("reported_on", values["reported_on"])
        add_follow_up(
            session, user=user, event_id=event.id, reported_on=reported_on,  # type: ignore[arg-type]
            text=values["text"],
        )  # fmt: skip
    except InvalidValueError as exc:
        errors = {exc.field.split(".")[0]: error_text(exc)}
        return _refused(request, user, session, event_id, now.date(), values, errors)
    return RedirectResponse(f"/adverse-events/{event_id}?saved=report", status.HTTP_303_SEE_OTHER)


@dataclass(frozen=True, slots=True)
class LotView:
    """A lot with each release test judged against its specification, as of today."""

    lot: Lot
    outcomes: list[tuple[str, str, str]]  # test, state (pass / fail / pending), detail
    releasable: bool


def _lot_views(session: Session, user: User, today: date) -> list[LotView]:
    views = []
    for lot in list_lots(session, user):
        limits = check_specification(lot.specification.limits)
        results = [ReleaseResult(t.test, t.value, t.finding) for t in lot.release_tests]
        decision = decide_release(limits, results, lot.expiry_date, today)
        views.append(
            LotView(
                lot,
                [(o.test, o.state, o.detail) for o in decision.outcomes],
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
        lots=_lot_views(session, user, today),
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
    try:
        release_lot(session, user=user, lot_number=lot_number, today=now.date())
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


AUDIT_PAGE_SIZE = 100


def _audit_date(label: str, text: str, errors: list[str]) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors.append(f"{label}: {text.strip()} is not a date (write it as YYYY-MM-DD)")
        return None


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    actor: str = "",
    participant: str = "",
    entity: str = "",
    entity_id: str = "",
    start: str = Query("", alias="from"),
    end: str = Query("", alias="to"),
    before: int | None = None,
    after: int | None = None,
) -> Response:
    """The audit trail, newest first (needs ``read_audit``: monitors and admins), 100 entries a
    page, filtered by user, participant (their record and every record of theirs), record type
    and id, and a date range (UTC days, both ends included); "Older" pages back from the
    oldest entry shown, "Newer" forward, "Newest" (one click) back to today's end of the
    trail. A user scoped to sites sees the entries of their sites' records only (as in the
    API)."""
    scope = audit_scope(session, user)  # refused unless the user may read the audit trail
    errors: list[str] = []
    since = _audit_date("From", start, errors)
    until = _audit_date("To", end, errors)
    if since and until and until < since:
        errors.append(f"To: {until} is before From ({since})")
    participants = [
        p
        for trial in list_trials(session, user)
        for p in list_participants(session, user, trial.protocol_id)
    ]
    chosen = next((p for p in participants if str(p.id) == participant), None)
    if participant and chosen is None:
        errors.append(f"Participant: {participant} is not a participant you may see")
    if chosen is not None:
        scope = participant_audit_scope(session, chosen.id)
    filters = {
        "actor": actor, "participant": participant, "entity": entity,
        "entity_id": entity_id.strip(), "from": start.strip(), "to": end.strip(),
    }  # fmt: skip
    query = urlencode({k: v for k, v in filters.items() if v})
    entries: list[Any] = []
    older = newer = False
    if not errors:
        common: dict[str, Any] = {
            "entity": entity or None,
            "entity_id": entity_id.strip() or None,
            "actor": actor or None,
            "since": datetime.combine(since, time.min, UTC) if since else None,
            "until": datetime.combine(until + timedelta(days=1), time.min, UTC) if until else None,
            "scope": scope,
            "limit": AUDIT_PAGE_SIZE + 1,
        }
        if after is not None:
            rows = list(list_audit(session, after_seq=after, **common))
            newer = len(rows) > AUDIT_PAGE_SIZE
            entries = rows[:AUDIT_PAGE_SIZE][::-1]
            older = True
        else:
            rows = list(list_audit(session, before_seq=before, newest_first=True, **common))
            older = len(rows) > AUDIT_PAGE_SIZE
            entries = rows[:AUDIT_PAGE_SIZE]
            newer = before is not None
    return render(
        request,
        "audit.html",
        user=user,
        entries=entries,
        entities=list_audit_entities(session),
        actors=[u.username for u in list_users(session)],
        participants=participants,
        filters=filters,
        errors=errors,
        query=query,
        older_link=f"/audit?{query}{'&' if query else ''}before={entries[-1].seq}"
        if older and entries
        else None,
        newer_link=f"/audit?{query}{'&' if query else ''}after={entries[0].seq}"
        if newer and entries
        else None,
        newest_link=f"/audit?{query}" if before is not None or after is not None else None,
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if errors else status.HTTP_200_OK,
    )
