"""The primary endpoint at the protocol time point, with its window, and the follow-up checks
around it.

A conversion count is only an endpoint when it is taken at the visit the protocol names, inside
that visit's window, in participants who have reached it. :func:`time_point_endpoint` sorts every
participant into one of:

* ``assessed`` -- an exam at the visit, inside its window, classified, with a baseline;
* ``pending`` -- the visit's window had not closed at the data cut (or the participant is not
  yet treated): not "not converted", simply not yet known;
* ``outside window`` -- an exam recorded for the visit but done outside its window: it is not
  the visit's exam and is not counted (it stays in the listings);
* ``missing`` -- the window closed without an exam;
* ``not assessable`` -- no classification or no baseline exam.

Baselines the exam leaves open (``A,C`` when NT cells hide the sacral findings) are reported as
*uncertain baselines*, not silently dropped from an "AIS A" cohort; :func:`implausible_jumps`
flags grade changes between consecutive exams that are rare in natural recovery (a gain of three
or more grades, e.g. A to D or E, or a loss of two or more) for source-data review: they are more
often an examination or entry error than a recovery (hand-scored AIS grades are wrong in about
13% of exams, Chafetz et al. J Spinal Cord Med 2009;32:532-537; 2% of EMSCI participants worsened
spontaneously within a year, Spiess et al. J Neurotrauma 2009;26:2027-2036).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from cordtrial.analysis.endpoints import AIS_GRADES, parse_grades
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.frames import column_values
from cordtrial.analysis.frames import records as frame_records

__all__ = [
    "TIME_POINT_STATUSES",
    "TimePointEndpoint",
    "implausible_jumps",
    "time_point_endpoint",
    "uncertain_baselines",
]

TIME_POINT_STATUSES: Final = (
    "assessed",
    "pending",
    "outside window",
    "missing",
    "not assessable",
)
#: A gain of this many AIS grades or more between consecutive exams is flagged for review.
JUMP_UP: Final = 3
#: A loss of this many grades or more is flagged for review.
JUMP_DOWN: Final = 2


@dataclass(frozen=True, slots=True)
class TimePointEndpoint:
    """The endpoint at one protocol visit.

    Attributes
    ----------
    visit : str
    outcome : str
        The endpoint table's yes/no column (``converted`` or ``motor_incomplete``).
    baseline_grade : str or None
        The baseline grade of the cohort (``None``: everyone).
    participants : DataFrame
        One row per participant: ``participant``, ``arm``, ``status`` (one of
        :data:`TIME_POINT_STATUSES`), ``ais_shift``, ``outcome`` (yes / no / undetermined for
        the assessed), ``examined_on``, ``window_closes``.
    uncertain : DataFrame
        Participants whose baseline grade is uncertain and includes ``baseline_grade``
        (``A,C``): outside the cohort's count, listed here.
    """

    visit: str
    outcome: str
    baseline_grade: str | None
    participants: pd.DataFrame
    uncertain: pd.DataFrame

    def _names(self, status: str) -> list[str]:
        p = self.participants
        return [str(x) for x in p.loc[p["status"] == status, "participant"]]

    @property
    def assessed(self) -> int:
        """Participants assessed at the visit, in window."""
        return int((self.participants["status"] == "assessed").sum())

    @property
    def yes(self) -> int:
        """Assessed participants with the outcome."""
        p = self.participants
        return int(((p["status"] == "assessed") & (p["outcome"] == "yes")).sum())

    @property
    def undetermined(self) -> int:
        """Assessed participants whose outcome NT cells leave open."""
        p = self.participants
        return int(((p["status"] == "assessed") & (p["outcome"] == "undetermined")).sum())

    @property
    def pending(self) -> list[str]:
        """Participants who have not reached the visit at the data cut."""
        return self._names("pending")

    @property
    def missing(self) -> list[str]:
        """Participants whose window closed without an exam."""
        return self._names("missing")

    @property
    def outside_window(self) -> list[str]:
        """Participants whose exam for the visit was done outside its window."""
        return self._names("outside window")

    @property
    def summary(self) -> pd.DataFrame:
        """One row of counts, with the participants pending named."""
        return pd.DataFrame(
            [
                {
                    "visit": self.visit,
                    "outcome": self.outcome,
                    "cohort": len(self.participants),
                    "assessed": self.assessed,
                    "yes": self.yes,
                    "undetermined": self.undetermined,
                    "pending": len(self.pending),
                    "pending participants": ", ".join(self.pending),
                    "outside window": len(self.outside_window),
                    "missing": len(self.missing),
                    "uncertain baseline": len(self.uncertain),
                }
            ]
        )


def _status(row: dict[Any, Any]) -> str:
    status = row["status"]
    if status == "not_due":
        return "pending"
    if status == "missing":
        return "missing"
    if status != "observed":
        return "not assessable"
    if row.get("in_window") == "no":
        return "outside window"
    return "assessed"


def uncertain_baselines(endpoints: pd.DataFrame, baseline_grade: str = "A") -> pd.DataFrame:
    """Participants whose baseline AIS the exam leaves open and that include ``baseline_grade``
    (``A,C``): one row each with ``participant`` and ``ais_baseline``."""
    grades = endpoints["ais_baseline"].map(parse_grades)
    mask = grades.map(lambda g: baseline_grade in g and len(g) > 1)
    out = endpoints.loc[mask, ["participant", "ais_baseline"]]
    return out.drop_duplicates("participant").reset_index(drop=True)


def time_point_endpoint(
    endpoints: pd.DataFrame,
    visit: str,
    *,
    outcome: str = "converted",
    baseline_grade: str | None = "A",
) -> TimePointEndpoint:
    """The endpoint at the protocol visit ``visit`` (see the module docstring).

    Parameters
    ----------
    endpoints : DataFrame
        From :func:`~cordtrial.analysis.endpoints.endpoint_table`, built with the protocol's
        ``schedule`` and the ``data_cut`` (without them no participant can be told pending, and
        no exam outside its window).
    visit : str
        The protocol time point (e.g. ``"week 52"``).
    outcome : {"converted", "motor_incomplete"}
    baseline_grade : str or None
        Only participants with this (certain) baseline grade; ``None`` for everyone.
    """
    if outcome not in {"converted", "motor_incomplete"}:
        raise AnalysisInputError("outcome", outcome, "converted or motor_incomplete")
    if baseline_grade is not None and baseline_grade not in AIS_GRADES:
        raise AnalysisInputError("baseline_grade", baseline_grade, "one of A, B, C, D, E")
    at = endpoints[endpoints["visit"] == visit]
    if at.empty:
        known = ", ".join(dict.fromkeys(str(v) for v in endpoints["visit"]))
        raise AnalysisInputError("visit", visit, "a visit of the endpoint table: " + known)
    uncertain = (
        uncertain_baselines(at, baseline_grade)
        if baseline_grade is not None
        else at.iloc[0:0][["participant", "ais_baseline"]]
    )
    if baseline_grade is not None:
        at = at[at["ais_baseline"].map(parse_grades) == frozenset({baseline_grade})]
    rows = []
    for rec in frame_records(at):
        status = _status(rec)
        rows.append(
            {
                "participant": rec["participant"],
                "arm": rec.get("arm", ""),
                "status": status,
                "ais_shift": rec["ais_shift"] if status == "assessed" else "",
                "outcome": rec[outcome] if status == "assessed" else "",
                "examined_on": rec.get("examined_on"),
                "window_closes": rec.get("window_closes"),
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "participant",
            "arm",
            "status",
            "ais_shift",
            "outcome",
            "examined_on",
            "window_closes",
        ],
    )
    return TimePointEndpoint(visit, outcome, baseline_grade, table, uncertain)


def _observed_chains(endpoints: pd.DataFrame) -> dict[Any, list[tuple[str, str]]]:
    """Each participant's observed grades in row order, after the baseline's: ``(visit, AIS)``
    pairs, the first the baseline visit and grade of the participant's first observed row.
    Participants in order of their first row (as ``groupby(sort=False)`` gives them, missing ids
    left out); those never observed left out. One pass over the columns, no frame per
    participant."""
    columns = ("participant", "status", "visit", "ais", "baseline_visit", "ais_baseline")
    chains: dict[Any, list[tuple[str, str]]] = {}
    for pid, status, visit, ais, base_visit, base_ais in zip(
        *(column_values(endpoints[c]) for c in columns), strict=True
    ):
        if pid is None or pid is pd.NA or (isinstance(pid, float) and math.isnan(pid)):
            continue
        chain = chains.setdefault(pid, [])
        if isinstance(status, str) and status == "observed":
            if not chain:
                chain.append((str(base_visit), str(base_ais)))
            chain.append((str(visit), str(ais)))
    return {pid: chain for pid, chain in chains.items() if chain}


def implausible_jumps(endpoints: pd.DataFrame) -> pd.DataFrame:
    """Grade changes between consecutive exams of a participant that need source-data review:
    a gain of :data:`JUMP_UP` (3) grades or more, or a loss of :data:`JUMP_DOWN` (2) or more,
    certain whatever NT leaves open.

    Returns
    -------
    DataFrame
        ``participant``, ``from visit``, ``to visit``, ``from AIS``, ``to AIS``, ``change``
        (grades) and ``reason``; empty when nothing needs review.
    """
    order = {g: i for i, g in enumerate(AIS_GRADES)}
    rows = []
    for pid, chain in _observed_chains(endpoints).items():
        for (v0, a0), (v1, a1) in itertools.pairwise(chain):
            g0, g1 = parse_grades(a0), parse_grades(a1)
            if not g0 or not g1:
                continue
            low = min(order[x] for x in g1) - max(order[x] for x in g0)
            high = max(order[x] for x in g1) - min(order[x] for x in g0)
            if low >= JUMP_UP:
                reason = f"gain of {low} or more AIS grades between consecutive exams"
                change = low
            elif high <= -JUMP_DOWN:
                reason = f"loss of {-high} or more AIS grades between consecutive exams"
                change = high
            else:
                continue
            rows.append(
                {
                    "participant": pid,
                    "from visit": v0,
                    "to visit": v1,
                    "from AIS": a0,
                    "to AIS": a1,
                    "change": change,
                    "reason": reason,
                }
            )
    return pd.DataFrame(
        rows,
        columns=["participant", "from visit", "to visit", "from AIS", "to AIS", "change", "reason"],
    )
