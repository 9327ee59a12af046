"""Fleming (1982), Thall-Simon (1994) and Lee-Liu (2008) boundaries against published examples,
and every design's exact operating characteristics against the Monte Carlo simulator."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from cordtrial.analysis.designs.bayesian import (
    lee_liu_design,
    lee_liu_search,
    posterior_exceeds_standard,
    predictive_probability,
    thall_simon_design,
)
from cordtrial.analysis.designs.boundaries import (
    StoppingBoundaries,
    operating_characteristics,
    rate_grid,
)
from cordtrial.analysis.designs.fleming import fleming_design, fleming_search
from cordtrial.analysis.designs.simon import simon_two_stage
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.simulation import simulate_boundaries


def test_fleming_reproduces_the_published_calculator_example():
    """Source: static.medsci.cn/sci/sample_size_fleming.html (secondary; designs.md section 2):
    p0 0.2, pA 0.4, alpha 0.05, power 0.8, N 25 in stages of 15 and 10 gives a = 3, 8 and
    r = 7, 9."""
    d = fleming_design(0.2, 0.4, [15, 10], alpha=0.05, power=0.8)
    assert d.boundaries.looks == (15, 25)
    assert d.boundaries.futility == (3, 8)
    assert d.boundaries.efficacy == (7, 9)


def test_fleming_reports_its_exact_error_rates():
    """The example's exact error rates, by a direct sum over stage-1 outcomes (scipy.stats)."""
    d = fleming_design(0.2, 0.4, [15, 10])

    def active(p: float) -> float:
        early = stats.binom.sf(6, 15, p)
        later = sum(stats.binom.pmf(x, 15, p) * stats.binom.sf(8 - x, 10, p) for x in range(4, 7))
        return float(early + later)

    assert d.alpha == pytest.approx(active(0.2), abs=1e-12)
    assert d.power == pytest.approx(active(0.4), abs=1e-12)


def test_fleming_search_meets_alpha_and_power_at_the_smallest_n():
    d = fleming_search(0.2, 0.4, stages=3, alpha=0.05, power=0.8)
    assert d.alpha <= 0.05 and d.power >= 0.8
    total = sum(d.stage_sizes)
    base, extra = divmod(total - 1, 3)
    previous = fleming_design(0.2, 0.4, [base + (g < extra) for g in range(3)])
    assert previous.alpha > 0.05 or previous.power < 0.8


def test_thall_simon_futility_boundary_equals_the_reference_sheet():
    """Source: designs.md section 3 (computed by the sheet's author for ph2bayes'
    ``stopbound_post(0.05, "futility", 40, 0.6, 1.4, 15, 35, 0)`` example; not verified
    against the package's output): stop if y <= 0 at n 6-12, 1 at 13-17, 2 at 18-23, 3 at
    24-28, 4 at 29-34, 5 at 35-39, 6 at 40."""
    d = thall_simon_design((0.6, 1.4), (15, 35), 40, futility=0.05, superiority=None)
    expected = {n: -1 for n in range(1, 6)}
    for bound, (lo, hi) in enumerate([(6, 12), (13, 17), (18, 23), (24, 28), (29, 34),
                                      (35, 39), (40, 40)]):  # fmt: skip
        expected.update({n: bound for n in range(lo, hi + 1)})
    assert dict(zip(d.boundaries.looks, d.boundaries.futility, strict=True)) == expected


def test_thall_simon_posterior_equals_a_direct_double_integral():
    """Source: designs.md point checks (computed) Pr(p_E > p_S | 3/20) = 0.0918 and 10/20 =
    0.9302, and scipy's dblquad of the two beta densities over p_E > p_S."""
    got = posterior_exceeds_standard([3, 10], 20, (0.6, 1.4), (15, 35))
    assert got == pytest.approx([0.0918, 0.9302], abs=5e-5)
    for y, value in zip((3, 10), got, strict=True):
        direct, _ = integrate.dblquad(
            lambda pe, ps, y=y: stats.beta.pdf(pe, 0.6 + y, 1.4 + 20 - y)
            * stats.beta.pdf(ps, 15, 35), 0, 1, lambda ps: ps, 1)  # fmt: skip
        assert value == pytest.approx(direct, abs=1e-6)


