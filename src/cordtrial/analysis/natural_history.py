"""Published spontaneous-recovery figures after traumatic SCI, with their sources.

The figures live in ``natural_history.json`` beside this module (package data), copied from the
project's reference notes (``shared/reference/natural-history.md`` sections 2.1-2.2, mostly via
Kirshblum S et al., J Neurotrauma 2021;38:1267-1284, Tables 2 and 6). Each carries its source,
population, timing of the baseline and follow-up exams, sample size and a confidence tag:

* ``C`` -- seen in retrieved text (abstract, table): a **default** figure;
* ``C/S`` or ``S`` -- partly or only from a secondary source (press, summaries): used only when a
  caller opts in with ``include_unconfirmed=True``.

Outcomes: ``improved_1_grade`` (AIS better by at least one grade at follow-up),
``to_motor_incomplete`` (AIS C, D or E at follow-up, from A or B).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import pandas as pd

from cordtrial.analysis.endpoints import level_index
from cordtrial.analysis.errors import AnalysisInputError

__all__ = [
    "CONFIRMED",
    "DEFAULT_PRIMARY_FIGURE",
    "OUTCOMES",
    "MotorChangeFigure",
    "NaturalHistoryFigure",
    "applicable_figures",
    "figure_by_id",
    "figures_frame",
    "motor_change_figures",
    "natural_history_figures",
    "secular_trend_figures",
]

Outcome = Literal["improved_1_grade", "to_motor_incomplete"]
OUTCOMES: Final = ("improved_1_grade", "to_motor_incomplete")
#: The confidence tag of a confirmed figure (seen in retrieved text).
CONFIRMED: Final = "C"
#: The figure a single-number comparison uses by default: EMSCI, AIS A above T11, exam within
#: 15 days, 42/161 converted at one year (van Middendorp 2009) -- the largest level-matched
#: series for injuries between C3/4 and Th10 with a known event count.
DEFAULT_PRIMARY_FIGURE: Final = "vanmiddendorp2009_above_t11"
_GRADES = ("A", "B", "C", "D")


@dataclass(frozen=True, slots=True)
class NaturalHistoryFigure:
    """One published proportion of spontaneous AIS conversion.

    Attributes
    ----------
    id : str
        Stable key (``vanmiddendorp2009_above_t11``).
    baseline_grade : str
        AIS grade at the baseline exam.
    outcome : str
        ``improved_1_grade`` or ``to_motor_incomplete``.
    proportion : float
        Fraction of the population with the outcome (0-1).
    n : int or None
        Participants the proportion is of, where reported.
    events : int or None
        Participants with the outcome, where reported.
    level_group, levels : str
        Level group key (``all``, ``cervical``, ``thoracic``, ``above_t10`` ...) and its words.
    baseline_exam, timing, population, source, via, confidence, note : str
        When the baseline exam was done, when the outcome was assessed, who was studied, the
        publication, the secondary source it was read from, the confidence tag, remarks.
    """

    id: str
    baseline_grade: str
    outcome: str
    proportion: float
    n: int | None
    events: int | None
    level_group: str
    levels: str
    baseline_exam: str
    timing: str
    population: str
    source: str
    via: str
    confidence: str
    note: str
    level_range: tuple[str, str] = ("C1", "S4_5")
    baseline_days: tuple[int, int] = (0, 3650)
    outcome_days: tuple[int, int] = (0, 3650)

    def covers_levels(self, levels: Iterable[str]) -> bool:
        """Whether every level of injury in ``levels`` (``C5``, ``T10``) lies in the source's
        :attr:`level_range`."""
        low, high = (level_index(v) for v in self.level_range)
        return all(low <= level_index(v) <= high for v in levels)

    def matches_outcome_time(self, window: tuple[float, float]) -> bool:
        """Whether the source's outcome exams (:attr:`outcome_days`, days since injury) overlap
        the endpoint's window ``(first, last)`` in days since injury."""
        return self.outcome_days[0] <= window[1] and window[0] <= self.outcome_days[1]

    def matches_baseline(self, days: float) -> bool:
        """Whether a baseline exam ``days`` after injury lies within the source's window."""
        return self.baseline_days[0] <= days <= self.baseline_days[1]

    @property
    def confirmed(self) -> bool:
        """Whether the reference notes tag the figure as seen in retrieved text."""
        return self.confidence == CONFIRMED


@dataclass(frozen=True, slots=True)
class MotorChangeFigure:
    """Published mean (SD) spontaneous change of a motor score over about a year."""

    id: str
    baseline_grade: str
    score: str
    mean_change: float
    sd_change: float
    level_group: str
    timing_days: tuple[int, int]
    timing: str
    source: str
    confidence: str
    population: str = ""
    level_range: tuple[str, str] = ("C1", "C8")
    baseline_days: tuple[int, int] = (0, 3650)
    uems_per_side_max: int | None = None

    def applies_to(self, *, level: str, baseline_grade: str, uems_right: float | None = None,
                   uems_left: float | None = None) -> bool:  # fmt: skip
        """Whether a participant (level of injury, baseline AIS grade and, where the source
        limits them, baseline UEMS per side) belongs to the source's population."""
        low, high = (level_index(v) for v in self.level_range)
        if not low <= level_index(level) <= high or baseline_grade != self.baseline_grade:
            return False
        if self.uems_per_side_max is not None:
            for side in (uems_right, uems_left):
                if side is None or side != side or side > self.uems_per_side_max:
                    return False
        return True


def _tuples(raw: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: tuple(v) if k in keys and isinstance(v, list) else v for k, v in raw.items()}


