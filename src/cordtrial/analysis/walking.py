"""The van Middendorp walking rule: independent indoor walking one year after SCI.

van Middendorp JJ, Hosman AJF, Donders ART, et al. A clinical prediction rule for ambulation
outcomes after traumatic spinal cord injury: a longitudinal cohort study. *Lancet*
2011;377:1004-1010 (EM-SCI, 19 European centres; exam within 15 days of injury; outcome:
independent indoor walking at one year, SCIM III item 12).

Points (better side for each neurological item):

======================================  ============
age >= 65 years                          -10 (else 0)
L3 motor (quadriceps), 0-5               2 x grade
S1 motor (gastrocsoleus), 0-5            2 x grade
L3 light touch, 0-2                      5 x score
S1 light touch, 0-2                      5 x score
======================================  ============

Total -10 to 40. Published discrimination: AUC 0.956 (95% CI 0.936-0.976) in derivation and
0.967 (0.939-0.995) in temporal validation (confirmed in the reference notes).

**No probability is given.** The paper's own score-to-probability model could not be checked
(the reference notes, ``walking-rule.md``, had only its abstract). The logistic
``0.125 * score - 1.763`` that circulates under its name is the Hicks et al. 2017 recalibration
(Spine J; Canadian RHSCIR, n = 278, FIM locomotor outcome), a different population and outcome;
``0.267 * score - 3.273``, quoted for van Middendorp by a calculator site, is secondary and
unchecked. Either would put a number on a participant that the cited paper does not back, so
cordtrial reports the score only.

**When the rule applies.** It was derived on ISNCSCI exams "within the first 15 days after
injury" (abstract); :func:`walking_rule_applies` says so for a later exam (a later exam, after
early recovery, is outside the population the score was validated in).

An ``NT`` cell makes the score a range (each NT at its lowest and highest grade); a value
flagged ``*`` counts as scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from cordtrial.analysis.errors import AnalysisInputError

__all__ = [
    "DISCRIMINATION",
    "RULE_EXAM_DAYS",
    "SCORE_RANGE",
    "RuleApplicability",
    "WalkingScore",
    "walking_rule_applies",
    "walking_score",
    "walking_scores",
]

#: Published discrimination (area under the ROC curve, 95% CI), van Middendorp 2011.
DISCRIMINATION: Final = {
    "derivation": {"auc": 0.956, "ci": (0.936, 0.976)},
    "temporal_validation": {"auc": 0.967, "ci": (0.939, 0.995)},
}
SCORE_RANGE: Final = (-10, 40)
#: The rule was derived on exams within this many days of injury (van Middendorp 2011).
RULE_EXAM_DAYS: Final = 15
_ITEMS = (("l3", "motor", 5, 2), ("s1", "motor", 5, 2), ("l3", "lt", 2, 5), ("s1", "lt", 2, 5))


@dataclass(frozen=True, slots=True)
class WalkingScore:
    """A walking-rule score; ``low < high`` when NT cells leave it open."""

    low: int
    high: int

    @property
    def determined(self) -> bool:
        """Whether NT cells left the score open."""
        return self.low == self.high


def _grade_range(field: str, value: object, maximum: int) -> tuple[int, int]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise AnalysisInputError(field, value, f"a grade 0-{maximum} or NT", "is missing")
    text = str(value).strip().rstrip("*")
    if text == "NT":
        return 0, maximum
    if text.isdigit() and 0 <= int(text) <= maximum:
        return int(text), int(text)
    raise AnalysisInputError(field, value, f"a grade 0-{maximum} or NT (optionally with *)")


def walking_score(cells: dict[str, Any], age: int) -> WalkingScore:
    """The van Middendorp 2011 score from an exam's canonical cells and the age at injury.

    Parameters
    ----------
    cells : dict
        At least ``r_l3_motor``, ``l_l3_motor``, ``r_s1_motor``, ``l_s1_motor``, ``r_l3_lt``,
        ``l_l3_lt``, ``r_s1_lt``, ``l_s1_lt``.
    age : int
        Age in years at injury.

    Returns
    -------
    WalkingScore
        ``low``/``high`` in -10..40; the better side of each item counts.
    """
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 120:
        raise AnalysisInputError("age", age, "an integer 0-120 (years)")
    low = high = -10 if age >= 65 else 0
    for level, kind, maximum, weight in _ITEMS:
        sides = [
            _grade_range(f"{s}_{level}_{kind}", cells.get(f"{s}_{level}_{kind}"), maximum)
            for s in "rl"
        ]
        low += weight * max(lo for lo, _ in sides)
        high += weight * max(hi for _, hi in sides)
    return WalkingScore(low, high)


def walking_scores(exams: pd.DataFrame, ages: pd.Series[Any] | dict[str, int]) -> pd.DataFrame:
    """Scores of many exams: ``participant``, ``visit``, ``walking_score_min``/``_max``.

    ``ages`` maps participant to age at injury.
    """
    rows = []
    age_of = dict(ages)
    for record in exams.to_dict(orient="records"):
        pid = record["participant"]
        if pid not in age_of:
            raise AnalysisInputError("participant", pid, "a participant with an age at injury")
        score = walking_score({str(k): v for k, v in record.items()}, int(age_of[pid]))
        rows.append(
            {
                "participant": pid,
                "visit": record.get("visit", ""),
                "walking_score_min": score.low,
                "walking_score_max": score.high,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True)
class RuleApplicability:
    """Whether the walking rule applies to an exam, and why not."""

    applies: bool
    reason: str


def walking_rule_applies(days_since_injury: int | float | None) -> RuleApplicability:
    """Whether an exam ``days_since_injury`` after injury is one the rule was derived on
    (within :data:`RULE_EXAM_DAYS` = 15 days, van Middendorp 2011)."""
    if days_since_injury is None or (
        isinstance(days_since_injury, float) and math.isnan(days_since_injury)
    ):
        return RuleApplicability(False, "the exam's day since injury is not known")
    days = float(days_since_injury)
    if days < 0:
        raise AnalysisInputError("days_since_injury", days_since_injury, "a day >= 0")
    if days <= RULE_EXAM_DAYS:
        return RuleApplicability(True, "")
    return RuleApplicability(
        False,
        f"exam {days:g} days after injury; the rule was derived on exams within "
        f"{RULE_EXAM_DAYS} days of injury",
    )
