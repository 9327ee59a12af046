"""Tumour surveillance by MRI: reader agreement, the surveillance table per participant, the
exact upper bound on the tumour rate, and the DSMB section "Tumour surveillance".

* **Reader agreement** (:func:`reader_agreement`): Cohen's kappa (Cohen 1960, *Educ Psychol
  Meas* 20:37-46) between the two blinded central readers, per item of the structured read,
  over the MRIs both have read, with its 95% interval from the large-sample non-null variance
  of Fleiss, Cohen & Everitt (1969, *Psychol Bull* 72:323-327) -- computed by statsmodels'
  ``cohens_kappa``, which reproduces the reference sheet's oracle (statpsych ``ci.kappa``:
  31/12/4/58 gives kappa 0.6756757, SE 0.07344761, CI 0.5317210-0.8196303). Kappa is
  unweighted for every item, BASIC included (pre-specified as the primary statistic; the sheet
  notes weighted kappa as the alternative for the ordinal score). The large-sample interval
  can pass 1 on few MRIs: it is cut to [-1, 1], with a note; when one reader gave the same
  answer to every MRI, kappa is 0 by construction (observed agreement equals chance) with SE 0,
  and no interval is given.
* **The tumour rate's upper bound** (:func:`tumour_rate_upper_bound`): with k participants
  with a tumour finding over T participant-years of imaging follow-up (first cell
  administration to last MRI), the exact one-sided 95% upper bound of the Poisson rate,
  ``chi2.ppf(0.95, 2k + 2) / (2 T)`` (Garwood 1936, *Biometrika* 28:437-442; for k = 0 it is
  3.00 / T, the "rule of three"), and of the proportion of participants, Clopper-Pearson
  one-sided (Clopper & Pearson 1934, *Biometrika* 26:404-413).
* **The reference read of an MRI** (what the surveillance table reports): the locked
  adjudication, else the first locked central read, else the site's read.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from cordtrial.analysis.exposure import DAYS_PER_YEAR, upper_bound_no_events
from cordtrial.analysis.report import ReportSection
from cordtrial.trial.rules.imaging import AGREEMENT_ITEMS, surveillance_status
from cordtrial.trial.rules.vocabulary import word

__all__ = [
    "MRI_COLUMNS",
    "READ_COLUMNS",
    "TumourRateBound",
    "reader_agreement",
    "reference_reads",
    "surveillance_table",
    "tumour_rate_upper_bound",
    "tumour_surveillance_section",
]

MRI_COLUMNS: Final = ("participant", "mri", "acquired_on", "day", "imaging_site",
                      "field_strength_t")  # fmt: skip
READ_COLUMNS: Final = (
    "participant", "mri", "kind", "reader", "status", "impression", "new_mass",
    "contrast_enhancement", "mass_effect", "haemorrhage", "cord_compression", "oedema",
    "syrinx_present", "syrinx_length_mm", "syrinx_change", "graft_length_mm", "graft_volume_mm3",
    "basic_score", "finding",
)  # fmt: skip
TUMOUR_CATEGORY: Final = "tumour_or_graft_overgrowth"


def reader_agreement(reads: pd.DataFrame, items: Sequence[str] = AGREEMENT_ITEMS) -> pd.DataFrame:
    """Cohen's kappa between the two central readers, per item, with its 95% CI (see the
    module docstring).

    Parameters
    ----------
    reads : DataFrame
        Columns of :data:`READ_COLUMNS`; locked ``central`` reads are paired by ``mri``.

    Returns
    -------
    DataFrame
        ``item``, ``MRIs`` (read by both), ``agreement`` (observed proportion), ``kappa``,
        ``SE``, ``95% CI low``, ``95% CI high``, ``note`` (why kappa is not defined, when all
        answers fall in one category).
    """
    from statsmodels.stats.inter_rater import cohens_kappa

    central = reads[(reads["kind"] == "central") & (reads["status"] == "locked")]
    pairs = [g.sort_values("reader") for _, g in central.groupby("mri") if len(g) == 2]
    rows = []
    for item in items:
        first = [_category(g.iloc[0][item]) for g in pairs]
        second = [_category(g.iloc[1][item]) for g in pairs]
        n = len(first)
        row: dict[str, Any] = {"item": word(item), "MRIs": n}
        if n == 0:
            rows.append(row | {"note": "no MRI read by both central readers"})
            continue
        levels = sorted(set(first) | set(second))
        table = np.zeros((len(levels), len(levels)))
        for a, b in zip(first, second, strict=True):
            table[levels.index(a), levels.index(b)] += 1
        row["agreement"] = float(np.trace(table) / n)
        if len(levels) < 2:
            rows.append(row | {"note": "every answer the same: kappa not defined"})
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = cohens_kappa(table)
        kappa, se = float(result.kappa), float(result.std_kappa)
        low, high = float(result.kappa_low), float(result.kappa_upp)
        notes = ["small sample: interval approximate"] if n < 30 else []
        if se == 0 and kappa < 1:
            # a reader with one answer throughout: agreement equals chance, kappa is 0 and
            # the Wald interval a point -- not an interval worth printing
            low = high = math.nan
            notes = [
                "one reader gave the same answer to every MRI: kappa is 0 by construction, "
                "no interval"
            ]
        elif low < -1 or high > 1:
            low, high = max(low, -1.0), min(high, 1.0)
            notes.append("interval cut at 1 (kappa lies between -1 and 1)")
        rows.append(
            row | {"kappa": kappa, "SE": se, "95% CI low": low, "95% CI high": high,
                   "note": "; ".join(notes)}
        )  # fmt: skip
    columns = ["item", "MRIs", "agreement", "kappa", "SE", "95% CI low", "95% CI high", "note"]
    return pd.DataFrame(rows, columns=columns)


def _category(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not recorded"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True, slots=True)
class TumourRateBound:
    """Participants with a tumour finding over the imaging follow-up, with exact one-sided
    upper bounds on the rate per participant-year (Poisson, Garwood 1936) and on the
    proportion of participants (Clopper-Pearson 1934)."""

    participants: int
    with_finding: int
    participant_years: float
    rate_upper: float | None
    proportion_upper: float | None
    confidence: float

    @property
    def summary(self) -> str:
        if self.rate_upper is None or self.proportion_upper is None:
            return "no imaging follow-up yet: no bound on the tumour rate"
        level = f"{self.confidence:.0%}"
        return (
            f"{self.with_finding} of {self.participants} participants with a tumour finding over "
            f"{self.participant_years:.1f} participant-years of imaging follow-up; exact one-sided "
            f"{level} upper bound {self.rate_upper * 100:.1f} per 100 participant-years "
            f"(Poisson, Garwood 1936) and {self.proportion_upper:.0%} of participants "
            "(Clopper-Pearson 1934)."
        )


def tumour_rate_upper_bound(
    with_finding: int, participants: int, participant_years: float, confidence: float = 0.95
) -> TumourRateBound:
    """The exact one-sided upper bounds (see the module docstring): the Poisson rate bound
    ``chi2.ppf(confidence, 2k + 2) / (2 T)`` and the Clopper-Pearson bound of k of n."""
    if participants < 1 or participant_years <= 0:
        return TumourRateBound(participants, with_finding, participant_years, None, None,
                               confidence)  # fmt: skip
    rate = float(stats.chi2.ppf(confidence, 2 * with_finding + 2)) / (2 * participant_years)
    proportion = upper_bound_no_events(participants, with_finding, confidence)
    return TumourRateBound(
        participants, with_finding, participant_years, rate, proportion, confidence
    )


def reference_reads(reads: pd.DataFrame) -> pd.DataFrame:
    """One read per MRI: the locked adjudication, else the first locked central read, else
    the site's read (locked reads only)."""
    locked = reads[reads["status"] == "locked"]
    if not len(locked):
        return locked
    rank = locked["kind"].map({"adjudication": 0, "central": 1, "site": 2})
    ordered = locked.assign(_rank=rank).sort_values(["mri", "_rank", "reader"])
    return ordered.drop_duplicates("mri").drop(columns="_rank")


