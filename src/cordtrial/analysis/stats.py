"""Exact and Bayesian statistics of a proportion: a cohort's conversion rate against a natural
rate.

* :func:`exact_binomial_test` -- the exact binomial test (Clopper & Pearson 1934 interval;
  two-sided p-value by the method of small probabilities, as R's ``binom.test`` and
  ``scipy.stats.binomtest``).
* :func:`clopper_pearson` -- the exact ("conservative") confidence interval of a proportion:
  the quantiles of Beta(k, n-k+1) and Beta(k+1, n-k) (Clopper CJ, Pearson ES. Biometrika
  1934;26:404-413).
* :func:`beta_binomial_posterior` -- conjugate Bayesian analysis: a Beta(a, b) prior on the
  treated rate, binomial data, posterior Beta(a+k, b+n-k), and the posterior probability that
  the treated rate exceeds a natural rate (Gelman et al., *Bayesian Data Analysis*, 3rd ed.,
  section 2.4).

Results are frozen objects with the estimate, interval, p-value or probability, the method in
words and a ``summary`` table; nothing is printed. Samples under :data:`SMALL_SAMPLE` give a
:class:`~cordtrial.analysis.errors.SmallSampleWarning` (the numbers are exact but can say little),
also kept in the result's ``caveats``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import pandas as pd
from scipy import stats

from cordtrial.analysis.errors import AnalysisInputError, SmallSampleWarning

__all__ = [
    "SMALL_SAMPLE",
    "Alternative",
    "BinomialTestResult",
    "PosteriorResult",
    "beta_binomial_posterior",
    "check_count",
    "check_probability",
    "clopper_pearson",
    "exact_binomial_test",
]

#: Below this many participants a result carries a small-sample warning.
SMALL_SAMPLE: Final = 10
Alternative = Literal["greater", "less", "two-sided"]
_ALTERNATIVES = ("greater", "less", "two-sided")
# Relative tolerance of "as or less probable" in the two-sided test (R's binom.test: 1 + 1e-7).
_RELERR = 1 + 1e-7


def check_count(name: str, value: object, low: int = 0, high: int | None = None) -> int:
    """An integer in ``[low, high]``, else :class:`AnalysisInputError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise AnalysisInputError(name, value, "an integer", "is not an integer")
    v = int(value)
    if v < low or (high is not None and v > high):
        allowed = f"an integer {low}-{high}" if high is not None else f"an integer >= {low}"
        raise AnalysisInputError(name, value, allowed)
    return v


def check_probability(name: str, value: object, *, open_interval: bool = True) -> float:
    """A number strictly between 0 and 1 (or in [0, 1] when ``open_interval`` is false)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise AnalysisInputError(name, value, "a number between 0 and 1", "is not a number")
    v = float(value)
    ok = (0 < v < 1) if open_interval else (0 <= v <= 1)
    if not ok or math.isnan(v):
        allowed = "a number strictly between 0 and 1" if open_interval else "a number in [0, 1]"
        raise AnalysisInputError(name, value, allowed)
    return v


def _small(n: int, what: str) -> tuple[str, ...]:
    if n >= SMALL_SAMPLE:
        return ()
    message = (
        f"{what}: n={n} is under {SMALL_SAMPLE}; the result is exact but the interval is wide "
        "and a single participant changes the conclusion"
    )
    warnings.warn(message, SmallSampleWarning, stacklevel=3)
    return (message,)


def clopper_pearson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided confidence interval of a binomial proportion.

    Parameters
    ----------
    successes, n : int
        Events and trials (``0 <= successes <= n``, ``n >= 1``).
    confidence : float
        Coverage, e.g. 0.95.

    Returns
    -------
    (float, float)
        Lower and upper limits: the ``alpha/2`` quantile of Beta(k, n-k+1) (0 when k=0) and the
        ``1-alpha/2`` quantile of Beta(k+1, n-k) (1 when k=n); Clopper & Pearson 1934.
    """
    n = check_count("n", n, 1)
    k = check_count("successes", successes, 0, n)
    confidence = check_probability("confidence", confidence)
    alpha = 1 - confidence
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


@dataclass(frozen=True, slots=True)
class BinomialTestResult:
    """An exact binomial test of ``successes`` of ``n`` against ``null_proportion``.

    Attributes
    ----------
    successes, n : int
    null_proportion : float
        The natural (spontaneous) rate under the null hypothesis.
    alternative : str
        ``greater`` (the treated rate exceeds the natural rate), ``less`` or ``two-sided``.
    estimate : float
        ``successes / n``.
    ci_low, ci_high : float
        Clopper-Pearson two-sided interval at ``confidence``.
    p_value : float
    expected : float
        ``n * null_proportion``: the events expected without treatment.
    method : str
    caveats : tuple of str
    """

    successes: int
    n: int
    null_proportion: float
    alternative: str
    estimate: float
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float
    expected: float
    method: str
    caveats: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> pd.DataFrame:
        """One row: the numbers of the test."""
        return pd.DataFrame(
            [
                {
                    "successes": self.successes,
                    "n": self.n,
                    "estimate": self.estimate,
                    f"ci_low_{self.confidence:.0%}": self.ci_low,
                    f"ci_high_{self.confidence:.0%}": self.ci_high,
                    "null_proportion": self.null_proportion,
                    "expected": self.expected,
                    "alternative": self.alternative,
                    "p_value": self.p_value,
                    "method": self.method,
                }
            ]
        )


def exact_binomial_test(
    successes: int,
    n: int,
    null_proportion: float,
    *,
    alternative: Alternative = "greater",
    confidence: float = 0.95,
) -> BinomialTestResult:
    """Exact binomial test of a proportion against a fixed natural rate.

    Parameters
    ----------
    successes, n : int
        Participants with the outcome, and participants assessed.
    null_proportion : float
        The rate without treatment (strictly between 0 and 1).
    alternative : {"greater", "less", "two-sided"}
        ``greater`` (default): the treated rate is higher than the natural rate.
    confidence : float
        Coverage of the Clopper-Pearson interval reported with the test.

    Returns
    -------
    BinomialTestResult

    Notes
    -----
    ``greater``: P(X >= k | n, p0); ``less``: P(X <= k | n, p0); ``two-sided``: the sum of
    P(X = i) over every i with P(X = i) <= P(X = k) (within a relative 1e-7), the "method of
    small probabilities" of R's ``binom.test`` and ``scipy.stats.binomtest``.
    """
    n = check_count("n", n, 1)
    k = check_count("successes", successes, 0, n)
    p0 = check_probability("null_proportion", null_proportion)
    if alternative not in _ALTERNATIVES:
        raise AnalysisInputError("alternative", alternative, "one of " + ", ".join(_ALTERNATIVES))
    caveats = _small(n, "exact binomial test")
    if alternative == "greater":
        p = float(stats.binom.sf(k - 1, n, p0))
    elif alternative == "less":
        p = float(stats.binom.cdf(k, n, p0))
    else:
        pmf = stats.binom.pmf(np.arange(n + 1), n, p0)
        p = float(min(1.0, pmf[pmf <= pmf[k] * _RELERR].sum()))
    low, high = clopper_pearson(k, n, confidence)
    method = (
        f"exact binomial test ({alternative}) against p0={p0:g}; "
        f"Clopper-Pearson {confidence:.0%} interval"
    )
    return BinomialTestResult(
        successes=k,
        n=n,
        null_proportion=p0,
        alternative=alternative,
        estimate=k / n,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        p_value=min(1.0, p),
        expected=n * p0,
        method=method,
        caveats=caveats,
    )


@dataclass(frozen=True, slots=True)
class PosteriorResult:
    """Beta-binomial posterior of a treated rate, compared with a natural rate.

    Attributes
    ----------
    successes, n : int
    prior_a, prior_b : float
        The Beta prior's parameters.
    posterior_a, posterior_b : float
        ``prior_a + successes`` and ``prior_b + n - successes``.
    natural_rate : float
    prob_exceeds : float
        Posterior probability that the treated rate exceeds ``natural_rate``.
    estimate : float
        Posterior mean.
    ci_low, ci_high : float
        Equal-tailed credible interval at ``credibility``.
    method : str
    caveats : tuple of str
    """

    successes: int
    n: int
    prior_a: float
    prior_b: float
    posterior_a: float
    posterior_b: float
    natural_rate: float
    prob_exceeds: float
    estimate: float
    ci_low: float
    ci_high: float
    credibility: float
    method: str
    caveats: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> pd.DataFrame:
        """One row: prior, posterior and the probability of exceeding the natural rate."""
        return pd.DataFrame(
            [
                {
                    "successes": self.successes,
                    "n": self.n,
                    "prior": f"Beta({self.prior_a:g}, {self.prior_b:g})",
                    "posterior": f"Beta({self.posterior_a:g}, {self.posterior_b:g})",
                    "posterior_mean": self.estimate,
                    f"cri_low_{self.credibility:.0%}": self.ci_low,
                    f"cri_high_{self.credibility:.0%}": self.ci_high,
                    "natural_rate": self.natural_rate,
                    "prob_exceeds": self.prob_exceeds,
                    "method": self.method,
                }
            ]
        )


def beta_binomial_posterior(
    successes: int,
    n: int,
    natural_rate: float,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    credibility: float = 0.95,
) -> PosteriorResult:
    """Posterior probability that a treated rate exceeds a natural rate (beta-binomial model).

    Parameters
    ----------
    successes, n : int
        Participants with the outcome, and participants assessed.
    natural_rate : float
        The spontaneous rate to compare with (treated as known).
    prior : (float, float)
        Beta(a, b) prior of the treated rate. The default Beta(1, 1) is uniform on [0, 1]: every
        rate equally likely before the data. A sceptical prior centred on the natural rate p0 with
        the weight of m participants is Beta(m p0, m (1 - p0)); reports state the prior used.
    credibility : float
        Coverage of the equal-tailed credible interval.

    Returns
    -------
    PosteriorResult

    Notes
    -----
    Conjugacy: prior Beta(a, b) and k of n give posterior Beta(a + k, b + n - k);
    P(p > p0 | data) = 1 - I_{p0}(a + k, b + n - k), I the regularised incomplete beta
    function (Gelman et al., *Bayesian Data Analysis*, 3rd ed., 2013, section 2.4).
    """
    n = check_count("n", n, 1)
    k = check_count("successes", successes, 0, n)
    p0 = check_probability("natural_rate", natural_rate)
    credibility = check_probability("credibility", credibility)
    a, b = prior
    for name, v in (("prior[0]", a), ("prior[1]", b)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0 or math.isinf(v):
            raise AnalysisInputError(name, v, "a positive finite number (Beta prior parameter)")
    caveats = _small(n, "beta-binomial posterior")
    pa, pb = float(a) + k, float(b) + n - k
    tail = (1 - credibility) / 2
    return PosteriorResult(
        successes=k,
        n=n,
        prior_a=float(a),
        prior_b=float(b),
        posterior_a=pa,
        posterior_b=pb,
        natural_rate=p0,
        prob_exceeds=float(stats.beta.sf(p0, pa, pb)),
        estimate=pa / (pa + pb),
        ci_low=float(stats.beta.ppf(tail, pa, pb)),
        ci_high=float(stats.beta.ppf(1 - tail, pa, pb)),
        credibility=credibility,
        method=(
            f"beta-binomial: prior Beta({a:g}, {b:g}), posterior Beta({pa:g}, {pb:g}); "
            f"P(rate > {p0:g})"
        ),
        caveats=caveats,
    )