def test_lee_liu_predictive_probability_equals_the_published_example():
    """Source: Lee and Liu, Clin Trials 2008, p. 97 (via ph2bayes' predprob example, designs.md
    section 4, tag C): x 16 of 23, n_max 40, Beta(0.6, 0.4), p0 0.6, theta_T 0.9: PP = 0.5656."""
    assert predictive_probability(16, 23, 40, (0.6, 0.4), 0.6, 0.9) == pytest.approx(
        0.5656, abs=5e-5
    )


def test_lee_liu_futility_boundary_equals_ph2bayes():
    """Source: ph2bayes ``stopbound_pred`` example output on rdrr.io (designs.md section 4, tag
    C up to n = 29; the rest computed by the sheet): theta_L 0.05, n_max 40, Beta(0.6, 1.4),
    p0 0.3, theta_T 0.85 -- the first n at which each count stops."""
    d = lee_liu_design(0.3, 40, prior=(0.6, 1.4), theta_l=0.05, theta_t=0.85)
    first: dict[int, int] = {}
    for n, bound in zip(d.boundaries.looks, d.boundaries.futility, strict=True):
        if bound >= 0:
            first.setdefault(bound, n)
    published = {0: 4, 1: 8, 2: 11, 3: 14, 4: 17, 5: 20, 6: 22, 7: 25, 8: 27, 9: 29}
    computed = {10: 32, 11: 34, 12: 36, 13: 37, 14: 39, 15: 40}
    assert first == published | computed


def test_lee_liu_search_meets_alpha_and_power_and_none_smaller_does():
    d = lee_liu_search(0.2, 0.4, alpha=0.1, power=0.8, n_range=(10, 40),
                       theta_t_grid=(0.85, 0.9, 0.95), theta_l_grid=(0.01, 0.05))  # fmt: skip
    assert d.alpha <= 0.1 and d.power is not None and d.power >= 0.8
    for theta_t in (0.85, 0.9, 0.95):
        for theta_l in (0.01, 0.05):
            smaller = lee_liu_design(0.2, d.n_max - 1, theta_l=theta_l, theta_t=theta_t, p1=0.4)
            assert smaller.alpha > 0.1 or (smaller.power or 0) < 0.8


@functools.cache
def _designs() -> dict[str, StoppingBoundaries]:
    return {
        "simon": simon_two_stage(0.1, 0.3, alpha=0.05, power=0.8).optimal.boundaries,
        "fleming": fleming_design(0.2, 0.4, [10, 10, 10]).boundaries,
        "thall_simon": thall_simon_design((0.6, 1.4), (15, 35), 30, n_min=5, cohort=5).boundaries,
        "lee_liu": lee_liu_design(0.3, 30, theta_l=0.05, theta_t=0.9, theta_u=0.99).boundaries,
    }


@pytest.mark.parametrize("name", ["simon", "fleming", "thall_simon", "lee_liu"])
def test_exact_operating_characteristics_agree_with_the_simulator(name):
    """Source: the Monte Carlo simulator (simulation.simulate_boundaries), 40,000 trials per
    rate: every probability within 4.5 Monte Carlo SE, the expected size within 4.5 SE."""
    bounds = _designs()[name]
    rates = [0.1, 0.3, 0.5]
    exact = operating_characteristics(bounds, rates)
    trials = 40_000
    simulated = simulate_boundaries(bounds, rates, trials=trials, seed=7)
    for column in exact.columns[1:-1]:
        for e, s in zip(exact[column], simulated[column], strict=True):
            se = math.sqrt(max(e * (1 - e), 1e-4) / trials)
            assert abs(e - s) <= 4.5 * se, (column, e, s)
    sd_n = bounds.n_max / 2  # the size lies in [first look, n_max]: its SD is below n_max / 2
    for e, s in zip(exact["expected_n"], simulated["expected_n"], strict=True):
        assert abs(e - s) <= 4.5 * sd_n / math.sqrt(trials)


