"""Safety over time: follow-up per participant, exposure-adjusted incidence with exact Poisson
intervals, Kaplan-Meier time to first event, and exact bounds when nothing was seen.

* :func:`follow_up_table` -- each treated participant's follow-up from the first administration
  to the data cut (or to death, withdrawal or loss to follow-up), in days and years.
* :func:`poisson_exact_ci` -- the exact (Garwood 1936) interval of a Poisson count:
  ``chi2(alpha/2; 2x) / 2`` to ``chi2(1 - alpha/2; 2x + 2) / 2`` (Garwood F. Biometrika
  1936;28:437-442); divided by the exposure it bounds a rate.
* :func:`exposure_adjusted_incidence` -- participants with at least one event per 100
  participant-years of follow-up (EAIR) and events per 100 participant-years (EAER), with exact
  intervals. Both assume a constant hazard over follow-up, which an early post-operative peak
  breaks; the Kaplan-Meier curves show the timing instead.
* :func:`time_to_first_event` -- Kaplan-Meier estimate (scipy.stats.ecdf) of the time from the first
  administration to the first event of a kind (a serious adverse event; a tumour finding, whose
  complement is tumour-free follow-up), censored at the end of follow-up.
* :func:`upper_bound_no_events` -- the exact one-sided upper confidence bound of a proportion
  when k events were seen in n participants (Clopper-Pearson, one-sided): with none,
  ``1 - alpha^(1/n)`` (0 of 4 at 95%: 52.7%); the "rule of three" 3/n approximates it for
  n > 30 only (Hanley JA, Lippman-Hand A. JAMA 1983;249:1743-1745).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from cordtrial.analysis.errors import AnalysisInputError, SmallSampleWarning
from cordtrial.analysis.frames import column_values
from cordtrial.analysis.frames import records as frame_records
from cordtrial.analysis.stats import check_count, check_probability

__all__ = [
    "DAYS_PER_YEAR",
    "KaplanMeier",
    "exposure_adjusted_incidence",
    "follow_up_table",
    "poisson_exact_ci",
    "time_to_first_event",
    "upper_bound_no_events",
]

#: Days in a participant-year (the Julian year).
DAYS_PER_YEAR: Final = 365.25


def _day0(rec: dict[Any, Any]) -> date | None:
    for column in ("treated_on", "transplant_date"):
        value = rec.get(column)
        if isinstance(value, date):
            return value
    return None


def follow_up_table(
    participants: pd.DataFrame,
    data_cut: date,
    adverse_events: pd.DataFrame | None = None,
    dispositions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Follow-up of every treated participant at the data cut.

    Follow-up runs from the first administration (``treated_on``, else ``transplant_date``) to
    the data cut, or to an earlier end: a death (the date of death of a ``died`` disposition
    record, or an adverse event with outcome ``fatal`` or the seriousness criterion ``death``),
    a withdrawal or a loss to follow-up (the date the disposition record gives as effective;
    :mod:`cordtrial.analysis.disposition`).

    Returns
    -------
    DataFrame
        ``participant``, ``treated on``, ``follow-up ends``, ``end reason`` (data cut, death,
        withdrawn, lost to follow-up), ``days`` and ``years`` (days / 365.25); participants not
        treated are left out.
    """
    from cordtrial.analysis.disposition import follow_up_ends

    ends: dict[Any, tuple[date, str]] = {}
    if adverse_events is not None and len(adverse_events):
        for rec in frame_records(adverse_events):
            fatal = str(rec.get("outcome", "")) == "fatal" or "death" in str(
                rec.get("serious_criteria", "")
            )
            onset = rec.get("onset_date")
            if fatal and isinstance(onset, date):
                pid = rec["participant"]
                if pid not in ends or onset < ends[pid][0]:
                    ends[pid] = (onset, "death")
    for pid, (on, reason) in follow_up_ends(dispositions).items():
        if pid not in ends or on < ends[pid][0]:
            ends[pid] = (on, reason)
    rows = []
    for rec in frame_records(participants):
        start = _day0(rec)
        if start is None or start > data_cut:
            continue
        pid = rec["participant"]
        ended = ends.get(pid)
        end, reason = (
            ended if ended is not None and ended[0] <= data_cut else (data_cut, "data cut")
        )
        days = (end - start).days
        rows.append(
            {
                "participant": pid,
                "treated on": start,
                "follow-up ends": end,
                "end reason": reason,
                "days": days,
                "years": days / DAYS_PER_YEAR,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["participant", "treated on", "follow-up ends", "end reason", "days", "years"],
    )


def poisson_exact_ci(
    count: int, exposure: float = 1.0, confidence: float = 0.95
) -> tuple[float, float]:
    """Exact two-sided interval of a Poisson rate, ``count`` events over ``exposure``
    (Garwood 1936): lower ``chi2.ppf(alpha/2, 2k) / 2`` (0 when k = 0), upper
    ``chi2.ppf(1 - alpha/2, 2k + 2) / 2``, each divided by the exposure. For 5 events the 95%
    limits of the count are 1.6235 and 11.6683 (Dalgaard, R-help 2005)."""
    k = check_count("count", count, 0)
    confidence = check_probability("confidence", confidence)
    if not exposure > 0 or math.isinf(exposure):
        raise AnalysisInputError("exposure", exposure, "a positive finite number (years)")
    alpha = 1 - confidence
    low = 0.0 if k == 0 else float(stats.chi2.ppf(alpha / 2, 2 * k)) / 2
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * k + 2)) / 2
    return low / exposure, high / exposure


