"""ICCP motor-level responders, the exact sign test of AIS shifts and non-parametric change
summaries, each checked against an independent computation named in its docstring."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.descriptivestats import sign_test

from cordtrial.analysis.change import (
    ais_shift_test,
    change_summary,
    motor_level_responders,
)
from cordtrial.analysis.endpoints import SCORE_FIELDS
from cordtrial.analysis.errors import SmallSampleWarning


def _ep(changes: list[dict[str, float]]) -> pd.DataFrame:
    rows = []
    for i, c in enumerate(changes):
        row: dict[str, object] = {"participant": f"P{i}", "visit": "week 52",
                                  "status": "observed", "in_window": "yes"}  # fmt: skip
        for key in ("motor_right", "motor_left", "grade", *SCORE_FIELDS):
            lo, hi = c.get(key, (0.0, 0.0)) if isinstance(c.get(key), tuple) else (
                c.get(key, 0.0), c.get(key, 0.0))  # fmt: skip
            row[f"{key}_change_min"], row[f"{key}_change_max"] = lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def test_two_motor_levels_on_one_side_make_a_responder():
    """ICCP responder: >= 2 motor levels gained on at least one side (Steeves 2007)."""
    ep = _ep([{"motor_right": 2, "motor_left": 0}, {"motor_right": 1, "motor_left": 1},
              {"motor_right": (1, 3), "motor_left": 0}])  # fmt: skip
    out = motor_level_responders(ep, "week 52")
    assert list(out["responder"]) == ["yes", "no", "undetermined"]
    assert out.iloc[2]["motor level change right"] == "+1..+3"


def test_sign_test_equals_statsmodels_and_scipy():
    """6 better, 1 worse, 2 same: statsmodels' sign_test (two-sided) and scipy's binomtest."""
    grades = [1, 2, 1, 3, 1, 1, -1, 0, 0]
    with pytest.warns(SmallSampleWarning):
        test = ais_shift_test(_ep([{"grade": g} for g in grades]), "week 52")
    assert (test.better, test.worse, test.same) == (6, 1, 2)
    diffs = np.array([g for g in grades])
    assert test.p_two_sided == pytest.approx(sign_test(diffs, 0)[1])
    assert test.p_value == pytest.approx(stats.binomtest(6, 7, 0.5, "greater").pvalue)
    # by hand: P(X >= 6 | 7, 1/2) = (7 + 1) / 128
    assert test.p_value == pytest.approx(8 / 128)


def test_sign_test_leaves_undetermined_shifts_out():
    with pytest.warns(SmallSampleWarning):
        test = ais_shift_test(_ep([{"grade": (0, 2)}, {"grade": 1}]), "week 52")
    assert (test.better, test.undetermined) == (1, 1)


def _exact_wilcoxon(x: np.ndarray) -> float:
    """First principles: the two-sided p of the signed-rank statistic over all 2^n sign
    assignments, midranks for ties."""
    ranks = stats.rankdata(np.abs(x))
    observed = ranks[x > 0].sum()
    centre = ranks.sum() / 2
    sums = [sum(r for r, s in zip(ranks, signs, strict=True) if s)
            for signs in itertools.product((0, 1), repeat=len(x))]  # fmt: skip
    extreme = sum(abs(t - centre) >= abs(observed - centre) - 1e-9 for t in sums)
    return extreme / 2 ** len(x)


def test_change_summary_median_quartiles_and_exact_wilcoxon():
    """LEMS changes 0, 10, 10, 20, -4, 18, 6: median and quartiles = numpy.percentile; the
    Wilcoxon p = the exact enumeration above (ties at 10 included, the zero dropped)."""
    lems = [0.0, 10.0, 10.0, 20.0, -4.0, 18.0, 6.0]
    out = change_summary(_ep([{"lems": v} for v in lems]), "week 52").set_index("score")
    row = out.loc["lems"]
    q1, med, q3 = np.percentile(lems, [25, 50, 75])
    assert (row["median"], row["lower quartile"], row["upper quartile"]) == (med, q1, q3)
    assert (row["minimum"], row["maximum"], row["n"]) == (-4.0, 20.0, 7)
    nonzero = np.array([v for v in lems if v != 0])
    assert row["Wilcoxon p"] == pytest.approx(_exact_wilcoxon(nonzero))


def test_change_left_open_by_nt_is_counted_apart():
    out = change_summary(_ep([{"uems": (2.0, 8.0)}, {"uems": 4.0}]), "week 52")
    row = out.set_index("score").loc["uems"]
    assert (row["n"], row["undetermined"], row["median"]) == (1, 1, 4.0)
    assert math.isnan(out.set_index("score").loc["lems", "Wilcoxon p"])
