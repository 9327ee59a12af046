"""Bayesian single-arm monitoring: Thall and Simon (1994) posterior-probability rules and
Lee and Liu (2008) predictive-probability rules, as count boundaries with exact operating
characteristics.

* **Thall-Simon.** Thall PF, Simon R. Practical Bayesian guidelines for phase IIB clinical
  trials. *Biometrics* 1994;50:337-349. The standard therapy's rate ``p_S ~ Beta(a_S, b_S)``
  (informative, from historical data) stays at its prior; the experimental rate ``p_E ~
  Beta(a_E, b_E)`` (vague) is updated by ``y`` responses of ``n``. After each cohort: stop for
  futility if ``Pr(p_E > p_S + delta | y) <= theta_L``, stop for superiority if
  ``Pr(p_E > p_S | y) >= theta_U``; up to ``n_max``. The probability is the one-dimensional
  integral of ``Pr(p_E > p + delta)`` over the prior of ``p_S``, computed by Gauss-Legendre
  quadrature in the prior's quantile scale (``u = F_S(p)``, a bounded integrand on [0, 1]).
* **Lee-Liu.** Lee JJ, Liu DD. A predictive probability design for phase II cancer clinical
  trials. *Clin Trials* 2008;5:93-106. Prior ``p ~ Beta(a, b)``; with ``x`` of ``n`` and
  ``m = n_max - n`` to come, the predictive probability that the final analysis will find
  ``Pr(p > p0 | data) > theta_T`` is ``PP = sum_y BetaBin(y; m, a + x, b + n - x) *
  1[Pr(p > p0 | x + y of n_max) > theta_T]``. Stop for futility if ``PP < theta_L``; at
  ``n_max`` declare the treatment active if ``Pr(p > p0 | data) > theta_T``. Lee and Liu allow
  no early efficacy stop; ``theta_U`` adds one (``PP > theta_U``). :func:`lee_liu_search` runs
  their search over (``n_max``, ``theta_L``, ``theta_T``) for the smallest ``n_max`` meeting
  alpha and power.

Neither rule fixes a type I error by itself: read the operating characteristics.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from cordtrial.analysis.designs.boundaries import StoppingBoundaries, operating_characteristics
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.stats import check_count, check_probability

__all__ = [
    "LeeLiuDesign",
    "ThallSimonDesign",
    "lee_liu_design",
    "lee_liu_search",
    "posterior_exceeds_standard",
    "predictive_probability",
    "thall_simon_design",
]


def _prior(name: str, prior: Sequence[float]) -> tuple[float, float]:
    values = tuple(prior)
    if len(values) != 2 or not all(isinstance(v, int | float) and 0 < v < 1e6 for v in values):
        raise AnalysisInputError(name, values, "two positive beta parameters (a, b)")
    return float(values[0]), float(values[1])


_NODES = 1024


# Bounded: the key is a prior people type on the design page, and the server runs for months.
@functools.lru_cache(maxsize=16)
def _standard_quantiles(
    a_s: float, b_s: float
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Gauss-Legendre nodes on the standard prior's quantile scale, and their weights."""
    u, w = np.polynomial.legendre.leggauss(_NODES)
    return stats.beta.ppf((u + 1) / 2, a_s, b_s), w / 2


