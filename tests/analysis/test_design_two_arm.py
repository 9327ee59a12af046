"""Two-arm exact power: the rejection sets against scipy.stats' fisher_exact and boschloo_exact
table by table, and the power against a direct sum over every outcome."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cordtrial.analysis.designs.two_arm import (
    exact_power,
    rejection_region,
    two_arm_exact_sample_size,
)
from cordtrial.analysis.errors import AnalysisInputError


@pytest.mark.parametrize("alternative", ["one-sided", "two-sided"])
@pytest.mark.parametrize(("n_t", "n_c"), [(7, 7), (6, 9)])
def test_fisher_region_equals_scipy_fisher_exact(alternative, n_t, n_c):
    """Source: scipy.stats.fisher_exact on every 2x2 table (one-sided: 'greater')."""
    region = rejection_region(n_t, n_c, test="fisher", alternative=alternative)
    side = "greater" if alternative == "one-sided" else "two-sided"
    for xt in range(n_t + 1):
        for xc in range(n_c + 1):
            p = stats.fisher_exact([[xt, xc], [n_t - xt, n_c - xc]], alternative=side).pvalue
            assert region[xt, xc] == (p <= 0.05), (xt, xc, p)


@pytest.mark.parametrize("alternative", ["one-sided", "two-sided"])
def test_boschloo_region_equals_scipy_boschloo_exact(alternative):
    """Source: scipy.stats.boschloo_exact on every 2x2 table of 8 per arm."""
    n = 8
    region = rejection_region(n, n, test="boschloo", alternative=alternative)
    side = "greater" if alternative == "one-sided" else "two-sided"
    for xt in range(n + 1):
        for xc in range(n + 1):
            p = stats.boschloo_exact([[xt, xc], [n - xt, n - xc]], alternative=side).pvalue
            assert region[xt, xc] == (p <= 0.05), (xt, xc, p)


def test_boschloo_rejects_every_table_fisher_rejects():
    """Boschloo's test is uniformly more powerful than Fisher's (Boschloo 1970)."""
    fisher = rejection_region(15, 15, test="fisher")
    boschloo = rejection_region(15, 15, test="boschloo")
    assert (boschloo | ~fisher).all() and boschloo.sum() > fisher.sum()


def test_exact_power_is_the_sum_over_rejected_tables():
    """Source: a direct double loop over the outcomes with scipy.stats.binom."""
    region = rejection_region(12, 10, test="fisher")
    direct = sum(
        stats.binom.pmf(xt, 12, 0.6) * stats.binom.pmf(xc, 10, 0.2)
        for xt in range(13) for xc in range(11) if region[xt, xc]
    )  # fmt: skip
    assert exact_power(12, 10, 0.6, 0.2) == pytest.approx(direct, abs=1e-12)


@pytest.mark.parametrize("test", ["fisher", "boschloo"])
def test_sample_size_is_the_smallest_n_reaching_power(test):
    d = two_arm_exact_sample_size(0.6, 0.2, test=test, power=0.8)
    assert d.power >= 0.8
    for n in range(2, d.n_per_arm):
        assert exact_power(n, n, 0.6, 0.2, test=test) < 0.8
    assert d.attained_alpha <= 0.05 + 1e-9


def test_boschloo_needs_no_more_participants_than_fisher():
    fisher = two_arm_exact_sample_size(0.5, 0.2, test="fisher")
    boschloo = two_arm_exact_sample_size(0.5, 0.2, test="boschloo")
    assert boschloo.n_per_arm <= fisher.n_per_arm


def test_fisher_attained_size_is_below_alpha_over_the_common_rate():
    """The attained size is the largest type I error over a fine grid of common rates."""
    d = two_arm_exact_sample_size(0.6, 0.2, test="fisher")
    region = rejection_region(d.n_per_arm, d.n_per_arm, test="fisher")
    n = d.n_per_arm
    worst = max(
        float(np.sum(np.outer(stats.binom.pmf(np.arange(n + 1), n, pi),
                              stats.binom.pmf(np.arange(n + 1), n, pi)) * region))
        for pi in np.linspace(0.01, 0.99, 99)
    )  # fmt: skip
    assert worst <= d.attained_alpha + 1e-12 <= 0.05


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"rate_treated": 0.2, "rate_control": 0.4}, "rate_treated"),
     ({"rate_treated": 0.6, "rate_control": 0.2, "test": "chi2"}, "test"),
     ({"rate_treated": 0.6, "rate_control": 0.55, "n_max": 20}, "n_max")],
)  # fmt: skip
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(AnalysisInputError) as info:
        two_arm_exact_sample_size(**kwargs)
    assert info.value.field == field
