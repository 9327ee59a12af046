"""Functional measures: SCIM III, WISCI II, 10-metre and 6-minute walk ranges."""

from __future__ import annotations

import pytest

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.measures import (
    Scim,
    SixMinuteWalkResult,
    TenMetreWalkResult,
    check_wisci,
)


def test_scim_total_is_the_sum_of_subscales() -> None:
    """SCIM III: self-care 0-20, respiration and sphincter 0-40, mobility 0-40 (Catz 2007)."""
    assert Scim(20, 40, 40).total == 100
    assert Scim(0, 0, 0).total == 0
    assert Scim(7, 21, 9).total == 37


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ((21, 0, 0), r"scim.self_care: 21 is out of range \(an integer 0-20\)"),
        ((0, 41, 0), r"scim.respiration_sphincter: 41 is out of range \(an integer 0-40\)"),
        ((0, 0, -1), r"scim.mobility: -1 is out of range \(an integer 0-40\)"),
        ((1.5, 0, 0), r"scim.self_care: 1.5 is not an integer"),
    ],
)
def test_scim_subscale_out_of_range_names_field_value_and_range(
    values: tuple[int, int, int], message: str
) -> None:
    with pytest.raises(InvalidValueError, match=message):
        Scim(*values)


@pytest.mark.parametrize("level", [0, 20])
def test_wisci_bounds_are_inclusive(level: int) -> None:
    assert check_wisci(level) == level


@pytest.mark.parametrize("level", [-1, 21, True])
def test_wisci_outside_0_20_is_refused(level: int) -> None:
    with pytest.raises(InvalidValueError, match=r"wisci.level"):
        check_wisci(level)


def test_ten_metre_walk_needs_positive_seconds_and_a_start_mode() -> None:
    walk = TenMetreWalkResult(12.5, "flying")
    assert walk.speed_m_per_s == pytest.approx(0.8)
    with pytest.raises(
        InvalidValueError, match=r"ten_metre_walk.seconds: 0 is out of range \(a number > 0 s\)"
    ):
        TenMetreWalkResult(0, "standing")
    with pytest.raises(InvalidValueError, match=r"ten_metre_walk.start_mode: 'running'"):
        TenMetreWalkResult(10, "running")


def test_six_minute_walk_allows_zero_metres_but_needs_a_track() -> None:
    assert SixMinuteWalkResult(0, 30).metres == 0
    with pytest.raises(InvalidValueError, match=r"six_minute_walk.metres: -1"):
        SixMinuteWalkResult(-1, 30)
    with pytest.raises(InvalidValueError, match=r"six_minute_walk.track_length_m: 0"):
        SixMinuteWalkResult(100, 0)
    with pytest.raises(InvalidValueError, match="is not finite"):
        SixMinuteWalkResult(float("nan"), 30)
