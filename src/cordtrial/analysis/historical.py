"""Natural recovery as a distribution: the comparison rate carries the uncertainty of the
source's own counts, by level stratum where the sources allow, with a secular-trend
sensitivity.

A published rate is an estimate from a finite cohort. Testing a trial against it as if it were
known overstates the evidence; Makuch and Simon (J Chronic Dis 1980;33:175-181) treat the
historical control as a second sample whose size matters. Here:

* :func:`compare_with_source_counts` -- the trial's k of n against the source's events of its n
  as two independent binomial samples: Fisher's exact test and Boschloo's exact unconditional
  test (scipy), one-sided; and the Bayesian probability that the treated rate exceeds the
  natural rate when the natural rate has the posterior of the source's counts, Beta(1 + events,
  1 + n - events), and a *robust mixture* of it with a vague Beta(1, 1) (weight ``w`` on the
  source; Schmidli H et al. Biometrics 2014;70:1023-1032): the vague part says the trial's
  population may differ from the source's. Where a source gives a percentage and n but no count,
  the count is reconstructed (round(p x n)) and marked so.
* :func:`stratified_comparisons` -- the same by level stratum (cervical, thoracic), each
  stratum against the sources that cover its levels and the endpoint's time.
* :func:`secular_trend_sensitivity` -- conversion of AIS A tetraplegia rose from 17.6% in
  1995-97 to 50% in 2013-15 (to motor incomplete 9.4% to 28.1%; Marino RJ et al. Neurotrauma
  Rep 2020;1:192-200): the comparison at the earliest and the latest era's rate.

Limits: a second-sample test still assumes the source's patients are exchangeable with the
trial's (same level, timing, care); Makuch-Simon planning assumes the true control rate equals
the observed one and so does not keep nominal power and type I error (Zhang and Cao, Clin
Trials 2010). The mixture weight is a judgement, printed with the result.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd
from scipy import integrate, stats

from cordtrial.analysis.errors import AnalysisInputError, SmallSampleWarning
from cordtrial.analysis.frames import records as frame_records
from cordtrial.analysis.natural_history import (
    NaturalHistoryFigure,
    applicable_figures,
    figure_by_id,
    secular_trend_figures,
)
from cordtrial.analysis.stats import check_count, check_probability

__all__ = [
    "DEFAULT_ROBUST_WEIGHT",
    "SourceCountComparison",
    "compare_with_source_counts",
    "prob_treated_exceeds",
    "secular_trend_sensitivity",
    "stratified_comparisons",
]

#: Weight of the source's counts in the robust mixture prior of the natural rate (the rest on
#: a vague Beta(1, 1)); a judgement to state in each protocol.
DEFAULT_ROBUST_WEIGHT: Final = 0.8


def prob_treated_exceeds(treated: tuple[float, float], natural: tuple[float, float]) -> float:
    """P(p_t > p_n) for independent p_t ~ Beta(*treated) and p_n ~ Beta(*natural): the integral
    of the treated density times the natural CDF over [0, 1] (numerical quadrature)."""
    a, b = treated
    c, d = natural

    def integrand(x: float) -> float:
        return float(stats.beta.pdf(x, a, b) * stats.beta.cdf(x, c, d))

    value, _ = integrate.quad(integrand, 0.0, 1.0, limit=200, epsabs=1e-12, epsrel=1e-10)
    return float(min(1.0, max(0.0, value)))


@dataclass(frozen=True, slots=True)
class SourceCountComparison:
    """A trial's conversions against a source's counts, as two samples.

    Attributes
    ----------
    figure : NaturalHistoryFigure
    successes, n : int
        The trial's conversions and participants assessed.
    source_events, source_n : int
        The source's counts.
    reconstructed : bool
        Whether ``source_events`` was reconstructed from the published percentage and n.
    fisher_p, boschloo_p : float
        One-sided exact p-values (treated rate greater).
    prob_exceeds_informative : float
        P(treated > natural) with the natural rate ~ Beta(1 + events, 1 + n - events).
    prob_exceeds_robust : float
        The same with the robust mixture prior (weight ``robust_weight`` on the source).
    prob_exceeds_fixed : float
        The same with the natural rate fixed at the published proportion (the old comparison).
    robust_weight : float
    caveats : tuple of str
    """

    figure: NaturalHistoryFigure
    successes: int
    n: int
    source_events: int
    source_n: int
    reconstructed: bool
    fisher_p: float
    boschloo_p: float
    prob_exceeds_informative: float
    prob_exceeds_robust: float
    prob_exceeds_fixed: float
    robust_weight: float
    caveats: tuple[str, ...] = ()

    @property
    def summary(self) -> pd.DataFrame:
        """One row for reports."""
        return pd.DataFrame(
            [
                {
                    "source": self.figure.source,
                    "levels": self.figure.levels,
                    "timing": self.figure.timing,
                    "source events": f"{self.source_events} of {self.source_n}"
                    + (" (reconstructed)" if self.reconstructed else ""),
                    "observed": f"{self.successes} of {self.n}",
                    "Fisher p": self.fisher_p,
                    "Boschloo p": self.boschloo_p,
                    "P(exceeds), rate fixed": self.prob_exceeds_fixed,
                    "P(exceeds), rate from counts": self.prob_exceeds_informative,
                    f"P(exceeds), robust ({self.robust_weight:.0%} source)": (
                        self.prob_exceeds_robust
                    ),
                }
            ]
        )


def _source_counts(figure: NaturalHistoryFigure) -> tuple[int, int, bool]:
    if figure.n is None:
        raise AnalysisInputError("figure", figure.id, "a source that reports its n", "reports no n")
    if figure.events is not None:
        return int(figure.events), int(figure.n), False
    return round(figure.proportion * figure.n), int(figure.n), True


def compare_with_source_counts(
    successes: int,
    n: int,
    figure: NaturalHistoryFigure | str,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    robust_weight: float = DEFAULT_ROBUST_WEIGHT,
) -> SourceCountComparison:
    """Compare ``successes`` of ``n`` with a source's counts (see the module docstring).

    Parameters
    ----------
    successes, n : int
    figure : NaturalHistoryFigure or str
        A source with its n (and events, or a proportion to reconstruct them from).
    prior : (float, float)
        Beta prior of the treated rate (default uniform).
    robust_weight : float
        Weight of the source in the robust mixture prior of the natural rate (0-1).
    """
    n = check_count("n", n, 1)
    k = check_count("successes", successes, 0, n)
    w = check_probability("robust_weight", robust_weight, open_interval=False)
    if isinstance(figure, str):
        figure = figure_by_id(figure)
    ke, ne, rebuilt = _source_counts(figure)
    table = [[k, n - k], [ke, ne - ke]]
    fisher = float(stats.fisher_exact(table, alternative="greater").pvalue)
    # scipy's Boschloo test takes the two samples as columns (successes in the first row)
    boschloo = float(
        stats.boschloo_exact([[k, ke], [n - k, ne - ke]], alternative="greater").pvalue
    )
    treated = (prior[0] + k, prior[1] + n - k)
    informative = prob_treated_exceeds(treated, (1.0 + ke, 1.0 + ne - ke))
    vague = prob_treated_exceeds(treated, (1.0, 1.0))
    fixed = float(stats.beta.sf(figure.proportion, *treated))
    caveats: tuple[str, ...] = ()
    if n < 10:
        message = (
            f"comparison with source counts: n={n} is under 10; the exact tests can detect "
            "only a very large difference"
        )
        warnings.warn(message, SmallSampleWarning, stacklevel=2)
        caveats = (message,)
    return SourceCountComparison(
        figure,
        k,
        n,
        ke,
        ne,
        rebuilt,
        fisher,
        boschloo,
        informative,
        w * informative + (1 - w) * vague,
        fixed,
        w,
        caveats,
    )


def stratified_comparisons(
    endpoint_rows: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    outcome_window: tuple[float, float] | None = None,
    baseline_grade: str = "A",
) -> pd.DataFrame:
    """The comparison by level stratum: the assessed participants of each region (cervical,
    thoracic ...) against each source covering that stratum's levels and the endpoint's time.

    Parameters
    ----------
    endpoint_rows : DataFrame
        :attr:`TimePointEndpoint.participants` (``participant``, ``status``, ``outcome``).
    participants : DataFrame
        With ``participant``, ``injury_level`` and ``region``.

    Returns
    -------
    DataFrame
        One row per stratum and source: ``stratum``, ``levels``, ``converted``, ``assessed``,
        ``source``, ``natural rate``, ``p`` (exact one-sided binomial against the rate) and,
        where the source reports n, ``Fisher p`` against its counts.
    """
    info = {r["participant"]: r for r in frame_records(participants)}
    assessed = endpoint_rows[endpoint_rows["status"] == "assessed"]
    strata: dict[str, list[dict[Any, Any]]] = {}
    for rec in frame_records(assessed):
        person = info.get(rec["participant"], {})
        strata.setdefault(str(person.get("region", "unknown")), []).append(
            {**rec, "injury_level": person.get("injury_level", "")}
        )
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        for stratum, members in sorted(strata.items()):
            levels = sorted({str(m["injury_level"]) for m in members if m["injury_level"]})
            k = sum(m["outcome"] == "yes" for m in members)
            n = len(members)
            figures = applicable_figures(baseline_grade, levels=levels, window=outcome_window)
            for f in figures:
                if not 0 < f.proportion < 1:
                    continue
                p = float(stats.binom.sf(k - 1, n, f.proportion))
                fisher = math.nan
                if f.n is not None:
                    fisher = compare_with_source_counts(k, n, f).fisher_p
                rows.append(
                    {
                        "stratum": stratum,
                        "levels": ", ".join(levels),
                        "converted": k,
                        "assessed": n,
                        "source": f.source,
                        "source levels": f.levels,
                        "natural rate": f.proportion,
                        "p": p,
                        "Fisher p": fisher,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "stratum",
            "levels",
            "converted",
            "assessed",
            "source",
            "source levels",
            "natural rate",
            "p",
            "Fisher p",
        ],
    )


def secular_trend_sensitivity(
    successes: int,
    n: int,
    *,
    outcome: str = "converted",
    prior: tuple[float, float] = (1.0, 1.0),
) -> pd.DataFrame:
    """The comparison at each era's published rate (Marino 2020, AIS A tetraplegia) for one
    outcome (``converted``: to any incomplete grade; ``motor_incomplete``: to C, D or E): one
    row per era with ``natural rate``, exact one-sided ``p`` and ``P(exceeds)`` (the treated
    rate's Beta posterior above the era's rate)."""
    n = check_count("n", n, 1)
    k = check_count("successes", successes, 0, n)
    wanted = {"converted": "improved_1_grade", "motor_incomplete": "to_motor_incomplete"}
    if outcome not in wanted:
        raise AnalysisInputError("outcome", outcome, "converted or motor_incomplete")
    rows = []
    for f in secular_trend_figures():
        if f["outcome"] != wanted[outcome]:
            continue
        rows.append(
            {
                "era": f["era"],
                "outcome": f["outcome_words"],
                "natural rate": f["proportion"],
                "p": float(stats.binom.sf(k - 1, n, f["proportion"])),
                "P(exceeds)": float(stats.beta.sf(f["proportion"], prior[0] + k, prior[1] + n - k)),
                "source": f["source"],
            }
        )
    return pd.DataFrame(rows)