def posterior_exceeds_standard(
    y: int | Sequence[int] | np.ndarray[Any, Any], n: int, prior_e: Sequence[float],
    prior_s: Sequence[float], delta: float = 0.0,
) -> np.ndarray[Any, Any]:  # fmt: skip
    """``Pr(p_E > p_S + delta | y of n)`` (Thall and Simon 1994), for one or many ``y``.

    The integral over the standard prior is taken in its quantile scale ``u = F_S(p)`` by
    1,024-point Gauss-Legendre quadrature; across ``y`` the beta tail follows the recurrence
    ``I_x(a+1, b-1) = I_x(a, b) - x^a (1-x)^(b-1) / (a B(a, b))`` (DLMF 8.17.21), so only
    ``y = 0`` needs the incomplete beta function.
    """
    a_e, b_e = _prior("prior_e", prior_e)
    a_s, b_s = _prior("prior_s", prior_s)
    n = check_count("n", n, 0, 100_000)
    ys = np.atleast_1d(np.asarray(y, dtype=np.int64))
    if ys.size and (ys.min() < 0 or ys.max() > n):
        raise AnalysisInputError("y", y, f"response counts 0-{n}")
    p, w = _standard_quantiles(a_s, b_s)
    x = np.clip(p + delta, 0.0, 1.0)[None, :]
    a = a_e + np.arange(n)[:, None]  # a for y = 0 .. n-1
    b = b_e + n - np.arange(n)[:, None]
    with np.errstate(divide="ignore"):
        log_step = a * np.log(x) + (b - 1) * np.log1p(-x) - np.log(a) - special.betaln(a, b)
    steps = np.where(np.isfinite(log_step), np.exp(log_step), 0.0)
    sf = np.vstack([stats.beta.sf(x, a_e, b_e + n), steps])
    tails = np.clip(np.cumsum(sf, axis=0), 0.0, 1.0)  # rows y = 0 .. n
    out: np.ndarray[Any, Any] = tails[ys] @ w
    return out


@dataclass(frozen=True, slots=True)
class ThallSimonDesign:
    """Thall-Simon monitoring boundaries (stop for futility / superiority by participants)."""

    prior_e: tuple[float, float]
    prior_s: tuple[float, float]
    n_max: int
    futility: float
    superiority: float | None
    delta: float
    boundaries: StoppingBoundaries

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON)."""
        return {
            "prior_experimental": list(self.prior_e), "prior_standard": list(self.prior_s),
            "n_max": self.n_max, "theta_futility": self.futility,
            "theta_superiority": self.superiority, "delta": self.delta,
            **self.boundaries.to_dict(),
        }  # fmt: skip


def thall_simon_design(
    prior_e: Sequence[float], prior_s: Sequence[float], n_max: int, *, futility: float = 0.05,
    superiority: float | None = 0.95, delta: float = 0.0, n_min: int = 1, cohort: int = 1,
) -> ThallSimonDesign:  # fmt: skip
    """Boundaries of Thall and Simon's (1994) continuous monitoring.

    Parameters
    ----------
    prior_e, prior_s : (a, b)
        Beta priors of the experimental (vague) and standard (informative) response rates.
    n_max : int
        Largest number of participants.
    futility : float
        theta_L: stop when Pr(p_E > p_S + delta | y) <= theta_L.
    superiority : float or None
        theta_U: stop when Pr(p_E > p_S | y) >= theta_U; ``None``: no superiority stop.
    delta : float
        The improvement the futility rule asks for (0 in the ph2bayes examples).
    n_min, cohort : int
        First analysis after ``n_min`` participants, then every ``cohort`` (and at ``n_max``).
    """
    n_max = check_count("n_max", n_max, 1, 1000)
    n_min = check_count("n_min", n_min, 1, n_max)
    cohort = check_count("cohort", cohort, 1, n_max)
    futility = check_probability("futility", futility, open_interval=False)
    if superiority is not None:
        superiority = check_probability("superiority", superiority)
    if not -1 < delta < 1:
        raise AnalysisInputError("delta", delta, "a difference of response rates in (-1, 1)")
    pe, ps = _prior("prior_e", prior_e), _prior("prior_s", prior_s)
    looks = sorted({*range(n_min, n_max + 1, cohort), n_max})
    fut: list[int] = []
    eff: list[int] = []
    for n in looks:
        ys = np.arange(n + 1)
        low = posterior_exceeds_standard(ys, n, pe, ps, delta) <= futility
        a = int(np.nonzero(low)[0][-1]) if low.any() else -1
        b = n + 1
        if superiority is not None:
            high = posterior_exceeds_standard(ys, n, pe, ps, 0.0) >= superiority
            b = int(np.nonzero(high)[0][0]) if high.any() else n + 1
        fut.append(min(a, b - 1))
        eff.append(b)
    bounds = StoppingBoundaries(looks=tuple(looks), futility=tuple(fut), efficacy=tuple(eff))
    return ThallSimonDesign(
        prior_e=pe, prior_s=ps, n_max=n_max, futility=futility, superiority=superiority,
        delta=delta, boundaries=bounds,
    )  # fmt: skip


def predictive_probability(
    x: int, n: int, n_max: int, prior: Sequence[float], p0: float, theta_t: float
) -> float:
    """Lee and Liu's (2008) predictive probability of a positive final analysis."""
    a, b = _prior("prior", prior)
    return float(_pp(np.array([x]), n, n_max, a, b, p0, theta_t)[0])


