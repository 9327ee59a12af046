"""The open-session DSMB report, in the order a data monitoring committee reads it.

Sections (exact headings, in order, :data:`DSMB_SECTIONS`): Executive summary; Disposition;
Exposure; Follow-up; Serious adverse events; Adverse events of special interest; Stopping rule;
Efficacy. Sections that exist only when their data do (tumour surveillance, immunosuppression
and laboratory safety) are added after "Adverse events of special interest" by the builders in
:data:`SAFETY_SECTION_BUILDERS`: each takes the :class:`~cordtrial.analysis.store.TrialData` and
returns a section, or ``None`` when there is nothing to report (their headings are in
:data:`OPTIONAL_SAFETY_SECTIONS`, in the order they go); a section's ``summary_line``, when it
has one, goes into the executive summary after the line on adverse events of special interest.

Tables use clinical headings and words (:func:`cordtrial.analysis.report._display`), never
column or enum names.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import date
from typing import Any, Final

import pandas as pd

from cordtrial.analysis.change import ais_shift_test, change_summary, motor_level_responders
from cordtrial.analysis.cohort import DEFAULT_PRIOR, compare_with_natural_history
from cordtrial.analysis.disposition import (
    current_disposition_words,
    disposition_counts,
    disposition_listing,
)
from cordtrial.analysis.endpoints import (
    LAST,
    ais_shift_table,
    conversion_summary,
    endpoint_table,
)
from cordtrial.analysis.exposure import (
    exposure_adjusted_incidence,
    follow_up_table,
    time_to_first_event,
    upper_bound_no_events,
)
from cordtrial.analysis.frames import records as frame_records
from cordtrial.analysis.imaging import tumour_surveillance_section
from cordtrial.analysis.lab_safety import lab_safety_section
from cordtrial.analysis.natural_history import DEFAULT_PRIMARY_FIGURE, figure_by_id
from cordtrial.analysis.report import (
    STATUS_WORDS,
    Report,
    ReportFigure,
    ReportSection,
    reproducibility_table,
    shortened_terms,
)
from cordtrial.analysis.safety import (
    DEFAULT_STOPPING_RULE,
    TUMOUR_CATEGORY,
    StoppingRule,
    ae_incidence,
    evaluate_stopping_rule,
    special_interest_listing,
)
from cordtrial.analysis.store import TrialData, engine_versions
from cordtrial.analysis.timepoint import implausible_jumps, time_point_endpoint
from cordtrial.trial.rules.product import format_quantity

__all__ = [
    "DSMB_SECTIONS",
    "OPTIONAL_SAFETY_SECTIONS",
    "SAFETY_SECTION_BUILDERS",
    "build_dsmb_report",
    "sae_listing",
]

DSMB_SECTIONS: Final = (
    "Executive summary",
    "Disposition",
    "Exposure",
    "Follow-up",
    "Serious adverse events",
    "Adverse events of special interest",
    "Stopping rule",
    "Efficacy",
)
#: Headings of the sections that go after "Adverse events of special interest" when their data
#: exist, in this order (added by other modules through :data:`SAFETY_SECTION_BUILDERS`).
OPTIONAL_SAFETY_SECTIONS: Final = ("Tumour surveillance", "Immunosuppression and laboratory safety")
#: Builders of the optional safety sections: ``builder(data) -> ReportSection | None``.
SAFETY_SECTION_BUILDERS: list[Callable[[TrialData], ReportSection | None]] = [
    tumour_surveillance_section,  # issue 14: MRI surveillance (cordtrial.analysis.imaging)
    lab_safety_section,  # issue 15: labs and relatedness (cordtrial.analysis.lab_safety)
]

_CAUSES = (
    ("cells", "cells"),
    ("procedure", "procedure"),
    ("immunosuppression", "immunosuppression"),
)


def _optional_rank(title: str) -> int:
    order = list(OPTIONAL_SAFETY_SECTIONS)
    return order.index(title) if title in order else len(order)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _narrative(rec: dict[Any, Any]) -> str:
    """An SAE narrative: the recorded facts in one sentence, then the investigator's case
    description where one was recorded (stores before revision 0010 have none)."""
    day = rec.get("onset_day")
    when = (
        f"day {int(day)} after treatment"
        if isinstance(day, int | float) and day == day
        else "day after treatment not known"
    )
    related = "; ".join(
        f"{label}: {str(rec.get(f'related_to_{cause}', '') or 'not assessed').replace('_', ' ')}"
        for cause, label in _CAUSES
    )
    resolved = rec.get("resolution_date")
    outcome = str(rec.get("outcome", "") or "not recorded").replace("_", " ")
    text = (
        f"{rec['participant']}: {rec['term']}, onset {rec['onset_date']} ({when}), CTCAE grade "
        f"{rec.get('ctcae_grade')}; serious because: "
        f"{str(rec.get('serious_criteria', '')).replace('_', ' ') or 'not recorded'}. "
        f"Relatedness -- {related}. {str(rec.get('expectedness', '')).capitalize()}. "
        f"Outcome: {outcome}"
        + (f" (resolved {resolved})" if isinstance(resolved, date) else "")
        + "."
    )
    recorded = str(rec.get("narrative") or "").strip()
    return f"{text} Narrative: {recorded}" if recorded else text


def sae_listing(aes: pd.DataFrame) -> pd.DataFrame:
    """The serious adverse events with a narrative and their expedited-report status."""
    serious = aes[aes["serious"].astype(bool)].sort_values(
        ["participant", "onset_date"], kind="stable"
    )
    rows = []
    for rec in frame_records(serious):
        required = bool(rec.get("expedited_report_required"))
        due = rec.get("expedited_report_due")
        clocks = str(rec.get("expedited_clocks") or "")
        if clocks:
            status = clocks
        elif required and isinstance(due, date):
            status = f"required, due {due}, not yet submitted"
        elif required:
            status = "required, not yet submitted"
        else:
            status = "not required under the trial's reporting rules"
        rows.append(
            {
                "participant": rec["participant"],
                "term": rec["term"],
                "onset_date": rec["onset_date"],
                "ctcae_grade": rec.get("ctcae_grade"),
                "narrative": _narrative(rec),
                "expedited report": status,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "participant",
            "term",
            "onset_date",
            "ctcae_grade",
            "narrative",
            "expedited report",
        ],
    )


def _final_visit(data: TrialData, ep: pd.DataFrame) -> str | None:
    if len(data.schedule):
        return str(data.schedule.sort_values("target_day", kind="stable").iloc[-1]["visit"])
    visits = [v for v in dict.fromkeys(ep["visit"]) if v]
    return visits[-1] if visits else None


def _ae_figures(aes: pd.DataFrame, people: pd.DataFrame, cut: date | None) -> list[ReportFigure]:
    """The adverse-event figures: the timeline, one row per participant, while it reads
    (:data:`~cordtrial.analysis.plots.PER_PARTICIPANT_LIMIT` participants); above it the heat map
    of events by category and time and the cumulative incidence by category."""
    from cordtrial.analysis.plots import (
        PER_PARTICIPANT_LIMIT,
        ae_cumulative_incidence_figure,
        ae_heatmap_figure,
        ae_timeline_figure,
    )

    if len(people) <= PER_PARTICIPANT_LIMIT:
        return [
            ReportFigure(
                "Adverse-event timeline", ae_timeline_figure(aes, people), shortened_terms(aes)
            )
        ]
    return [
        ReportFigure("Adverse events by category and time of onset", ae_heatmap_figure(aes)),
        ReportFigure(
            "Cumulative incidence of a first adverse event, by category",
            ae_cumulative_incidence_figure(aes, people, cut),
        ),
    ]


def build_dsmb_report(
    data: TrialData,
    *,
    rule: StoppingRule = DEFAULT_STOPPING_RULE,
    figure_id: str = DEFAULT_PRIMARY_FIGURE,
    prior: tuple[float, float] = DEFAULT_PRIOR,
    n_max: int | None = None,
) -> Report:
    """The DSMB open-session report (sections :data:`DSMB_SECTIONS`).

    Parameters
    ----------
    data : TrialData
    rule : StoppingRule
        The protocol's safety stopping rule.
    figure_id : str
        The natural-history figure of the efficacy comparison.
    prior : (float, float)
        Prior of the treated rate in the efficacy comparison.
    n_max : int, optional
        The planned number of treated participants, for the rule's operating characteristics
        and boundary (default: the participants enrolled, at least 4).
    """
    from cordtrial.analysis.plots import (
        ais_shift_figure,
        kaplan_meier_figure,
        motor_trajectories_figure,
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        people, aes = data.participants, data.adverse_events
        cut = data.last_data_date
        baseline = "screening" if "screening" in set(data.exams.get("visit", [])) else None
        ep = (
            endpoint_table(
                data.exams,
                participants=people,
                baseline_visit=baseline,
                schedule=data.schedule if len(data.schedule) else None,
                data_cut=cut,
            )
            if len(data.exams)
            else None
        )
        treated_col = "treated_on" if "treated_on" in people.columns else "transplant_date"
        treated = people[people[treated_col].map(lambda d: isinstance(d, date))]
        fu = (
            follow_up_table(people, cut, aes, data.dispositions)
            if cut is not None
            else follow_up_table(people, date.max, aes).iloc[0:0]
        )
        verdict = evaluate_stopping_rule(aes, people, rule, as_of=cut)
        planned = n_max if n_max is not None else max(len(people), 4)
        serious = aes[aes["serious"].astype(bool)] if len(aes) else aes
        special = special_interest_listing(aes) if len(aes) else aes
        tumours = aes[aes["category"] == TUMOUR_CATEGORY] if len(aes) else aes
        recorded_deaths = (
            set(data.dispositions.loc[data.dispositions["status"] == "died", "participant"])
            if len(data.dispositions)
            else set()
        )
        ae_deaths = set(fu.loc[fu["end reason"] == "death", "participant"]) if len(fu) else set()
        deaths = sorted(recorded_deaths | ae_deaths)
        by_disposition = disposition_counts(people, data.dispositions)

        # --- Efficacy (computed first: the summary quotes it) -------------------------------
        eff = ReportSection(DSMB_SECTIONS[7])
        efficacy_line = "no ISNCSCI exam recorded yet"
        visit = _final_visit(data, ep) if ep is not None else None
        if ep is not None and visit is not None and (ep["visit"] == visit).any():
            end = time_point_endpoint(ep, visit)
            k, n = end.yes, end.assessed
            eff.paragraphs.append(
                f"Primary endpoint: conversion (AIS better by at least one grade) at {visit}, "
                f"inside the visit's window, in participants AIS A at baseline: {k} of {n} "
                f"assessed; pending (not yet at {visit} at the data cut): "
                f"{', '.join(end.pending) or 'none'}; missing: {', '.join(end.missing) or 'none'}"
                f"; exams outside the window (not counted): "
                f"{', '.join(end.outside_window) or 'none'}."
            )
            if len(end.uncertain):
                eff.paragraphs.append(
                    "Uncertain baselines (NT cells leave the grade open; not in the count): "
                    + ", ".join(
                        f"{r['participant']} ({r['ais_baseline']})"
                        for r in frame_records(end.uncertain)
                    )
                    + "."
                )
            eff.tables.append((f"Primary endpoint by participant ({visit})", end.participants))
            efficacy_line = f"{k} of {n} assessed converted at {visit}; {len(end.pending)} pending"
            if n:
                figure = figure_by_id(figure_id)
                c = compare_with_natural_history(k, n, figure=figure, prior=prior)
                eff.paragraphs.append(
                    f"Against natural recovery ({figure.source}; {figure.levels}; "
                    f"{figure.timing}; {figure.proportion:.1%}): expected {c.expected:.2f}, "
                    f"exact one-sided p = {c.test.p_value:.3f}, Clopper-Pearson 95% CI "
                    f"{c.test.ci_low:.0%} to {c.test.ci_high:.0%}. With {n} assessed and no "
                    "control group this cannot show that the cells caused any recovery."
                )
                if figure.n is not None:
                    from cordtrial.analysis.historical import compare_with_source_counts

                    counts = compare_with_source_counts(k, n, figure)
                    eff.paragraphs.append(
                        f"With the source's own counts ({counts.source_events} of "
                        f"{counts.source_n}) as a second sample: Fisher p = "
                        f"{counts.fisher_p:.3f}, Boschloo p = {counts.boschloo_p:.3f}; "
                        "P(treated rate > natural rate) = "
                        f"{counts.prob_exceeds_informative:.3f} (robust mixture: "
                        f"{counts.prob_exceeds_robust:.3f})."
                    )
                efficacy_line += (
                    f" (natural recovery alone: p = {c.test.p_value:.3f}; no "
                    "control group, cannot show causation)"
                )
                eff.tables.append((f"AIS shift, baseline → {visit}", ais_shift_table(ep, visit)))
                shift = ais_shift_test(ep, visit)
                eff.tables.append(
                    (
                        "AIS shift, exact sign test (within the arm: change, not effect)",
                        shift.summary.drop(columns=["method"]),
                    )
                )
                eff.tables.append(
                    (
                        "Motor-level responders (>= 2 levels on one side, ICCP)",
                        motor_level_responders(ep, visit),
                    )
                )
                eff.tables.append(
                    ("Score changes: median, quartiles, exact Wilcoxon", change_summary(ep, visit))
                )
            jumps = implausible_jumps(ep)
            eff.tables.append(("Grade changes flagged for source-data review", jumps))
            last = conversion_summary(ep, LAST).iloc[-1]
            eff.paragraphs.append(
                "Last observation (not the endpoint: it counts pending participants at an "
                f"earlier visit, before recovery may come): {int(last['yes'])} of "
                f"{int(last['assessed'])} converted."
            )
            eff.figures.append(
                ReportFigure("AIS shift, baseline → last observed exam", ais_shift_figure(ep, LAST))
            )
            eff.figures.append(
                ReportFigure(
                    "Motor scores (published change drawn only for its population)",
                    motor_trajectories_figure(ep, participants=people),
                )
            )

        extra = [s for s in (b(data) for b in SAFETY_SECTION_BUILDERS) if s is not None]
        # in the order of OPTIONAL_SAFETY_SECTIONS, whatever order the builders were added in
        extra.sort(key=lambda s: _optional_rank(s.title))

        # --- Executive summary --------------------------------------------------------------
        years = float(fu["years"].sum()) if len(fu) else 0.0
        related = [
            r
            for r in frame_records(serious)
            if str(r.get("related_to_cells", "")) in {"possible", "probable", "definite"}
        ]
        summary = ReportSection(DSMB_SECTIONS[0])
        summary.paragraphs += [
            f"Enrolment: {_n(len(people), 'participant')} enrolled"
            + (f" of {data.screened} screened" if data.screened else "")
            + f"; {len(treated)} treated. Data cut {cut or 'n/a'} (latest exam, measure, "
            "adverse event or laboratory sample).",
            f"Exposure: {_n(len(data.administrations), 'cell administration')}"
            + (
                f", {int(data.administrations['dose_cells'].iloc[0]):,} cells each"
                if len(data.administrations) and data.administrations["dose_cells"].nunique() == 1
                else ""
            )
            + ".",
            f"Follow-up: {years:.2f} participant-years after treatment"
            + (
                f"; median {float(fu['days'].median()):.0f} days (range {int(fu['days'].min())}"
                f"-{int(fu['days'].max())})"
                if len(fu)
                else ""
            )
            + ".",
            f"Serious adverse events: {_n(len(serious), 'event')} in "
            f"{_n(int(serious['participant'].nunique()) if len(serious) else 0, 'participant')}; "
            f"{len(related)} related to the cells; deaths: {len(deaths)}.",
            "Disposition: "
            + (
                ", ".join(
                    f"{n} {words}"
                    for words, n in zip(
                        by_disposition["disposition"],
                        by_disposition["participants"],
                        strict=True,
                    )
                    if n
                )
                or "no participant"
            )
            + ".",
            f"Adverse events of special interest: {_n(len(special), 'event')}; tumour or graft "
            f"overgrowth findings: {len(tumours)}"
            + (
                f" (one-sided 95% upper bound of the tumour rate with none in {len(treated)} "
                f"treated: {upper_bound_no_events(len(treated)):.1%})"
                if len(tumours) == 0 and len(treated)
                else ""
            )
            + ".",
            *(s.summary_line for s in extra if s.summary_line),
            "Stopping rule: " + verdict.message + ".",
            "Efficacy signal: " + efficacy_line + ".",
        ]
        summary.tables.append(
            (
                "Data snapshot and software versions",
                reproducibility_table(data, {"stopping rule": rule.describe()}),
            )
        )

        # --- Disposition --------------------------------------------------------------------
        disp = ReportSection(DSMB_SECTIONS[1])
        reached = 0
        if ep is not None and visit is not None and (ep["visit"] == visit).any():
            reached = int(
                time_point_endpoint(ep, visit, baseline_grade=None)
                .participants["status"]
                .isin(["assessed", "outside window", "missing"])
                .sum()
            )
        flow = [
            (
                "screened (eligibility assessed)",
                data.screened if data.screened is not None else "not recorded",
            ),
            ("enrolled", len(people)),
            ("treated", len(treated)),
            (
                "in follow-up at the data cut",
                int((fu["end reason"] == "data cut").sum()) if len(fu) else 0,
            ),
            (f"reached the protocol time point ({visit or 'n/a'})", reached),
        ]
        disp.tables.append(
            ("Participant flow", pd.DataFrame(flow, columns=["stage", "participants"]))
        )
        disp.paragraphs.append(
            "Disposition as recorded in the store (the latest change of each participant; "
            "none recorded reads as active). Withdrawals, losses to follow-up and deaths are "
            "listed one by one."
        )
        disp.tables.append(("Current disposition", by_disposition))
        listing = disposition_listing(data.dispositions, data.contact_attempts)
        if len(listing):
            disp.tables.append(("Withdrawals, losses to follow-up and deaths", listing))
        else:
            disp.paragraphs.append("No participant withdrew, was lost to follow-up or died.")
        unrecorded = sorted(ae_deaths - recorded_deaths)
        if unrecorded:
            disp.paragraphs.append(
                "A fatal adverse event is recorded without a death in the disposition records "
                f"for {', '.join(map(str, unrecorded))}: the disposition needs updating."
            )
        per = (
            people[["participant", "site", "arm", treated_col]]
            .rename(columns={treated_col: "treated on"})
            .assign(disposition=current_disposition_words(people, data.dispositions))
            if len(people)
            else people
        )
        disp.tables.append(("Participants", per))

        # --- Exposure -----------------------------------------------------------------------
        expo = ReportSection(DSMB_SECTIONS[2])
        if len(data.administrations):
            expo.tables.append(
                (
                    "Cell administrations",
                    data.administrations.assign(
                        dose_cells=data.administrations["dose_cells"].map(
                            lambda d: format_quantity(float(d)) if d == d else ""
                        )
                    ).rename(
                        columns={
                            "administered_on": "date",
                            "dose_cells": "dose (cells)",
                            "volume_ml": "volume (mL)",
                            "injection_site": "injection site",
                        }
                    ),
                )
            )
        else:
            expo.paragraphs.append("No cell administration recorded.")

        # --- Follow-up ----------------------------------------------------------------------
        follow = ReportSection(DSMB_SECTIONS[3])
        follow.paragraphs.append(
            "Follow-up runs from the first administration to the data cut (or to death, "
            "withdrawal or loss to follow-up, as the disposition records give them); "
            f"{years:.2f} participant-years in all. Visits whose window had not closed at the "
            "data cut are 'not yet due', not missing."
        )
        follow.tables.append(("Follow-up by participant", fu))
        if ep is not None:
            visits = ep.assign(status=ep["status"].map(lambda v: STATUS_WORDS.get(v, v)))
            follow.tables.append(
                (
                    "ISNCSCI exams by visit",
                    visits.pivot_table(
                        index="participant",
                        columns="visit",
                        values="status",
                        aggfunc="first",
                        sort=False,
                    ),
                )
            )

        # --- Serious adverse events ---------------------------------------------------------
        sae = ReportSection(DSMB_SECTIONS[4])
        sae.paragraphs.append(
            f"{_n(len(serious), 'serious adverse event')} (ICH E2A criteria). Each narrative "
            "states the recorded facts, then the investigator's case description."
        )
        sae.tables.append(("Serious adverse events", sae_listing(aes) if len(aes) else aes))
        if len(fu) and years > 0:
            sae.tables.append(
                (
                    "Serious adverse events per 100 participant-years (exact Poisson 95% CI)",
                    exposure_adjusted_incidence(aes, fu, serious_only=True),
                )
            )
            km = time_to_first_event(aes, fu, label="serious adverse event", serious_only=True)
            sae.tables.append(("Time to first serious adverse event (Kaplan-Meier)", km.table))
            sae.figures.append(
                ReportFigure("Time to first serious adverse event", kaplan_meier_figure(km))
            )
        for by, caption in (
            ("category", "All adverse events by category"),
            ("ctcae_grade", "All adverse events by CTCAE grade (v5.0)"),
        ):
            sae.tables.append((caption, ae_incidence(aes, people, by=by)))
        sae.figures += _ae_figures(aes, people, cut)

        # --- Adverse events of special interest ---------------------------------------------
        aesi = ReportSection(DSMB_SECTIONS[5])
        aesi.paragraphs.append(f"{_n(len(special), 'adverse event')} of special interest.")
        aesi.tables.append(("Adverse events of special interest", special))
        if len(fu) and years > 0:
            aesi_frame = aes[aes["special_interest"].astype(bool)] if len(aes) else aes
            aesi.tables.append(
                (
                    "Per 100 participant-years, by category (exact Poisson 95% CI)",
                    exposure_adjusted_incidence(aesi_frame, fu),
                )
            )
            km_t = time_to_first_event(aes, fu, label="tumour finding", category=TUMOUR_CATEGORY)
            aesi.paragraphs.append(
                f"Tumour or graft-overgrowth findings: {km_t.events} in {len(fu)} treated "
                "participants"
                + (
                    f"; with none, the exact one-sided 95% upper bound of the rate is "
                    f"{upper_bound_no_events(len(fu)):.1%}"
                    if km_t.events == 0
                    else ""
                )
                + "."
            )
            aesi.tables.append(("Tumour-free follow-up (Kaplan-Meier)", km_t.table))

        # --- Stopping rule ------------------------------------------------------------------
        stop = ReportSection(DSMB_SECTIONS[6])
        stop.paragraphs += ["Rule (predefined): " + rule.describe() + ".", verdict.message + "."]
        stop.tables.append(("Events the rule counted", verdict.counted))
        stop.tables.append(("Serious events the rule did not count, and why", verdict.not_counted))
        stop.tables.append(
            (
                f"Stopping boundary by participants treated and followed, up to "
                f"{planned} (numbers at which it cannot be crossed left out)",
                rule.boundary_table(planned),
            )
        )
        oc = rule.operating_characteristics(planned)
        stop.paragraphs.append(
            f"Operating characteristics for {planned} participants, the rule checked after "
            "each (exact): the probability of stopping for each true rate of participants with "
            "a counted event, and the expected number treated."
        )
        stop.tables.append(("Operating characteristics (exact)", oc))
        stop.tables.append(("The rule evaluated as the data arrived", verdict.history))
    if ep is None:
        eff.paragraphs.append("No ISNCSCI exam recorded yet.")
    return Report(
        kind="dsmb",
        title=f"DSMB report: {data.protocol_id}",
        protocol_id=data.protocol_id,
        trial_title=data.title,
        data_cut=cut,
        snapshot_hash=data.snapshot_hash,
        versions=engine_versions(),
        sections=[summary, disp, expo, follow, sae, aesi, *extra, stop, eff],
        caveats=list(dict.fromkeys(str(w.message) for w in caught)),
    )
