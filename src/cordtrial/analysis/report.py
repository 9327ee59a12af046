"""DSMB and efficacy reports, as HTML (Jinja2) and PDF (fpdf2).

A report is built from a :class:`~cordtrial.analysis.store.TrialData` (from the store, or frames
made by hand) into a :class:`Report` -- titled sections of paragraphs, tables and figures -- and
then rendered. Every report prints the data snapshot hash (SHA-256 of the data it was made from)
and the versions of cordtrial, the ISNCSCI engine and the numerical libraries, so that it can be
reproduced; small-sample and other caveats raised while it was computed are listed in it.

DSMB report: :mod:`cordtrial.analysis.dsmb` (re-exported here).
Efficacy report sections: cohort; AIS conversion; comparison with natural recovery (primary
source and sensitivity across sources); motor and sensory scores; functional measures; walking
rule; what these data can and cannot show; reproducibility.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Final, Literal

import pandas as pd

from cordtrial.analysis.cohort import (
    DEFAULT_PRIOR,
    cohort_levels,
    compare_with_natural_history,
    schedule_window_since_injury,
    sensitivity,
)
from cordtrial.analysis.endpoints import (
    LAST,
    ais_shift_table,
    conversion_summary,
    endpoint_table,
    format_range,
    last_observed,
    measure_changes,
)
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.frames import column_values
from cordtrial.analysis.frames import records as frame_records
from cordtrial.analysis.natural_history import DEFAULT_PRIMARY_FIGURE, figure_by_id
from cordtrial.analysis.store import TrialData, engine_versions
from cordtrial.analysis.walking import DISCRIMINATION, walking_rule_applies, walking_score

__all__ = [
    "DSMB_SECTIONS",
    "EFFICACY_SECTIONS",
    "STATUS_WORDS",
    "Report",
    "ReportFigure",
    "ReportSection",
    "build_dsmb_report",
    "build_efficacy_report",
    "render_html",
    "render_pdf",
    "reproducibility_table",
    "shortened_terms",
    "write_report",
]

EFFICACY_SECTIONS: Final = (
    "1. Cohort",
    "2. AIS conversion",
    "3. Comparison with natural recovery",
    "4. Motor and sensory scores",
    "5. Functional measures",
    "6. Walking rule",
    "7. What these data can and cannot show",
    "8. Reproducibility",
)


@dataclass
class ReportFigure:
    """A matplotlib figure with its caption and an optional note printed under it (e.g. the
    full text of labels the figure shortens), rendered on demand: PNG for the PDF, SVG for the
    HTML page (each drawn once, then kept)."""

    caption: str
    figure: Any
    note: str = ""
    _png: bytes | None = None
    _svg: str | None = None

    @property
    def png(self) -> bytes:
        """The figure as PNG."""
        if self._png is None:
            from cordtrial.analysis.plots import figure_png

            self._png = figure_png(self.figure, dpi=110)
        return self._png

    @property
    def svg(self) -> str:
        """The figure as SVG text."""
        if self._svg is None:
            from cordtrial.analysis.plots import figure_svg

            self._svg = figure_svg(self.figure)
        return self._svg


@dataclass
class ReportSection:
    """A titled section: paragraphs, then tables (caption, frame), then figures; an optional
    DSMB section may give its line of the executive summary (``summary_line``)."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[ReportFigure] = field(default_factory=list)
    summary_line: str = ""


@dataclass
class Report:
    """A report ready to render."""

    kind: Literal["dsmb", "efficacy"]
    title: str
    protocol_id: str
    trial_title: str
    data_cut: date | None
    snapshot_hash: str
    versions: dict[str, str]
    sections: list[ReportSection]
    caveats: list[str] = field(default_factory=list)


def _figure(caption: str, fig: Any, note: str = "") -> ReportFigure:
    return ReportFigure(caption=caption, figure=fig, note=note)


def shortened_terms(aes: pd.DataFrame) -> str:
    """The note under the AE timeline: the full terms of the events whose label the figure
    shortens (:func:`cordtrial.analysis.plots.ae_label`), with participant and onset day."""
    from cordtrial.analysis.plots import ae_label

    full = [
        f"{r['participant']} day {_fmt(r.get('onset_day'))}: {r['term']}"
        for r in frame_records(aes)
        if ae_label(str(r.get("term", ""))).endswith("\u2026")
    ]
    return "Terms shortened in the figure, in full: " + "; ".join(full) + "." if full else ""


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e9:
            return str(int(value))
        return f"{value:.3g}" if abs(value) < 0.01 else f"{value:.3f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_ENUM = re.compile(r"^[a-z]+(?:_[a-z0-9]+)+$")
#: machine values with a clinical name (scores, engine versions)
_VALUE_WORDS: Final = {
    "uems": "UEMS", "lems": "LEMS", "total_motor": "total motor score", "lt": "light touch",
    "pp": "pin prick", "ctcae_grade": "CTCAE grade",
    "version: isncsci_engine": "version: ISNCSCI engine",
    "version: isncsci_revision": "version: ISNCSCI revision",
}  # fmt: skip


