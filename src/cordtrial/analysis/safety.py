"""Safety monitoring: adverse-event incidence, listings and a predefined stopping rule.

Adverse events come as a tidy frame (see :mod:`cordtrial.analysis.store`): one row per event with
``participant``, ``term``, ``category``, ``onset_date``, ``ctcae_grade`` (CTCAE v5.0, 1-5),
``serious`` (ICH E2A criteria met), ``related`` (cells, procedure or immunosuppression possibly,
probably or definitely causal -- ICH E2A II.A.2) and ``special_interest`` (an AESI category of
:mod:`cordtrial.trial.rules.vocabulary`); optional ``onset_day``, ``outcome``, ``expectedness``.

**The stopping rule** (:class:`StoppingRule`) is Bayesian, evaluated each time a participant is
treated or an event arrives. A participant *counts* when they have a serious related event, or any
tumour / graft-overgrowth finding (category ``tumour_or_graft_overgrowth``, whatever its
seriousness: tumours of undifferentiated cells are the feared harm of iPSC grafts, Nori et al.
Stem Cell Reports 2015;4:360-373). With ``k`` counting participants of ``n`` treated and a
Beta(a, b) prior on their rate, the rule is crossed when P(rate > ``max_rate`` | k, n) exceeds
``posterior_threshold`` (Thall PF, Simon R, Estey EH. Stat Med 1995;14:357-379, the monitoring
form used here). By default any tumour finding also crosses it by itself (``tumour_stops``).
The defaults -- prior Beta(0.2, 1.8) (an anticipated 10% worth two participants), ``max_rate``
0.20, threshold 0.80 -- are an illustration to be fixed in each protocol, not a recommendation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.stats import check_count, check_probability

__all__ = [
    "AE_COLUMNS",
    "DEFAULT_STOPPING_RULE",
    "TUMOUR_CATEGORY",
    "StoppingRule",
    "StoppingRuleStatus",
    "ae_incidence",
    "evaluate_stopping_rule",
    "qualifying_events",
    "serious_listing",
    "special_interest_listing",
    "stopping_rule_crossed",
]

AE_COLUMNS: Final = (
    "participant", "term", "category", "onset_date", "ctcae_grade", "serious", "related",
    "special_interest",
)  # fmt: skip
TUMOUR_CATEGORY: Final = "tumour_or_graft_overgrowth"
_BY = ("category", "ctcae_grade", "serious", "related")
_LISTING = (
    "participant", "arm", "term", "category", "onset_date", "onset_day", "ctcae_grade",
    "serious", "serious_criteria", "related", "expectedness", "outcome",
)  # fmt: skip


def _check(aes: pd.DataFrame) -> None:
    missing = [c for c in AE_COLUMNS if c not in aes.columns]
    if missing:
        raise AnalysisInputError(
            "adverse_events.columns", sorted(aes.columns),
            "columns including " + ", ".join(AE_COLUMNS), f"lack {', '.join(missing)}",
        )  # fmt: skip


def _people(participants: pd.DataFrame) -> pd.DataFrame:
    if "participant" not in participants.columns:
        raise AnalysisInputError(
            "participants.columns", sorted(participants.columns), "a participant column"
        )
    out = participants.reset_index(drop=True)
    return out if "arm" in out.columns else out.assign(arm="")


def ae_incidence(
    aes: pd.DataFrame, participants: pd.DataFrame, *, by: str = "category"
) -> pd.DataFrame:
    """Incidence of adverse events by ``by``, in participants and in events, per arm and overall.

    Parameters
    ----------
    aes : DataFrame
        Adverse events (columns :data:`AE_COLUMNS`).
    participants : DataFrame
        The participants at risk (``participant``, optional ``arm``): the denominators.
    by : {"category", "ctcae_grade", "serious", "related"}
        For ``ctcae_grade`` a participant counts once, at their worst grade (the usual
        convention of safety tables); otherwise once in every group they have an event in.

    Returns
    -------
    DataFrame
        Columns ``arm``, ``by``, ``value``, ``participants`` (with >= 1 event), ``at_risk``,
        ``percent`` (of participants at risk) and ``events``; a row ``any`` per arm.
    """
    _check(aes)
    if by not in _BY:
        raise AnalysisInputError("by", by, "one of " + ", ".join(_BY))
    people = _people(participants)
    arm_of = dict(zip(people["participant"], people["arm"].fillna("").astype(str), strict=True))
    unknown = sorted(set(aes["participant"]) - set(arm_of))
    if unknown:
        raise AnalysisInputError(
            "adverse_events.participant", unknown[0], "a participant in the participants frame"
        )
    frame = aes.assign(arm=aes["participant"].map(arm_of))
    if by == "ctcae_grade":
        worst = frame.groupby("participant")["ctcae_grade"].transform("max")
        frame = frame.assign(_worst=worst)
    arms = sorted(set(arm_of.values()))
    groups = [(a, frame[frame["arm"] == a], sum(v == a for v in arm_of.values())) for a in arms]
    if len(arms) > 1:
        groups.append(("all", frame, len(arm_of)))
    elif arms:
        groups = [("all" if arms[0] == "" else arms[0], frame, len(arm_of))]
    rows = []
    for arm, g, at_risk in groups:
        values = sorted(g[by].dropna().unique().tolist(), key=str)
        for value in values:
            sel = g[g[by] == value]
            counted = sel[sel["_worst"] == value] if by == "ctcae_grade" else sel
            n_people = counted["participant"].nunique()
            rows.append(_incidence_row(arm, by, value, n_people, at_risk, len(sel)))
        rows.append(_incidence_row(arm, by, "any", g["participant"].nunique(), at_risk, len(g)))
    columns = ["arm", "by", "value", "participants", "at_risk", "percent", "events"]
    return pd.DataFrame(rows, columns=columns)


def _incidence_row(
    arm: str, by: str, value: Any, people: int, at_risk: int, events: int
) -> dict[str, Any]:
    percent = 100.0 * people / at_risk if at_risk else math.nan
    return {
        "arm": arm, "by": by, "value": value, "participants": people, "at_risk": at_risk,
        "percent": percent, "events": events,
    }  # fmt: skip


def _listing(aes: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in _LISTING if c in aes.columns]
    return aes[cols].sort_values(["participant", "onset_date"], kind="stable").reset_index(
        drop=True
    )


def serious_listing(aes: pd.DataFrame) -> pd.DataFrame:
    """Every serious adverse event (ICH E2A), by participant and onset."""
    _check(aes)
    return _listing(aes[aes["serious"].astype(bool)])


def special_interest_listing(aes: pd.DataFrame) -> pd.DataFrame:
    """Every adverse event of special interest (tumour, syrinx, neuropathic pain, neurological
    worsening, infection, immunosuppression effects), by participant and onset."""
    _check(aes)
    return _listing(aes[aes["special_interest"].astype(bool)])


@dataclass(frozen=True, slots=True)
class StoppingRule:
    """A Bayesian stopping rule on the rate of participants with serious related events or
    tumour findings (see the module docstring).

    Attributes
    ----------
    max_rate : float
        The highest acceptable rate of counting participants.
    posterior_threshold : float
        Cross when P(rate > max_rate | data) exceeds this.
    prior : (float, float)
        Beta prior of the rate.
    tumour_stops : bool
        Any tumour / graft-overgrowth finding crosses the rule by itself.
    """

    max_rate: float = 0.20
    posterior_threshold: float = 0.80
    prior: tuple[float, float] = (0.2, 1.8)
    tumour_stops: bool = True

    def __post_init__(self) -> None:
        check_probability("max_rate", self.max_rate)
        check_probability("posterior_threshold", self.posterior_threshold)
        for i, v in enumerate(self.prior):
            if not v > 0 or math.isinf(v):
                raise AnalysisInputError(f"prior[{i}]", v, "a positive finite number")

    def posterior(self, k: int, n: int) -> float:
        """P(rate > max_rate) after ``k`` counting participants of ``n`` treated."""
        n = check_count("n", n, 0)
        k = check_count("k", k, 0, n)
        a, b = self.prior
        return float(stats.beta.sf(self.max_rate, a + k, b + n - k))

    def boundary(self, n_max: int) -> np.ndarray[Any, np.dtype[np.int64]]:
        """For n = 0 .. n_max treated, the fewest counting participants that cross the rule
        (``n + 1`` where none do)."""
        n_max = check_count("n_max", n_max, 0)
        a, b = self.prior
        out = np.empty(n_max + 1, dtype=np.int64)
        for n in range(n_max + 1):
            ks = np.arange(n + 1)
            post = stats.beta.sf(self.max_rate, a + ks, b + n - ks)
            over = np.nonzero(post > self.posterior_threshold)[0]
            out[n] = int(over[0]) if len(over) else n + 1
        return out

    def describe(self) -> str:
        """The rule in words, for reports."""
        a, b = self.prior
        tumour = "; any tumour or graft-overgrowth finding stops by itself" * self.tumour_stops
        return (
            "stop when P(rate of participants with a serious related adverse event or a tumour "
            f"finding > {self.max_rate:.0%}) > {self.posterior_threshold:.0%}, prior "
            f"Beta({a:g}, {b:g}){tumour}"
        )


DEFAULT_STOPPING_RULE: Final = StoppingRule()


@dataclass(frozen=True, slots=True)
class StoppingRuleStatus:
    """The rule evaluated on the data so far.

    Attributes
    ----------
    crossed : bool
    treated : int
        Participants treated (at risk) so far.
    counting : int
        Participants with a serious related event or a tumour finding.
    tumour : bool
        Whether a tumour finding was recorded.
    posterior : float
        P(rate > max_rate | data).
    crossed_on : date or None
        The first date the rule was crossed, as the data arrived.
    history : DataFrame
        One row per date a participant was treated or a counting event began.
    rule : StoppingRule
    """

    crossed: bool
    treated: int
    counting: int
    tumour: bool
    posterior: float
    crossed_on: date | None
    history: pd.DataFrame
    rule: StoppingRule
    boundary: tuple[int, ...] = field(default=())

    @property
    def message(self) -> str:
        """One line for the dashboard alert."""
        state = "CROSSED" if self.crossed else "not crossed"
        when = f" on {self.crossed_on.isoformat()}" if self.crossed_on else ""
        tumour = "; tumour finding recorded" if self.tumour else ""
        return (
            f"safety stopping rule {state}{when}: {self.counting} of {self.treated} treated "
            f"participants with a serious related event or tumour finding{tumour}; "
            f"P(rate > {self.rule.max_rate:.0%}) = {self.posterior:.2f} "
            f"(threshold {self.rule.posterior_threshold:.0%})"
        )

    @property
    def summary(self) -> pd.DataFrame:
        """One row: the state of the rule."""
        return pd.DataFrame(
            [
                {
                    "crossed": self.crossed, "treated": self.treated, "counting": self.counting,
                    "tumour": self.tumour, "posterior": self.posterior,
                    "crossed_on": self.crossed_on, "rule": self.rule.describe(),
                }
            ]
        )  # fmt: skip


def qualifying_events(aes: pd.DataFrame) -> pd.DataFrame:
    """The events the stopping rule counts: serious and related, or a tumour finding."""
    _check(aes)
    mask = (aes["serious"].astype(bool) & aes["related"].astype(bool)) | (
        aes["category"] == TUMOUR_CATEGORY
    )
    return aes[mask]


def evaluate_stopping_rule(
    aes: pd.DataFrame,
    participants: pd.DataFrame,
    rule: StoppingRule = DEFAULT_STOPPING_RULE,
    *,
    as_of: date | None = None,
) -> StoppingRuleStatus:
    """Evaluate the rule as the data arrived, up to ``as_of`` (default: all data).

    ``participants`` gives who was treated and when: ``treated_on`` (the date of the first cell
    administration, as the store gives it) or else ``transplant_date``; a participant without
    one is not yet at risk. Events count from their ``onset_date``.
    """
    _check(aes)
    people = _people(participants)
    column = "treated_on" if "treated_on" in people.columns else "transplant_date"
    if column not in people.columns:
        raise AnalysisInputError(
            "participants.columns", sorted(people.columns),
            "a treated_on or transplant_date column",
        )  # fmt: skip
    treated_on = {
        p: d for p, d in zip(people["participant"], people[column], strict=True)
        if isinstance(d, date)
    }  # fmt: skip
    events = qualifying_events(aes)
    if as_of is not None:
        treated_on = {p: d for p, d in treated_on.items() if d <= as_of}
        events = events[events["onset_date"] <= as_of]
    first: dict[Any, date] = {}
    tumour_on: date | None = None
    for pid, onset, category in zip(
        events["participant"], events["onset_date"], events["category"], strict=True
    ):
        if pid in treated_on and (pid not in first or onset < first[pid]):
            first[pid] = onset
        if category == TUMOUR_CATEGORY and (tumour_on is None or onset < tumour_on):
            tumour_on = onset
    dates = sorted({*treated_on.values(), *first.values()})
    rows: list[dict[str, Any]] = []
    crossed_on: date | None = None
    for day in dates:
        n = sum(d <= day for d in treated_on.values())
        k = sum(d <= day for d in first.values())
        post = rule.posterior(k, n)
        tumour = tumour_on is not None and tumour_on <= day
        crossed = post > rule.posterior_threshold or (rule.tumour_stops and tumour)
        if crossed and crossed_on is None:
            crossed_on = day
        rows.append(
            {"date": day, "treated": n, "counting": k, "posterior": post, "tumour": tumour,
             "crossed": crossed}
        )  # fmt: skip
    history = pd.DataFrame(
        rows, columns=["date", "treated", "counting", "posterior", "tumour", "crossed"]
    )
    n = len(treated_on)
    k = len(first)
    post = rule.posterior(k, n)
    tumour = tumour_on is not None
    crossed = post > rule.posterior_threshold or (rule.tumour_stops and tumour)
    return StoppingRuleStatus(
        crossed=crossed,
        treated=n,
        counting=k,
        tumour=tumour,
        posterior=post,
        crossed_on=crossed_on,
        history=history,
        rule=rule,
        boundary=tuple(int(x) for x in rule.boundary(max(n, 1))),
    )


def stopping_rule_crossed(
    aes: pd.DataFrame,
    participants: pd.DataFrame,
    rule: StoppingRule = DEFAULT_STOPPING_RULE,
) -> bool:
    """Whether the safety stopping rule is crossed on the data so far (for the dashboard)."""
    return evaluate_stopping_rule(aes, participants, rule).crossed


