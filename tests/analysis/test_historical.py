"""Natural recovery as a distribution: the source's counts in the comparison (Fisher,
Boschloo, Bayesian with a robust mixture), level strata and the secular trend; each checked
against a first-principles computation or a closed form named in its docstring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import betaln

from cordtrial.analysis.endpoints import endpoint_table
from cordtrial.analysis.errors import AnalysisInputError, SmallSampleWarning
from cordtrial.analysis.historical import (
    compare_with_source_counts,
    prob_treated_exceeds,
    secular_trend_sensitivity,
    stratified_comparisons,
)
from cordtrial.analysis.natural_history import figure_by_id
from cordtrial.analysis.timepoint import time_point_endpoint
from cordtrial.trial.demo import DEMO_EXAM_VISITS, DEMO_TRAJECTORIES


def _miller(a1: int, b1: int, a2: int, b2: int) -> float:
    """Closed form of P(p1 > p2), p1 ~ Beta(a1, b1), p2 ~ Beta(a2, b2), integer a1 (Evan
    Miller, "Formulas for Bayesian A/B testing"): sum_{i<a1} B(a2+i, b1+b2) / ((b1+i)
    B(1+i, b1) B(a2, b2))."""
    total = 0.0
    for i in range(a1):
        total += np.exp(betaln(a2 + i, b1 + b2) - np.log(b1 + i) - betaln(1 + i, b1)
                        - betaln(a2, b2))  # fmt: skip
    return float(total)


@pytest.mark.parametrize(("t", "c"), [((3, 1), (43, 120)), ((2, 5), (10, 30)), ((7, 2), (3, 3))])
def test_probability_treated_exceeds_equals_the_closed_form(t, c):
    assert prob_treated_exceeds(t, c) == pytest.approx(_miller(*t, *c), abs=1e-9)


def test_against_a_uniform_natural_rate_it_is_the_treated_mean():
    """P(p_t > U) = E[p_t] = a / (a + b)."""
    assert prob_treated_exceeds((3, 1), (1, 1)) == pytest.approx(0.75, abs=1e-10)


def _fisher_by_hand(k: int, n: int, kc: int, nc: int) -> float:
    """One-sided Fisher: P(X >= k), X hypergeometric (N = n + nc, K = k + kc, draws n)."""
    dist = stats.hypergeom(n + nc, k + kc, n)
    return float(sum(dist.pmf(x) for x in range(k, min(n, k + kc) + 1)))


def _boschloo_by_grid(k: int, n: int, kc: int, nc: int) -> float:
    """Boschloo (1970) from first principles: the largest, over the common rate pi, of the
    probability of a table whose Fisher p is at most the observed one (grid of 4001 pi)."""
    observed = _fisher_by_hand(k, n, kc, nc)
    fisher = np.array([[_fisher_by_hand(x, n, y, nc) for y in range(nc + 1)]
                       for x in range(n + 1)])  # fmt: skip
    extreme = fisher <= observed * (1 + 1e-9)
    best = 0.0
    for pi in np.linspace(0, 1, 4001):
        px = stats.binom.pmf(np.arange(n + 1), n, pi)
        py = stats.binom.pmf(np.arange(nc + 1), nc, pi)
        best = max(best, float((np.outer(px, py) * extreme).sum()))
    return best


def test_two_of_two_against_van_middendorp_42_of_161():
    """vM 2009 reports 42 of 161: Fisher = hypergeometric sum; Boschloo = the grid maximum
    (and never above Fisher); the fixed-rate probability = Beta(3, 1) above 0.261."""
    with pytest.warns(SmallSampleWarning):
        c = compare_with_source_counts(2, 2, "vanmiddendorp2009_above_t11")
    assert (c.source_events, c.source_n, c.reconstructed) == (42, 161, False)
    assert c.fisher_p == pytest.approx(_fisher_by_hand(2, 2, 42, 161))
    assert c.boschloo_p == pytest.approx(_boschloo_by_grid(2, 2, 42, 161), abs=2e-4)
    assert c.boschloo_p <= c.fisher_p + 1e-12
    assert c.prob_exceeds_fixed == pytest.approx(stats.beta.sf(0.261, 3, 1))
    assert c.prob_exceeds_informative == pytest.approx(_miller(3, 1, 43, 120), abs=1e-9)
    vague = 0.75
    assert c.prob_exceeds_robust == pytest.approx(0.8 * c.prob_exceeds_informative + 0.2 * vague)


def test_counts_are_reconstructed_and_marked_when_only_a_percentage_is_published():
    """Spiess 2009: 30.2% of 139 -> round(41.98) = 42, marked reconstructed."""
    with pytest.warns(SmallSampleWarning):
        c = compare_with_source_counts(1, 4, "spiess2009_all")
    assert (c.source_events, c.reconstructed) == (42, True)
    assert "(reconstructed)" in c.summary.iloc[0]["source events"]


def test_a_source_without_n_is_refused_by_name():
    with pytest.raises(AnalysisInputError) as info:
        compare_with_source_counts(1, 4, figure_by_id("fawcett2007_iccp"))
    assert info.value.field == "figure"


def test_secular_trend_rows_equal_scipy_binomtest():
    """Marino 2020: tetraplegia to any incomplete 17.6% (1995-97) and 50% (2013-15)."""
    out = secular_trend_sensitivity(2, 2)
    assert set(out["outcome"]) == {"any incomplete"}  # conversions against conversion rates
    assert set(secular_trend_sensitivity(2, 2, outcome="motor_incomplete")["natural rate"]) == {
        0.094,
        0.281,
    }
    any_incomplete = out.set_index("era")
    for era, rate in (("1995-1997", 0.176), ("2013-2015", 0.50)):
        assert any_incomplete.loc[era, "natural rate"] == rate
        assert any_incomplete.loc[era, "p"] == pytest.approx(
            stats.binomtest(2, 2, rate, alternative="greater").pvalue)  # fmt: skip


def test_strata_compare_each_region_with_sources_covering_its_levels(demo_data):
    """Demo at week 52, every participant assessed: each region's stratum counts its own
    participants (regions and grades from the store and the demo's design). A source is used
    only if it covers every level of the stratum: the thoracic stratum (T6 and T10) is compared
    with 'above T11' but not with T1-T9 (T10 is outside it), never with tetraplegia; the
    cervical stratum with tetraplegia sources."""
    ep = endpoint_table(demo_data.exams, participants=demo_data.participants,
                        baseline_visit="screening", schedule=demo_data.schedule,
                        data_cut=demo_data.last_data_date)  # fmt: skip
    end = time_point_endpoint(ep, "week 52")
    out = stratified_comparisons(end.participants, demo_data.participants,
                                 outcome_window=(350.0, 420.0))  # fmt: skip
    people = demo_data.participants.set_index("participant")
    for region in ("thoracic", "cervical"):
        members = list(people.index[people["region"] == region])
        converted = sum(
            DEMO_TRAJECTORIES[m][DEMO_EXAM_VISITS[m].index("week 52")] > "A" for m in members
        )
        rows = out[out["stratum"] == region]
        assert set(rows["assessed"]) == {len(members)}, region
        assert set(rows["converted"]) == {converted}, region
        above_t11 = rows[rows["source levels"] == "above T11"].iloc[0]
        assert above_t11["p"] == pytest.approx(
            stats.binomtest(converted, len(members), 0.261, alternative="greater").pvalue
        )
    thoracic = out[out["stratum"] == "thoracic"]
    assert {"T6", "T10"} <= set(thoracic["levels"].iloc[0].split(", "))
    assert "T1-T9" not in set(thoracic["source levels"])
    assert "tetraplegia" not in set(thoracic["source levels"])
    assert "tetraplegia" in set(out[out["stratum"] == "cervical"]["source levels"])
    assert isinstance(out, pd.DataFrame)