def _words(text: str) -> str:
    """A vocabulary value in words: ``neuropathic_pain`` -> ``neuropathic pain``,
    ``not_related`` -> ``not related``, ``not_due`` -> ``not yet due``."""
    if text in STATUS_WORDS:
        return STATUS_WORDS[text]
    if text in _VALUE_WORDS:
        return _VALUE_WORDS[text]
    return text.replace("_", " ") if _ENUM.match(text) else text


@dataclass(frozen=True, slots=True)
class _Cells:
    """A table as the renderers print it: its headings and the text of each column, in words."""

    headings: list[str]
    columns: list[list[str]]
    rows: int


def _display_cells(frame: pd.DataFrame) -> _Cells:
    """The table's headings and cells in words, column by column (each column's values read in
    one conversion: :func:`~cordtrial.analysis.frames.column_values`)."""
    out = frame.reset_index() if frame.index.name or isinstance(frame.index, pd.MultiIndex) else (
        frame
    )  # fmt: skip
    columns = [[_words(_fmt(v)) for v in column_values(out.iloc[:, i])]
               for i in range(out.shape[1])]  # fmt: skip
    return _Cells([_heading(str(c)) for c in out.columns], columns, len(out))


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    cells = _display_cells(frame)
    rows: list[Any] = list(zip(*cells.columns, strict=True)) if cells.columns else [[]] * cells.rows
    return pd.DataFrame(rows, columns=cells.headings)


#: the endpoint statuses in words
STATUS_WORDS: Final = {
    "observed": "observed", "missing": "missing", "not_due": "not yet due",
    "not_classified": "not classified", "no_baseline": "no baseline",
}  # fmt: skip

#: column headings a reader knows in capitals (the glossary of cordtrial.isncsci)
_ABBREVIATIONS: Final = {"uems": "UEMS", "lems": "LEMS", "lt": "LT", "pp": "PP", "nli": "NLI",
                         "ais": "AIS", "ctcae": "CTCAE", "n": "n", "ci": "CI"}  # fmt: skip


#: column names whose heading is not just their words
_LABELS: Final = {
    "onset_day": "onset (days after treatment)", "onset_date": "onset",
    "resolution_date": "resolved", "serious_criteria": "seriousness criteria",
    "related_to_cells": "related to cells", "related_to_procedure": "related to procedure",
    "related_to_immunosuppression": "related to immunosuppression",
    "expedited_report_required": "expedited report required",
    "expedited_report_due": "expedited report due", "special_interest": "special interest",
    "p_value": "p-value", "prob_exceeds": "P(treated rate > natural rate)",
    "ci_low": "95% CI low", "ci_high": "95% CI high", "natural_rate": "natural rate",
    "source_n": "source n", "ais_shift": "AIS shift", "examined_on": "examined on",
    "window_closes": "window closes", "age_at_injury": "age at injury",
    "injury_level": "level of injury", "baseline_visit": "baseline visit",
    "ais_baseline": "AIS at baseline", "nli_baseline": "NLI at baseline",
    "total_motor": "total motor", "at_risk": "at risk", "why": "why counted",
}  # fmt: skip


def _heading(column: str) -> str:
    """A column name as a table heading: words instead of snake_case, clinical abbreviations
    in capitals (``ctcae_grade`` -> ``CTCAE grade``, ``nli_baseline`` -> ``NLI at baseline``)."""
    if column in _LABELS:
        return _LABELS[column]
    return " ".join(_ABBREVIATIONS.get(w.lower(), w) for w in column.split("_"))


def _common(data: TrialData) -> tuple[pd.DataFrame, pd.DataFrame]:
    baseline = "screening" if "screening" in set(data.exams.get("visit", [])) else None
    ep = endpoint_table(data.exams, participants=data.participants, baseline_visit=baseline,
                        schedule=data.schedule if len(data.schedule) else None,
                        data_cut=data.last_data_date)  # fmt: skip
    return ep, last_observed(ep)


def reproducibility_table(data: TrialData, parameters: dict[str, str]) -> pd.DataFrame:
    """The data snapshot hash, the software versions and the analysis parameters, as a table."""
    versions = engine_versions()
    rows = [("data snapshot (SHA-256)", data.snapshot_hash)]
    rows += [(f"version: {k}", v) for k, v in versions.items()]
    rows += [("classifications stored by", "; ".join(data.stored_engine_versions) or "none")]
    rows += list(parameters.items())
    return pd.DataFrame(rows, columns=["item", "value"])


def _reproducibility(data: TrialData, parameters: dict[str, str]) -> ReportSection:
    return ReportSection(
        title="",
        paragraphs=[
            "The snapshot hash is the SHA-256 of the participants, exams, measures and adverse "
            "events this report was computed from; the same data give the same hash. All data "
            "of the demo trial are synthetic.",
        ],
        tables=[("Snapshot and versions", reproducibility_table(data, parameters))],
    )


