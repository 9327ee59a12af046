"""A cohort's AIS conversions against natural recovery: observed vs expected, exact test,
Clopper-Pearson interval, Bayesian posterior, and the sensitivity of all of them to the
published source chosen.

The comparison is against a *fixed* published rate (the source's sampling error is not
propagated; its ``n`` is shown beside it). With 4 participants and no control group such a
comparison can flag a rate far above natural recovery, but it cannot separate an effect from
spontaneous recovery in a cohort that differs from the source's (level, age, timing of the
baseline exam, era -- conversion in tetraplegia rose from 17.6% in 1995-97 to 50% in 2013-15,
Marino 2020). Reports say so.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import pandas as pd

from cordtrial.analysis.errors import AnalysisInputError, SmallSampleWarning
from cordtrial.analysis.frames import records as frame_records
from cordtrial.analysis.natural_history import (
    DEFAULT_PRIMARY_FIGURE,
    NaturalHistoryFigure,
    applicable_figures,
    figure_by_id,
    natural_history_figures,
)
from cordtrial.analysis.stats import (
    BinomialTestResult,
    PosteriorResult,
    beta_binomial_posterior,
    check_count,
    exact_binomial_test,
)

__all__ = [
    "DEFAULT_PRIOR",
    "CohortComparison",
    "cohort_levels",
    "compare_with_natural_history",
    "endpoint_window_since_injury",
    "schedule_window_since_injury",
    "sensitivity",
]

#: The prior of the treated rate in cohort comparisons: uniform, Beta(1, 1).
DEFAULT_PRIOR: Final = (1.0, 1.0)
_OUTCOME_OF = {"converted": "improved_1_grade", "motor_incomplete": "to_motor_incomplete"}


@dataclass(frozen=True, slots=True)
class CohortComparison:
    """Observed conversions of a cohort against one published natural rate.

    Attributes
    ----------
    figure : NaturalHistoryFigure
        The published rate compared with.
    test : BinomialTestResult
        Exact binomial test (greater) with the Clopper-Pearson interval.
    posterior : PosteriorResult
        Beta-binomial posterior and P(treated rate > natural rate).
    caveats : tuple of str
    """

    figure: NaturalHistoryFigure
    test: BinomialTestResult
    posterior: PosteriorResult
    caveats: tuple[str, ...] = field(default=())

    @property
    def observed(self) -> int:
        """Participants who converted."""
        return self.test.successes

    @property
    def expected(self) -> float:
        """Conversions expected from natural recovery: ``n * rate``."""
        return self.test.expected

    @property
    def summary(self) -> pd.DataFrame:
        """One row: source, observed, expected, ratio, p-value, interval, posterior probability."""
        t, p, f = self.test, self.posterior, self.figure
        return pd.DataFrame(
            [
                {
                    "source": f.source,
                    "figure_id": f.id,
                    "levels": f.levels,
                    "timing": f.timing,
                    "source_n": f.n,
                    "confidence": f.confidence,
                    "natural_rate": f.proportion,
                    "observed": t.successes,
                    "n": t.n,
                    "expected": t.expected,
                    "observed_over_expected": t.successes / t.expected,
                    "estimate": t.estimate,
                    "ci_low": t.ci_low,
                    "ci_high": t.ci_high,
                    "p_value": t.p_value,
                    "prob_exceeds": p.prob_exceeds,
                    "prior": f"Beta({p.prior_a:g}, {p.prior_b:g})",
                }
            ]
        )


def compare_with_natural_history(
    converted: int,
    n: int,
    *,
    figure: NaturalHistoryFigure | str = DEFAULT_PRIMARY_FIGURE,
    prior: tuple[float, float] = DEFAULT_PRIOR,
    confidence: float = 0.95,
    include_unconfirmed: bool = False,
) -> CohortComparison:
    """Compare ``converted`` of ``n`` with one published natural rate.

    Parameters
    ----------
    converted, n : int
        Participants who converted, and participants assessed at the outcome visit.
    figure : NaturalHistoryFigure or str
        The published figure, or its id (default: :data:`DEFAULT_PRIMARY_FIGURE`).
    prior : (float, float)
        Beta prior of the treated rate (default uniform Beta(1, 1)).
    confidence : float
        Coverage of the Clopper-Pearson and credible intervals.
    include_unconfirmed : bool
        Allow a figure id tagged as secondary-source.

    Returns
    -------
    CohortComparison
    """
    n = check_count("n", n, 1)
    converted = check_count("converted", converted, 0, n)
    if isinstance(figure, str):
        figure = figure_by_id(figure, include_unconfirmed=include_unconfirmed)
    if not 0 < figure.proportion < 1:
        raise AnalysisInputError(
            "figure",
            figure.id,
            "a figure whose rate is strictly between 0 and 1",
            f"has rate {figure.proportion}",
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SmallSampleWarning)
        test = exact_binomial_test(converted, n, figure.proportion, confidence=confidence)
        post = beta_binomial_posterior(
            converted, n, figure.proportion, prior=prior, credibility=confidence
        )
    caveats = tuple(dict.fromkeys([*test.caveats, *post.caveats]))
    for w in caught:
        if not issubclass(w.category, SmallSampleWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if caveats:
        warnings.warn(caveats[0], SmallSampleWarning, stacklevel=2)
    return CohortComparison(figure=figure, test=test, posterior=post, caveats=caveats)


def sensitivity(
    converted: int,
    n: int,
    *,
    baseline_grade: str = "A",
    outcome: str = "converted",
    prior: tuple[float, float] = DEFAULT_PRIOR,
    include_unconfirmed: bool = False,
    level_group: str | None = None,
    levels: Sequence[str] | None = None,
    outcome_window: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """The comparison repeated against every published source (sensitivity analysis).

    Parameters
    ----------
    converted, n : int
    baseline_grade : str
        Baseline AIS grade of the cohort (default A).
    outcome : {"converted", "motor_incomplete"}
        Better by >= 1 grade, or C/D/E at follow-up.
    prior : (float, float)
    include_unconfirmed : bool
        Also the secondary-source figures (marked in the ``confidence`` column).
    level_group : str, optional
        Only sources of one level group.
    levels : sequence of str, optional
        The cohort's levels of injury: only sources covering all of them
        (:func:`~cordtrial.analysis.natural_history.applicable_figures`).
    outcome_window : (float, float), optional
        The endpoint's window in days since injury: only sources whose outcome exams overlap it
        (a 3- or 6-month source is left out against a one-year endpoint).

    Returns
    -------
    DataFrame
        One row per source (see :attr:`CohortComparison.summary`), sorted by natural rate;
        figures with a rate of 0 or 1 are left out (no test against them is possible).
    """
    if outcome not in _OUTCOME_OF:
        raise AnalysisInputError("outcome", outcome, "converted or motor_incomplete")
    figures = natural_history_figures(
        baseline_grade,
        _OUTCOME_OF[outcome],
        level_group=level_group,
        include_unconfirmed=include_unconfirmed,
    )
    if levels is not None or outcome_window is not None:
        keep = {f.id for f in applicable_figures(
            baseline_grade, _OUTCOME_OF[outcome], levels=levels, window=outcome_window,
            include_unconfirmed=include_unconfirmed)}  # fmt: skip
        figures = [f for f in figures if f.id in keep]
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        for f in figures:
            if 0 < f.proportion < 1:
                frames.append(compare_with_natural_history(converted, n, figure=f, prior=prior)
                              .summary)  # fmt: skip
    if n < 10:
        warnings.warn(
            f"sensitivity analysis: n={n} is under 10; every source's comparison is exact but "
            "says little",
            SmallSampleWarning,
            stacklevel=2,
        )
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["natural_rate", "figure_id"], kind="stable").reset_index(drop=True)


def endpoint_window_since_injury(
    participants: pd.DataFrame, target_day: int, window_minus: int = 0, window_plus: int = 0
) -> tuple[float, float] | None:
    """A protocol visit's window (days since treatment) in days since injury, over the
    cohort: from the earliest to the latest treatment delay (``treated_on`` or
    ``transplant_date`` minus ``injury_date``). ``None`` when no delay is known. Published
    natural-history figures are timed from injury; a trial's visits from treatment."""
    delays = []
    for rec in frame_records(participants):
        injured = rec.get("injury_date")
        day0 = rec.get("treated_on") if isinstance(rec.get("treated_on"), date) else rec.get(
            "transplant_date")  # fmt: skip
        if isinstance(injured, date) and isinstance(day0, date):
            delays.append((day0 - injured).days)
    if not delays:
        return None
    return (float(target_day - window_minus + min(delays)),
            float(target_day + window_plus + max(delays)))  # fmt: skip