def _change(values: Sequence[object]) -> str:
    measured = [
        float(v)
        for v in values
        if isinstance(v, int | float) and not (isinstance(v, float) and math.isnan(v))
    ]
    if len(measured) < 2:
        return "not measured twice" if not measured else f"{measured[0]:g} mm"
    return f"{measured[0]:g} -> {measured[-1]:g} mm"


def surveillance_table(
    participants: pd.DataFrame,
    mris: pd.DataFrame,
    reads: pd.DataFrame,
    adverse_events: pd.DataFrame,
    as_of: date,
) -> pd.DataFrame:
    """Per participant: MRIs done, the next protocol MRI due (or overdue) on ``as_of``,
    impressions of the reference reads, syrinx and graft changes, tumour findings."""
    ref = reference_reads(reads) if len(reads) else reads
    tumour = set(
        adverse_events.loc[adverse_events["category"] == TUMOUR_CATEGORY, "participant"]
    ) if len(adverse_events) else set()  # fmt: skip
    rows = []
    for p in participants.itertuples(index=False):
        pid = p.participant
        treated = getattr(p, "treated_on", None)
        treated = treated if isinstance(treated, date) else None
        mine = mris[mris["participant"] == pid] if len(mris) else mris
        dates = [d for d in mine["acquired_on"]] if len(mine) else []
        status = surveillance_status(treated, dates, as_of)
        own = ref[ref["participant"] == pid].merge(
            mine[["mri", "acquired_on"]], on="mri"
        ).sort_values("acquired_on") if len(ref) and len(mine) else None  # fmt: skip
        impressions = (
            ", ".join(f"{n} {word(k)}" for k, n in own["impression"].value_counts().items())
            if own is not None and len(own) else "none read"
        )  # fmt: skip
        syrinx = "none"
        if own is not None and len(own):
            changes = [word(c) for c in own["syrinx_change"] if isinstance(c, str)]
            present = bool(own["syrinx_present"].fillna(False).astype(bool).any())
            syrinx = (", ".join(dict.fromkeys(changes)) or "present") if present else "none"
        rows.append(
            {
                "participant": pid,
                "MRIs done": len(dates),
                "last MRI": max(dates) if dates else None,
                "next MRI": (
                    f"{status.next_name} ({status.next_due.isoformat()})"
                    if status.next_due
                    else "none"
                ),
                "surveillance": status.state,
                "impressions": impressions,
                "syrinx": syrinx,
                "graft length": _change(list(own["graft_length_mm"]))
                if own is not None and len(own)
                else "not measured",
                "tumour finding": "yes" if pid in tumour else "no",
            }
        )
    return pd.DataFrame(rows)


