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
from cordtrial.trial.models import (
    AdverseEvent,
    AdverseEventFollowUp,
    AuditEntry,
    ExpeditedClock,
    LabResult,
    Participant,
    Trial,
    User,
)
from cordtrial.trial.rules.checks import check_date, check_text
from cordtrial.trial.rules.safety import (
    NARRATIVE_MAX,
    AdverseEventFacts,
    check_adverse_event,
)
from cordtrial.trial.services.clocks import (
    facts_of,
    submit_clock,
    sync_event_clocks,
    trial_jurisdictions,
)
from cordtrial.trial.services.common import check_version, get_by_id
from cordtrial.trial.services.reads import participant_for, participant_record_for

__all__ = [
    "AE_FIELDS",
    "add_follow_up",
    "build_adverse_event",
    "event_history",
    "list_follow_ups",
    "record_expedited_submission",
    "report_adverse_event",
    "update_adverse_event",
]

#: The fields of an adverse event a use case sets or corrects.
AE_FIELDS = frozenset(AdverseEventFacts.__dataclass_fields__)


def _store(event: AdverseEvent, facts: AdverseEventFacts) -> None:
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


def _jurisdictions(session: Session, participant_id: int) -> tuple[str, ...]:
    """The jurisdictions of the participant's trial, read before a unit of work begins (a read
    inside one would flush a half-made event)."""
    participant = get_by_id(session, Participant, participant_id)
    return trial_jurisdictions(get_by_id(session, Trial, participant.trial_id))


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
    lab_result: LabResult | None = None,
) -> AdverseEvent:
    """Report an adverse event; its expedited clocks follow from the trial's jurisdictions
    (services.clocks). A serious event needs its ``narrative``. ``lab_result``: the graded
    laboratory result the event is reported from, linked in the same transaction."""
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
    jurisdictions = _jurisdictions(session, participant.id)
    why = None if lab_result is None else "reported as an adverse event"
    with unit_of_work(session, user.username, why):
        event = AdverseEvent(participant_id=participant.id)
        _store(event, facts)
        session.add(event)
        sync_event_clocks(session, event, facts, jurisdictions)
        if lab_result is not None:
            lab_result.adverse_event_id = event.id
    return event


def build_adverse_event(
    session: Session, participant_id: int, facts: AdverseEventFacts
) -> AdverseEvent:
    """A new adverse event from checked facts, added to the session with its expedited clocks
    (services.clocks): for a use case that opens an event inside its own unit of work (a tumour
    finding on a locked MRI read, :mod:`.imaging`)."""
    checked = check_adverse_event(facts)
    jurisdictions = _jurisdictions(session, participant_id)
    event = AdverseEvent(participant_id=participant_id)
    _store(event, checked)
    session.add(event)
    sync_event_clocks(session, event, checked, jurisdictions)
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
    facts = check_adverse_event(replace(facts_of(event), **changes))
    jurisdictions = _jurisdictions(session, event.participant_id)
    with unit_of_work(session, user.username, reason):
        _store(event, facts)
        sync_event_clocks(session, event, facts, jurisdictions)
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
    rule: str | None = None,
) -> AdverseEvent:
    """Record that an expedited report was submitted: date (not before awareness), the
    authority and its reference. ``rule`` names the clock (rules.clocks); it may be left out
    when the event has one clock only. That deadline is then met, or missed by so many days.
    Changing a recorded submission needs a reason."""
    participant_record_for(session, user, "report_adverse_event", AdverseEvent, event_id)
    event = get_by_id(session, AdverseEvent, event_id)
    check_version(event, expected_version)
    if rule is None:
        live = session.scalars(
            select(ExpeditedClock.rule).where(
                ExpeditedClock.adverse_event_id == event.id, ExpeditedClock.applies
            )
        ).all()
        if not live:
            raise RuleViolationError(
                "expedited_report",
                [f"adverse event {event_id} needs no expedited report under its trial's rules"],
            )
        if len(live) > 1:
            raise InvalidValueError(
                "rule", "", "the clock the report answers: " + ", ".join(live), "must be named"
            )
        rule = live[0]
    submit_clock(
        session, user.username, event=event, rule=rule, submitted_on=submitted_on,
        authority=authority, reference=reference, reason=reason,
    )  # fmt: skip
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