def _caught(caught: list[warnings.WarningMessage]) -> list[str]:
    return list(dict.fromkeys(str(w.message) for w in caught))


def _final_visit(data: TrialData, ep: pd.DataFrame) -> str | None:
    if len(data.schedule):
        return str(data.schedule.sort_values("target_day", kind="stable").iloc[-1]["visit"])
    visits = [v for v in dict.fromkeys(ep["visit"]) if v]
    return visits[-1] if visits else None


def _efficacy_core(
    data: TrialData, ep: pd.DataFrame, figure_id: str, prior: tuple[float, float],
    include_unconfirmed: bool,
) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """The primary comparison: conversion at the protocol's final visit, inside its window,
    against natural recovery (both NT bounds), and the sensitivity across time-matched sources."""
    from cordtrial.analysis.timepoint import time_point_endpoint

    visit = _final_visit(data, ep)
    if visit is None or not (ep["visit"] == visit).any():
        return ["No follow-up visit recorded: nothing to compare."], pd.DataFrame(), \
            pd.DataFrame()  # fmt: skip
    end = time_point_endpoint(ep, visit)
    n, yes, und = end.assessed, end.yes, end.undetermined
    figure = figure_by_id(figure_id, include_unconfirmed=include_unconfirmed)
    paragraphs = [
        f"Primary endpoint at {visit} (inside the visit's window), AIS A at baseline: "
        f"{len(end.participants)} participants; assessed: {n}; converted (better by at least "
        f"one AIS grade): {yes}"
        + (f" to {yes + und} (NT leaves {und} open)" if und else "")
        + f"; pending (not yet at {visit} at the data cut): {', '.join(end.pending) or 'none'}"
        + f"; missing: {', '.join(end.missing) or 'none'}"
        + f"; exams outside the window (not counted): {', '.join(end.outside_window) or 'none'}"
        + ("; uncertain baselines (not counted): "
           + ", ".join(f"{r['participant']} ({r['ais_baseline']})"
                       for r in frame_records(end.uncertain))
           if len(end.uncertain) else "")
        + "."
    ]  # fmt: skip
    rows = []
    if n == 0:
        return [*paragraphs, f"No participant has reached {visit}: nothing to compare."], \
            pd.DataFrame(), pd.DataFrame()  # fmt: skip
    for k in sorted({yes, yes + und}):
        c = compare_with_natural_history(k, n, figure=figure, prior=prior)
        rows.append(c.summary.assign(bound="converted" if k == yes else "max (NT)"))
        paragraphs.append(
            f"Against {figure.source} ({figure.levels}, {figure.timing}; natural rate "
            f"{figure.proportion:.1%}, n={figure.n or 'not reported'}): observed {k} of {n}, "
            f"expected {c.expected:.2f}; exact one-sided binomial p = {c.test.p_value:.3f}; "
            f"observed rate {c.test.estimate:.0%} (Clopper-Pearson 95% CI "
            f"{c.test.ci_low:.0%} to {c.test.ci_high:.0%}); posterior P(treated rate > natural "
            f"rate) = {c.posterior.prob_exceeds:.3f} under a Beta({prior[0]:g}, {prior[1]:g}) "
            "prior."
        )
    primary = pd.concat(rows, ignore_index=True)
    window = schedule_window_since_injury(data.participants, data.schedule)
    assessed = end.participants.loc[end.participants["status"] == "assessed", "participant"]
    levels = cohort_levels(data.participants, list(assessed))
    sens = sensitivity(yes, n, prior=prior, include_unconfirmed=include_unconfirmed,
                       outcome_window=window, levels=levels or None)  # fmt: skip
    return paragraphs, primary, sens


def _natural_distribution(
    nat: ReportSection, data: TrialData, ep: pd.DataFrame, visit: str, figure_id: str,
    include_unconfirmed: bool,
) -> None:  # fmt: skip
    """The natural rate as a distribution: the source's counts in the test, level strata, the
    secular trend (:mod:`cordtrial.analysis.historical`)."""
    from cordtrial.analysis.historical import (
        DEFAULT_ROBUST_WEIGHT,
        compare_with_source_counts,
        secular_trend_sensitivity,
        stratified_comparisons,
    )
    from cordtrial.analysis.natural_history import applicable_figures
    from cordtrial.analysis.timepoint import time_point_endpoint

    end = time_point_endpoint(ep, visit)
    k, n = end.yes, end.assessed
    if n == 0:
        return
    window = schedule_window_since_injury(data.participants, data.schedule)
    figures = [figure_by_id(figure_id, include_unconfirmed=include_unconfirmed)]
    figures += [f for f in applicable_figures("A", window=window) if f.id != figure_id]
    rows = [compare_with_source_counts(k, n, f).summary for f in figures
            if f.n is not None and 0 < f.proportion < 1]  # fmt: skip
    nat.paragraphs.append(
        "The natural rate is itself an estimate from a finite cohort (Makuch and Simon 1980): "
        "below, the trial's conversions against each source's counts as a second sample "
        "(Fisher's and Boschloo's exact tests, one-sided), and the probability that the treated "
        "rate exceeds the natural rate when the natural rate has the posterior of the source's "
        f"counts, alone and as a robust mixture ({DEFAULT_ROBUST_WEIGHT:.0%} on the source, the "
        "rest on a uniform Beta(1, 1): the trial's population may differ). Counts marked "
        "'reconstructed' come from a published percentage and n."
    )
    if rows:
        nat.tables.append(
            ("Natural rate from the sources' counts", pd.concat(rows, ignore_index=True))
        )
    strata = stratified_comparisons(end.participants, data.participants, outcome_window=window)
    if len(strata):
        nat.tables.append(("By level stratum, against the sources covering its levels", strata))
    nat.paragraphs.append(
        "Secular trend: conversion of AIS A tetraplegia rose from 17.6% (1995-97) to 50% "
        "(2013-15) (Marino 2020); the comparison at each era's rate shows how much the era of "
        "the source matters."
    )
    nat.tables.append(("Secular-trend sensitivity (tetraplegia, Marino 2020)",
                       secular_trend_sensitivity(k, n)))  # fmt: skip


