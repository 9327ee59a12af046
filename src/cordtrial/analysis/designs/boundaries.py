"""Stopping boundaries of a single-arm multi-stage design and their exact operating
characteristics.

Every single-arm design of :mod:`cordtrial.analysis.designs` (Simon, Fleming, Thall-Simon,
Lee-Liu) comes down to the same object: analyses after ``looks[j]`` participants (cumulative), and
at each analysis with ``S`` responses so far

* stop, treatment *inactive*, when ``S <= futility[j]`` (``-1``: no futility stop there);
* stop, treatment *active*, when ``S >= efficacy[j]`` (``looks[j] + 1``: no efficacy stop);
* otherwise go on. After the last analysis a trial that crossed neither bound is *inconclusive*
  (only the Bayesian rules can leave that gap; Simon and Fleming close it, ``futility[-1] ==
  efficacy[-1] - 1``).

The operating characteristics are computed exactly by carrying the distribution of ``S`` among
the trials still running from one analysis to the next (a convolution with the binomial of the
participants added), so nothing is simulated;
:func:`cordtrial.analysis.simulation.simulate_boundaries` runs the same boundaries by Monte Carlo
as a cross-check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.stats import check_probability

__all__ = [
    "OC_COLUMNS",
    "OC_LABELS",
    "StoppingBoundaries",
    "operating_characteristics",
    "rate_grid",
]

#: Columns of :func:`operating_characteristics`, in order.
OC_COLUMNS = (
    "true_rate",
    "p_active",
    "p_inactive",
    "p_inconclusive",
    "p_early_stop",
    "p_early_active",
    "p_early_inactive",
    "expected_n",
)
#: The same columns in words, for tables people read.
OC_LABELS = {
    "true_rate": "True response rate",
    "p_active": "P(declare active)",
    "p_inactive": "P(declare inactive)",
    "p_inconclusive": "P(inconclusive)",
    "p_early_stop": "P(stop early)",
    "p_early_active": "P(stop early: active)",
    "p_early_inactive": "P(stop early: inactive)",
    "expected_n": "Expected participants",
}


@dataclass(frozen=True, slots=True)
class StoppingBoundaries:
    """Analyses of a single-arm design (see the module docstring for the rule).

    Attributes
    ----------
    looks : tuple of int
        Cumulative participants at each analysis, increasing; the last is the maximum size.
    futility : tuple of int
        Stop (inactive) when responses <= this; ``-1`` when no count stops.
    efficacy : tuple of int
        Stop (active) when responses >= this; ``looks[j] + 1`` when no count stops.
    """

    looks: tuple[int, ...]
    futility: tuple[int, ...]
    efficacy: tuple[int, ...]

    def __post_init__(self) -> None:
        if (
            not self.looks
            or len(self.futility) != len(self.looks)
            or len(self.efficacy) != len(self.looks)
        ):
            raise AnalysisInputError(
                "looks", self.looks, "one futility and one efficacy bound per analysis"
            )
        previous = 0
        for n, a, b in zip(self.looks, self.futility, self.efficacy, strict=True):
            if n <= previous:
                raise AnalysisInputError("looks", self.looks, "increasing participant counts >= 1")
            if not -1 <= a < b <= n + 1:
                raise AnalysisInputError(
                    "futility", (n, a, b), f"-1 <= futility < efficacy <= {n + 1} at n={n}"
                )
            previous = n

    @property
    def n_max(self) -> int:
        """Participants if the trial runs to the end."""
        return self.looks[-1]

    @property
    def table(self) -> pd.DataFrame:
        """One row per analysis: participants, and the counts that stop there (empty: none)."""
        rows = []
        for n, a, b in zip(self.looks, self.futility, self.efficacy, strict=True):
            rows.append(
                {
                    "participants": n,
                    "inactive_if_at_most": a if a >= 0 else None,
                    "active_if_at_least": b if b <= n else None,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists (JSON)."""
        return {
            "looks": list(self.looks),
            "inactive_if_at_most": list(self.futility),
            "active_if_at_least": list(self.efficacy),
        }


def _one_rate(bounds: StoppingBoundaries, p: float) -> dict[str, float]:
    open_ = np.ones(1)  # P(S = s and still running), s = 0 .. participants so far
    done = 0
    early_active = early_inactive = expected = 0.0
    last = len(bounds.looks) - 1
    for j, (n, a, b) in enumerate(zip(bounds.looks, bounds.futility, bounds.efficacy, strict=True)):
        add = n - done
        open_ = np.convolve(open_, stats.binom.pmf(np.arange(add + 1), add, p))
        done = n
        inactive = float(open_[: a + 1].sum()) if a >= 0 else 0.0
        active = float(open_[b:].sum()) if b <= n else 0.0
        if j == last:
            running = float(open_.sum())
            expected += n * running
            return {
                "p_active": early_active + active,
                "p_inactive": early_inactive + inactive,
                "p_inconclusive": max(0.0, running - active - inactive),
                "p_early_stop": early_active + early_inactive,
                "p_early_active": early_active,
                "p_early_inactive": early_inactive,
                "expected_n": expected,
            }
        expected += n * (active + inactive)
        early_active += active
        early_inactive += inactive
        if a >= 0:
            open_[: a + 1] = 0.0
        if b <= n:
            open_[b:] = 0.0
    raise AssertionError("unreachable")  # pragma: no cover


def operating_characteristics(bounds: StoppingBoundaries, rates: Iterable[float]) -> pd.DataFrame:
    """Exact operating characteristics of ``bounds`` for each true response rate.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`OC_COLUMNS`: the probabilities of declaring the treatment active /
        inactive / neither, of stopping early (for each reason), and the expected number of
        participants.
    """
    rows = []
    for rate in rates:
        p = check_probability("true_rate", rate, open_interval=False)
        rows.append({"true_rate": p, **_one_rate(bounds, p)})
    return pd.DataFrame(rows, columns=list(OC_COLUMNS))


def rate_grid(p0: float, p1: float, extra: Sequence[float] = ()) -> list[float]:
    """The default grid of true rates: every 0.05 from 0.05 below ``p0`` to 0.1 above ``p1``,
    with ``p0``, ``p1`` and ``extra`` added, sorted, rounded to 4 places."""
    low = max(0.0, min(p0, p1) - 0.05)
    high = min(1.0, max(p0, p1) + 0.1)
    grid = {round(float(x), 4) for x in np.arange(round(low / 0.05) * 0.05, high + 1e-9, 0.05)}
    grid |= {round(p0, 4), round(p1, 4)} | {round(float(x), 4) for x in extra}
    return sorted(x for x in grid if 0 <= x <= 1)
