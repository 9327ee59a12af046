"""The regulators' clocks per jurisdiction: each rule's trigger, deadline and source
(shared/reference/regulatory-clocks.md), and the periodic reports' periods."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.clocks import (
    EXPEDITED_RULES,
    PERIODIC_RULES,
    check_jurisdictions,
    expedited_clocks,
    periodic_events,
    periodic_reports,
    rule_by_id,
)
from cordtrial.trial.rules.safety import AdverseEventFacts

AWARE = date(2026, 3, 10)
SERIOUS = AdverseEventFacts(
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
FATAL = replace(SERIOUS, ctcae_grade=5, serious_criteria=frozenset({"death"}), outcome="fatal")
BOTH = ("jp_asrm", "us_ind")


def _rules(facts: AdverseEventFacts, jurisdictions: tuple[str, ...] = BOTH) -> dict[str, date]:
    return {c.rule.id: c.due for c in expedited_clocks(facts, jurisdictions)}


def test_us_ind_serious_unexpected_suspected_reaction_is_due_in_15_days() -> None:
    """21 CFR 312.32(c)(1): no later than 15 calendar days."""
    assert _rules(SERIOUS, ("us_ind",)) == {"us_ind_15_day": date(2026, 3, 25)}


def test_us_ind_fatal_or_life_threatening_is_due_in_7_days() -> None:
    """21 CFR 312.32(c)(2): no later than 7 calendar days after initial receipt."""
    assert _rules(FATAL, ("us_ind",)) == {"us_ind_7_day": date(2026, 3, 17)}
    threatening = replace(SERIOUS, serious_criteria=frozenset({"life_threatening"}))
    assert _rules(threatening, ("us_ind",)) == {"us_ind_7_day": date(2026, 3, 17)}


@pytest.mark.parametrize(
    "change",
    [
        {"expectedness": "expected"},
        {"related_to_cells": "unlikely"},
        {"serious_criteria": frozenset()},
    ],
)
def test_us_ind_needs_serious_unexpected_and_suspected(change: dict[str, object]) -> None:
    assert _rules(replace(SERIOUS, **change), ("us_ind",)) == {}  # type: ignore[arg-type]


def test_japan_reports_serious_suspected_events_expected_or_not() -> None:
    """Ordinance Art. 35 (2): hospitalisation etc. within 15 days, whatever the expectedness."""
    expected = replace(SERIOUS, expectedness="expected")
    assert _rules(expected, ("jp_asrm",)) == {"jp_asrm_15_day": date(2026, 3, 25)}
    assert _rules(expected) == {"jp_asrm_15_day": date(2026, 3, 25)}  # the US needs unexpected


def test_japan_death_or_possibly_fatal_is_due_in_7_days() -> None:
    """Ordinance Art. 35 (1)."""
    assert _rules(FATAL, ("jp_asrm",)) == {"jp_asrm_7_day": date(2026, 3, 17)}


def test_a_trial_in_both_jurisdictions_gets_both_clocks_in_order_of_deadline() -> None:
    clocks = expedited_clocks(FATAL, BOTH)
    assert [(c.rule.id, c.due) for c in clocks] == [
        ("jp_asrm_7_day", date(2026, 3, 17)),
        ("us_ind_7_day", date(2026, 3, 17)),
    ]
    assert {c.rule.authority for c in clocks} == {
        "FDA (IND safety report)",
        "Certified committee for regenerative medicine",
    }


def test_a_non_serious_suspected_event_has_no_expedited_clock() -> None:
    mild = replace(SERIOUS, serious_criteria=frozenset(), ctcae_grade=1, narrative="")
    assert _rules(mild) == {}


def test_every_rule_cites_its_source_and_names_its_authority() -> None:
    for rule in (*EXPEDITED_RULES, *PERIODIC_RULES):
        assert rule.source and rule.authority and rule.report
        assert rule_by_id(rule.id) is rule
    assert {r.days for r in EXPEDITED_RULES} == {7, 15}
    with pytest.raises(InvalidValueError, match="rule: 'eu_ctr_7_day' is no reporting rule"):
        rule_by_id("eu_ctr_7_day")


def test_japan_60_day_periods_count_from_the_plan_and_are_due_10_days_after() -> None:
    """Art. 35 (3): every 60 days from the plan's submission, within 10 days of the end."""
    plan = date(2026, 1, 1)
    reports = [
        r for r in periodic_reports(("jp_asrm",), plan, date(2026, 5, 1))
        if r.rule.id == "jp_asrm_60_day"
    ]  # fmt: skip
    assert [(r.number, r.start, r.end, r.due) for r in reports] == [
        (1, date(2026, 1, 1), date(2026, 3, 1), date(2026, 3, 11)),
        (2, date(2026, 3, 2), date(2026, 4, 30), date(2026, 5, 10)),
        (3, date(2026, 5, 1), date(2026, 6, 29), date(2026, 7, 9)),
    ]
    assert all((r.end - r.start).days == 59 for r in reports)