LIMITATIONS: Final = (
    "No control group: the comparison is with published cohorts, not with patients randomised "
    "alongside. Those cohorts differ in level, age, timing of the baseline exam, care and era "
    "(conversion of AIS A tetraplegia rose from 17.6% in 1995-97 to 50% in 2013-15, Marino "
    "2020); the sensitivity table shows how much the answer depends on the source chosen.",
    "Spontaneous recovery is common: 11-30% of AIS A injuries gain at least one grade within a "
    "year without treatment, more in cervical injuries; some gains are artefacts of an early "
    "baseline exam (spinal shock) or of examiner variation (AIS errors in 13% of hand-scored "
    "exams, Chafetz 2009).",
    "Open-label assessment: examiners knew who was treated; AIS and motor scores are partly "
    "effort-dependent.",
    "What the data can show: whether the observed conversions are unusually high for natural "
    "recovery under the stated assumptions, how uncertain the treated rate is, and the size a "
    "controlled trial needs. What they cannot show: that the cells caused any recovery.",
)


def limitations(assessed: int) -> list[str]:
    """What a small single-arm cohort can and cannot show: :data:`LIMITATIONS`, led by what
    one participant weighs in a cohort of ``assessed`` (those with a follow-up exam)."""
    first = (
        f"Few participants: with {assessed} participant{'s' if assessed != 1 else ''} assessed "
        f"one participant moves the observed rate by {100 / assessed:.0f} percentage points, "
        "and the 95% interval is wide."
        if assessed
        else "No participant has a follow-up exam yet."
    )
    return [first, *LIMITATIONS]


