"""Use cases: laboratory results (issue 15).

A site's reference ranges per analyte; a panel of results entered for a participant (each value
converted from its UCUM unit to the protocol's, graded by CTCAE v5.0 against the site's range and
the participant's baseline: rules.labs); a graded result reported as an adverse event in one step
(prefilled from the result, linked to it, in the same transaction). Every write names the acting
user and is checked here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError, RuleViolationError
from cordtrial.trial.models import (
    AdverseEvent,
    LabReferenceRange,
    LabResult,
    Participant,
    Site,
    User,
)
from cordtrial.trial.rules.checks import check_choice, check_date, check_number
from cordtrial.trial.rules.eligibility import (
    CriterionResult,
    EligibilityCriteria,
    EligibilityFacts,
    evaluate_lab_limits,
)
from cordtrial.trial.rules.lab_limits import LabValue
from cordtrial.trial.rules.labs import ANALYTES, TERMS, convert, grade
from cordtrial.trial.services.common import get_by_id
from cordtrial.trial.services.users import require_permission

__all__ = [
    "LabEntry",
    "lab_analytes",
    "lab_eligibility",
    "lab_results_of_event",
    "link_lab_result_to_adverse_event",
    "list_lab_results",
    "list_reference_ranges",
    "record_lab_panel",
    "reference_range",
    "report_lab_as_adverse_event",
    "reportable_lab_result",
    "screening_lab_values",
    "screening_window_end",
    "set_reference_range",
]

_SEXES = ("any", "F", "M")


@dataclass(frozen=True, slots=True)
class LabEntry:
    """One value of a panel as the lab sent it."""

    analyte: str
    value: float
    unit: str


def set_reference_range(
    session: Session,
    user: User,
    *,
    site_id: int,
    analyte: str,
    lln: float | None,
    uln: float | None,
    unit: str | None = None,
    sex: str = "any",
    reason: str | None = None,
) -> LabReferenceRange:
    """Set a site's reference range of ``analyte`` (limits in ``unit``, default the protocol's;
    stored in the protocol's unit). A change needs a reason."""
    require_permission(user, "manage_trial")
    site = get_by_id(session, Site, site_id)
    if analyte not in ANALYTES:
        raise InvalidValueError("analyte", analyte, "one of " + ", ".join(sorted(ANALYTES)))
    check_choice("sex", sex, _SEXES)
    unit = unit or ANALYTES[analyte].unit
    low = None if lln is None else convert(analyte, check_number("lln", lln, low=0), unit)
    high = None if uln is None else convert(analyte, check_number("uln", uln, low=0), unit)
    if low is None and high is None:
        raise InvalidValueError("uln", "", "a lower or an upper limit (or both)")
    if low is not None and high is not None and high <= low:
        raise InvalidValueError("uln", uln, f"above the lower limit {lln}")
    stored = session.scalars(
        select(LabReferenceRange).where(
            LabReferenceRange.site_id == site.id,
            LabReferenceRange.analyte == analyte,
            LabReferenceRange.sex == sex,
        )
    ).first()
    with unit_of_work(session, user.username, reason if stored is not None else None):
        if stored is None:
            stored = LabReferenceRange(site_id=site.id, analyte=analyte, sex=sex)
            session.add(stored)
        stored.lln, stored.uln = low, high
    return stored


def lab_analytes(user: User) -> list[str]:
    """The analytes recorded (rules.labs), for a user who may read."""
    require_permission(user, "read")
    return list(ANALYTES)


def list_reference_ranges(session: Session, user: User, site_id: int) -> list[LabReferenceRange]:
    """A site's reference ranges, by analyte."""
    require_permission(user, "read", site_id)
    return list(
        session.scalars(
            select(LabReferenceRange)
            .where(LabReferenceRange.site_id == site_id)
            .order_by(LabReferenceRange.analyte, LabReferenceRange.sex)
        )
    )


def reference_range(
    session: Session, site_id: int, analyte: str, sex: str
) -> LabReferenceRange | None:
    """The site's range of ``analyte`` for ``sex`` (else its range for any sex)."""
    rows = session.scalars(
        select(LabReferenceRange).where(
            LabReferenceRange.site_id == site_id,
            LabReferenceRange.analyte == analyte,
            LabReferenceRange.sex.in_([sex, "any"]),
        )
    ).all()
    return min(rows, key=lambda r: r.sex == "any", default=None)


