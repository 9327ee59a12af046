"""Two-arm comparison of response rates with an exact test: power computed exactly, and the
sample size per arm.

The trial has ``n_treated`` and ``n_control`` participants; the test (Fisher's or Boschloo's,
one-sided "treated better" or two-sided) rejects on a set of 2x2 tables fixed before the trial.
The exact power is the probability of that set under independent binomials with the true rates:
``sum over rejecting (x_t, x_c) of b(x_t; n_t, p_t) b(x_c; n_c, p_c)``, enumerated over every
outcome -- no simulation and no normal approximation.

* **Fisher** (Fisher RA. *Statistical Methods for Research Workers*, 1925; conditional on the
  total responses, hypergeometric). One-sided p: P(X_t >= x_t | total). Two-sided: the sum of
  the tables no more likely than the one seen (relative tolerance 1e-7), as
  ``scipy.stats.fisher_exact``.
* **Boschloo** (Boschloo RD. Raised conditional level of significance for the 2x2-table when
  testing the equality of two probabilities. *Statistica Neerlandica* 1970;24:1-35): the
  one-sided Fisher p-value as the statistic, its p-value the largest over the common rate pi of
  P(Fisher p <= observed | pi), so it is uniformly more powerful than Fisher's. Two-sided: twice the
  smaller one-sided p-value, as ``scipy.stats.boschloo_exact``. The supremum over pi is taken on a
  grid of 1,001 rates refined by a bounded scalar search around the best; the rejection set is
  the largest set of tables, ordered by the Fisher statistic, whose size stays <= alpha.

Exact power is not monotone in n (a saw-tooth); the sample size is the smallest n per arm
reaching the power, and the table shows the n around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.stats import check_count, check_probability

__all__ = [
    "TESTS",
    "TwoArmDesign",
    "exact_power",
    "rejection_region",
    "two_arm_exact_sample_size",
]

Test = Literal["fisher", "boschloo"]
Alternative = Literal["one-sided", "two-sided"]
TESTS = ("fisher", "boschloo")
_ALTERNATIVES = ("one-sided", "two-sided")
_GRID = np.linspace(0.0, 1.0, 1001)


def _fisher_greater(n_t: int, n_c: int) -> np.ndarray[Any, Any]:
    """One-sided Fisher p-values P(X_t >= x_t | total), indexed [x_t, x_c]."""
    xt = np.arange(n_t + 1)[:, None]
    xc = np.arange(n_c + 1)[None, :]
    total = xt + xc
    out: np.ndarray[Any, Any] = stats.hypergeom.sf(xt - 1, n_t + n_c, total, n_t)
    return out


def _fisher_two_sided(n_t: int, n_c: int) -> np.ndarray[Any, Any]:
    out = np.empty((n_t + 1, n_c + 1))
    for t in range(n_t + n_c + 1):
        ks = np.arange(max(0, t - n_c), min(n_t, t) + 1)
        pmf = stats.hypergeom.pmf(ks, n_t + n_c, t, n_t)
        p = np.array([pmf[pmf <= q * (1 + 1e-7)].sum() for q in pmf])
        out[ks, t - ks] = np.minimum(p, 1.0)
    return out


def _log_joint(n_t: int, n_c: int, pi: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """log b(x_t; n_t, pi) + log b(x_c; n_c, pi), shape (len(pi), n_t + 1, n_c + 1)."""
    lt = stats.binom.logpmf(np.arange(n_t + 1)[None, :], n_t, pi[:, None])
    lc = stats.binom.logpmf(np.arange(n_c + 1)[None, :], n_c, pi[:, None])
    out: np.ndarray[Any, Any] = lt[:, :, None] + lc[:, None, :]
    return out


def _size(mask: np.ndarray[Any, Any], n_t: int, n_c: int) -> float:
    """sup over the common rate pi of P(table in mask | pi)."""
    if not mask.any():
        return 0.0
    probs = np.exp(_log_joint(n_t, n_c, _GRID))[:, mask].sum(axis=1)
    i = int(np.argmax(probs))
    lo, hi = _GRID[max(0, i - 1)], _GRID[min(len(_GRID) - 1, i + 1)]

    def neg(pi: float) -> float:
        return -float(np.exp(_log_joint(n_t, n_c, np.array([pi])))[0][mask].sum())

    refined = optimize.minimize_scalar(neg, bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-10})  # fmt: skip
    return max(float(probs[i]), -float(refined.fun))


def _boschloo_one_sided(stat: np.ndarray[Any, Any], level: float, n_t: int, n_c: int
                        ) -> np.ndarray[Any, Any]:  # fmt: skip
    """The tables Boschloo's one-sided test rejects at ``level``: the Fisher p-values below a
    cut-off, the cut-off the largest whose size stays <= level (binary search over the
    distinct p-values; the size grows with the cut-off)."""
    cuts = np.unique(stat)
    lo, hi = -1, len(cuts) - 1  # invariant: cuts[lo] ok (or none), cuts[hi+1..] not checked
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _size(stat <= cuts[mid] * (1 + 1e-13), n_t, n_c) <= level:
            lo = mid
        else:
            hi = mid - 1
    if lo < 0:
        return np.zeros_like(stat, dtype=bool)
    out: np.ndarray[Any, Any] = stat <= cuts[lo] * (1 + 1e-13)
    return out


def rejection_region(
    n_treated: int, n_control: int, *, test: Test = "fisher", alpha: float = 0.05,
    alternative: Alternative = "one-sided",
) -> np.ndarray[Any, Any]:  # fmt: skip
    """Boolean array [x_treated, x_control]: the tables the test rejects at ``alpha``.

    One-sided rejects when the treated arm responds better; two-sided in either direction.
    """
    n_t = check_count("n_treated", n_treated, 1, 1000)
    n_c = check_count("n_control", n_control, 1, 1000)
    alpha = check_probability("alpha", alpha)
    if test not in TESTS:
        raise AnalysisInputError("test", test, "one of " + ", ".join(TESTS))
    if alternative not in _ALTERNATIVES:
        raise AnalysisInputError("alternative", alternative, "one of " + ", ".join(_ALTERNATIVES))
    greater = _fisher_greater(n_t, n_c)
    if test == "fisher":
        if alternative == "one-sided":
            out: np.ndarray[Any, Any] = greater <= alpha * (1 + 1e-12)
            return out
        two: np.ndarray[Any, Any] = _fisher_two_sided(n_t, n_c) <= alpha * (1 + 1e-12)
        return two
    if alternative == "one-sided":
        return _boschloo_one_sided(greater, alpha, n_t, n_c)
    less = _fisher_greater(n_c, n_t).T  # P(X_c >= x_c | total): treated worse
    either: np.ndarray[Any, Any] = np.logical_or(
        _boschloo_one_sided(greater, alpha / 2, n_t, n_c),
        _boschloo_one_sided(less, alpha / 2, n_t, n_c),
    )
    return either


def exact_power(
    n_treated: int, n_control: int, rate_treated: float, rate_control: float, *,
    test: Test = "fisher", alpha: float = 0.05, alternative: Alternative = "one-sided",
) -> float:  # fmt: skip
    """Exact power: P(the test rejects) under the true rates, by enumeration of every table."""
    pt = check_probability("rate_treated", rate_treated, open_interval=False)
    pc = check_probability("rate_control", rate_control, open_interval=False)
    region = rejection_region(n_treated, n_control, test=test, alpha=alpha,
                              alternative=alternative)  # fmt: skip
    bt = stats.binom.pmf(np.arange(n_treated + 1), n_treated, pt)
    bc = stats.binom.pmf(np.arange(n_control + 1), n_control, pc)
    return float(np.sum(np.outer(bt, bc) * region))


@dataclass(frozen=True, slots=True)
class TwoArmDesign:
    """The smallest n per arm reaching the power with an exact test, and the saw-tooth."""

    n_per_arm: int
    rate_treated: float
    rate_control: float
    test: str
    alternative: str
    alpha: float
    attained_alpha: float
    power: float
    target_power: float
    table: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON); ``table`` as a list of rows."""
        return {
            "n_per_arm": self.n_per_arm, "total": 2 * self.n_per_arm,
            "rate_treated": self.rate_treated, "rate_control": self.rate_control,
            "test": self.test, "alternative": self.alternative, "alpha": self.alpha,
            "attained_alpha": round(self.attained_alpha, 6), "power": round(self.power, 6),
            "target_power": self.target_power,
            "power_by_n": self.table.round(6).to_dict(orient="records"),
        }  # fmt: skip


