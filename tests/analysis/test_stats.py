"""Exact and Bayesian statistics, checked against scipy, statsmodels, closed forms and R's
documented example."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from statsmodels.stats.proportion import proportion_confint

from cordtrial.analysis.errors import AnalysisInputError, SmallSampleWarning
from cordtrial.analysis.stats import (
    beta_binomial_posterior,
    clopper_pearson,
    exact_binomial_test,
)

pytestmark = pytest.mark.filterwarnings("ignore::cordtrial.analysis.errors.SmallSampleWarning")

counts = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)
rates = st.floats(min_value=0.01, max_value=0.99)


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
@pytest.mark.parametrize(("k", "n", "p0"), [(2, 4, 0.261), (0, 10, 0.2), (7, 12, 0.3),
                                            (15, 80, 0.154), (30, 30, 0.9)])  # fmt: skip
def test_binomial_p_value_equals_scipy_binomtest(k: int, n: int, p0: float, alternative: str):
    """Source: scipy.stats.binomtest (exact; two-sided by the method of small probabilities)."""
    ours = exact_binomial_test(k, n, p0, alternative=alternative)  # type: ignore[arg-type]
    theirs = stats.binomtest(k, n, p0, alternative=alternative)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-12)


def test_binomial_test_matches_r_documented_example():
    """Source: R ?binom.test, Mendel's peas: binom.test(c(682, 243), p = 3/4) gives
    p-value = 0.3825 and 95% CI 0.7076683 to 0.7654066."""
    result = exact_binomial_test(682, 925, 0.75, alternative="two-sided")
    assert result.p_value == pytest.approx(0.3825, abs=5e-5)
    assert result.ci_low == pytest.approx(0.7076683, abs=1e-7)
    assert result.ci_high == pytest.approx(0.7654066, abs=1e-7)


@given(counts, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
@settings(max_examples=60, deadline=None)
def test_clopper_pearson_equals_statsmodels_beta_interval(kn: tuple[int, int], conf: float):
    """Source: statsmodels.stats.proportion.proportion_confint(method="beta")."""
    k, n = kn
    low, high = clopper_pearson(k, n, conf)
    s_low, s_high = proportion_confint(k, n, alpha=1 - conf, method="beta")
    assert low == pytest.approx(s_low, abs=1e-10)
    assert high == pytest.approx(s_high, abs=1e-10)


@pytest.mark.parametrize("n", [1, 4, 10, 30])
def test_clopper_pearson_at_zero_and_n_matches_closed_form(n: int):
    """Source: closed form of the exact interval at the edges, 1 - (alpha/2)^(1/n) and
    (alpha/2)^(1/n) (Clopper & Pearson 1934)."""
    assert clopper_pearson(0, n, 0.95) == pytest.approx((0.0, 1 - 0.025 ** (1 / n)))
    assert clopper_pearson(n, n, 0.95) == pytest.approx((0.025 ** (1 / n), 1.0))


@given(counts)
@settings(max_examples=60, deadline=None)
def test_clopper_pearson_contains_estimate_and_widens_with_confidence(kn: tuple[int, int]):
    """Invariant: the interval holds k/n, and a higher confidence gives a wider interval."""
    k, n = kn
    narrow = clopper_pearson(k, n, 0.8)
    wide = clopper_pearson(k, n, 0.99)
    assert narrow[0] <= k / n <= narrow[1]
    assert wide[0] <= narrow[0] and narrow[1] <= wide[1]


@given(counts, rates, st.floats(0.2, 5), st.floats(0.2, 5))
@settings(max_examples=40, deadline=None)
def test_posterior_probability_equals_numerical_integration(
    kn: tuple[int, int], p0: float, a: float, b: float
):
    """Source: independent computation -- likelihood x Beta(a, b) prior integrated with
    scipy.integrate.quad, normalised, over (p0, 1)."""
    k, n = kn
    result = beta_binomial_posterior(k, n, p0, prior=(a, b))

    def density(p: float) -> float:
        return float(stats.binom.pmf(k, n, p) * stats.beta.pdf(p, a, b))

    above = integrate.quad(density, p0, 1, limit=200, epsabs=1e-13)[0]
    total = integrate.quad(density, 0, p0, limit=200, epsabs=1e-13)[0] + above
    assert result.prob_exceeds == pytest.approx(above / total, abs=2e-6)


@pytest.mark.parametrize(("n", "p0"), [(1, 0.2), (4, 0.261), (10, 0.5)])
def test_posterior_with_uniform_prior_and_all_successes_matches_closed_form(n: int, p0: float):
    """Source: closed form -- posterior Beta(n + 1, 1) has P(p > p0) = 1 - p0^(n + 1)."""
    assert beta_binomial_posterior(n, n, p0).prob_exceeds == pytest.approx(1 - p0 ** (n + 1))


@given(counts, rates)
@settings(max_examples=80, deadline=None)
def test_posterior_probability_increases_with_successes(kn: tuple[int, int], p0: float):
    """Invariant: one more success (same n) never lowers P(rate > p0)."""
    k, n = kn
    if k == n:
        k -= 1
    lower = beta_binomial_posterior(k, n, p0).prob_exceeds
    higher = beta_binomial_posterior(k + 1, n, p0).prob_exceeds
    assert higher >= lower


@given(counts, rates)
@settings(max_examples=80, deadline=None)
def test_one_sided_p_value_decreases_with_successes(kn: tuple[int, int], p0: float):
    """Invariant: P(X >= k) falls as k rises."""
    k, n = kn
    if k == n:
        k -= 1
    assert exact_binomial_test(k + 1, n, p0).p_value <= exact_binomial_test(k, n, p0).p_value


def test_small_sample_warns_and_records_caveat():
    """n under 10 gives a SmallSampleWarning, kept in the result too."""
    with pytest.warns(SmallSampleWarning, match="n=4"):
        result = exact_binomial_test(2, 4, 0.261)
    assert result.caveats and "n=4" in result.caveats[0]


def test_large_sample_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = exact_binomial_test(20, 40, 0.261)
    assert result.caveats == ()


def test_result_summary_is_a_one_row_table():
    result = exact_binomial_test(20, 40, 0.261)
    assert list(result.summary["p_value"]) == [result.p_value]
    assert result.summary.loc[0, "expected"] == pytest.approx(40 * 0.261)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: exact_binomial_test(5, 4, 0.2), "successes"),
        (lambda: exact_binomial_test(1, 0, 0.2), "n"),
        (lambda: exact_binomial_test(1, 4, 1.2), "null_proportion"),
        (lambda: exact_binomial_test(1, 4, 0.2, alternative="bigger"), "alternative"),  # type: ignore[arg-type]
        (lambda: clopper_pearson(1, 4, 95), "confidence"),
        (lambda: beta_binomial_posterior(1, 4, 0.2, prior=(0, 1)), "prior[0]"),
        (lambda: exact_binomial_test(1.5, 4, 0.2), "successes"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_names_the_field(call, field: str):
    with pytest.raises(AnalysisInputError) as info:
        call()
    assert info.value.field == field
    assert field in str(info.value)
