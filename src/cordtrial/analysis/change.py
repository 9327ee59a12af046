"""Change from baseline as clinical trials in SCI report it: the ICCP motor-level responder,
the ordinal AIS shift with an exact test, and non-parametric summaries of skewed score changes.

* :func:`motor_level_responders` -- a participant responds when a motor level descends by at
  least two segments on at least one side (the responder threshold proposed for SCI trials by the
  International Campaign for Cures of spinal cord injury Paralysis, ICCP: Steeves JD et al.
  Spinal Cord 2007;45:206-221 [citation recalled, not in the project's reference notes]; in
  cervical complete injuries 30% regain two or more levels spontaneously within a year, Steeves
  JD et al. Spinal Cord 2011;49:257-265).
* :func:`ais_shift_test` -- the AIS grade is ordinal: the exact sign test counts participants
  better and worse than baseline (ties, unchanged grades, carry no information on direction) and
  asks whether "better" is more frequent than "worse" (exact binomial with p = 1/2; Dixon WJ,
  Mood AM. J Am Stat Assoc 1946;41:557-566). Within one arm it tests change, not the cells:
  spontaneous recovery improves grades too.
* :func:`change_summary` -- UEMS / LEMS changes are bounded, lumpy and skewed (a LEMS change of
  2.3 +/- 7.4 points, Kirshblum 2022): median, quartiles, range, and the exact Wilcoxon
  signed-rank test (Wilcoxon F. Biometrics Bulletin 1945;1:80-83) instead of mean +/- SD.

NT cells leave a change open (``*_change_min`` < ``*_change_max``): such a participant is counted
apart (``undetermined``), never placed at one end of the range.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from scipy import stats

from cordtrial.analysis.endpoints import SCORE_FIELDS
from cordtrial.analysis.errors import AnalysisInputError, SmallSampleWarning
from cordtrial.analysis.frames import records as frame_records
from cordtrial.analysis.stats import SMALL_SAMPLE

__all__ = [
    "RESPONDER_LEVELS",
    "ShiftTest",
    "ais_shift_test",
    "change_summary",
    "motor_level_responders",
]

#: Segments a motor level must descend, on at least one side, for a responder (ICCP).
RESPONDER_LEVELS: Final = 2


def _at(endpoints: pd.DataFrame, visit: str) -> pd.DataFrame:
    frame = endpoints[(endpoints["visit"] == visit) & (endpoints["status"] == "observed")]
    if "in_window" in frame.columns:
        frame = frame[frame["in_window"] != "no"]
    if not (endpoints["visit"] == visit).any():
        known = ", ".join(dict.fromkeys(str(v) for v in endpoints["visit"]))
        raise AnalysisInputError("visit", visit, "a visit of the endpoint table: " + known)
    return frame


def motor_level_responders(endpoints: pd.DataFrame, visit: str) -> pd.DataFrame:
    """Motor-level responders at ``visit`` (exams inside the window only).

    Returns
    -------
    DataFrame
        One row per participant assessed: ``participant``, ``motor level change right`` and
        ``left`` (segments gained, as ``a..b`` ranges when NT leaves them open) and
        ``responder`` (yes: >= :data:`RESPONDER_LEVELS` segments on a side whatever NT hides;
        no: not on either side whatever NT hides; undetermined otherwise).
    """
    frame = _at(endpoints, visit)
    rows = []
    for rec in frame_records(frame):
        lows = [rec[f"motor_{s}_change_min"] for s in ("right", "left")]
        highs = [rec[f"motor_{s}_change_max"] for s in ("right", "left")]
        known_low = [v for v in lows if v == v]
        known_high = [v for v in highs if v == v]
        if known_low and max(known_low) >= RESPONDER_LEVELS:
            responder = "yes"
        elif len(known_high) == 2 and max(known_high) < RESPONDER_LEVELS:
            responder = "no"
        else:
            responder = "undetermined"
        rows.append(
            {
                "participant": rec["participant"],
                "motor level change right": _range(lows[0], highs[0]),
                "motor level change left": _range(lows[1], highs[1]),
                "responder": responder,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["participant", "motor level change right", "motor level change left", "responder"],
    )


def _range(low: float, high: float) -> str:
    if low != low or high != high:
        return "not determinable"
    return f"{low:+.0f}" if low == high else f"{low:+.0f}..{high:+.0f}"


@dataclass(frozen=True, slots=True)
class ShiftTest:
    """The exact sign test of AIS grade shifts at one visit.

    Attributes
    ----------
    visit : str
    better, same, worse : int
        Participants whose grade is certainly better, the same, or worse than at baseline.
    undetermined : int
        Participants whose direction NT cells leave open (not tested).
    p_value : float
        One-sided exact P(X >= better | n = better + worse, p = 1/2); 1.0 when n = 0.
    p_two_sided : float
    method : str
    caveats : tuple of str
    """

    visit: str
    better: int
    same: int
    worse: int
    undetermined: int
    p_value: float
    p_two_sided: float
    method: str
    caveats: tuple[str, ...] = ()

    @property
    def summary(self) -> pd.DataFrame:
        """One row with the counts and both p-values."""
        return pd.DataFrame(
            [
                {
                    "visit": self.visit,
                    "better": self.better,
                    "same": self.same,
                    "worse": self.worse,
                    "undetermined": self.undetermined,
                    "p (one-sided, better)": self.p_value,
                    "p (two-sided)": self.p_two_sided,
                    "method": self.method,
                }
            ]
        )


def ais_shift_test(endpoints: pd.DataFrame, visit: str) -> ShiftTest:
    """Exact sign test of the AIS shift from baseline to ``visit`` (see the module docstring).

    Grade change bounds come from the endpoint table (``grade_change_min``/``_max``): better
    when the least change is > 0, worse when the largest is < 0, same when both are 0.
    """
    frame = _at(endpoints, visit)
    low = frame["grade_change_min"].astype(float)
    high = frame["grade_change_max"].astype(float)
    better = int((low > 0).sum())
    worse = int((high < 0).sum())
    same = int(((low == 0) & (high == 0)).sum())
    undetermined = len(frame) - better - worse - same
    n = better + worse
    caveats: tuple[str, ...] = ()
    if n < SMALL_SAMPLE:
        message = (
            f"AIS shift sign test: {n} participants changed grade (under {SMALL_SAMPLE}); the "
            "test is exact but can detect only a very consistent shift"
        )
        warnings.warn(message, SmallSampleWarning, stacklevel=2)
        caveats = (message,)
    if n == 0:
        one = two = 1.0
    else:
        one = float(stats.binomtest(better, n, 0.5, alternative="greater").pvalue)
        two = float(stats.binomtest(better, n, 0.5, alternative="two-sided").pvalue)
    return ShiftTest(
        visit,
        better,
        same,
        worse,
        undetermined,
        one,
        two,
        "exact sign test (binomial, p = 1/2) on participants better vs worse than baseline; "
        "unchanged and undetermined left out",
        caveats,
    )


def change_summary(endpoints: pd.DataFrame, visit: str) -> pd.DataFrame:
    """Non-parametric summary of each score's change from baseline at ``visit``.

    Returns
    -------
    DataFrame
        One row per score of :data:`~cordtrial.analysis.endpoints.SCORE_FIELDS`: ``score``,
        ``n`` (changes determined), ``undetermined`` (NT leaves the change open), ``median``,
        ``lower quartile``, ``upper quartile`` (linear interpolation between order statistics,
        numpy's default), ``minimum``, ``maximum`` and ``Wilcoxon p`` (signed-rank test of a
        zero median change, two-sided, zero changes dropped, Wilcoxon's convention: exact over
        every sign assignment with midranks for ties up to 20 non-zero changes, the normal
        approximation beyond; empty when no change is non-zero).
    """
    frame = _at(endpoints, visit)
    rows = []
    for score in SCORE_FIELDS:
        low = frame[f"{score}_change_min"].astype(float)
        high = frame[f"{score}_change_max"].astype(float)
        known = low[(low == high) & low.notna()].to_numpy()
        undetermined = int(((low != high) & low.notna() & high.notna()).sum())
        row: dict[str, object] = {"score": score, "n": len(known), "undetermined": undetermined}
        if len(known):
            q1, med, q3 = np.percentile(known, [25, 50, 75])
            row.update(
                {
                    "median": float(med),
                    "lower quartile": float(q1),
                    "upper quartile": float(q3),
                    "minimum": float(known.min()),
                    "maximum": float(known.max()),
                }
            )
        nonzero = known[known != 0]
        if len(nonzero) == 1:
            row["Wilcoxon p"] = 1.0  # both sign assignments are as extreme
        elif len(nonzero):
            # every one of the 2^n sign assignments (exact, midranks for ties) up to n = 20
            method = stats.PermutationMethod(n_resamples=np.inf) if len(nonzero) <= 20 else "approx"
            result = stats.wilcoxon(nonzero, method=method, zero_method="wilcox")
            row["Wilcoxon p"] = float(result.pvalue)
        rows.append(row)
    columns = [
        "score",
        "n",
        "undetermined",
        "median",
        "lower quartile",
        "upper quartile",
        "minimum",
        "maximum",
        "Wilcoxon p",
    ]
    return pd.DataFrame(rows, columns=columns)