def _attained_alpha(region: np.ndarray[Any, Any], n: int) -> float:
    return _size(region, n, n)


def two_arm_exact_sample_size(
    rate_treated: float, rate_control: float, *, test: Test = "fisher", alpha: float = 0.05,
    power: float = 0.8, alternative: Alternative = "one-sided", n_max: int = 150,
) -> TwoArmDesign:  # fmt: skip
    """Smallest equal n per arm whose exact test reaches ``power`` (exact power, enumeration).

    ``table`` lists n from 2 to the answer + 5 with the exact power and the test's attained
    size (its largest type I error over the common rate).
    """
    pt = check_probability("rate_treated", rate_treated)
    pc = check_probability("rate_control", rate_control)
    if alternative == "one-sided" and pt <= pc:
        raise AnalysisInputError("rate_treated", rate_treated,
                                 f"a response rate above the control rate {pc:g}")  # fmt: skip
    if pt == pc:
        raise AnalysisInputError("rate_treated", rate_treated, "a rate different from control")
    target = check_probability("power", power)
    n_max = check_count("n_max", n_max, 2, 400)
    rows: list[dict[str, Any]] = []
    found: int | None = None
    for n in range(2, n_max + 1):
        region = rejection_region(n, n, test=test, alpha=alpha, alternative=alternative)
        bt = stats.binom.pmf(np.arange(n + 1), n, pt)
        bc = stats.binom.pmf(np.arange(n + 1), n, pc)
        pw = float(np.sum(np.outer(bt, bc) * region))
        if found is None and pw < target and n < n_max:
            rows.append({"n_per_arm": n, "power": pw})
            continue
        rows.append({"n_per_arm": n, "power": pw, "attained_alpha": _attained_alpha(region, n)})
        if found is None:
            found = n
        if n >= found + 5:
            break
    if found is None or rows[found - 2]["power"] < target:
        raise AnalysisInputError(
            "n_max", n_max, f"a larger maximum: power {target:g} not reached", "is too small"
        )
    table = pd.DataFrame(rows)
    table = table[table["n_per_arm"] >= max(2, found - 5)].reset_index(drop=True)
    chosen = rows[found - 2]
    return TwoArmDesign(
        n_per_arm=found, rate_treated=pt, rate_control=pc, test=test, alternative=alternative,
        alpha=alpha, attained_alpha=float(chosen["attained_alpha"]), power=float(chosen["power"]),
        target_power=target, table=table,
    )  # fmt: skip
