"""Eligibility criteria that are laboratory limits: absolute or a multiple of the site's ULN,
checked from the latest result in the screening window, the failing value named."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.eligibility import (
    EligibilityCriteria,
    EligibilityFacts,
    evaluate_eligibility,
)
from cordtrial.trial.rules.lab_limits import LabLimit, LabValue, check_lab_limit, unit_label

SAMPLE = date(2026, 3, 2)
LIMITS = (
    LabLimit("neutrophils", ">=", 1.5),
    LabLimit("platelets", ">=", 100),
    LabLimit("creatinine", "<=", 1.5, "ULN"),
    LabLimit("alt", "<=", 2.5, "ULN"),
)
CRITERIA = EligibilityCriteria(lab_limits=LIMITS, lab_window_days=14)
FACTS = EligibilityFacts(
    age_at_injury=30,
    injury_mechanism="fall",
    injury_date=date(2026, 2, 10),
    transplant_date=date(2026, 3, 5),
    nli="C5",
    ais="A",
    labs={
        "neutrophils": LabValue(3.2, 7.5, SAMPLE),
        "platelets": LabValue(210, 400, SAMPLE),
        "creatinine": LabValue(90, 110, SAMPLE),
        "alt": LabValue(40, 41, SAMPLE),
    },
    lab_window_end=date(2026, 3, 4),
)


def test_values_inside_every_limit_are_eligible() -> None:
    decision = evaluate_eligibility(CRITERIA, FACTS)
    assert decision.eligible
    assert [r.criterion for r in decision.reasons][5:] == [
        "lab_neutrophils", "lab_platelets", "lab_creatinine", "lab_alt",
    ]  # fmt: skip


def test_a_platelet_count_below_the_limit_is_named_with_its_sample() -> None:
    labs = dict(FACTS.labs) | {"platelets": LabValue(82, 400, SAMPLE)}
    decision = evaluate_eligibility(CRITERIA, replace(FACTS, labs=labs))
    assert not decision.eligible
    (unmet,) = decision.unmet
    assert unmet.detail == (
        "Platelet count 82 x10^9/L is below the limit 100 x10^9/L (sample 2026-03-02)"
    )
    assert unmet.assessable


def test_a_uln_multiple_uses_the_sites_uln() -> None:
    """Creatinine <= 1.5 x ULN with a ULN of 110 umol/L: 165 meets it, 166 does not."""
    limit = LIMITS[2]
    assert check_lab_limit(limit, LabValue(165, 110, SAMPLE), "")[0]
    met, assessable, detail = check_lab_limit(limit, LabValue(166, 110, SAMPLE), "")
    assert (met, assessable) == (False, True)
    assert detail == (
        "Creatinine 166 µmol/L is above the limit 1.5 x ULN = 165 µmol/L (ULN 110) "
        "(sample 2026-03-02)"
    )


@pytest.mark.parametrize(("value", "met"), [(1.5, True), (1.4999, False)])
def test_an_absolute_limit_is_inclusive(value: float, met: bool) -> None:
    assert check_lab_limit(LIMITS[0], LabValue(value, None, SAMPLE), "")[0] is met


def test_a_missing_result_is_not_yet_assessable_and_said_so() -> None:
    labs = {k: v for k, v in FACTS.labs.items() if k != "alt"}
    decision = evaluate_eligibility(CRITERIA, replace(FACTS, labs=labs))
    assert not decision.eligible
    (missing,) = decision.not_assessable
    assert missing.criterion == "lab_alt" and not missing.met
    assert "no Alanine aminotransferase (ALT) result in the screening window" in missing.detail
    assert "14 days up to 2026-03-04" in missing.detail
    assert "not yet assessable" in missing.detail
    assert missing.to_json()["assessable"] is False


def test_a_uln_multiple_without_a_site_range_is_not_yet_assessable() -> None:
    met, assessable, detail = check_lab_limit(LIMITS[3], LabValue(40, None, SAMPLE), "")
    assert (met, assessable) == (False, False)
    assert "no site upper limit of normal" in detail


def test_criteria_with_lab_limits_round_trip_through_json() -> None:
    data = CRITERIA.to_json()
    assert data["lab_limits"][2] == {
        "analyte": "creatinine", "comparison": "<=", "limit": 1.5, "relative_to": "ULN",
    }  # fmt: skip
    assert EligibilityCriteria.from_json(data) == CRITERIA


def test_criteria_without_lab_limits_keep_their_stored_form() -> None:
    assert "lab_limits" not in EligibilityCriteria().to_json()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"analyte": "sodium", "comparison": ">=", "limit": 1}, "analyte"),
        ({"analyte": "platelets", "comparison": ">", "limit": 1}, "comparison"),
        ({"analyte": "platelets", "comparison": ">=", "limit": -1}, "limit"),
        ({"analyte": "alt", "comparison": "<=", "limit": 2, "relative_to": "LLN"}, "relative_to"),
        ({"analyte": "alt", "comparison": "<=", "limit": 2, "unit": "U/L"}, "lab_limits"),
    ],
)
def test_a_bad_limit_is_refused_naming_its_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        EligibilityCriteria.from_json({"lab_limits": [data]})
    assert caught.value.field.endswith(field)


def test_units_read_as_on_a_lab_report() -> None:
    assert (unit_label("10*9/L"), unit_label("{INR}"), unit_label("U/L")) == ("x10^9/L", "", "U/L")