def schedule_window_since_injury(
    participants: pd.DataFrame, schedule: pd.DataFrame, visit: str | None = None
) -> tuple[float, float] | None:
    """:func:`endpoint_window_since_injury` for a visit of a schedule (``visit``,
    ``target_day``, ``window_minus``, ``window_plus``); default its last visit (the protocol
    time point). ``None`` for an empty schedule or unknown delays."""
    if schedule is None or not len(schedule):
        return None
    rows = schedule.sort_values("target_day", kind="stable")
    if visit is not None:
        rows = rows[rows["visit"] == visit]
        if not len(rows):
            raise AnalysisInputError("visit", visit, "a visit of the schedule: "
                                     + ", ".join(map(str, schedule["visit"])))  # fmt: skip
    last = rows.iloc[-1]
    return endpoint_window_since_injury(
        participants, int(last["target_day"]), int(last["window_minus"]),
        int(last["window_plus"]),
    )  # fmt: skip


def cohort_levels(participants: pd.DataFrame, who: Sequence[str]) -> list[str]:
    """The levels of injury (``injury_level``) of the participants ``who``, for selecting the
    published sources that cover them; empty when the frame has no levels."""
    if "injury_level" not in participants.columns:
        return []
    chosen = participants[participants["participant"].isin(list(who))]
    return sorted({str(v) for v in chosen["injury_level"] if isinstance(v, str) and v})