def _pp(
    xs: np.ndarray[Any, Any], n: int, n_max: int, a: float, b: float, p0: float, theta_t: float
) -> np.ndarray[Any, Any]:
    m = n_max - n
    ys = np.arange(m + 1)[None, :]
    x = xs[:, None]
    weights = stats.betabinom.pmf(ys, m, a + x, b + n - x)
    win = stats.beta.sf(p0, a + x + ys, b + n_max - x - ys) > theta_t
    out: np.ndarray[Any, Any] = np.sum(weights * win, axis=1)
    return out


@dataclass(frozen=True, slots=True)
class LeeLiuDesign:
    """Lee-Liu predictive-probability boundaries, with exact alpha and power when p1 is given."""

    p0: float
    prior: tuple[float, float]
    n_max: int
    theta_l: float
    theta_t: float
    theta_u: float | None
    boundaries: StoppingBoundaries
    alpha: float
    p1: float | None = None
    power: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON)."""
        return {
            "p0": self.p0, "p1": self.p1, "prior": list(self.prior), "n_max": self.n_max,
            "theta_l": self.theta_l, "theta_t": self.theta_t, "theta_u": self.theta_u,
            "alpha": round(self.alpha, 6),
            "power": None if self.power is None else round(self.power, 6),
            **self.boundaries.to_dict(),
        }  # fmt: skip


class _PredictiveTables:
    """Everything of the PP rule that does not depend on the thresholds, for one ``n_max``:
    the final posterior Pr(p > p0) by total responses, and for each interim ``n`` the upper
    tail sums of the beta-binomial predictive distribution (so ``PP(x) = tail[x, k0 - x]``,
    ``k0`` the fewest final responses with a posterior above theta_T)."""

    def __init__(self, p0: float, a: float, b: float, n_max: int, looks: list[int]):
        k = np.arange(n_max + 1)
        self.final_post = stats.beta.sf(p0, a + k, b + n_max - k)
        self.n_max = n_max
        self.looks = looks
        self.tails: dict[int, np.ndarray[Any, Any]] = {}
        for n in looks:
            if n == n_max:
                continue
            m = n_max - n
            x = np.arange(n + 1)[:, None]
            w = stats.betabinom.pmf(np.arange(m + 1)[None, :], m, a + x, b + n - x)
            tail = np.cumsum(w[:, ::-1], axis=1)[:, ::-1]
            self.tails[n] = np.hstack([tail, np.zeros((n + 1, 1))])

    def bounds(self, theta_l: float, theta_t: float, theta_u: float | None) -> StoppingBoundaries:
        over = np.nonzero(self.final_post > theta_t)[0]
        k0 = int(over[0]) if over.size else self.n_max + 1
        fut: list[int] = []
        eff: list[int] = []
        for n in self.looks:
            if n == self.n_max:
                r = min(k0, n + 1)
                fut.append(r - 1)
                eff.append(r)
                continue
            m = self.n_max - n
            x = np.arange(n + 1)
            need = np.clip(k0 - x, 0, m + 1)
            pp = self.tails[n][x, need]
            low = pp < theta_l
            f = int(np.nonzero(low)[0][-1]) if low.any() else -1
            e = n + 1
            if theta_u is not None:
                high = pp > theta_u
                e = int(np.nonzero(high)[0][0]) if high.any() else n + 1
            fut.append(min(f, e - 1))
            eff.append(e)
        return StoppingBoundaries(looks=tuple(self.looks), futility=tuple(fut), efficacy=tuple(eff))


def lee_liu_design(
    p0: float, n_max: int, *, prior: Sequence[float] | None = None, theta_l: float = 0.05,
    theta_t: float = 0.9, theta_u: float | None = None, n_min: int = 1, cohort: int = 1,
    p1: float | None = None,
) -> LeeLiuDesign:  # fmt: skip
    """Lee and Liu's (2008) predictive-probability monitoring for given thresholds.

    ``prior`` defaults to Beta(p0, 1 - p0) (prior mean p0, one participant's worth). Analyses
    after ``n_min`` participants, then every ``cohort``, and at ``n_max``.
    """
    p0 = check_probability("p0", p0)
    n_max = check_count("n_max", n_max, 1, 1000)
    n_min = check_count("n_min", n_min, 1, n_max)
    cohort = check_count("cohort", cohort, 1, n_max)
    theta_l = check_probability("theta_l", theta_l, open_interval=False)
    theta_t = check_probability("theta_t", theta_t)
    if theta_u is not None:
        theta_u = check_probability("theta_u", theta_u)
    a, b = _prior("prior", (p0, 1 - p0) if prior is None else prior)
    looks = sorted({*range(n_min, n_max + 1, cohort), n_max})
    bounds = _PredictiveTables(p0, a, b, n_max, looks).bounds(theta_l, theta_t, theta_u)
    rates = [p0] if p1 is None else [p0, check_probability("p1", p1)]
    oc = operating_characteristics(bounds, rates)
    return LeeLiuDesign(
        p0=p0, prior=(a, b), n_max=n_max, theta_l=theta_l, theta_t=theta_t, theta_u=theta_u,
        boundaries=bounds, alpha=float(oc["p_active"][0]), p1=None if p1 is None else rates[1],
        power=None if p1 is None else float(oc["p_active"][1]),
    )  # fmt: skip


#: Lee and Liu's search grid: theta_T in [0.80, 0.99], theta_L in [0.001, 0.2].
THETA_T_GRID = tuple(round(0.80 + 0.01 * i, 2) for i in range(20))
THETA_L_GRID = (0.001, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2)


def lee_liu_search(
    p0: float, p1: float, *, alpha: float = 0.1, power: float = 0.9,
    prior: Sequence[float] | None = None, n_range: tuple[int, int] = (10, 80),
    theta_t_grid: Sequence[float] = THETA_T_GRID, theta_l_grid: Sequence[float] = THETA_L_GRID,
) -> LeeLiuDesign:  # fmt: skip
    """Lee and Liu's (2008) minimax search: the smallest ``n_max`` for which some (theta_L,
    theta_T) of the grids meets type I error <= ``alpha`` and power >= ``power`` (exact,
    monitoring after every participant); among those, the smallest expected size under p0
    (ties: the larger theta_T, then the smaller theta_L)."""
    p0 = check_probability("p0", p0)
    p1 = check_probability("p1", p1)
    if p1 <= p0:
        raise AnalysisInputError("p1", p1, f"a response rate above p0 = {p0:g}")
    alpha = check_probability("alpha", alpha)
    power = check_probability("power", power)
    low, high = (check_count("n_range", n, 1, 300) for n in n_range)
    a, b = _prior("prior", (p0, 1 - p0) if prior is None else prior)
    for n_max in range(low, high + 1):
        best: tuple[float, float, float, StoppingBoundaries, float, float] | None = None
        tables = _PredictiveTables(p0, a, b, n_max, list(range(1, n_max + 1)))
        seen: dict[StoppingBoundaries, tuple[float, float, float]] = {}
        for theta_t in theta_t_grid:
            for theta_l in theta_l_grid:
                bounds = tables.bounds(theta_l, theta_t, None)
                if bounds not in seen:
                    oc = operating_characteristics(bounds, [p0, p1])
                    seen[bounds] = (
                        float(oc["p_active"][0]), float(oc["p_active"][1]),
                        float(oc["expected_n"][0]),
                    )  # fmt: skip
                t1, pw, en0 = seen[bounds]
                if t1 <= alpha and pw >= power:
                    key = (en0, -theta_t, theta_l)
                    if best is None or key < best[:3]:
                        best = (*key, bounds, t1, pw)
        if best is not None:
            en0, neg_t, theta_l, bounds, t1, pw = best
            return LeeLiuDesign(
                p0=p0, prior=(a, b), n_max=n_max, theta_l=theta_l, theta_t=-neg_t,
                theta_u=None, boundaries=bounds, alpha=t1, p1=p1, power=pw,
            )  # fmt: skip
    raise AnalysisInputError(
        "n_range", n_range, "a wider range of maximum sizes: no design meets alpha and power",
        "is too narrow",
    )  # fmt: skip