def test_japan_annual_report_is_due_90_days_after_each_year() -> None:
    plan = date(2024, 2, 29)
    annual = [
        r for r in periodic_reports(("jp_asrm",), plan, date(2026, 3, 1))
        if r.rule.id == "jp_asrm_annual"
    ]  # fmt: skip
    # A year from 29 February ends on 28 February (Civil Code Art. 143(2)); 90 days after it.
    assert [(r.start, r.end, r.due) for r in annual] == [
        (date(2024, 2, 29), date(2025, 2, 28), date(2025, 5, 29)),
        (date(2025, 3, 1), date(2026, 2, 28), date(2026, 5, 29)),
        (date(2026, 3, 1), date(2027, 2, 28), date(2027, 5, 29)),
    ]
    later = periodic_reports(("jp_asrm",), plan, date(2028, 3, 1))
    assert [r.start for r in later if r.rule.id == "jp_asrm_annual"][-1] == date(2028, 2, 29)


def test_no_periodic_reports_without_japan_or_without_the_plan_date() -> None:
    assert periodic_reports(("us_ind",), date(2026, 1, 1), date(2027, 1, 1)) == []
    assert periodic_reports(("jp_asrm",), None, date(2027, 1, 1)) == []


def test_periodic_reports_include_the_events_their_rule_covers_in_their_period() -> None:
    plan = date(2026, 1, 1)
    mild = replace(SERIOUS, serious_criteria=frozenset(), ctcae_grade=1, narrative="")
    events = [
        ("mild in period 2", replace(mild, awareness_date=date(2026, 3, 2))),
        ("serious in period 2", replace(SERIOUS, awareness_date=date(2026, 3, 5))),
        ("mild unrelated", replace(mild, related_to_cells="not_related",
                                   related_to_procedure="not_related")),
        ("mild in period 1", replace(mild, awareness_date=date(2026, 3, 1))),
    ]  # fmt: skip
    reports = periodic_reports(("jp_asrm",), plan, date(2026, 4, 1))
    by_id = {(r.rule.id, r.number): r for r in reports}
    assert periodic_events(by_id[("jp_asrm_60_day", 1)], events) == ["mild in period 1"]
    assert periodic_events(by_id[("jp_asrm_60_day", 2)], events) == ["mild in period 2"]
    assert periodic_events(by_id[("jp_asrm_annual", 1)], events) == [
        "mild in period 2",
        "serious in period 2",
        "mild in period 1",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "jurisdictions: '' names none"),
        ("us_ind,eu_ctr", "jurisdictions: 'eu_ctr' is no jurisdiction"),
        (["jp"], "jurisdictions: 'jp' is no jurisdiction"),
    ],
)
def test_bad_jurisdictions_are_refused_naming_the_allowed(value: object, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message) as caught:
        check_jurisdictions(value)
    assert "jp_asrm" in str(caught.value) and "us_ind" in str(caught.value)


def test_jurisdictions_are_kept_once_and_sorted() -> None:
    assert check_jurisdictions("us_ind, jp_asrm,us_ind") == ("jp_asrm", "us_ind")