def _baseline(
    session: Session, participant: Participant, analyte: str, collected_on: date
) -> float | None:
    """The participant's last value of ``analyte`` on or before the transplant (before this
    sample); none for a sample taken before the transplant, which is itself baseline."""
    day0 = participant.transplant_date
    if day0 is None or collected_on <= day0:
        return None
    return session.scalars(
        select(LabResult.value)
        .where(
            LabResult.participant_id == participant.id,
            LabResult.analyte == analyte,
            LabResult.collected_on <= day0,
        )
        .order_by(LabResult.collected_on.desc(), LabResult.id.desc())
        .limit(1)
    ).first()


def record_lab_panel(
    session: Session,
    user: User,
    *,
    participant_id: int,
    collected_on: date,
    entries: Sequence[LabEntry],
) -> list[LabResult]:
    """Record a panel: each value converted to the protocol's unit and graded (CTCAE v5.0)
    against the site's reference range and the participant's baseline. All or nothing: a bad
    value is refused naming its row (``results[2].unit``) and nothing is stored."""
    participant = get_by_id(session, Participant, participant_id)
    require_permission(user, "enter_data", participant.site_id)
    on = check_date("collected_on", collected_on, not_before=participant.injury_date)
    if not entries:
        raise InvalidValueError("entries", [], "at least one laboratory value")
    results: list[LabResult] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        try:
            if entry.analyte in seen:
                raise InvalidValueError("analyte", entry.analyte, "each analyte once per panel")
            seen.add(entry.analyte)
            value = convert(entry.analyte, check_number("value", entry.value, low=0), entry.unit)
        except InvalidValueError as exc:
            raise InvalidValueError(
                f"results[{i}].{exc.field}", exc.value, exc.allowed, exc.problem
            ) from exc
        limits = reference_range(session, participant.site_id, entry.analyte, participant.sex)
        lln, uln = (None, None) if limits is None else (limits.lln, limits.uln)
        baseline = _baseline(session, participant, entry.analyte, on)
        graded = grade(entry.analyte, value, lln=lln, uln=uln, baseline=baseline)
        results.append(
            LabResult(
                participant_id=participant.id,
                collected_on=on,
                analyte=entry.analyte,
                entered_value=float(entry.value),
                entered_unit=entry.unit,
                value=value,
                lln=lln,
                uln=uln,
                baseline=baseline,
                ctcae_grade=graded.grade,
                ctcae_term=None if graded.term is None else graded.term.key,
                grade_basis=graded.basis or "within the CTCAE v5.0 limits",
            )
        )
    with unit_of_work(session, user.username):
        session.add_all(results)
    return results


def list_lab_results(session: Session, user: User, participant_id: int) -> list[LabResult]:
    """The participant's laboratory results, oldest first (site-scoped)."""
    participant = get_by_id(session, Participant, participant_id)
    require_permission(user, "read", participant.site_id)
    return list(
        session.scalars(
            select(LabResult)
            .where(LabResult.participant_id == participant.id)
            .order_by(LabResult.collected_on, LabResult.analyte, LabResult.id)
        )
    )


def lab_results_of_event(session: Session, user: User, event: AdverseEvent) -> list[LabResult]:
    """The laboratory results an adverse event was reported from (site-scoped)."""
    participant = get_by_id(session, Participant, event.participant_id)
    require_permission(user, "read", participant.site_id)
    return list(
        session.scalars(
            select(LabResult)
            .where(LabResult.adverse_event_id == event.id)
            .order_by(LabResult.collected_on, LabResult.id)
        )
    )


def reportable_lab_result(
    session: Session, user: User, lab_result_id: int, participant_id: int | None = None
) -> LabResult:
    """A graded result not yet reported as an adverse event, of ``participant_id`` when given
    (RuleViolationError otherwise), that the user may report at its site."""
    result = get_by_id(session, LabResult, lab_result_id)
    participant = get_by_id(session, Participant, result.participant_id)
    require_permission(user, "report_adverse_event", participant.site_id)
    if participant_id is not None and participant.id != participant_id:
        raise RuleViolationError("lab_result", [f"result {lab_result_id} is another participant's"])
    if result.ctcae_grade == 0 or result.ctcae_term is None:
        raise RuleViolationError(
            "lab_result", [f"{ANALYTES[result.analyte].label} {result.value:g} is not graded"]
        )
    if result.adverse_event_id is not None:
        raise RuleViolationError(
            "lab_result", [f"already reported as adverse event {result.adverse_event_id}"]
        )
    return result


