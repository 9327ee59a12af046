"""Adverse events: severity, seriousness, relatedness, and expedited reporting.

* Severity is the CTCAE grade (Common Terminology Criteria for Adverse Events v5.0, NCI 2017):
  1 mild, 2 moderate, 3 severe, 4 life-threatening consequences, 5 death related to the event.
* Seriousness is a separate question (ICH E2A, 1994, II.B): death, life-threatening,
  hospitalisation, disability, congenital anomaly, or medically important. A severe (grade 3)
  headache is not serious; a mild event that prolongs a hospital stay is.
* Related: a reasonable possibility that the cells, the procedure or the immunosuppression caused
  it (``possible`` or stronger; ICH E2A II.A.2, 21 CFR 312.32(a)). The surgical procedure and the
  protocol's immunosuppression are part of the investigational treatment of a cell graft, so any
  of the three counts.
* Expedited report: serious, related and unexpected (a SUSAR). Deadline counted in calendar days
  from ``awareness_date``, when the sponsor first learned of it: 7 days for a fatal or
  life-threatening event, 15 days otherwise (ICH E2A III.A.2 a-b; 21 CFR 312.32(c)(1) and
  (c)(2)). Once the report is submitted (date, authority, reference) the deadline is met, or
  was missed by so many days: :func:`expedited_status` says which, and stops counting down.
* A serious event carries a narrative (ICH E2A III.C / CIOMS I: a case description).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.checks import check_choice, check_date, check_int, check_text
from cordtrial.trial.rules.vocabulary import (
    AE_CATEGORIES,
    AE_OUTCOMES,
    EXPECTEDNESS,
    RELATED,
    RELATEDNESS,
    SERIOUSNESS_CRITERIA,
)

__all__ = [
    "FATAL_OR_LIFE_THREATENING_DAYS",
    "NARRATIVE_MAX",
    "OTHER_SERIOUS_DAYS",
    "AdverseEventFacts",
    "ExpeditedReport",
    "ExpeditedStatus",
    "check_adverse_event",
    "check_submission",
    "expedited_report",
    "expedited_status",
    "is_related",
    "is_serious",
]

#: ICH E2A III.A.2.a; 21 CFR 312.32(c)(2): fatal or life-threatening unexpected suspected
#: adverse reactions, no later than 7 calendar days after the sponsor's first knowledge.
FATAL_OR_LIFE_THREATENING_DAYS = 7
#: ICH E2A III.A.2.b; 21 CFR 312.32(c)(1): all other serious unexpected suspected adverse
#: reactions, no later than 15 calendar days.
OTHER_SERIOUS_DAYS = 15
#: The longest narrative kept (characters).
NARRATIVE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class AdverseEventFacts:
    """An adverse event as recorded (validated by :func:`check_adverse_event`)."""

    term: str
    category: str
    onset_date: date
    resolution_date: date | None
    awareness_date: date
    ctcae_grade: int
    serious_criteria: frozenset[str]
    related_to_cells: str
    related_to_procedure: str
    related_to_immunosuppression: str
    expectedness: str
    outcome: str
    #: The case description; required for a serious event.
    narrative: str = ""


def check_adverse_event(facts: AdverseEventFacts) -> AdverseEventFacts:
    """Check every field and their consistency; return the facts with the term trimmed.

    Grade 5 (death) goes with outcome ``fatal`` and the seriousness criterion ``death``, and the
    reverse; resolution and awareness are not before onset.
    """
    term = check_text("term", facts.term)
    check_choice("category", facts.category, AE_CATEGORIES)
    check_date("onset_date", facts.onset_date)
    if facts.resolution_date is not None:
        check_date("resolution_date", facts.resolution_date, not_before=facts.onset_date)
    check_date("awareness_date", facts.awareness_date, not_before=facts.onset_date)
    grade = check_int("ctcae_grade", facts.ctcae_grade, 1, 5)
    unknown = sorted(set(facts.serious_criteria) - SERIOUSNESS_CRITERIA)
    if unknown:
        raise InvalidValueError(
            "serious_criteria",
            unknown[0],
            "ICH E2A criteria: " + ", ".join(sorted(SERIOUSNESS_CRITERIA)),
        )
    for name in ("related_to_cells", "related_to_procedure", "related_to_immunosuppression"):
        check_choice(name, getattr(facts, name), RELATEDNESS)
    check_choice("expectedness", facts.expectedness, EXPECTEDNESS)
    outcome = check_choice("outcome", facts.outcome, AE_OUTCOMES)
    fatal = outcome == "fatal"
    if (grade == 5) != fatal:
        raise InvalidValueError(
            "outcome",
            outcome,
            "'fatal' exactly when the CTCAE grade is 5 (death)",
            "contradicts the grade",
        )
    if fatal and "death" not in facts.serious_criteria:
        raise InvalidValueError(
            "serious_criteria",
            sorted(facts.serious_criteria),
            "the criterion 'death' for a fatal event",
            "lacks death",
        )
    if "death" in facts.serious_criteria and not fatal:
        raise InvalidValueError(
            "serious_criteria", sorted(facts.serious_criteria), "'death' only with outcome fatal"
        )
    if fatal and facts.resolution_date is not None:
        raise InvalidValueError(
            "resolution_date", facts.resolution_date, "none for a fatal event", "is set"
        )
    narrative = check_text("narrative", facts.narrative, max_length=NARRATIVE_MAX, required=False)
    if facts.serious_criteria and not narrative:
        raise InvalidValueError(
            "narrative", "", "a description of the case", "is required for a serious event"
        )
    return AdverseEventFacts(
        term=term,
        category=facts.category,
        onset_date=facts.onset_date,
        resolution_date=facts.resolution_date,
        awareness_date=facts.awareness_date,
        ctcae_grade=grade,
        serious_criteria=frozenset(facts.serious_criteria),
        related_to_cells=facts.related_to_cells,
        related_to_procedure=facts.related_to_procedure,
        related_to_immunosuppression=facts.related_to_immunosuppression,
        expectedness=facts.expectedness,
        outcome=outcome,
        narrative=narrative,
    )


def is_serious(criteria: Collection[str]) -> bool:
    """Serious per ICH E2A: at least one seriousness criterion met."""
    return bool(criteria)


def is_related(facts: AdverseEventFacts) -> bool:
    """A reasonable possibility that the cells, the procedure or the immunosuppression caused it."""
    return any(
        r in RELATED
        for r in (
            facts.related_to_cells,
            facts.related_to_procedure,
            facts.related_to_immunosuppression,
        )
    )


@dataclass(frozen=True, slots=True)
class ExpeditedReport:
    """Whether an expedited (SUSAR) report is due, by when, and why."""

    required: bool
    due: date | None
    basis: str


def expedited_report(facts: AdverseEventFacts) -> ExpeditedReport:
    """Serious + related + unexpected: report within 7 (fatal or life-threatening) or 15
    calendar days of ``awareness_date`` (ICH E2A III.A.2; 21 CFR 312.32(c))."""
    serious = is_serious(facts.serious_criteria)
    related = is_related(facts)
    unexpected = facts.expectedness == "unexpected"
    if not (serious and related and unexpected):
        missing = [
            word
            for word, met in (
                ("serious", serious),
                ("related", related),
                ("unexpected", unexpected),
            )
            if not met
        ]
        return ExpeditedReport(False, None, "no expedited report: not " + ", not ".join(missing))
    grave = bool({"death", "life_threatening"} & facts.serious_criteria)
    days = FATAL_OR_LIFE_THREATENING_DAYS if grave else OTHER_SERIOUS_DAYS
    kind = "fatal or life-threatening" if grave else "serious"
    return ExpeditedReport(
        True,
        facts.awareness_date + timedelta(days=days),
        f"{kind}, related and unexpected: report within {days} calendar days of awareness "
        "(ICH E2A III.A.2; 21 CFR 312.32(c))",
    )


@dataclass(frozen=True, slots=True)
class ExpeditedStatus:
    """Where an expedited report stands: ``state`` is ``not required``, ``due``, ``overdue``,
    ``submitted`` (on time) or ``submitted late``; ``days`` counts to the deadline (due), past
    it (overdue) or by how much it was late; ``label`` says it in words."""

    state: str
    days: int | None
    label: str


def expedited_status(
    required: bool, due: date | None, submitted_on: date | None, today: date
) -> ExpeditedStatus:
    """The expedited report's state on ``today``: once submitted, met or late by so many days
    (no more counting down); before, days left or days overdue."""
    if not required or due is None:
        if submitted_on is not None:
            return ExpeditedStatus("submitted", None, f"submitted {submitted_on.isoformat()}")
        return ExpeditedStatus("not required", None, "not required")
    if submitted_on is not None:
        late = (submitted_on - due).days
        if late > 0:
            return ExpeditedStatus(
                "submitted late", late, f"submitted {submitted_on.isoformat()}, {_days(late)} late"
            )
        return ExpeditedStatus("submitted", None, f"submitted {submitted_on.isoformat()}, on time")
    left = (due - today).days
    if left < 0:
        behind = f"overdue by {_days(-left)} (due {due.isoformat()})"
        return ExpeditedStatus("overdue", -left, behind)
    return ExpeditedStatus("due", left, f"due {due.isoformat()} ({_days(left)} left)")


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def check_submission(
    submitted_on: object, authority: object, reference: object, *, awareness_date: date
) -> tuple[date, str, str]:
    """An expedited report's submission: its date (not before awareness), the authority it went
    to and the reference the authority (or gateway) gave it."""
    on = check_date("submitted_on", submitted_on, not_before=awareness_date)
    return (
        on,
        check_text("authority", authority, max_length=100),
        check_text("reference", reference, max_length=100),
    )
