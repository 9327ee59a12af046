"""Adverse events: seriousness apart from severity; expedited reports and their deadlines."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.safety import (
    AdverseEventFacts,
    check_adverse_event,
    expedited_report,
    expedited_status,
    is_related,
)

AWARE = date(2026, 3, 10)
SUSAR = AdverseEventFacts(
    term="Syrinx at graft site",
    category="syrinx",
    onset_date=date(2026, 3, 8),
    resolution_date=None,
    awareness_date=AWARE,
    ctcae_grade=3,
    serious_criteria=frozenset({"hospitalisation"}),
    related_to_cells="possible",
    related_to_procedure="unlikely",
    related_to_immunosuppression="not_related",
    expectedness="unexpected",
    outcome="not_recovered",
    narrative="Expanding syrinx on MRI at week 4; admitted for observation.",
)


def test_serious_related_unexpected_is_reported_within_15_days() -> None:
    """21 CFR 312.32(c)(1); ICH E2A III.A.2.b."""
    report = expedited_report(SUSAR)
    assert report.required
    assert report.due == date(2026, 3, 25)
    assert "15 calendar days" in report.basis


def test_life_threatening_is_reported_within_7_days() -> None:
    """21 CFR 312.32(c)(2); ICH E2A III.A.2.a."""
    facts = replace(SUSAR, ctcae_grade=4, serious_criteria=frozenset({"life_threatening"}))
    assert expedited_report(facts).due == date(2026, 3, 17)


def test_fatal_is_reported_within_7_days() -> None:
    facts = replace(SUSAR, ctcae_grade=5, outcome="fatal", serious_criteria=frozenset({"death"}))
    assert expedited_report(check_adverse_event(facts)).due == date(2026, 3, 17)


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"serious_criteria": frozenset()}, "not serious"),
        ({"related_to_cells": "unlikely"}, "not related"),
        ({"expectedness": "expected"}, "not unexpected"),
    ],
)
def test_no_expedited_report_unless_serious_related_and_unexpected(
    change: dict[str, object], missing: str
) -> None:
    report = expedited_report(replace(SUSAR, **change))  # type: ignore[arg-type]
    assert (report.required, report.due) == (False, None)
    assert missing in report.basis


def test_severe_is_not_serious() -> None:
    """A CTCAE grade 3 event with no ICH E2A criterion is severe, not serious."""
    facts = check_adverse_event(replace(SUSAR, serious_criteria=frozenset()))
    assert facts.ctcae_grade == 3
    assert not expedited_report(facts).required


def test_relatedness_to_procedure_or_immunosuppression_counts() -> None:
    assert is_related(
        replace(SUSAR, related_to_cells="not_related", related_to_procedure="probable")
    )
    assert is_related(
        replace(SUSAR, related_to_cells="unlikely", related_to_immunosuppression="definite")
    )
    assert not is_related(replace(SUSAR, related_to_cells="unlikely"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ctcae_grade": 6}, r"ctcae_grade: 6 is out of range \(an integer 1-5\)"),
        ({"ctcae_grade": 5}, r"outcome: 'not_recovered' contradicts the grade"),
        ({"outcome": "fatal"}, "outcome: 'fatal' contradicts the grade"),
        ({"serious_criteria": frozenset({"death"})}, "'death' only with outcome fatal"),
        ({"serious_criteria": frozenset({"scary"})}, "serious_criteria: 'scary'"),
        ({"category": "tumour"}, "category: 'tumour' is not allowed"),
        ({"resolution_date": date(2026, 3, 1)}, "resolution_date: .* is too early"),
        ({"awareness_date": date(2026, 3, 1)}, "awareness_date: .* is too early"),
        ({"related_to_cells": "maybe"}, "related_to_cells: 'maybe'"),
        ({"term": "  "}, "term: '  ' is empty"),
    ],
)
def test_invalid_event_names_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        check_adverse_event(replace(SUSAR, **change))  # type: ignore[arg-type]


def test_fatal_event_needs_death_criterion() -> None:
    facts = replace(SUSAR, ctcae_grade=5, outcome="fatal")
    with pytest.raises(InvalidValueError, match=r"serious_criteria: .* lacks death"):
        check_adverse_event(facts)


def test_serious_event_without_narrative_is_refused_naming_the_field() -> None:
    """ICH E2A III.C: a serious case carries a description."""
    with pytest.raises(InvalidValueError, match="narrative: '' is required for a serious event"):
        check_adverse_event(replace(SUSAR, narrative="  "))


def test_non_serious_event_needs_no_narrative() -> None:
    facts = check_adverse_event(replace(SUSAR, serious_criteria=frozenset(), narrative=""))
    assert facts.narrative == ""


@pytest.mark.parametrize(
    ("submitted_on", "today", "state", "days", "label"),
    [
        (None, date(2026, 3, 20), "due", 5, "due 2026-03-25 (5 days left)"),
        (None, date(2026, 3, 27), "overdue", 2, "overdue by 2 days (due 2026-03-25)"),
        (date(2026, 3, 24), date(2026, 6, 1), "submitted", None, "submitted 2026-03-24, on time"),
        (date(2026, 3, 26), date(2026, 6, 1), "submitted late", 1,
         "submitted 2026-03-26, 1 day late"),
    ],
)  # fmt: skip
def test_expedited_status_stops_counting_once_submitted(
    submitted_on: date | None, today: date, state: str, days: int | None, label: str
) -> None:
    status = expedited_status(True, date(2026, 3, 25), submitted_on, today)
    assert (status.state, status.days, status.label) == (state, days, label)


def test_seriousness_criteria_are_offered_in_ich_e2a_order() -> None:
    """ICH E2A II.B lists death, life-threatening, hospitalisation, disability, congenital
    anomaly, medically important."""
    from cordtrial.trial.rules.vocabulary import SERIOUSNESS_ORDER

    assert SERIOUSNESS_ORDER == (
        "death", "life_threatening", "hospitalisation", "disability", "congenital_anomaly",
        "medically_important",
    )  # fmt: skip