def build_efficacy_report(
    data: TrialData,
    *,
    figure_id: str = DEFAULT_PRIMARY_FIGURE,
    prior: tuple[float, float] = DEFAULT_PRIOR,
    include_unconfirmed: bool = False,
) -> Report:
    """The efficacy report (sections :data:`EFFICACY_SECTIONS`)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from cordtrial.analysis.plots import ais_shift_figure, motor_trajectories_figure

        people = data.participants
        ep, last = _common(data)
        cohort = ReportSection(EFFICACY_SECTIONS[0])
        base = ep.drop_duplicates("participant")[["participant", "baseline_visit", "ais_baseline",
                                                  "nli_baseline"]]  # fmt: skip
        cohort_table = people[["participant", "site", "age_at_injury", "sex", "injury_level",
                               "region"]].merge(base, on="participant", how="left")  # fmt: skip
        cohort.paragraphs.append(
            f"{len(people)} participants; baseline = the screening exam where there is one, else "
            "each participant's earliest exam."
        )
        cohort.tables.append(("Participants", cohort_table))

        conv = ReportSection(EFFICACY_SECTIONS[1])
        from cordtrial.analysis.change import (
            ais_shift_test,
            change_summary,
            motor_level_responders,
        )
        from cordtrial.analysis.timepoint import implausible_jumps, time_point_endpoint

        final = _final_visit(data, ep)
        conv.paragraphs.append(
            "Conversion = AIS better by at least one grade than at baseline. The endpoint is "
            f"taken at the protocol's final visit ({final or 'n/a'}), inside its window; a "
            "participant who has not reached it is pending, not 'not converted'. The "
            "last-observation tables are labelled as such: they count participants whose later "
            "visits are not yet due at an earlier visit, when recovery may still come."
        )
        if final is not None and (ep["visit"] == final).any():
            end = time_point_endpoint(ep, final)
            conv.tables.append((f"Primary endpoint at {final}", end.summary))
            conv.tables.append((f"Primary endpoint by participant ({final})", end.participants))
            conv.tables.append((f"AIS shift, baseline → {final}", ais_shift_table(ep, final)))
            conv.tables.append((f"AIS shift at {final}, exact sign test",
                                ais_shift_test(ep, final).summary))  # fmt: skip
        conv.tables.append(("Grade changes flagged for source-data review", implausible_jumps(ep)))
        conv.tables.append(("Last observation (not the endpoint): conversion",
                            conversion_summary(ep, LAST)))  # fmt: skip
        conv.tables.append(("Last observation (not the endpoint): AIS shift",
                            ais_shift_table(ep, LAST)))  # fmt: skip
        conv.figures.append(_figure("AIS shift, baseline → last observed exam",
                                    ais_shift_figure(ep, LAST)))  # fmt: skip

        nat = ReportSection(EFFICACY_SECTIONS[2])
        paragraphs, primary, sens = _efficacy_core(data, ep, figure_id, prior,
                                                   include_unconfirmed)  # fmt: skip
        nat.paragraphs += paragraphs
        if len(primary):
            nat.tables.append(("Primary comparison", primary[
                ["source", "natural_rate", "observed", "n", "expected", "p_value", "ci_low",
                 "ci_high", "prob_exceeds", "prior"]]))  # fmt: skip
        if len(sens):
            nat.paragraphs.append(
                "Sensitivity: the same comparison against every published source whose outcome "
                "time matches the endpoint and whose levels cover the assessed participants'"
                + (
                    " (secondary-source figures included, marked in 'confidence')"
                    if include_unconfirmed
                    else " tagged as confirmed"
                )
                + "."
            )
            nat.tables.append(("Sensitivity across sources", sens[
                ["source", "levels", "timing", "source_n", "confidence", "natural_rate",
                 "expected", "p_value", "prob_exceeds"]]))  # fmt: skip

        final_visit = _final_visit(data, ep)
        if final_visit is not None and (ep["visit"] == final_visit).any():
            _natural_distribution(nat, data, ep, final_visit, figure_id, include_unconfirmed)

        motor = ReportSection(EFFICACY_SECTIONS[3])
        motor.paragraphs.append(
            "Change from baseline at the last observed exam (last observation, not the "
            "endpoint). A range 'a..b' is left open by not-testable (NT) cells; level changes "
            "are in segments, positive = caudal. At the protocol's final visit: the median, "
            "quartiles and exact Wilcoxon test of each change (skewed scores), and the ICCP "
            "motor-level responders (>= 2 levels on one side)."
        )
        if final is not None and (ep["visit"] == final).any():
            motor.tables.append((f"Score changes at {final}", change_summary(ep, final)))
            motor.tables.append((f"Motor-level responders at {final}",
                                 motor_level_responders(ep, final)))  # fmt: skip
        rows = []
        for rec in frame_records(last):
            r = {"participant": rec["participant"], "visit": rec["visit"],
                 "AIS": rec["ais_shift"]}  # fmt: skip
            for s in ("uems", "lems", "total_motor", "lt", "pp", "nli"):
                r[s] = format_range(rec[f"{s}_change_min"], rec[f"{s}_change_max"])
            rows.append(r)
        motor.tables.append(("Last observation (not the endpoint): score and level changes",
                             pd.DataFrame(rows)))  # fmt: skip
        motor_fig = motor_trajectories_figure(ep, participants=people)
        motor.figures.append(_figure("Motor scores", motor_fig))

        func = ReportSection(EFFICACY_SECTIONS[4])
        if len(data.measures):
            mc = measure_changes(data.measures, participants=people, baseline_visit=None)
            shown = mc[mc["status"] == "observed"]
            func.tables.append(("Functional measures: change from first assessment",
                                shown.drop(columns=["arm"])))  # fmt: skip
            func.paragraphs.append(
                f"{int((mc['status'] == 'missing').sum())} scheduled measurements missing."
            )
        else:
            func.paragraphs.append("No functional measures recorded.")

        walk = ReportSection(EFFICACY_SECTIONS[5])
        walk.paragraphs.append(
            "van Middendorp 2011 (Lancet) rule at baseline: -10 for age ≥ 65, 2 x L3 and S1 motor, "
            "5 x L3 and S1 light touch (better side); range -10 to 40. Published "
            f"discrimination AUC {DISCRIMINATION['derivation']['auc']} (derivation), "
            f"{DISCRIMINATION['temporal_validation']['auc']} (temporal validation)."
        )
        injured = dict(zip(people["participant"], people.get("injury_date", [None] * len(people)),
                           strict=True))  # fmt: skip
        walk.paragraphs.append(
            "No probability of walking is given: the paper's own score-to-probability model "
            "could not be checked, and the formula that circulates under its name is a later "
            "recalibration on another population and outcome (Hicks et al. 2017). The rule was "
            "derived on exams within 15 days of injury; a later exam is marked as outside it."
        )
        wrows = []
        ages = dict(zip(people["participant"], people["age_at_injury"], strict=True))
        exams = data.exams
        for pid in people["participant"]:
            sel = exams[exams["participant"] == pid]
            if sel.empty or "r_l3_motor" not in sel.columns:
                continue
            first = sel.sort_values("examined_on").iloc[0].to_dict()
            score = walking_score({str(k): v for k, v in first.items()}, int(ages[pid]))
            on, hurt = first.get("examined_on"), injured.get(pid)
            since = (on - hurt).days if isinstance(on, date) and isinstance(hurt, date) else None
            applies = walking_rule_applies(since)
            wrows.append({"participant": pid, "exam": first.get("visit", ""),
                          "days since injury": since if since is not None else "",
                          "rule applies": "yes" if applies.applies else "no: " + applies.reason,
                          "score": format_range(score.low, score.high)})  # fmt: skip
        walk.tables.append(("Walking-rule score at baseline", pd.DataFrame(wrows)))

        assessed = int(conversion_summary(ep, LAST).iloc[-1]["assessed"]) if len(ep) else 0
        lim = ReportSection(EFFICACY_SECTIONS[6], paragraphs=limitations(assessed))
        repro = _reproducibility(
            data,
            {"primary natural-history figure": figure_id,
             "prior of the treated rate": f"Beta({prior[0]:g}, {prior[1]:g})",
             "secondary-source figures": "included" if include_unconfirmed else "excluded"},
        )  # fmt: skip
        repro.title = EFFICACY_SECTIONS[7]
    return Report(
        kind="efficacy",
        title=f"Efficacy report: {data.protocol_id}",
        protocol_id=data.protocol_id,
        trial_title=data.title,
        data_cut=data.last_data_date,
        snapshot_hash=data.snapshot_hash,
        versions=engine_versions(),
        sections=[cohort, conv, nat, motor, func, walk, lim, repro],
        caveats=_caught(caught),
    )


_HTML: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ r.title }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.2rem;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:left}th{background:#f2f2f2}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#555}.meta{color:#555;font-size:.9rem}
figure svg{max-width:100%;height:auto}.table-wrap{overflow-x:auto;margin:.5rem 0 1.2rem}
.table-wrap table{margin:0}
.caveat{background:#fff6e0;border-left:4px solid #e0a800;padding:.4rem .8rem}
</style></head><body>
<h1>{{ r.title }}</h1>
<p class="meta">{{ r.trial_title }} &middot; data cut {{ r.data_cut or "n/a" }} &middot;
data snapshot <code>{{ r.snapshot_hash }}</code> &middot; cordtrial {{ r.versions.cordtrial }},
ISNCSCI engine {{ r.versions.isncsci_engine }} (revision {{ r.versions.isncsci_revision }})</p>
{% if r.caveats %}<div class="caveat"><strong>Caveats</strong><ul>
{% for c in r.caveats %}<li>{{ c }}</li>{% endfor %}</ul></div>{% endif %}
{% for s in r.sections %}<section><h2>{{ s.title }}</h2>
{% for p in s.paragraphs %}<p>{{ p }}</p>{% endfor %}
{% for caption, table in s.tables %}<h3>{{ caption }}</h3>
<div class="table-wrap">{{ table }}</div>{% endfor %}
{% for f in s.figures %}<figure>{{ f.svg }}<figcaption>{{ f.caption }}
{%- if f.note %}. {{ f.note }}{% endif %}</figcaption></figure>
{% endfor %}</section>{% endfor %}
</body></html>
"""


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (figures inline as SVG)."""
    from jinja2 import Environment
    from markupsafe import Markup

    env = Environment(autoescape=True)
    sections = []
    for s in report.sections:
        tables = [
            (caption, Markup(_display(t).to_html(index=False, border=0, escape=True)))
            for caption, t in s.tables
        ]
        svg = [ReportFigure(f.caption, None, f.note, _svg=Markup(_strip_xml_header(f.svg)))
               for f in s.figures]  # fmt: skip
        sections.append(ReportSection(s.title, s.paragraphs, tables, svg))  # type: ignore[arg-type]
    view = Report(**{**report.__dict__, "sections": sections})
    return env.from_string(_HTML).render(r=view)


def _strip_xml_header(svg: str) -> str:
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _column_widths(headings: list[str], columns: list[list[str]]) -> tuple[float, ...]:
    """Relative column widths from the longest word and the length of each column's text, so
    that short codes take little room and free text (AE terms, sources) wraps less."""
    widths = []
    for heading, column in zip(headings, columns, strict=True):
        cells = [heading, *column]
        longest_word = max((len(w) for c in cells for w in c.split()), default=1)
        longest = max(len(c) for c in cells)
        widths.append(float(min(max(longest_word, min(longest, 28), 3), 40)))
    return tuple(widths)


def _fitted_widths(
    pdf: Any, headings: list[str], columns: list[list[str]], family: str, size: float,
    measure: Callable[[str], float],
) -> list[float]:  # fmt: skip
    """Column widths in mm over the page's text width: every column at least as wide as its
    longest word (the heading's in bold), so that no word is cut ("participan t"), and the room
    left shared out by :func:`_column_widths`; where even the longest words do not fit, the
    relative widths alone. ``measure`` gives a word's width in the font set."""
    weights = _column_widths(headings, columns)
    proportional = [pdf.epw * w / sum(weights) for w in weights]
    minimum = []
    for heading, column in zip(headings, columns, strict=True):
        pdf.set_font(family, "B", size)
        need = max((measure(w) for w in heading.split()), default=0.0)
        pdf.set_font(family, "", size)
        words = {w for v in column for w in v.split()}
        need = max(need, max((measure(w) for w in words), default=0.0))
        minimum.append(need + 2.2)  # the cell's padding on both sides
    if sum(minimum) > pdf.epw:
        return proportional
    spare = pdf.epw - sum(minimum)
    extra = [max(p - m, 0.0) for p, m in zip(proportional, minimum, strict=True)]
    if not sum(extra):
        extra = [1.0] * len(minimum)
    return [m + spare * e / sum(extra) for m, e in zip(minimum, extra, strict=True)]


def _string_widths(pdf: Any) -> Callable[[str], float]:
    """``pdf.get_string_width`` remembered for each word in each font (the same words recur in
    every row and table): the width of ``word`` in the font set at the call."""
    cache: dict[tuple[str, str, float, int, str], float] = {}

    def width(word: str) -> float:
        # the fonts registered are part of the key: the CJK fallback may be added on the way
        key = (pdf.font_family, pdf.font_style, pdf.font_size_pt, len(pdf.fonts), word)
        found = cache.get(key)
        if found is None:
            found = cache[key] = pdf.get_string_width(word)
        return found

    return width


def _figure_size(f: ReportFigure, max_width: float, max_height: float) -> tuple[float, float]:
    """Width and height (mm) of a figure on the page: its own size (1 inch = 25.4 mm, so a 7-pt
    label prints at 7 pt), shrunk to fit the text width and one page."""
    width_in, height_in = (float(v) for v in f.figure.get_size_inches())
    scale = min(1.0, max_width / (width_in * 25.4), max_height / (height_in * 25.4))
    return width_in * 25.4 * scale, height_in * 25.4 * scale


#: Tables longer than this (listings by participant or event) are drawn by
#: :func:`_long_table`: fpdf's table lays out every cell with its full line breaker, which takes
#: most of a 500-participant DSMB report's time.
LONG_TABLE_ROWS: Final = 60


def _wrap(words: list[str], width: float, measure: Callable[[str], float]) -> list[str]:
    """``words`` on lines no wider than ``width`` (a word wider than a line is cut)."""
    lines: list[str] = []
    current, used = "", 0.0
    space = measure(" ")
    for word in words:
        w = measure(word)
        while w > width and len(word) > 1:
            if current:
                lines.append(current)
                current, used = "", 0.0
            cut = max(1, int(len(word) * width / w))
            lines.append(word[:cut])
            word, w = word[cut:], measure(word[cut:])
        if current and used + space + w > width:
            lines.append(current)
            current, used = word, w
        else:
            current, used = (f"{current} {word}", used + space + w) if current else (word, w)
    lines.append(current)
    return lines


def _long_table(
    pdf: Any, headings: list[str], columns: list[list[str]], widths: list[float], family: str,
    size: float, text: Any, measure: Callable[[str], float],
) -> None:  # fmt: skip
    """A long table drawn row by row with the PDF's text and rectangle primitives: columns
    ``widths`` wide (:func:`_fitted_widths`), text wrapped at word boundaries (word widths
    measured once each), the heading row repeated on every page."""
    line = size * 0.55
    pad = 0.8

    def draw(cells: list[str], style: str) -> None:
        pdf.set_font(family, style, size)
        wrapped = [
            _wrap(c.split(), w - 2 * pad, measure) for c, w in zip(cells, widths, strict=True)
        ]
        height = max(len(lines) for lines in wrapped) * line + 2 * pad
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            if style == "":
                draw(heading, "B")
                pdf.set_font(family, style, size)
        x, y = pdf.l_margin, pdf.get_y()
        for lines, w in zip(wrapped, widths, strict=True):
            pdf.rect(x, y, w, height, style="DF" if style == "B" else "D")
            for i, piece in enumerate(lines):
                if piece:
                    pdf.text(x + pad, y + pad + (i + 0.78) * line, piece)
            x += w
        pdf.set_y(y + height)

    heading = [text(c) for c in headings]
    pdf.set_draw_color(0, 0, 0)
    pdf.set_fill_color(235, 235, 235)
    draw(heading, "B")
    for values in zip(*columns, strict=True):
        draw([text(v) for v in values], "")
    pdf.ln(1)


def render_pdf(report: Report) -> bytes:
    """The report as PDF (A4 landscape). Text is set in DejaVu Sans with a CJK fallback font per
    glyph, embedded, so that names, AE terms and signs print in every script as typed
    (:mod:`cordtrial.pdf_fonts`). Table columns are as wide as their text needs; columns empty in
    every row are left out, and the table says which."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    from cordtrial.pdf_fonts import FONT_FAMILY as family
    from cordtrial.pdf_fonts import add_fonts

    footer_text = f"{report.title} - data snapshot {report.snapshot_hash[:16]}"

    class _Pdf(FPDF):
        def footer(self) -> None:
            self.set_y(-10)
            self.set_font(family, "I", 7)
            self.cell(0, 5, text(f"{footer_text} - page {self.page_no()}"), align="R")

    pdf = _Pdf(orientation="L", format="A4")
    text = add_fonts(pdf, ("", "B", "I"))
    measure = _string_widths(pdf)
    # reproducible: the file's date is the data cut, not the wall clock
    cut = report.data_cut or date(2000, 1, 1)
    pdf.set_creation_date(datetime.combine(cut, time(0), tzinfo=UTC))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_title(report.title)
    pdf.add_page()
    pdf.set_font(family, "B", 18)
    pdf.multi_cell(0, 10, text(report.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 10)
    meta = (
        f"{report.trial_title}\nData cut: {_fmt(report.data_cut) or 'n/a'}\n"
        f"Data snapshot (SHA-256): {report.snapshot_hash}\n"
        + ", ".join(f"{_words('version: ' + k)[9:]} {v}" for k, v in report.versions.items())
    )
    pdf.multi_cell(0, 5, text(meta), new_x="LMARGIN", new_y="NEXT")
    if report.caveats:
        pdf.ln(2)
        pdf.set_font(family, "B", 10)
        pdf.cell(0, 6, "Caveats", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 9)
        for c in report.caveats:
            pdf.multi_cell(0, 4.5, text("- " + c), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(family, "B", 11)
    pdf.cell(0, 6, "Contents", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 10)
    for s in report.sections:
        pdf.cell(0, 5, text(s.title), new_x="LMARGIN", new_y="NEXT")
    for s in report.sections:
        pdf.add_page()
        pdf.set_font(family, "B", 15)
        pdf.multi_cell(0, 9, text(s.title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 10)
        for p in s.paragraphs:
            pdf.multi_cell(0, 5, text(p), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        for caption, table in s.tables:
            cells = _display_cells(table)
            empty = [h for h, column in zip(cells.headings, cells.columns, strict=True)
                     if cells.rows and not any(v.strip() for v in column)]  # fmt: skip
            kept = [(h, column) for h, column in zip(cells.headings, cells.columns, strict=True)
                    if h not in empty]  # fmt: skip
            pdf.ln(2)
            pdf.set_font(family, "B", 10)
            pdf.multi_cell(0, 6, text(caption), new_x="LMARGIN", new_y="NEXT")
            if not cells.rows or not kept:
                pdf.set_font(family, "I", 9)
                pdf.cell(0, 5, "(none)", new_x="LMARGIN", new_y="NEXT")
                continue
            headings, columns = [h for h, _ in kept], [column for _, column in kept]
            size = 8 if len(headings) <= 8 else 6.5 if len(headings) <= 12 else 5.5
            pdf.set_font(family, "", size)
            widths = _fitted_widths(pdf, headings, columns, family, size, measure)
            if cells.rows > LONG_TABLE_ROWS:
                _long_table(pdf, headings, columns, widths, family, size, text, measure)
            else:
                with pdf.table(
                    col_widths=widths,
                    headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
                    line_height=size * 0.55,
                    text_align="LEFT",
                ) as t:
                    t.row([text(h) for h in headings])
                    for values in zip(*columns, strict=True):
                        t.row([text(v) for v in values])
            if empty:
                pdf.set_font(family, "I", 7)
                pdf.cell(0, 4, text("Empty in every row, left out: " + ", ".join(empty) + "."),
                         new_x="LMARGIN", new_y="NEXT")  # fmt: skip
        for f in s.figures:
            width, height = _figure_size(f, pdf.epw, pdf.eph - 12)
            if pdf.get_y() + 8 + height + (8 if f.note else 0) > pdf.page_break_trigger:
                pdf.add_page()
            pdf.ln(2)
            pdf.set_font(family, "B", 10)
            pdf.cell(0, 6, text(f.caption), new_x="LMARGIN", new_y="NEXT")
            pdf.image(io.BytesIO(f.png), w=width, h=height)
            if f.note:
                pdf.set_font(family, "", 8)
                pdf.multi_cell(0, 4, text(f.note), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    return bytes(pdf.output())


def write_report(report: Report, path: str | Path) -> Path:
    """Write the report to ``path``: ``.pdf`` or ``.html`` by extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        path.write_bytes(render_pdf(report))
    elif suffix in {".html", ".htm"}:
        path.write_text(render_html(report), encoding="utf-8")
    else:
        raise AnalysisInputError("output", str(path), "a file name ending in .pdf or .html")
    return path


# The DSMB report lives in its own module (it imports the model and renderers above).
from cordtrial.analysis.dsmb import DSMB_SECTIONS, build_dsmb_report  # noqa: E402
