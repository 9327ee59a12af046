"""Sample size and power: against statsmodels and a brute-force exact computation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from cordtrial.analysis.design import (
    single_arm_design,
    single_arm_sample_size,
    two_mean_power,
    two_mean_sample_size,
    two_proportion_power,
    two_proportion_sample_size,
)
from cordtrial.analysis.errors import AnalysisInputError


@pytest.mark.parametrize(("n", "p0", "p1"), [(4, 0.261, 0.6), (20, 0.2, 0.5), (35, 0.2, 0.4)])
def test_single_arm_design_equals_brute_force(n: int, p0: float, p1: float):
    """Source: brute force over every critical count with scipy.stats.binom."""
    r = next(r for r in range(n + 2) if stats.binom.sf(r - 1, n, p0) <= 0.05)
    design = single_arm_design(n, p0, p1)
    assert design.critical == r
    assert design.power == pytest.approx(stats.binom.sf(r - 1, n, p1))
    assert design.attained_alpha <= 0.05


def test_single_arm_sample_size_is_the_smallest_n_reaching_power():
    result = single_arm_sample_size(0.2, 0.4, power=0.8)
    assert result.power >= 0.8
    assert all(single_arm_design(m, 0.2, 0.4).power < 0.8 for m in range(1, result.n_per_arm))
    assert len(result.table) == result.n_per_arm + 10


@pytest.mark.parametrize(("p1", "p2"), [(0.5, 0.25), (0.4, 0.2), (0.3, 0.15)])
def test_two_proportion_sample_size_equals_statsmodels(p1: float, p2: float):
    """Source: statsmodels NormalIndPower with proportion_effectsize (Cohen's h), rounded up."""
    h = proportion_effectsize(p1, p2)
    expected = math.ceil(NormalIndPower().solve_power(h, alpha=0.05, power=0.8))
    assert two_proportion_sample_size(p1, p2).n_per_arm == expected


@pytest.mark.parametrize("difference", [3.0, 5.0, 8.0])
def test_two_mean_sample_size_equals_statsmodels(difference: float):
    """Source: statsmodels TTestIndPower (noncentral t), d = difference / 7.4, rounded up."""
    expected = math.ceil(TTestIndPower().solve_power(difference / 7.4, alpha=0.05, power=0.8))
    assert two_mean_sample_size(difference).n_per_arm == expected


@given(st.integers(2, 200), st.floats(0.5, 20))
@settings(max_examples=50, deadline=None)
def test_two_mean_power_increases_with_n(n: int, difference: float):
    """Invariant: more participants per arm, more power."""
    assert two_mean_power(n + 1, difference) >= two_mean_power(n, difference)


@given(st.integers(2, 200), st.floats(0.05, 0.45), st.floats(0.05, 0.45))
@settings(max_examples=50, deadline=None)
def test_two_proportion_power_increases_with_n(n: int, p: float, gap: float):
    assert two_proportion_power(n + 1, p + gap, p) >= two_proportion_power(n, p + gap, p)


@given(st.integers(1, 80), st.floats(0.02, 0.6))
@settings(max_examples=50, deadline=None)
def test_exact_design_never_exceeds_alpha(n: int, p0: float):
    """Invariant: the exact design's attained type I error is at most alpha."""
    assert single_arm_design(n, p0, min(0.99, p0 + 0.3)).attained_alpha <= 0.05


def test_bad_input_names_the_field():
    with pytest.raises(AnalysisInputError) as info:
        single_arm_sample_size(0.4, 0.2)
    assert info.value.field == "treated_rate"
    with pytest.raises(AnalysisInputError) as info:
        two_mean_sample_size(5, sd=0)
    assert info.value.field == "sd"