def test_operating_characteristics_add_up_and_stay_in_range():
    """Invariant: active + inactive + inconclusive = 1; early stops within them; size in
    [first look, n_max]."""
    for bounds in _designs().values():
        oc = operating_characteristics(bounds, np.linspace(0, 1, 11))
        total = oc["p_active"] + oc["p_inactive"] + oc["p_inconclusive"]
        assert np.allclose(total, 1.0)
        assert (oc["p_early_active"] <= oc["p_active"] + 1e-12).all()
        assert (oc["expected_n"] >= bounds.looks[0] - 1e-9).all()
        assert (oc["expected_n"] <= bounds.n_max + 1e-9).all()


def test_rate_grid_holds_p0_and_p1():
    grid = rate_grid(0.12, 0.33)
    assert 0.12 in grid and 0.33 in grid and grid == sorted(grid)


def test_boundaries_refuse_crossed_bounds():
    with pytest.raises(AnalysisInputError) as info:
        StoppingBoundaries(looks=(10, 20), futility=(5, 9), efficacy=(4, 10))
    assert info.value.field == "futility"


def test_safety_rule_stop_probability_equals_a_direct_enumeration():
    """Source: every sequence of 6 participants' events enumerated (2**6 cases), the default
    rule checked after each participant against StoppingRule.posterior directly."""
    from itertools import product

    from cordtrial.analysis.designs.safety_rule import safety_rule_operating_characteristics
    from cordtrial.analysis.safety import DEFAULT_STOPPING_RULE as rule

    n = 6
    for rate in (0.1, 0.3):
        stop = expected = 0.0
        for events in product((0, 1), repeat=n):
            p = math.prod(rate if e else 1 - rate for e in events)
            k, size = 0, n
            for i, e in enumerate(events, start=1):
                k += e
                if rule.posterior(k, i) > rule.posterior_threshold:
                    stop += p
                    size = i
                    break
            expected += p * size
        oc = safety_rule_operating_characteristics(rule, n, [rate])
        assert oc["p_stop"][0] == pytest.approx(stop, abs=1e-12)
        assert oc["expected_treated"][0] == pytest.approx(expected, abs=1e-12)


@st.composite
def _small_boundaries(draw: st.DrawFn) -> StoppingBoundaries:
    looks = sorted(draw(st.sets(st.integers(1, 8), min_size=1, max_size=4)))
    futility, efficacy = [], []
    for n in looks:
        a = draw(st.integers(-1, n))
        b = draw(st.integers(a + 1, n + 1))
        futility.append(a)
        efficacy.append(b)
    return StoppingBoundaries(
        looks=tuple(looks), futility=tuple(futility), efficacy=tuple(efficacy)
    )


@given(_small_boundaries(), st.floats(0.0, 1.0))
@settings(max_examples=60, deadline=None)
def test_operating_characteristics_equal_an_enumeration_of_every_sequence(bounds, rate):
    """Source: every sequence of responses of the n_max participants (at most 2**8),
    the boundaries applied at each analysis in plain Python."""
    from itertools import product

    totals = dict.fromkeys(("active", "inactive", "early_active", "early_inactive", "n"), 0.0)
    last = len(bounds.looks) - 1
    for seq in product((0, 1), repeat=bounds.n_max):
        p = math.prod(rate if x else 1 - rate for x in seq)
        for j, (n, a, b) in enumerate(zip(bounds.looks, bounds.futility, bounds.efficacy,
                                          strict=True)):  # fmt: skip
            s = sum(seq[:n])
            if s <= a or s >= b or j == last:
                kind = "active" if s >= b else "inactive" if s <= a else None
                if kind:
                    totals[kind] += p
                    if j < last:
                        totals[f"early_{kind}"] += p
                totals["n"] += p * n
                break
    oc = operating_characteristics(bounds, [rate])
    assert oc["p_active"][0] == pytest.approx(totals["active"], abs=1e-12)
    assert oc["p_inactive"][0] == pytest.approx(totals["inactive"], abs=1e-12)
    assert oc["p_early_active"][0] == pytest.approx(totals["early_active"], abs=1e-12)
    assert oc["p_early_inactive"][0] == pytest.approx(totals["early_inactive"], abs=1e-12)
    assert oc["expected_n"][0] == pytest.approx(totals["n"], abs=1e-9)
