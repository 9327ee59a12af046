"""Immunosuppression rules: the target range in force at its boundaries, trough flags, unit
conversion (pint, the drug's molar mass), taper schedule and exposure days."""

from __future__ import annotations

from datetime import date

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.immunosuppression import (
    DRUGS,
    TaperStep,
    check_taper,
    check_targets,
    convert_trough,
    dose_on,
    exposure_days,
    flag_trough,
    interrupted_days,
    planned_dose,
    taper_schedule,
    target_in_force,
)

#: Prograf US label, adult kidney with azathioprine: month 1-3 7-20 ng/mL, month 4-12 5-15 ng/mL
#: (shared/reference/tacrolimus.md section 1), months as days 0-90 and 91-364.
LABEL_KIDNEY = check_targets(
    [{"from_day": 91, "until_day": 365, "low": 5, "high": 15},
     {"from_day": 0, "until_day": 91, "low": 7, "high": 20}]
)  # fmt: skip


@pytest.mark.parametrize(
    ("day", "expected"),
    [(-1, None), (0, (7, 20)), (90, (7, 20)), (91, (5, 15)), (364, (5, 15)), (365, None)],
)
def test_target_in_force_changes_exactly_at_the_period_boundary(
    day: int, expected: tuple[float, float] | None
) -> None:
    """Label month 1-3 vs month 4-12: day 90 is still the first period, day 91 the second."""
    target = target_in_force(LABEL_KIDNEY, day)
    assert (None if target is None else (target.low, target.high)) == expected


def test_an_open_ended_period_applies_to_every_later_day() -> None:
    targets = check_targets([{"from_day": 0, "until_day": None, "low": 3, "high": 7}])
    assert target_in_force(targets, 10_000) == targets[0]


def test_overlapping_periods_are_refused_naming_the_entry() -> None:
    with pytest.raises(InvalidValueError, match=r"targets\[1\]\.from_day: 60") as caught:
        check_targets([{"from_day": 0, "until_day": 91, "low": 7, "high": 20},
                       {"from_day": 60, "until_day": None, "low": 5, "high": 15}])  # fmt: skip
    assert "must not overlap" in caught.value.allowed


def test_a_target_whose_high_is_not_above_its_low_is_refused() -> None:
    with pytest.raises(InvalidValueError, match=r"targets\[0\]\.high"):
        check_targets([{"from_day": 0, "until_day": None, "low": 7, "high": 7}])


@pytest.mark.parametrize(
    ("value", "flag"),
    [(6.99, "below"), (7.0, "in_range"), (20.0, "in_range"), (20.01, "above"), (12, "in_range")],
)
def test_flag_includes_the_limits_in_the_range(value: float, flag: str) -> None:
    assert flag_trough(value, LABEL_KIDNEY[0]) == flag


def test_flag_without_a_target_says_so() -> None:
    assert flag_trough(12.0, None) == "no_target"


def test_a_limit_reached_through_a_conversion_stays_in_range() -> None:
    """7 ng/mL entered as nmol/L (7 / 804.03 * 1000) converts back to 7.000000000x: in range."""
    nmol = 7 / DRUGS["tacrolimus"].molar_mass * 1000
    value = convert_trough("tacrolimus", nmol, "nmol/L", "ng/mL")
    assert value == pytest.approx(7.0)
    assert flag_trough(value, LABEL_KIDNEY[0]) == "in_range"


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [(10.0, "ng/mL", 10.0), (10.0, "ug/L", 10.0), (1000.0, "ng/dL", 10.0), (0.01, "mg/L", 10.0),
     # 10 nmol/L x 804.03 g/mol = 8040.3 ng/L = 8.0403 ng/mL (molar mass: C44H69NO12)
     (10.0, "nmol/L", 8.0403), (10_000.0, "pmol/L", 8.0403)],
)  # fmt: skip
def test_trough_units_convert_to_the_protocol_unit(
    value: float, unit: str, expected: float
) -> None:
    assert convert_trough("tacrolimus", value, unit, "ng/mL") == pytest.approx(expected)