def report_lab_as_adverse_event(
    session: Session,
    user: User,
    *,
    lab_result_id: int,
    awareness_date: date,
    related_to_cells: str,
    related_to_procedure: str,
    related_to_immunosuppression: str,
    expectedness: str,
    outcome: str,
    category: str = "other",
    serious_criteria: Collection[str] = (),
    narrative: str = "",
    resolution_date: date | None = None,
) -> AdverseEvent:
    """Report a graded result as an adverse event in one step: the CTCAE term, grade and onset
    come from the result; the event and the link are stored in one transaction."""
    from cordtrial.trial.services.safety import report_adverse_event

    result = reportable_lab_result(session, user, lab_result_id)

    return report_adverse_event(
        session, user=user, participant_id=result.participant_id,
        term=TERMS[result.ctcae_term or ""].label, category=category,
        onset_date=result.collected_on,
        awareness_date=awareness_date, ctcae_grade=result.ctcae_grade,
        serious_criteria=serious_criteria, related_to_cells=related_to_cells,
        related_to_procedure=related_to_procedure,
        related_to_immunosuppression=related_to_immunosuppression, expectedness=expectedness,
        outcome=outcome, resolution_date=resolution_date, narrative=narrative,
        lab_result=result,
    )  # fmt: skip


def screening_window_end(participant: Participant, on: date) -> date:
    """The last day of the screening window: ``on`` or the transplant, the earlier."""
    day0 = participant.transplant_date
    return on if day0 is None else min(on, day0)


def screening_lab_values(
    session: Session, participant: Participant, criteria: EligibilityCriteria, on: date
) -> dict[str, LabValue]:
    """The participant's latest result of each analyte the criteria limit, collected in the
    screening window: the ``criteria.lab_window_days`` up to ``on`` or the transplant, the
    earlier (:func:`screening_window_end`). One statement for all analytes."""
    analytes = sorted({limit.analyte for limit in criteria.lab_limits})
    if not analytes:
        return {}
    end = screening_window_end(participant, on)
    start = end - timedelta(days=criteria.lab_window_days)
    rows = session.scalars(
        select(LabResult)
        .where(
            LabResult.participant_id == participant.id,
            LabResult.analyte.in_(analytes),
            LabResult.collected_on >= start,
            LabResult.collected_on <= end,
        )
        .order_by(LabResult.collected_on, LabResult.id)
    ).all()
    # the latest wins: rows come oldest first
    return {r.analyte: LabValue(r.value, r.uln, r.collected_on) for r in rows}


def lab_eligibility(
    session: Session, user: User, participant_id: int, on: date
) -> tuple[CriterionResult, ...]:
    """The trial's laboratory eligibility limits checked today from the entered results (as
    :func:`~cordtrial.trial.services.participants.assess_eligibility` would record them on
    ``on``), without recording anything; empty when the trial has none."""
    participant = get_by_id(session, Participant, participant_id)
    require_permission(user, "read", participant.site_id)
    criteria = EligibilityCriteria.from_json(participant.trial.eligibility)
    facts = EligibilityFacts(
        age_at_injury=participant.age_at_injury,
        injury_mechanism=participant.injury_mechanism,
        injury_date=participant.injury_date,
        transplant_date=participant.transplant_date,
        nli=None,
        ais=None,
        labs=screening_lab_values(session, participant, criteria, on),
        lab_window_end=screening_window_end(participant, on),
    )
    return evaluate_lab_limits(criteria, facts)


def link_lab_result_to_adverse_event(
    session: Session, user: User, *, lab_result_id: int, adverse_event_id: int
) -> LabResult:
    """Link a graded result to an adverse event already reported for it (the same
    participant; the event's CTCAE grade at least the result's), audited."""
    result = reportable_lab_result(session, user, lab_result_id)
    event = get_by_id(session, AdverseEvent, adverse_event_id)
    if event.participant_id != result.participant_id:
        raise RuleViolationError(
            "adverse_event", [f"adverse event {adverse_event_id} is another participant's"]
        )
    if event.ctcae_grade < result.ctcae_grade:
        raise RuleViolationError(
            "adverse_event",
            [
                f"the event's grade {event.ctcae_grade} is below the result's grade "
                f"{result.ctcae_grade} ({TERMS[result.ctcae_term or ''].label})"
            ],
        )
    why = f"linked to adverse event {event.id} ({event.term})"
    with unit_of_work(session, user.username, why):
        result.adverse_event_id = event.id
    return result
