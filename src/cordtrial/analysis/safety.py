"""Safety monitoring: adverse-event incidence, listings and a predefined stopping rule.

Adverse events come as a tidy frame (see :mod:`cordtrial.analysis.store`): one row per event with
``participant``, ``term``, ``category``, ``onset_date``, ``ctcae_grade`` (CTCAE v5.0, 1-5),
``serious`` (ICH E2A criteria met), ``related`` (cells, procedure or immunosuppression possibly,
probably or definitely causal -- ICH E2A II.A.2), the relatedness to each cause
(``related_to_cells``, ``related_to_procedure``, ``related_to_immunosuppression``) and
``special_interest`` (an AESI category of :mod:`cordtrial.trial.rules.vocabulary`); optional
``onset_day``, ``outcome``, ``expectedness``.

**The stopping rule** (:class:`StoppingRule`) is Bayesian, evaluated each time a participant
becomes evaluable or an event arrives. A treated participant *counts* when they have a serious
event related to the cell product (``related_to_cells`` possible or above; ``causes`` widens it),
with onset on or after their first administration, or any tumour / graft-overgrowth finding
(category ``tumour_or_graft_overgrowth``, whatever its seriousness: tumours of undifferentiated
cells are the feared harm of iPSC grafts, Nori et al. Stem Cell Reports 2015;4:360-373). The
denominator is the participants treated *and followed* ``evaluable_after_days`` (or with a
counted event). With ``k`` counting participants of ``n`` and a Beta(a, b) prior on their rate,
the rule is crossed when P(rate > ``max_rate`` | k, n) exceeds ``posterior_threshold`` (Thall PF,
Simon R, Estey EH. Stat Med 1995;14:357-379, the monitoring form used here). By default any
tumour finding also crosses it by itself (``tumour_stops``). The defaults -- prior Beta(0.2, 1.8)
(an anticipated 10% worth two participants), ``max_rate`` 0.20, threshold 0.80, 28 days -- are an
illustration to be fixed in each protocol, not a recommendation. The status lists the events the
rule counted and those it did not, with the reason; :meth:`StoppingRule.operating_characteristics`
gives the rule's exact probability of stopping and expected size for a grid of true rates.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.frames import records as frame_records
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
    return (
        aes[cols].sort_values(["participant", "onset_date"], kind="stable").reset_index(drop=True)
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


#: The causes an event can be related to, each a column ``related_to_<cause>`` of the frame.
CAUSES: Final = ("cells", "procedure", "immunosuppression")
#: Causality grades that count as related (ICH E2A II.A.2: a reasonable possibility).
_RELATED: Final = frozenset({"possible", "probable", "definite"})


def format_probability(p: float, threshold: float) -> str:
    """``p`` with as many decimals (2 to 6) as it takes not to print it onto, or across,
    ``threshold``: 0.797 against 0.80 is "0.797", never "0.80"."""
    for digits in range(2, 7):
        text = f"{p:.{digits}f}"
        shown = float(text)
        if shown != threshold and (shown > threshold) == (p > threshold):
            return text
    return f"{p:.6g}"


@lru_cache(maxsize=16)
def _boundary(
    max_rate: float, threshold: float, prior: tuple[float, float], n_max: int
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """:meth:`StoppingRule.boundary`, kept per rule and size: it depends on nothing else, and a
    report and the analysis page ask for it several times (125,000 posteriors at 500)."""
    a, b = prior
    # every (n, k <= n) at once: one vectorized call instead of one per n
    ns, ks = np.tril_indices(n_max + 1)
    crossed = np.zeros((n_max + 1, n_max + 1), dtype=bool)
    crossed[ns, ks] = stats.beta.sf(max_rate, a + ks, b + ns - ks) > threshold
    first: np.ndarray[Any, np.dtype[np.int64]] = crossed.argmax(axis=1).astype(np.int64)
    none = ~crossed.any(axis=1)
    first[none] = np.arange(n_max + 1)[none] + 1
    first.setflags(write=False)
    return first


@dataclass(frozen=True, slots=True)
class StoppingRule:
    """A Bayesian stopping rule on the rate of treated participants with a serious event
    related to the cell product, or a tumour finding (see the module docstring).

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
    causes : tuple of str
        The causes whose related serious events count (``related_to_<cause>`` possible,
        probable or definite): by default the cells only -- an infection related to the
        immunosuppression alone is not an event of the product.
    evaluable_after_days : int
        A treated participant enters the denominator once followed this many days after the
        first administration (or at a counting event, if earlier): a participant treated
        yesterday cannot yet have shown an event and would dilute the rate.
    """

    max_rate: float = 0.20
    posterior_threshold: float = 0.80
    prior: tuple[float, float] = (0.2, 1.8)
    tumour_stops: bool = True
    causes: tuple[str, ...] = ("cells",)
    evaluable_after_days: int = 28

    def __post_init__(self) -> None:
        check_probability("max_rate", self.max_rate)
        check_probability("posterior_threshold", self.posterior_threshold)
        for i, v in enumerate(self.prior):
            if not v > 0 or math.isinf(v):
                raise AnalysisInputError(f"prior[{i}]", v, "a positive finite number")
        for cause in self.causes:
            if cause not in CAUSES:
                raise AnalysisInputError("causes", cause, "one of " + ", ".join(CAUSES))
        if not self.causes:
            raise AnalysisInputError("causes", self.causes, "at least one of " + ", ".join(CAUSES))
        check_count("evaluable_after_days", self.evaluable_after_days, 0)

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
        return _boundary(self.max_rate, self.posterior_threshold, (a, b), n_max).copy()

    def boundary_table(self, n_max: int) -> pd.DataFrame:
        """The boundary as a table for reports: one row per number treated and followed
        (1 .. ``n_max``) at which the rule *can* be crossed, with the fewest counting
        participants that stop; numbers at which it cannot be crossed are left out."""
        bound = self.boundary(n_max)
        rows = [(n, int(bound[n])) for n in range(1, n_max + 1) if bound[n] <= n]
        return pd.DataFrame(
            rows, columns=["treated and followed", "counting participants that stop"]
        )

    def operating_characteristics(
        self, n_max: int, rates: Sequence[float] = (0.05, 0.10, 0.20, 0.30, 0.40, 0.50)
    ) -> pd.DataFrame:
        """Exact operating characteristics of the rule checked after every participant, for
        each true rate of counting participants (the tumour hard stop left aside).

        Participants are treated and followed one at a time up to ``n_max``; each counts with
        probability ``rate``, independently. The distribution of the number counting among
        those not yet stopped is carried forward exactly (a forward recursion over k), so
        ``P(stop)`` and the expected number treated are sums of binomial terms, not a
        simulation (the simulator, :mod:`cordtrial.analysis.simulation`, agrees within its
        Monte Carlo error; a test checks it).

        Returns
        -------
        DataFrame
            ``true rate``, ``P(stop)``, ``P(stop by half)`` (stopped at or before n_max // 2),
            ``expected number treated``.
        """
        n_max = check_count("n_max", n_max, 1)
        bound = self.boundary(n_max)
        rows = []
        for rate in rates:
            p = check_probability("rate", rate, open_interval=False)
            alive = np.zeros(n_max + 1)
            alive[0] = 1.0
            stopped = 0.0
            stopped_half = 0.0
            expected = 0.0
            for n in range(1, n_max + 1):
                expected += float(alive.sum())
                nxt = np.zeros(n_max + 1)
                nxt[: n_max + 1] += alive * (1 - p)
                nxt[1:] += alive[:-1] * p
                stop_now = float(nxt[bound[n] :].sum()) if bound[n] <= n else 0.0
                if bound[n] <= n:
                    nxt[bound[n] :] = 0.0
                stopped += stop_now
                if n <= n_max // 2:
                    stopped_half += stop_now
                alive = nxt
            rows.append(
                {"true rate": p, "P(stop)": stopped, "P(stop by half)": stopped_half,
                 "expected number treated": expected}
            )  # fmt: skip
        return pd.DataFrame(rows)

    def describe(self) -> str:
        """The rule in words, for reports."""
        a, b = self.prior
        tumour = "; any tumour or graft-overgrowth finding stops by itself" * self.tumour_stops
        causes = " or ".join(
            {"cells": "the cells", "procedure": "the procedure",
             "immunosuppression": "the immunosuppression"}[c] for c in self.causes
        )  # fmt: skip
        return (
            f"stop when P(rate of participants with a serious adverse event related to {causes}"
            f" or a tumour finding > {self.max_rate:.0%}) > {self.posterior_threshold:.0%}, prior "
            f"Beta({a:g}, {b:g}); a treated participant counts in the denominator after "
            f"{self.evaluable_after_days} days of follow-up (or at a counting event){tumour}"
        )


DEFAULT_STOPPING_RULE: Final = StoppingRule()
_EVENT_COLUMNS: Final = ("participant", "term", "category", "onset_date", "onset_day",
                         "ctcae_grade", "serious")  # fmt: skip


@dataclass(frozen=True, slots=True)
class StoppingRuleStatus:
    """The rule evaluated on the data so far.

    Attributes
    ----------
    crossed : bool
    treated : int
        Participants treated and followed (the denominator) at the data cut.
    counting : int
        Of them, participants with a counted event.
    tumour : bool
        Whether a tumour finding after treatment was recorded.
    posterior : float
        P(rate > max_rate | data).
    crossed_on : date or None
        The first date the rule was crossed, as the data arrived.
    history : DataFrame
        One row per date a participant became evaluable or a counting event began.
    rule : StoppingRule
    counted : DataFrame
        The events the rule counted (participant, term, onset, day, why).
    not_counted : DataFrame
        Serious or tumour events it did not count, with the reason.
    treated_not_followed : int
        Participants treated but not yet followed ``evaluable_after_days``.
    as_of : date or None
        The data cut the rule was evaluated at.
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
    counted: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_EVENT_COLUMNS))
    not_counted: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=[*_EVENT_COLUMNS, "reason"])
    )
    treated_not_followed: int = 0
    as_of: date | None = None

    @property
    def posterior_text(self) -> str:
        """The posterior probability, never rounded onto its threshold."""
        return format_probability(self.posterior, self.rule.posterior_threshold)

    @property
    def message(self) -> str:
        """One line for the dashboard alert."""
        state = "CROSSED" if self.crossed else "not crossed"
        when = f" on {self.crossed_on.isoformat()}" if self.crossed_on else ""
        tumour = "; tumour finding recorded" if self.tumour else ""
        waiting = (
            f" ({self.treated_not_followed} more treated, not yet followed "
            f"{self.rule.evaluable_after_days} days)" if self.treated_not_followed else ""
        )  # fmt: skip
        return (
            f"safety stopping rule {state}{when}: {self.counting} of {self.treated} treated and "
            f"followed participants with a serious event related to the product or a tumour "
            f"finding{waiting}{tumour}; P(rate > {self.rule.max_rate:.0%}) = "
            f"{self.posterior_text} (the rule stops above {self.rule.posterior_threshold:.0%})"
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


def _related_to(rec: dict[Any, Any], cause: str) -> bool:
    return str(rec.get(f"related_to_{cause}", "")) in _RELATED


def qualifying_events(
    aes: pd.DataFrame, rule: StoppingRule = DEFAULT_STOPPING_RULE
) -> pd.DataFrame:
    """The events the stopping rule counts, treatment dates aside: serious and related to one
    of the rule's causes (``related_to_<cause>``), or a tumour finding."""
    _check(aes)
    needed = [f"related_to_{c}" for c in rule.causes if f"related_to_{c}" not in aes.columns]
    if needed:
        raise AnalysisInputError(
            "adverse_events.columns", sorted(aes.columns),
            "the relatedness of each event to each cause the rule counts: "
            + ", ".join(f"related_to_{c}" for c in rule.causes),
            f"lack {', '.join(needed)}",
        )  # fmt: skip
    mask = [
        (bool(rec["serious"]) and any(_related_to(rec, c) for c in rule.causes))
        or rec["category"] == TUMOUR_CATEGORY
        for rec in frame_records(aes)
    ]
    return aes[pd.Series(mask, index=aes.index, dtype=bool)]


def _not_counted_reason(rec: dict[Any, Any], rule: StoppingRule) -> str:
    causes = [c for c in CAUSES if _related_to(rec, c)]
    words = {"cells": "the cells", "procedure": "the procedure",
             "immunosuppression": "the immunosuppression"}  # fmt: skip
    wanted = " or ".join(words[c] for c in rule.causes)
    if causes:
        return (f"serious, not related to {wanted} (related to "
                + ", ".join(words[c] for c in causes) + ")")  # fmt: skip
    return f"serious, not related to {wanted}"


def evaluate_stopping_rule(
    aes: pd.DataFrame,
    participants: pd.DataFrame,
    rule: StoppingRule = DEFAULT_STOPPING_RULE,
    *,
    as_of: date | None = None,
) -> StoppingRuleStatus:
    """Evaluate the rule as the data arrived, up to the data cut ``as_of``.

    ``participants`` gives who was treated and when: ``treated_on`` (the date of the first cell
    administration, as the store gives it) or else ``transplant_date``; a participant without
    one is not at risk. A treated participant enters the denominator after
    ``rule.evaluable_after_days`` days of follow-up, or at their first counted event. An event
    counts from its ``onset_date``, only on or after the participant's treatment: an onset
    before treatment is listed as not counted. ``as_of`` defaults to the latest treatment or
    onset date in the data (pass the report's data cut).
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
    qualifying_events(aes, rule)  # checks the relatedness columns the rule needs
    if as_of is None:
        dates = [*treated_on.values(), *(d for d in aes["onset_date"] if isinstance(d, date))]
        as_of = max(dates) if dates else None
    if as_of is not None:
        treated_on = {p: d for p, d in treated_on.items() if d <= as_of}
    wait = timedelta(days=rule.evaluable_after_days)
    counted_rows: list[dict[str, Any]] = []
    skipped_rows: list[dict[str, Any]] = []
    first: dict[Any, date] = {}
    tumour_on: date | None = None
    for rec in frame_records(aes):
        onset = rec["onset_date"]
        if as_of is not None and isinstance(onset, date) and onset > as_of:
            continue
        shown = {c: rec.get(c) for c in _EVENT_COLUMNS}
        qualifies = (bool(rec["serious"]) and any(_related_to(rec, c) for c in rule.causes)) or (
            rec["category"] == TUMOUR_CATEGORY
        )
        if not qualifies:
            if bool(rec["serious"]):
                skipped_rows.append({**shown, "reason": _not_counted_reason(rec, rule)})
            continue
        pid = rec["participant"]
        if pid not in treated_on:
            skipped_rows.append({**shown, "reason": "participant not treated by the data cut"})
            continue
        if onset < treated_on[pid]:
            days = (treated_on[pid] - onset).days
            skipped_rows.append({**shown, "reason": f"onset {days} days before treatment"})
            continue
        counted_rows.append({**shown, "why": (
            "tumour or graft-overgrowth finding" if rec["category"] == TUMOUR_CATEGORY
            else "serious, related to " + ", ".join(
                c for c in rule.causes if _related_to(rec, c)))})  # fmt: skip
        if pid not in first or onset < first[pid]:
            first[pid] = onset
        if rec["category"] == TUMOUR_CATEGORY and (tumour_on is None or onset < tumour_on):
            tumour_on = onset

    def evaluable_on(pid: Any) -> date:
        start = treated_on[pid] + wait
        return min(start, first[pid]) if pid in first else start

    cut = as_of
    evaluable = sorted(evaluable_on(p) for p in treated_on)
    first_days = sorted(first.values())
    moments = set(evaluable) | set(first_days)
    if cut is not None:
        moments = {d for d in moments if d <= cut}
    rows: list[dict[str, Any]] = []
    crossed_on: date | None = None
    for day in sorted(moments):
        # participants evaluable, and with a counted event, by this day (sorted dates: a
        # bisection instead of a pass over every participant per day)
        n = bisect_right(evaluable, day)
        k = bisect_right(first_days, day)
        post = rule.posterior(k, n)
        tumour = tumour_on is not None and tumour_on <= day
        crossed = post > rule.posterior_threshold or (rule.tumour_stops and tumour)
        if crossed and crossed_on is None:
            crossed_on = day
        rows.append(
            {"date": day, "treated and followed": n, "counting": k, "posterior": post,
             "tumour": tumour, "crossed": crossed}
        )  # fmt: skip
    history = pd.DataFrame(
        rows,
        columns=["date", "treated and followed", "counting", "posterior", "tumour", "crossed"],
    )
    followed = [p for p in treated_on if cut is None or evaluable_on(p) <= cut]
    n = len(followed)
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
        counted=pd.DataFrame(counted_rows, columns=[*_EVENT_COLUMNS, "why"]),
        not_counted=pd.DataFrame(skipped_rows, columns=[*_EVENT_COLUMNS, "reason"]),
        treated_not_followed=len(treated_on) - n,
        as_of=as_of,
    )


def stopping_rule_crossed(
    aes: pd.DataFrame,
    participants: pd.DataFrame,
    rule: StoppingRule = DEFAULT_STOPPING_RULE,
) -> bool:
    """Whether the safety stopping rule is crossed on the data so far (for the dashboard)."""
    return evaluate_stopping_rule(aes, participants, rule).crossed
