"""Fleming's (1982) one-sample multiple testing procedure (multi-stage, early stop both ways).

Fleming TR. One-sample multiple testing procedure for phase II clinical trials. *Biometrics*
1982;38:143-151.

After stage g (cumulative ``n_g`` of ``N``) with ``S_g`` responses: stop, treatment inactive,
if ``S_g <= a_g``; stop, treatment active, if ``S_g >= r_g``; else go on. At the last stage
``a_K = r_K - 1``, so a decision is forced. With ``[.]`` the integer part:

* ``r_g = [n_g p0 + z_{1-alpha} sqrt(N p0 (1 - p0))] + 1``
* ``a_g = [n_g p1 - z_{1-beta} sqrt(N p1 (1 - p1))]``

**Source of the boundary formulas.** ``r_g`` is Fleming's; the form of ``a_g`` used here (with
``z_{1-beta}`` and the planned ``p1``) is the one that reproduces the published calculator
example (static.medsci.cn/sci/sample_size_fleming.html: p0 0.2, p1 0.4, alpha 0.05, power 0.8,
stages 15 + 10 gives a = 3, 8 and r = 7, 9) -- a *secondary* source; the original paper's
acceptance boundary may use ``z_{1-alpha}`` with a ``p_A`` derived from N (unverified). The
normal approximation is only the way the boundaries are drawn: the exact type I error and power
of the boundaries actually used are always computed (:attr:`FlemingDesign.alpha`,
:attr:`FlemingDesign.power`) and should be read instead of the nominal ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import stats

from cordtrial.analysis.designs.boundaries import StoppingBoundaries, operating_characteristics
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.stats import check_count, check_probability

__all__ = ["FlemingDesign", "fleming_design", "fleming_search"]


@dataclass(frozen=True, slots=True)
class FlemingDesign:
    """Boundaries of a Fleming multi-stage design and its exact error rates."""

    p0: float
    p1: float
    nominal_alpha: float
    nominal_power: float
    stage_sizes: tuple[int, ...]
    boundaries: StoppingBoundaries
    alpha: float
    power: float
    en0: float
    en1: float

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON)."""
        return {
            "p0": self.p0, "p1": self.p1, "nominal_alpha": self.nominal_alpha,
            "nominal_power": self.nominal_power, "stage_sizes": list(self.stage_sizes),
            **self.boundaries.to_dict(), "alpha": round(self.alpha, 6),
            "power": round(self.power, 6), "en0": round(self.en0, 4), "en1": round(self.en1, 4),
        }  # fmt: skip


def fleming_design(
    p0: float, p1: float, stage_sizes: tuple[int, ...] | list[int], *, alpha: float = 0.05,
    power: float = 0.8,
) -> FlemingDesign:  # fmt: skip
    """Fleming's boundaries for the given stage sizes (participants added at each stage)."""
    p0 = check_probability("p0", p0)
    p1 = check_probability("p1", p1)
    if p1 <= p0:
        raise AnalysisInputError("p1", p1, f"a response rate above p0 = {p0:g}")
    alpha = check_probability("alpha", alpha)
    power = check_probability("power", power)
    sizes = tuple(check_count("stage_sizes", s, 1, 1000) for s in stage_sizes)
    if not 1 <= len(sizes) <= 10:
        raise AnalysisInputError("stage_sizes", list(stage_sizes), "1 to 10 stage sizes")
    total = sum(sizes)
    z_a = float(stats.norm.ppf(1 - alpha))
    z_b = float(stats.norm.ppf(power))
    looks: list[int] = []
    fut: list[int] = []
    eff: list[int] = []
    n_g = 0
    for g, size in enumerate(sizes):
        n_g += size
        r = math.floor(n_g * p0 + z_a * math.sqrt(total * p0 * (1 - p0)) + 1e-12) + 1
        a = math.floor(n_g * p1 - z_b * math.sqrt(total * p1 * (1 - p1)) + 1e-12)
        r = min(r, n_g + 1)
        a = r - 1 if g == len(sizes) - 1 else min(max(a, -1), r - 1)
        looks.append(n_g)
        fut.append(a)
        eff.append(r)
    bounds = StoppingBoundaries(looks=tuple(looks), futility=tuple(fut), efficacy=tuple(eff))
    oc = operating_characteristics(bounds, [p0, p1])
    return FlemingDesign(
        p0=p0, p1=p1, nominal_alpha=alpha, nominal_power=power, stage_sizes=sizes,
        boundaries=bounds, alpha=float(oc["p_active"][0]), power=float(oc["p_active"][1]),
        en0=float(oc["expected_n"][0]), en1=float(oc["expected_n"][1]),
    )  # fmt: skip


def fleming_search(
    p0: float, p1: float, *, stages: int = 2, alpha: float = 0.05, power: float = 0.8,
    n_max: int = 200,
) -> FlemingDesign:  # fmt: skip
    """The smallest total N (split into ``stages`` stages as evenly as possible, the larger
    stages first) whose Fleming boundaries have exact type I error <= ``alpha`` and exact
    power >= ``power``."""
    stages = check_count("stages", stages, 1, 10)
    n_max = check_count("n_max", n_max, stages, 2000)
    for total in range(stages, n_max + 1):
        base, extra = divmod(total, stages)
        sizes = [base + (1 if g < extra else 0) for g in range(stages)]
        design = fleming_design(p0, p1, sizes, alpha=alpha, power=power)
        if design.alpha <= alpha and design.power >= power:
            return design
    raise AnalysisInputError(
        "n_max", n_max, "a larger maximum size: no Fleming design meets alpha and power",
        "is too small",
    )  # fmt: skip