def exposure_adjusted_incidence(
    adverse_events: pd.DataFrame,
    follow_up: pd.DataFrame,
    *,
    by: str = "category",
    serious_only: bool = False,
    per: float = 100.0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Exposure-adjusted incidence per ``per`` participant-years, by ``by``.

    Parameters
    ----------
    adverse_events : DataFrame
        Events with ``participant``, ``onset_date``, ``serious`` and the ``by`` column.
    follow_up : DataFrame
        From :func:`follow_up_table`: the participants at risk and their years.
    by : str
        Grouping column (``category`` by default); a row ``any`` is added.
    serious_only : bool
        Only serious events.

    Returns
    -------
    DataFrame
        ``group``, ``participants`` (with >= 1 event in follow-up), ``events``,
        ``participant-years``, ``EAIR`` and its exact ``EAIR low``/``EAIR high``, ``EAER``
        (events) and its exact interval. Events before treatment or after the end of follow-up
        are not counted.
    """
    years = float(follow_up["years"].sum()) if len(follow_up) else 0.0
    if years <= 0:
        raise AnalysisInputError(
            "follow_up", years, "participants with follow-up time > 0", "has no follow-up time"
        )
    window = {
        r["participant"]: (r["treated on"], r["follow-up ends"]) for r in frame_records(follow_up)
    }
    frame = adverse_events
    if serious_only:
        frame = frame[frame["serious"].astype(bool)]
    keep = [
        pid in window and window[pid][0] <= onset <= window[pid][1]
        for pid, onset in zip(frame["participant"], frame["onset_date"], strict=True)
    ]
    frame = frame[pd.Series(keep, index=frame.index, dtype=bool)]
    groups = [(str(v), g) for v, g in frame.groupby(by, sort=True)] if len(frame) else []
    groups.append(("any", frame))
    rows = []
    for name, g in groups:
        people, events = int(g["participant"].nunique()), len(g)
        lo, hi = poisson_exact_ci(people, years, confidence)
        elo, ehi = poisson_exact_ci(events, years, confidence)
        rows.append(
            {
                "group": name,
                "participants": people,
                "events": events,
                "participant-years": years,
                "EAIR": per * people / years,
                "EAIR low": per * lo,
                "EAIR high": per * hi,
                "EAER": per * events / years,
                "EAER low": per * elo,
                "EAER high": per * ehi,
            }
        )
    return pd.DataFrame(rows)


def upper_bound_no_events(n: int, events: int = 0, confidence: float = 0.95) -> float:
    """Exact one-sided upper confidence bound of a proportion with ``events`` of ``n``
    (Clopper-Pearson one-sided: the ``confidence`` quantile of Beta(k + 1, n - k)); with no
    event, ``1 - (1 - confidence)^(1/n)``: 0 of 4 gives 0.527 at 95%."""
    n = check_count("n", n, 1)
    k = check_count("events", events, 0, n)
    confidence = check_probability("confidence", confidence)
    if k == n:
        return 1.0
    return float(stats.beta.ppf(confidence, k + 1, n - k))


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier estimate of event-free follow-up.

    Attributes
    ----------
    label : str
        What the event is ("serious adverse event", "tumour finding").
    table : DataFrame
        ``day``, ``at risk``, ``events``, ``censored``, ``event-free`` and its 95% pointwise
        interval (Greenwood variance, log(-log) transform).
    participants : DataFrame
        ``participant``, ``days`` (to the event or censoring), ``event`` (bool).
    caveats : tuple of str
    """

    label: str
    table: pd.DataFrame
    participants: pd.DataFrame
    caveats: tuple[str, ...] = ()

    @property
    def events(self) -> int:
        """Participants with the event."""
        return int(self.participants["event"].sum())

    @property
    def final_event_free(self) -> float:
        """The estimate at the last time point."""
        return float(self.table["event-free"].iloc[-1]) if len(self.table) else math.nan


def _product_limit_table(days: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """The Kaplan-Meier table at day 0 and every distinct follow-up time: at risk, events,
    censored, the estimate and its 95% pointwise interval (Greenwood, log(-log))."""
    times = np.unique(np.concatenate([[0.0], days]))
    at_risk = np.array([(days >= t).sum() for t in times])
    n_events = np.array([((days == t) & events).sum() for t in times])
    censored = np.array([((days == t) & ~events).sum() for t in times])
    if events.any():
        result = stats.ecdf(stats.CensoredData(uncensored=days[events], right=days[~events]))
        estimate = result.sf.evaluate(times)
        with np.errstate(divide="ignore", invalid="ignore"):
            interval = result.sf.confidence_interval(0.95, method="log-log")
            low, high = interval.low.evaluate(times), interval.high.evaluate(times)
        # before the first event the estimate is 1 with no uncertainty
        low = np.where(estimate >= 1.0, 1.0, low)
        high = np.where(estimate >= 1.0, 1.0, high)
    else:
        estimate = low = high = np.ones(len(times))
    return pd.DataFrame(
        {
            "day": times,
            "at risk": at_risk,
            "events": n_events,
            "censored": censored,
            "event-free": estimate,
            "low 95%": low,
            "high 95%": high,
        }
    )


def time_to_first_event(
    adverse_events: pd.DataFrame,
    follow_up: pd.DataFrame,
    *,
    label: str,
    serious_only: bool = False,
    category: str | None = None,
) -> KaplanMeier:
    """Kaplan-Meier time from the first administration to the first event of a kind, censored
    at the end of follow-up (the product-limit estimate of Kaplan EL, Meier P. J Am Stat Assoc
    1958;53:457-481, through ``scipy.stats.ecdf``; checked against statsmodels' ``SurvfuncRight``
    in the tests).

    Parameters
    ----------
    adverse_events, follow_up
        As :func:`exposure_adjusted_incidence`.
    label : str
        The event in words, for tables and figures.
    serious_only : bool
        Only serious events count.
    category : str, optional
        Only events of this category count (``tumour_or_graft_overgrowth`` for tumour-free
        follow-up).
    """
    if not len(follow_up):
        raise AnalysisInputError("follow_up", 0, "at least one treated participant")
    frame = adverse_events
    if serious_only:
        frame = frame[frame["serious"].astype(bool)]
    if category is not None:
        frame = frame[frame["category"] == category]
    # each participant's onsets, gathered in one pass (not a pass over every event per
    # participant)
    onsets_of: dict[Any, list[Any]] = {}
    for p, d in zip(column_values(frame["participant"]), column_values(frame["onset_date"]),
                    strict=True):  # fmt: skip
        if p is not pd.NA and p == p:  # a missing id (NaN, NA) equals no participant
            onsets_of.setdefault(p, []).append(d)
    rows = []
    for rec in frame_records(follow_up):
        start, end = rec["treated on"], rec["follow-up ends"]
        onsets = [d for d in onsets_of.get(rec["participant"], []) if start <= d <= end]
        if onsets:
            rows.append(
                {
                    "participant": rec["participant"],
                    "days": (min(onsets) - start).days,
                    "event": True,
                }
            )
        else:
            rows.append({"participant": rec["participant"], "days": rec["days"], "event": False})
    people = pd.DataFrame(rows, columns=["participant", "days", "event"])
    caveats: tuple[str, ...] = ()
    if len(people) < 10:
        message = (
            f"Kaplan-Meier ({label}): {len(people)} participants; each event moves the "
            "curve by a large step and the interval is wide"
        )
        warnings.warn(message, SmallSampleWarning, stacklevel=2)
        caveats = (message,)
    table = _product_limit_table(people["days"].to_numpy(float), people["event"].to_numpy(bool))
    return KaplanMeier(label, table, people, caveats)
