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
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import pandas as pd

from cordtrial.analysis.errors import AnalysisInputError

__all__ = [
    "CONFIRMED",
    "DEFAULT_PRIMARY_FIGURE",
    "OUTCOMES",
    "MotorChangeFigure",
    "NaturalHistoryFigure",
    "figure_by_id",
    "figures_frame",
    "motor_change_figures",
    "natural_history_figures",
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


@cache
def _data() -> dict[str, Any]:
    text = resources.files("cordtrial.analysis").joinpath("natural_history.json").read_text(
        encoding="utf-8"
    )
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _all_figures() -> tuple[NaturalHistoryFigure, ...]:
    return tuple(NaturalHistoryFigure(**f) for f in _data()["figures"])


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
        f = MotorChangeFigure(**{**raw, "timing_days": tuple(raw["timing_days"])})
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