def test_tacrolimus_molar_mass_is_its_formula_weight() -> None:
    """C44H69NO12 with IUPAC 2021 abridged standard atomic weights."""
    weight = 44 * 12.011 + 69 * 1.008 + 14.007 + 12 * 15.999
    assert DRUGS["tacrolimus"].molar_mass == pytest.approx(weight, abs=0.005)


def test_an_incompatible_unit_is_refused_naming_field_value_and_allowed() -> None:
    with pytest.raises(InvalidValueError) as caught:
        convert_trough("tacrolimus", 10, "U/L", "ng/mL")
    error = caught.value
    assert (error.field, error.value, error.problem) == ("unit", "U/L", "is another kind of unit")
    assert "ng/mL" in error.allowed and "nmol/L" in error.allowed and "U/L" not in error.allowed


def test_an_unknown_unit_is_refused() -> None:
    with pytest.raises(InvalidValueError, match=r"unit: 'mg/kg'"):
        convert_trough("tacrolimus", 10, "mg/kg", "ng/mL")


def test_taper_schedule_runs_from_start_through_each_step_to_the_planned_stop() -> None:
    steps = check_taper([{"day": 120, "dose": 2}, {"day": 91, "dose": 3}], start_day=0,
                        planned_stop_day=182)  # fmt: skip
    assert steps == [TaperStep(91, 3), TaperStep(120, 2)]
    periods = taper_schedule(dose=4, start_day=0, taper=steps, planned_stop_day=182)
    assert periods == [(0, 91, 4), (91, 120, 3), (120, 182, 2)]
    plan = {"dose": 4.0, "start_day": 0, "taper": steps, "planned_stop_day": 182}
    assert [planned_dose(d, **plan) for d in (-1, 0, 90, 91, 119, 120, 181, 182)] == [
        0, 4, 4, 3, 3, 2, 2, 0
    ]  # fmt: skip


def test_a_taper_step_on_or_after_the_planned_stop_is_refused() -> None:
    with pytest.raises(InvalidValueError, match=r"taper\[0\]\.day: 182"):
        check_taper([{"day": 182, "dose": 1}], start_day=0, planned_stop_day=182)


def test_exposure_counts_days_on_drug_less_interruptions() -> None:
    """Start 1 March, stop 31 March (first day without drug): 30 days on drug; an interruption
    of 5-7 March and an overlapping one of 6-9 March take 5 days off."""
    start, stop = date(2026, 3, 1), date(2026, 3, 31)
    gaps = [(date(2026, 3, 5), date(2026, 3, 7)), (date(2026, 3, 6), date(2026, 3, 9))]
    assert exposure_days(start, stop, [], as_of=date(2026, 12, 1)) == 30
    assert exposure_days(start, stop, gaps, as_of=date(2026, 12, 1)) == 25
    assert exposure_days(start, None, gaps, as_of=date(2026, 3, 10)) == 5
    assert exposure_days(start, None, [], as_of=date(2026, 2, 1)) == 0


def test_an_open_interruption_runs_to_the_day_asked() -> None:
    assert interrupted_days([(date(2026, 3, 5), None)], start=date(2026, 3, 1),
                            end=date(2026, 3, 10)) == 6  # fmt: skip


def test_dose_on_a_day_follows_changes_interruptions_and_the_stop() -> None:
    course = {"started_on": date(2026, 3, 1), "start_dose": 6.0,
              "changes": [(date(2026, 3, 10), 4.0)],
              "interruptions": [(date(2026, 3, 15), date(2026, 3, 16))],
              "stopped_on": date(2026, 3, 20)}  # fmt: skip
    days = [date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 10), date(2026, 3, 15),
            date(2026, 3, 17), date(2026, 3, 20)]  # fmt: skip
    assert [dose_on(d, **course) for d in days] == [0, 6, 4, 0, 4, 0]  # type: ignore[arg-type]
