"""The four-participant worked example from the synthetic demo trial: 2 of 4 AIS A participants
improved (one to D, one to C). Every expected number below is computed independently -- from
first principles with ``math.comb`` and checked against scipy / statsmodels -- never copied from
cordtrial's output."""

from __future__ import annotations

import math
import warnings

import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from cordtrial.analysis.cohort import compare_with_natural_history, sensitivity
from cordtrial.analysis.endpoints import LAST, conversion_summary, endpoint_table
from cordtrial.analysis.errors import SmallSampleWarning

P0 = 0.261  # van Middendorp 2009 (EMSCI), AIS A above T11: 42/161 converted at one year


def _independent_p_value(k: int, n: int, p: float) -> float:
    """P(X >= k), X ~ Binomial(n, p), summed term by term."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def _independent_posterior(k: int, n: int, p0: float) -> float:
    """P(p > p0) under Beta(1 + k, 1 + n - k): the regularised incomplete beta function of
    integer arguments equals a binomial tail, I_x(a, b) = P(Binomial(a + b - 1, x) >= a)."""
    a, b = 1 + k, 1 + n - k
    m = a + b - 1
    cdf = sum(math.comb(m, j) * p0**j * (1 - p0) ** (m - j) for j in range(a, m + 1))
    return 1 - cdf


def test_demo_gives_two_of_four_converted(demo_data):
    """Source: the demo's stated trajectories (DEMO_TRAJECTORIES): A->D, A->C, A, A."""
    ep = endpoint_table(demo_data.exams, participants=demo_data.participants,
                        baseline_visit="screening")  # fmt: skip
    summary = conversion_summary(ep, LAST).iloc[0]
    assert (summary["yes"], summary["assessed"], summary["expected"]) == (2, 4, 4)
    shifts = set(ep[ep["status"] == "observed"].groupby("participant").tail(1)["ais_shift"])
    assert shifts == {"A->D", "A->C", "A->A"}


def test_worked_example_numbers_match_independent_computation():
    with pytest.warns(SmallSampleWarning):
        c = compare_with_natural_history(2, 4)
    independent_p = _independent_p_value(2, 4, P0)
    assert independent_p == pytest.approx(
        stats.binomtest(2, 4, P0, alternative="greater").pvalue, rel=1e-12
    )
    assert c.test.p_value == pytest.approx(independent_p, rel=1e-12)
    assert c.expected == pytest.approx(4 * P0)
    cp = proportion_confint(2, 4, alpha=0.05, method="beta")
    assert (c.test.ci_low, c.test.ci_high) == pytest.approx(cp, abs=1e-12)
    posterior = _independent_posterior(2, 4, P0)
    assert posterior == pytest.approx(stats.beta.sf(P0, 3, 3), rel=1e-12)
    assert c.posterior.prob_exceeds == pytest.approx(posterior, rel=1e-12)


def test_worked_example_p_value_by_hand():
    """By hand: P(X >= 2) = 1 - 0.739^4 - 4 x 0.261 x 0.739^3 = 0.2804 (4 d.p.)."""
    by_hand = 1 - 0.739**4 - 4 * 0.261 * 0.739**3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        assert compare_with_natural_history(2, 4).test.p_value == pytest.approx(by_hand)
    assert round(by_hand, 4) == 0.2804


def test_sensitivity_covers_every_confirmed_source_and_reproduces_each_p_value():
    with pytest.warns(SmallSampleWarning):
        table = sensitivity(2, 4)
    assert (table["confidence"] == "C").all()
    for row in table.itertuples(index=False):
        assert row.p_value == pytest.approx(_independent_p_value(2, 4, row.natural_rate))
        assert row.prob_exceeds == pytest.approx(_independent_posterior(2, 4, row.natural_rate))
    # a lower natural rate makes the same data look stronger
    assert table["p_value"].is_monotonic_increasing


def test_sensitivity_with_opt_in_adds_secondary_sources():
    with pytest.warns(SmallSampleWarning):
        default = sensitivity(2, 4)
        wider = sensitivity(2, 4, include_unconfirmed=True)
    assert len(wider) > len(default)
    assert set(wider["confidence"]) - {"C"}
