"""Sample size and power for the next trial.

* :func:`single_arm_design` / :func:`single_arm_sample_size` -- one arm against a natural rate,
  exact binomial test (A'Hern RP. Sample size tables for exact single-stage phase II designs.
  Stat Med 2001;20:859-866): reject when at least ``r`` of ``n`` convert, ``r`` the smallest
  count with P(X >= r | p0) <= alpha; power P(X >= r | p1). Exact power is not monotone in n
  (a saw-tooth), so the sample size is the smallest n reaching the power, and the table shows
  the n around it.
* :func:`two_proportion_sample_size` -- two arms, conversion rates, normal approximation on
  Cohen's arcsine effect size h = 2 asin(sqrt p1) - 2 asin(sqrt p2) (Cohen J. *Statistical
  Power Analysis for the Behavioral Sciences*, 2nd ed., 1988, chapter 6).
* :func:`two_mean_sample_size` -- two arms, change in LEMS (or any score), two-sample t-test
  with the exact noncentral t power (Cohen 1988, chapter 2). The default SD of LEMS change, 7.4,
  is the spontaneous one-year change in cervical AIS A (Kirshblum et al. Arch Phys Med Rehabil
  2022;103:649-656).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd
from scipy import stats

from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.stats import check_count, check_probability

__all__ = [
    "LEMS_CHANGE_SD",
    "SampleSize",
    "SingleArmDesign",
    "single_arm_design",
    "single_arm_sample_size",
    "two_mean_power",
    "two_mean_sample_size",
    "two_proportion_power",
    "two_proportion_sample_size",
]

#: SD of the spontaneous one-year LEMS change in cervical AIS A (Kirshblum 2022).
LEMS_CHANGE_SD: Final = 7.4
_N_MAX = 5000


@dataclass(frozen=True, slots=True)
class SingleArmDesign:
    """A single-stage exact design: reject the natural rate when ``>= critical`` of ``n``."""

    n: int
    critical: int
    null_rate: float
    treated_rate: float
    alpha: float
    attained_alpha: float
    power: float

    @property
    def summary(self) -> pd.DataFrame:
        """One row: n, critical count, attained type I error and power."""
        return pd.DataFrame([{f: getattr(self, f) for f in self.__dataclass_fields__}])


def single_arm_design(
    n: int, null_rate: float, treated_rate: float, *, alpha: float = 0.05
) -> SingleArmDesign:
    """Critical count and exact power of a single-arm trial of ``n`` participants.

    Parameters
    ----------
    n : int
    null_rate : float
        Natural conversion rate p0.
    treated_rate : float
        Conversion rate p1 the trial should detect.
    alpha : float
        One-sided type I error.
    """
    n = check_count("n", n, 1, _N_MAX)
    p0 = check_probability("null_rate", null_rate)
    p1 = check_probability("treated_rate", treated_rate)
    alpha = check_probability("alpha", alpha)
    # smallest r with P(X >= r | p0) <= alpha; sf(r - 1) = P(X >= r)
    r = int(stats.binom.isf(alpha, n, p0)) + 1
    while r > 0 and stats.binom.sf(r - 2, n, p0) <= alpha:
        r -= 1
    while stats.binom.sf(r - 1, n, p0) > alpha:
        r += 1
    return SingleArmDesign(
        n=n,
        critical=r,
        null_rate=p0,
        treated_rate=p1,
        alpha=alpha,
        attained_alpha=float(stats.binom.sf(r - 1, n, p0)),
        power=float(stats.binom.sf(r - 1, n, p1)),
    )


@dataclass(frozen=True, slots=True)
class SampleSize:
    """A sample size with the calculation behind it."""

    n_per_arm: int
    total: int
    power: float
    method: str
    table: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """One row: the sample size and its power."""
        return pd.DataFrame(
            [{"n_per_arm": self.n_per_arm, "total": self.total, "power": self.power,
              "method": self.method}]
        )  # fmt: skip


def single_arm_sample_size(
    null_rate: float,
    treated_rate: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    n_max: int = 1000,
) -> SampleSize:
    """Smallest single-arm n whose exact test reaches ``power`` (A'Hern 2001).

    ``table`` lists, for n from 1 to the answer + 10, the critical count, attained alpha and
    power -- the saw-tooth shows where a larger n would have *less* power.
    """
    p0 = check_probability("null_rate", null_rate)
    p1 = check_probability("treated_rate", treated_rate)
    if p1 <= p0:
        raise AnalysisInputError("treated_rate", treated_rate, f"a rate above null_rate {p0:g}")
    target = check_probability("power", power)
    n_max = check_count("n_max", n_max, 1, _N_MAX)
    for n in range(1, n_max + 1):
        design = single_arm_design(n, p0, p1, alpha=alpha)
        if design.power >= target:
            rows = [single_arm_design(m, p0, p1, alpha=alpha) for m in range(1, n + 11)]
            table = pd.DataFrame([{f: getattr(d, f) for f in d.__dataclass_fields__}
                                  for d in rows])  # fmt: skip
            return SampleSize(
                n_per_arm=n, total=n, power=design.power,
                method=(f"exact binomial, one-sided alpha {alpha:g}: reject p0={p0:g} when "
                        f">= {design.critical} of {n} convert (A'Hern 2001)"),
                table=table,
            )  # fmt: skip
    raise AnalysisInputError(
        "n_max", n_max, f"a larger n_max: power {target:g} not reached", "is too small"
    )


def _h(p1: float, p2: float) -> float:
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))


def two_proportion_power(
    n_per_arm: int, rate_treated: float, rate_control: float, *, alpha: float = 0.05,
    ratio: float = 1.0,
) -> float:  # fmt: skip
    """Power of a two-sided comparison of two conversion rates (arcsine normal approximation).

    ``n_per_arm`` is the control arm's size; the treated arm has ``ratio * n_per_arm``.
    """
    n = check_count("n_per_arm", n_per_arm, 2)
    h = abs(_h(check_probability("rate_treated", rate_treated),
               check_probability("rate_control", rate_control)))  # fmt: skip
    alpha = check_probability("alpha", alpha)
    z = stats.norm.ppf(1 - alpha / 2)
    se = math.sqrt(1 / n + 1 / (ratio * n))
    return float(stats.norm.sf(z - h / se) + stats.norm.cdf(-z - h / se))


def two_proportion_sample_size(
    rate_treated: float,
    rate_control: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> SampleSize:
    """Participants per arm to compare two conversion rates, two-sided (Cohen's h)."""
    target = check_probability("power", power)
    if rate_treated == rate_control:
        raise AnalysisInputError("rate_treated", rate_treated, "a rate different from control")
    if not ratio > 0:
        raise AnalysisInputError("ratio", ratio, "a positive allocation ratio")
    rows: list[dict[str, Any]] = []
    for n in range(2, _N_MAX):
        pw = two_proportion_power(n, rate_treated, rate_control, alpha=alpha, ratio=ratio)
        rows.append({"n_per_arm": n, "power": pw})
        if pw >= target:
            return SampleSize(
                n_per_arm=n, total=n + math.ceil(ratio * n), power=pw,
                method=(f"two-sided alpha {alpha:g}, arcsine (Cohen's h = "
                        f"{_h(rate_treated, rate_control):.3f}) normal approximation"),
                table=pd.DataFrame(rows),
            )  # fmt: skip
    raise AnalysisInputError("power", power, "a power reachable with < 5000 per arm")


def two_mean_power(
    n_per_arm: int, difference: float, sd: float = LEMS_CHANGE_SD, *, alpha: float = 0.05
) -> float:
    """Power of a two-sided two-sample t-test (equal arms, common SD), noncentral t."""
    n = check_count("n_per_arm", n_per_arm, 2)
    if not sd > 0:
        raise AnalysisInputError("sd", sd, "a positive standard deviation")
    alpha = check_probability("alpha", alpha)
    df = 2 * n - 2
    nc = abs(difference) / sd * math.sqrt(n / 2)
    t = stats.t.ppf(1 - alpha / 2, df)
    power = float(stats.nct.sf(t, df, nc) + stats.nct.cdf(-t, df, nc))
    if math.isnan(power):  # scipy's noncentral t fails far in the tail: power is ~1 there
        power = float(stats.norm.sf(t - nc) + stats.norm.cdf(-t - nc))
    return power


def two_mean_sample_size(
    difference: float, sd: float = LEMS_CHANGE_SD, *, alpha: float = 0.05, power: float = 0.8
) -> SampleSize:
    """Participants per arm to detect a difference in mean change (e.g. LEMS), two-sided t."""
    target = check_probability("power", power)
    if difference == 0 or math.isnan(difference):
        raise AnalysisInputError("difference", difference, "a non-zero difference in points")
    rows: list[dict[str, Any]] = []
    for n in range(2, _N_MAX):
        pw = two_mean_power(n, difference, sd, alpha=alpha)
        rows.append({"n_per_arm": n, "power": pw})
        if pw >= target:
            return SampleSize(
                n_per_arm=n, total=2 * n, power=pw,
                method=(f"two-sample t-test, two-sided alpha {alpha:g}, difference "
                        f"{difference:g}, SD {sd:g} (noncentral t)"),
                table=pd.DataFrame(rows),
            )  # fmt: skip
    raise AnalysisInputError("power", power, "a power reachable with < 5000 per arm")
