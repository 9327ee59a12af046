"""Eligibility criteria evaluated with a reason for each."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from cordtrial.isncsci import Level
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.eligibility import (
    EligibilityCriteria,
    EligibilityFacts,
    evaluate_eligibility,
)

DEFAULT = EligibilityCriteria()
ELIGIBLE = EligibilityFacts(
    age_at_injury=30,
    injury_mechanism="fall",
    injury_date=date(2026, 1, 1),
    transplant_date=date(2026, 1, 22),
    nli="C5",
    ais="A",
)


def _unmet(facts: EligibilityFacts, criteria: EligibilityCriteria = DEFAULT) -> list[str]:
    return [r.criterion for r in evaluate_eligibility(criteria, facts).unmet]


def test_participant_meeting_every_criterion_is_eligible() -> None:
    decision = evaluate_eligibility(DEFAULT, ELIGIBLE)
    assert decision.eligible
    assert [r.criterion for r in decision.reasons] == [
        "age", "mechanism", "nli", "ais", "days_to_transplant",
    ]  # fmt: skip
    assert decision.reasons[4].detail == "transplant 21 days after injury (required 14-28)"


@pytest.mark.parametrize(("age", "eligible"), [(17, False), (18, True)])
def test_age_limit_is_inclusive(age: int, eligible: bool) -> None:
    assert evaluate_eligibility(DEFAULT, replace(ELIGIBLE, age_at_injury=age)).eligible is eligible


def test_non_traumatic_injury_is_not_eligible() -> None:
    assert _unmet(replace(ELIGIBLE, injury_mechanism="non_traumatic")) == ["mechanism"]


@pytest.mark.parametrize(
    ("nli", "met"),
    [("C3", False), ("C4", True), ("T10", True), ("T11", False), ("T10*", True), ("INT", False)],
)
def test_nli_range_c4_to_t10(nli: str, met: bool) -> None:
    """C3/4 to T10 read as NLI C4..T10 inclusive (docs/trial.md)."""
    assert ("nli" not in _unmet(replace(ELIGIBLE, nli=nli))) is met


def test_nli_left_open_by_nt_must_be_inside_for_every_possibility() -> None:
    decision = evaluate_eligibility(DEFAULT, replace(ELIGIBLE, nli="T10,T11"))
    (reason,) = decision.unmet
    assert reason.criterion == "nli"
    assert "NT leaves levels outside the range possible" in reason.detail


@pytest.mark.parametrize(("ais", "met"), [("A", True), ("B", False), ("A,B", False)])
def test_ais_must_be_a(ais: str, met: bool) -> None:
    assert ("ais" not in _unmet(replace(ELIGIBLE, ais=ais))) is met


@pytest.mark.parametrize(
    ("transplant", "met"),
    [(date(2026, 1, 14), False), (date(2026, 1, 15), True), (date(2026, 1, 29), True),
     (date(2026, 1, 30), False)],
)  # fmt: skip
def test_transplant_14_to_28_days_after_injury(transplant: date, met: bool) -> None:
    assert (
        "days_to_transplant" not in _unmet(replace(ELIGIBLE, transplant_date=transplant))
    ) is met


def test_every_unmet_criterion_is_reported() -> None:
    facts = replace(ELIGIBLE, age_at_injury=16, nli=None, ais=None, transplant_date=None)
    decision = evaluate_eligibility(DEFAULT, facts)
    assert not decision.eligible
    assert [r.criterion for r in decision.unmet] == ["age", "nli", "ais", "days_to_transplant"]
    assert decision.unmet[1].detail == "no classified ISNCSCI exam (required NLI C4-T10)"


def test_criteria_are_configurable_per_trial() -> None:
    criteria = EligibilityCriteria(ais_grades=frozenset({"A", "B"}), nli_to=Level.T12)
    assert evaluate_eligibility(criteria, replace(ELIGIBLE, ais="B", nli="T12")).eligible


def test_criteria_round_trip_through_json() -> None:
    criteria = EligibilityCriteria(min_age=21, max_age=65, nli_from=Level.C5)
    assert EligibilityCriteria.from_json(criteria.to_json()) == criteria
    assert EligibilityCriteria.from_json({}) == DEFAULT


def test_invalid_criteria_name_the_field() -> None:
    with pytest.raises(InvalidValueError, match=r"eligibility.max_days_to_transplant: 10"):
        EligibilityCriteria(max_days_to_transplant=10)
    with pytest.raises(InvalidValueError, match=r"eligibility.nli_from: 'X9'"):
        EligibilityCriteria.from_json({"nli_from": "X9"})
    with pytest.raises(InvalidValueError, match="eligibility: 'min_weight' is not a criterion"):
        EligibilityCriteria.from_json({"min_weight": 50})
