"""Simon's two-stage design, optimal and minimax, by exact search.

Simon R. Optimal two-stage designs for phase II clinical trials. *Controlled Clinical Trials*
1989;10:1-10.

Convention (Simon's, also clinfun's ``ph2simon`` and PASS): enrol ``n1``; **stop** (treatment
inactive) if responses ``<= r1``; otherwise enrol to ``n`` in all and declare the treatment
**active** if total responses ``> r``. (Some software stores ``r1 + 1`` and ``r + 1``, "need at
least"; we do not.)

With b/B the binomial pmf/cdf and n2 = n - n1:

* PET(p) = B(r1; n1, p), EN(p) = n1 + (1 - PET(p)) n2;
* P(active | p) = sum over x1 = r1+1 .. n1 of b(x1; n1, p) [1 - B(r - x1; n2, p)]
  (the bracket is 1 when r - x1 < 0).

The search covers every ``n <= n_max``, ``1 <= n1 < n``, ``0 <= r1 < n1``, ``r1 <= r < n`` with
P(active | p0) <= alpha and P(active | p1) >= power (no tolerance). For each (n1, n) and r1 the
smallest r meeting alpha is the only candidate worth keeping (a larger r loses power, and EN0 does
not depend on r). *Optimal*: the smallest EN(p0); *minimax*: the smallest n, then the smallest
EN(p0). Ties (EN0 equal to 1e-12) go to the smaller n, then the smaller n1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cordtrial.analysis.designs.boundaries import StoppingBoundaries
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.stats import check_count, check_probability

__all__ = ["SIMON_CONVENTION", "SimonDesign", "SimonDesigns", "simon_design", "simon_two_stage"]

SIMON_CONVENTION = (
    "Simon 1989: stop after stage 1 (inactive) if responses <= r1 of n1; "
    "declare active if total responses > r of n"
)


@dataclass(frozen=True, slots=True)
class SimonDesign:
    """One two-stage design in Simon's convention, with its exact error rates under p0 / p1."""

    r1: int
    n1: int
    r: int
    n: int
    p0: float
    p1: float
    en0: float
    pet0: float
    alpha: float
    power: float

    @property
    def boundaries(self) -> StoppingBoundaries:
        """The design as stopping boundaries (no efficacy stop after stage 1)."""
        return StoppingBoundaries(
            looks=(self.n1, self.n), futility=(self.r1, self.r), efficacy=(self.n1 + 1, self.r + 1)
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: ``r1, n1, r, n, en0, pet0`` (Simon's convention)."""
        return {
            "r1": self.r1, "n1": self.n1, "r": self.r, "n": self.n,
            "en0": round(self.en0, 4), "pet0": round(self.pet0, 4),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class SimonDesigns:
    """The optimal and the minimax design of one search."""

    optimal: SimonDesign
    minimax: SimonDesign
    p0: float
    p1: float
    alpha: float
    power: float
    n_max: int

    def to_dict(self) -> dict[str, Any]:
        """``{"optimal": {...}, "minimax": {...}}`` as in :meth:`SimonDesign.to_dict`."""
        return {"optimal": self.optimal.to_dict(), "minimax": self.minimax.to_dict()}

    @property
    def summary(self) -> pd.DataFrame:
        """Two rows (optimal, minimax): r1/n1, r/n, EN0, PET0, exact alpha and power."""
        rows = []
        for name, d in (("optimal", self.optimal), ("minimax", self.minimax)):
            rows.append(
                {"design": name, "r1": d.r1, "n1": d.n1, "r": d.r, "n": d.n,
                 "en0": d.en0, "pet0": d.pet0, "alpha": d.alpha, "power": d.power}
            )  # fmt: skip
        return pd.DataFrame(rows)


def simon_design(r1: int, n1: int, r: int, n: int, p0: float, p1: float) -> SimonDesign:
    """The exact PET, EN, type I error and power of a given two-stage design (Simon 1989)."""
    n = check_count("n", n, 2, 2000)
    n1 = check_count("n1", n1, 1, n - 1)
    r1 = check_count("r1", r1, 0, n1 - 1)
    r = check_count("r", r, r1, n - 1)
    p0 = check_probability("p0", p0)
    p1 = check_probability("p1", p1)

    def reject(p: float) -> float:
        x1 = np.arange(r1 + 1, n1 + 1)
        tail = np.where(r - x1 < 0, 1.0, stats.binom.sf(r - x1, n - n1, p))
        return float(np.sum(stats.binom.pmf(x1, n1, p) * tail))

    pet0 = float(stats.binom.cdf(r1, n1, p0))
    return SimonDesign(
        r1=r1, n1=n1, r=r, n=n, p0=p0, p1=p1, en0=n1 + (1 - pet0) * (n - n1), pet0=pet0,
        alpha=reject(p0), power=reject(p1),
    )  # fmt: skip


def _candidates_for(n: int, n1: int, pmf: dict[tuple[int, float], Any], p0: float, p1: float,
                    alpha: float, power: float) -> tuple[int, int] | None:  # fmt: skip
    """(r1, r) of the best design with this (n1, n): the largest r1 (highest PET0) that has an
    r meeting both constraints; that r is the smallest meeting alpha."""
    n2 = n - n1
    rs = np.arange(n + 1)
    x1 = np.arange(n1 + 1)
    k = rs[None, :] - x1[:, None]  # r - x1
    reject = {}
    for p in (p0, p1):
        sf2 = np.where(k < 0, 1.0, pmf[(n2, p)][1][np.clip(k, 0, n2)])
        m = pmf[(n1, p)][0][:, None] * sf2  # b(x1) P(X2 > r - x1)
        # reject[r1, r] = sum over x1 > r1 of m[x1, r]
        tail = np.cumsum(m[::-1], axis=0)[::-1]
        reject[p] = np.vstack([tail[1:], np.zeros((1, n + 1))])
    ok_alpha = reject[p0] <= alpha
    ok_alpha &= rs[None, :] < n
    ok_alpha &= rs[None, :] >= np.arange(n1 + 1)[:, None]
    for r1 in range(n1 - 1, -1, -1):
        candidates = np.nonzero(ok_alpha[r1])[0]
        if candidates.size == 0:
            continue
        r = int(candidates[0])
        if reject[p1][r1, r] >= power:
            return r1, r
    return None


def simon_two_stage(
    p0: float, p1: float, *, alpha: float = 0.05, power: float = 0.8, n_max: int = 100
) -> SimonDesigns:
    """Simon's (1989) optimal and minimax two-stage designs by exhaustive exact search.

    Parameters
    ----------
    p0 : float
        Response rate of no interest (the natural rate).
    p1 : float
        Response rate worth pursuing, above ``p0``.
    alpha : float
        Largest one-sided type I error, P(declare active | p0).
    power : float
        Smallest power, P(declare active | p1).
    n_max : int
        Largest total size searched (clinfun's default, 100). An optimal design found at
        ``n_max`` may not be optimal beyond it.

    Raises
    ------
    AnalysisInputError
        Bad rates (``p1`` must exceed ``p0``), or no design within ``n_max``.
    """
    p0 = check_probability("p0", p0)
    p1 = check_probability("p1", p1)
    if p1 <= p0:
        raise AnalysisInputError("p1", p1, f"a response rate above p0 = {p0:g}")
    alpha = check_probability("alpha", alpha)
    power = check_probability("power", power)
    n_max = check_count("n_max", n_max, 3, 500)
    pmf: dict[tuple[int, float], Any] = {}
    for m in range(n_max + 1):
        for p in (p0, p1):
            xs = np.arange(m + 1)
            pmf[(m, p)] = (stats.binom.pmf(xs, m, p), stats.binom.sf(xs, m, p))
    best: tuple[float, int, int, int, int] | None = None  # (en0, n, n1, r1, r)
    minimax: tuple[int, float, int, int, int] | None = None  # (n, en0, n1, r1, r)
    for n in range(2, n_max + 1):
        for n1 in range(1, n):
            found = _candidates_for(n, n1, pmf, p0, p1, alpha, power)
            if found is None:
                continue
            r1, r = found
            pet0 = float(np.sum(pmf[(n1, p0)][0][: r1 + 1]))
            en0 = n1 + (1 - pet0) * (n - n1)
            key = (round(en0, 12), n, n1, r1, r)
            if best is None or key < best:
                best = key
            mkey = (n, round(en0, 12), n1, r1, r)
            if minimax is None or mkey < minimax:
                minimax = mkey
    if best is None or minimax is None:
        raise AnalysisInputError(
            "n_max", n_max, "a larger maximum size: no two-stage design meets alpha and power",
            "is too small",
        )  # fmt: skip
    _, n, n1, r1, r = best
    optimal = simon_design(r1, n1, r, n, p0, p1)
    mn, _, n1, r1, r = minimax
    return SimonDesigns(
        optimal=optimal, minimax=simon_design(r1, n1, r, mn, p0, p1),
        p0=p0, p1=p1, alpha=alpha, power=power, n_max=n_max,
    )  # fmt: skip
