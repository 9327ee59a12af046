"""Use cases: report and update adverse events; the expedited-report flag and deadline are
computed (rules.safety), never typed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError, RuleViolationError
from cordtrial.trial.models import AdverseEvent, AdverseEventFollowUp, AuditEntry, User
from cordtrial.trial.rules.checks import check_date, check_text
from cordtrial.trial.rules.safety import (
    NARRATIVE_MAX,
    AdverseEventFacts,
    check_adverse_event,
    check_submission,
    expedited_report,
)
from cordtrial.trial.services.common import check_version, get_by_id
from cordtrial.trial.services.reads import participant_for, participant_record_for

__all__ = [
    "AE_FIELDS",
    "add_follow_up",
    "event_history",
    "list_follow_ups",
    "record_expedited_submission",
    "report_adverse_event",
    "update_adverse_event",
]

#: The fields of an adverse event a use case sets or corrects.
AE_FIELDS = frozenset(AdverseEventFacts.__dataclass_fields__)


def _facts_of(event: AdverseEvent) -> AdverseEventFacts:
    return AdverseEventFacts(
        term=event.term,
        category=event.category,
        onset_date=event.onset_date,
        resolution_date=event.resolution_date,
        awareness_date=event.awareness_date,
        ctcae_grade=event.ctcae_grade,
        serious_criteria=frozenset(event.serious_criteria),
        related_to_cells=event.related_to_cells,
        related_to_procedure=event.related_to_procedure,
        related_to_immunosuppression=event.related_to_immunosuppression,
        expectedness=event.expectedness,
        outcome=event.outcome,
        narrative=event.narrative or "",
    )


def _store(event: AdverseEvent, facts: AdverseEventFacts) -> None:
    report = expedited_report(facts)
    event.term = facts.term
    event.category = facts.category
    event.onset_date = facts.onset_date
    event.resolution_date = facts.resolution_date
    event.awareness_date = facts.awareness_date
    event.ctcae_grade = facts.ctcae_grade
    event.serious_criteria = sorted(facts.serious_criteria)
    event.related_to_cells = facts.related_to_cells
    event.related_to_procedure = facts.related_to_procedure
    event.related_to_immunosuppression = facts.related_to_immunosuppression
    event.expectedness = facts.expectedness
    event.outcome = facts.outcome
    if facts.narrative != (event.narrative or ""):
        event.narrative = facts.narrative
    event.expedited_report_required = report.required
    event.expedited_report_due = report.due


def _criteria(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Collection):
        raise InvalidValueError("serious_criteria", value, "a list of ICH E2A criteria (or empty)")
    return frozenset(value)


def report_adverse_event(
    session: Session,
    *,
    user: User,
    participant_id: int,
    term: str,
    category: str,
    onset_date: date,
    awareness_date: date,
    ctcae_grade: int,
    serious_criteria: Collection[str],
    related_to_cells: str,
    related_to_procedure: str,
    related_to_immunosuppression: str,
    expectedness: str,
    outcome: str,
    resolution_date: date | None = None,
    narrative: str = "",
) -> AdverseEvent:
    """Report an adverse event; flags an expedited report (and its due date) when it is serious,
    related and unexpected. A serious event needs its ``narrative``."""
    participant = participant_for(session, user, "report_adverse_event", participant_id)
    facts = check_adverse_event(
        AdverseEventFacts(
            term=term,
            category=category,
            onset_date=onset_date,
            resolution_date=resolution_date,
            awareness_date=awareness_date,
            ctcae_grade=ctcae_grade,
            serious_criteria=_criteria(serious_criteria),
            related_to_cells=related_to_cells,
            related_to_procedure=related_to_procedure,
            related_to_immunosuppression=related_to_immunosuppression,
            expectedness=expectedness,
            outcome=outcome,
            narrative=narrative,
        )
    )
    with unit_of_work(session, user.username):
        event = AdverseEvent(participant_id=participant.id)
        _store(event, facts)
        session.add(event)
    return event


def update_adverse_event(
    session: Session,
    *,
    user: User,
    event_id: int,
    reason: str,
    expected_version: int | None = None,
    **changes: Any,
) -> AdverseEvent:
    """Update an adverse event (follow-up: resolution, outcome, grade, causality ...); the reason
    is required and the expedited-report flag and deadline are recomputed."""
    participant_record_for(session, user, "report_adverse_event", AdverseEvent, event_id)
    for name in changes:
        if name not in AE_FIELDS:
            raise InvalidValueError("field", name, "one of " + ", ".join(sorted(AE_FIELDS)))
    if "serious_criteria" in changes:
        changes["serious_criteria"] = _criteria(changes["serious_criteria"])
    event = get_by_id(session, AdverseEvent, event_id)
    check_version(event, expected_version)
    facts = check_adverse_event(replace(_facts_of(event), **changes))
    with unit_of_work(session, user.username, reason):
        _store(event, facts)
    return event


def record_expedited_submission(
    session: Session,
    *,
    user: User,
    event_id: int,
    submitted_on: date,
    authority: str,
    reference: str,
    expected_version: int | None = None,
    reason: str | None = None,
) -> AdverseEvent:
    """Record that the expedited (SUSAR) report was submitted: date (not before awareness), the
    authority and its reference. The deadline is then met, or missed by so many days
    (:func:`cordtrial.trial.rules.safety.expedited_status`). Changing a recorded submission needs
    a reason."""
    participant_record_for(session, user, "report_adverse_event", AdverseEvent, event_id)
    event = get_by_id(session, AdverseEvent, event_id)
    check_version(event, expected_version)
    on, authority, reference = check_submission(
        submitted_on, authority, reference, awareness_date=event.awareness_date
    )
    if not event.expedited_report_required:
        session.rollback()
        raise RuleViolationError(
            "expedited_report",
            [f"adverse event {event_id} needs no expedited report (not serious, related and "
             "unexpected)"],
        )  # fmt: skip
    why = reason if event.expedited_submitted_on is not None else "expedited report submitted"
    with unit_of_work(session, user.username, why):
        event.expedited_submitted_on = on
        event.expedited_authority = authority
        event.expedited_reference = reference
    return event


def add_follow_up(
    session: Session, *, user: User, event_id: int, reported_on: date, text: str
) -> AdverseEventFollowUp:
    """Add a follow-up report to an adverse event (what was learned, dated; append-only)."""
    event = participant_record_for(session, user, "report_adverse_event", AdverseEvent, event_id)
    on = check_date("reported_on", reported_on, not_before=event.onset_date)
    text = check_text("text", text, max_length=NARRATIVE_MAX)
    with unit_of_work(session, user.username):
        follow_up = AdverseEventFollowUp(
            adverse_event_id=event.id, reported_on=on, reported_by=user.username, text=text
        )
        session.add(follow_up)
    return follow_up


def list_follow_ups(session: Session, event_id: int) -> list[AdverseEventFollowUp]:
    """An adverse event's follow-up reports, oldest first."""
    return list(
        session.scalars(
            select(AdverseEventFollowUp)
            .where(AdverseEventFollowUp.adverse_event_id == event_id)
            .order_by(AdverseEventFollowUp.reported_on, AdverseEventFollowUp.id)
        )
    )


def event_history(session: Session, event_id: int) -> list[AuditEntry]:
    """An adverse event's audit trail (who changed which field, when, from what, why), oldest
    first; its follow-up reports are listed by :func:`list_follow_ups`."""
    from cordtrial.trial.services.reads import list_audit

    get_by_id(session, AdverseEvent, event_id)
    return list(list_audit(session, entity="adverse_event", entity_id=str(event_id), limit=10_000))