@cache
def _data() -> dict[str, Any]:
    text = (
        resources.files("cordtrial.analysis")
        .joinpath("natural_history.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _all_figures() -> tuple[NaturalHistoryFigure, ...]:
    keys = ("level_range", "baseline_days", "outcome_days")
    return tuple(NaturalHistoryFigure(**_tuples(f, keys)) for f in _data()["figures"])


def natural_history_figures(
    baseline_grade: str = "A",
    outcome: str = "improved_1_grade",
    *,
    level_group: str | None = None,
    include_unconfirmed: bool = False,
) -> list[NaturalHistoryFigure]:
    """The published figures for one baseline grade and outcome.

    Parameters
    ----------
    baseline_grade : {"A", "B", "C", "D"}
    outcome : {"improved_1_grade", "to_motor_incomplete"}
    level_group : str, optional
        Only figures of this level group (``all``, ``cervical``, ``thoracic``, ``above_t10``,
        ``above_t11``, ``cervical_thoracic``); all groups by default.
    include_unconfirmed : bool
        Also figures tagged ``C/S`` or ``S`` (secondary sources). Off by default: only figures
        seen in retrieved text are defaults.

    Returns
    -------
    list of NaturalHistoryFigure
        In the order of the data file (by source).
    """
    if baseline_grade not in _GRADES:
        raise AnalysisInputError("baseline_grade", baseline_grade, "one of " + ", ".join(_GRADES))
    if outcome not in OUTCOMES:
        raise AnalysisInputError("outcome", outcome, "one of " + ", ".join(OUTCOMES))
    groups = sorted({f.level_group for f in _all_figures()})
    if level_group is not None and level_group not in groups:
        raise AnalysisInputError("level_group", level_group, "one of " + ", ".join(groups))
    return [
        f
        for f in _all_figures()
        if f.baseline_grade == baseline_grade
        and f.outcome == outcome
        and (level_group is None or f.level_group == level_group)
        and (include_unconfirmed or f.confirmed)
    ]


def applicable_figures(
    baseline_grade: str = "A",
    outcome: str = "improved_1_grade",
    *,
    levels: Iterable[str] | None = None,
    outcome_day: float | None = None,
    window: tuple[float, float] | None = None,
    include_unconfirmed: bool = False,
) -> list[NaturalHistoryFigure]:
    """The published figures that apply to a cohort: its levels of injury and the time of its
    endpoint, selected by each source's applicability data.

    Parameters
    ----------
    baseline_grade, outcome, include_unconfirmed
        As :func:`natural_history_figures`.
    levels : iterable of str, optional
        The cohort's neurological levels of injury (``C5``, ``T6``): a source applies when it
        covers every one (:meth:`NaturalHistoryFigure.covers_levels`).
    outcome_day : float, optional
        The endpoint's time in days since injury (e.g. week 52 after a transplant three weeks
        after injury: about 385).
    window : (float, float), optional
        The endpoint's window in days since injury (the protocol window); default
        ``outcome_day`` +/- 10%. A source applies when its outcome exams overlap it: a
        3- or 6-month source does not apply to a one-year endpoint.
    """
    out = natural_history_figures(baseline_grade, outcome, include_unconfirmed=include_unconfirmed)
    if levels is not None:
        wanted = [str(v) for v in levels]
        out = [f for f in out if f.covers_levels(wanted)]
    if outcome_day is not None or window is not None:
        if window is None:
            assert outcome_day is not None
            window = (0.9 * outcome_day, 1.1 * outcome_day)
        out = [f for f in out if f.matches_outcome_time(window)]
    return out


def figure_by_id(figure_id: str, *, include_unconfirmed: bool = False) -> NaturalHistoryFigure:
    """A figure by its id; an unconfirmed one only with ``include_unconfirmed=True``."""
    for f in _all_figures():
        if f.id == figure_id:
            if not f.confirmed and not include_unconfirmed:
                raise AnalysisInputError(
                    "figure_id",
                    figure_id,
                    "a confirmed figure, or include_unconfirmed=True to use a figure tagged "
                    f"{f.confidence!r} (secondary source)",
                    "is not confirmed",
                )
            return f
    known = ", ".join(f.id for f in _all_figures())
    raise AnalysisInputError("figure_id", figure_id, "one of " + known)


def motor_change_figures(score: str | None = None) -> list[MotorChangeFigure]:
    """Published spontaneous motor-score changes (all confirmed), optionally of one score."""
    out = []
    for raw in _data()["motor_change"]:
        f = MotorChangeFigure(**_tuples(raw, ("timing_days", "level_range", "baseline_days")))
        if score is None or f.score == score:
            out.append(f)
    return out


def figures_frame(*, include_unconfirmed: bool = True) -> pd.DataFrame:
    """Every conversion figure as a table (one row per figure), for reports and docs."""
    rows = [
        {
            "id": f.id,
            "baseline_grade": f.baseline_grade,
            "outcome": f.outcome,
            "proportion": f.proportion,
            "n": f.n,
            "events": f.events,
            "levels": f.levels,
            "baseline_exam": f.baseline_exam,
            "timing": f.timing,
            "source": f.source,
            "confidence": f.confidence,
            "default": f.confirmed,
        }
        for f in _all_figures()
        if include_unconfirmed or f.confirmed
    ]
    return pd.DataFrame(rows)


def secular_trend_figures() -> list[dict[str, Any]]:
    """The era-specific conversion rates of AIS A tetraplegia (Marino 2020, NSCID 1995-2015):
    dicts with ``era``, ``outcome``, ``outcome_words``, ``proportion``, ``levels``, ``source``."""
    return [dict(f) for f in _data()["secular_trend"]]