def tumour_surveillance_section(data: Any) -> ReportSection | None:
    """The DSMB section "Tumour surveillance" (None when the trial has no MRI): the surveillance
    table per participant, reader agreement per item, and the exact upper bound on the tumour
    rate given the participant-years of imaging follow-up."""
    mris: pd.DataFrame = getattr(data, "mris", pd.DataFrame())
    reads: pd.DataFrame = getattr(data, "mri_reads", pd.DataFrame())
    if not len(mris):
        return None
    section = ReportSection("Tumour surveillance")
    as_of = max(
        [d for d in mris["acquired_on"]] + ([data.last_data_date] if data.last_data_date else [])
    )
    participants = data.participants
    table = surveillance_table(participants, mris, reads, data.adverse_events, as_of)
    dispositions = getattr(data, "dispositions", None)
    if dispositions is not None and len(table):
        # an overdue MRI reads differently for a participant lost to follow-up or withdrawn
        from cordtrial.analysis.disposition import current_disposition_words

        words = current_disposition_words(table[["participant"]], dispositions)
        table.insert(list(table.columns).index("surveillance") + 1, "disposition", words)
    treated = {
        p.participant: p.treated_on
        for p in participants.itertuples(index=False)
        if isinstance(getattr(p, "treated_on", None), date)
    }
    years = 0.0
    for pid, start in treated.items():
        dates = list(mris.loc[mris["participant"] == pid, "acquired_on"])
        if dates:
            years += max(0, (max(dates) - start).days) / DAYS_PER_YEAR
    findings = int((table["tumour finding"] == "yes").sum()) if len(table) else 0
    bound = tumour_rate_upper_bound(findings, len(treated), years)
    section.paragraphs.append(
        f"{len(mris)} MRI examinations of {mris['participant'].nunique()} participants up to "
        f"{as_of.isoformat()}. Each MRI is read by two blinded central readers; disagreement on "
        "the impression or a tumour-relevant item (new mass, contrast enhancement, mass effect) "
        "is adjudicated by a third. The table reports the reference read of each MRI "
        "(adjudication, else first central read, else the site's read)."
    )
    section.paragraphs.append(bound.summary)
    section.tables.append(("MRI surveillance by participant", table))
    agreement = reader_agreement(reads) if len(reads) else pd.DataFrame()
    if len(agreement):
        section.tables.append(
            ("Agreement of the two central readers (Cohen's kappa, 95% CI by the "
             "Fleiss-Cohen-Everitt 1969 variance)", agreement.round(3))
        )  # fmt: skip
    return section


def load_imaging(
    session: Any, study_ids: dict[int, str], treated_on: dict[int, date]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The MRIs (:data:`MRI_COLUMNS`) and their reads (:data:`READ_COLUMNS`) of the given
    participants (id -> study id), in two statements; ``day`` counts from the first cell
    administration."""
    from sqlalchemy import select

    from cordtrial.trial.models import MriExam, MriRead

    if not study_ids:
        return pd.DataFrame(columns=list(MRI_COLUMNS)), pd.DataFrame(columns=list(READ_COLUMNS))
    exams = list(
        session.scalars(
            select(MriExam)
            .where(MriExam.participant_id.in_(list(study_ids)))
            .order_by(MriExam.acquired_on, MriExam.id)
        )
    )
    owner = {m.id: m.participant_id for m in exams}
    mris = pd.DataFrame(
        [
            {"participant": study_ids[m.participant_id], "mri": m.id, "acquired_on": m.acquired_on,
             "day": (m.acquired_on - treated_on[m.participant_id]).days
             if m.participant_id in treated_on else None,
             "imaging_site": m.imaging_site, "field_strength_t": m.field_strength_t}
            for m in exams
        ],
        columns=list(MRI_COLUMNS),
    )  # fmt: skip
    rows = []
    if owner:
        for r in session.scalars(
            select(MriRead).where(MriRead.mri_exam_id.in_(list(owner))).order_by(MriRead.id)
        ):
            row = {c: getattr(r, c) for c in READ_COLUMNS[2:]}
            rows.append(
                {"participant": study_ids[owner[r.mri_exam_id]], "mri": r.mri_exam_id} | row
            )
    return mris, pd.DataFrame(rows, columns=list(READ_COLUMNS))
