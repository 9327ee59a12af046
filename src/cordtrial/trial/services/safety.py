"""Use cases: report and update adverse events; the expedited-report flag and deadline are
computed (rules.safety), never typed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import AdverseEvent, Participant
from cordtrial.trial.rules.safety import AdverseEventFacts, check_adverse_event, expedited_report
from cordtrial.trial.services.common import check_version, get_by_id

__all__ = ["AE_FIELDS", "report_adverse_event", "update_adverse_event"]

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
    event.expedited_report_required = report.required
    event.expedited_report_due = report.due


def _criteria(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Collection):
        raise InvalidValueError("serious_criteria", value, "a list of ICH E2A criteria (or empty)")
    return frozenset(value)


def report_adverse_event(
    session: Session,
    *,
    actor: str,
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
) -> AdverseEvent:
    """Report an adverse event; flags an expedited report (and its due date) when it is serious,
    related and unexpected."""
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
        )
    )
    participant = get_by_id(session, Participant, participant_id)
    with unit_of_work(session, actor):
        event = AdverseEvent(participant_id=participant.id)
        _store(event, facts)
        session.add(event)
    return event


def update_adverse_event(
    session: Session,
    *,
    actor: str,
    event_id: int,
    reason: str,
    expected_version: int | None = None,
    **changes: Any,
) -> AdverseEvent:
    """Update an adverse event (follow-up: resolution, outcome, grade, causality ...); the reason
    is required and the expedited-report flag and deadline are recomputed."""
    for name in changes:
        if name not in AE_FIELDS:
            raise InvalidValueError("field", name, "one of " + ", ".join(sorted(AE_FIELDS)))
    if "serious_criteria" in changes:
        changes["serious_criteria"] = _criteria(changes["serious_criteria"])
    event = get_by_id(session, AdverseEvent, event_id)
    check_version(event, expected_version)
    facts = check_adverse_event(replace(_facts_of(event), **changes))
    with unit_of_work(session, actor, reason):
        _store(event, facts)
    return event
