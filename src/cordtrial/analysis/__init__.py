"""Analysis of trial outcomes against natural recovery, safety monitoring, trial design, and
DSMB / efficacy reports.

Usable on plain pandas DataFrames or on a trial store (:mod:`~cordtrial.analysis.store`):

* :mod:`~cordtrial.analysis.endpoints` -- AIS shift tables, conversion, changes of motor and
  sensory scores and levels, functional measures; NT ranges kept as ranges, missing visits shown.
* :mod:`~cordtrial.analysis.timepoint` -- the primary endpoint at the protocol visit and window:
  pending participants, exams outside the window, uncertain baselines, implausible jumps.
* :mod:`~cordtrial.analysis.change` -- ICCP motor-level responders, exact sign test of AIS
  shifts, non-parametric change summaries.
* :mod:`~cordtrial.analysis.natural_history` -- published spontaneous-recovery figures with
  source, population, timing, n and confidence (``natural_history.json``).
* :mod:`~cordtrial.analysis.walking` -- the van Middendorp 2011 walking rule (score only) and
  when it applies.
* :mod:`~cordtrial.analysis.stats` -- exact binomial test, Clopper-Pearson, beta-binomial posterior.
* :mod:`~cordtrial.analysis.cohort` -- observed vs expected conversions, sensitivity across sources.
* :mod:`~cordtrial.analysis.historical` -- the natural rate as a distribution: the source's counts
  as a second sample (Fisher, Boschloo, Bayesian with a robust mixture), level strata, secular
  trend.
* :mod:`~cordtrial.analysis.safety` -- AE incidence, listings, the safety stopping rule and its
  exact operating characteristics.
* :mod:`~cordtrial.analysis.exposure` -- follow-up, exposure-adjusted incidence (exact Poisson),
  Kaplan-Meier time to first event (product limit, scipy), exact bounds when no event was seen.
* :mod:`~cordtrial.analysis.design` -- sample size and power.
* :mod:`~cordtrial.analysis.simulation` -- Monte Carlo of a proposed trial (numpy; CuPy optional).
* :mod:`~cordtrial.analysis.plots` -- figures (matplotlib, imported when a figure is drawn).
* :mod:`~cordtrial.analysis.report` -- efficacy report, rendering to HTML and PDF;
  :mod:`~cordtrial.analysis.dsmb` -- the DSMB report.

Results are objects with a ``summary`` DataFrame; nothing is printed.
"""

from __future__ import annotations

from cordtrial.analysis.change import ais_shift_test, change_summary, motor_level_responders
from cordtrial.analysis.cohort import CohortComparison, compare_with_natural_history, sensitivity
from cordtrial.analysis.design import (
    single_arm_design,
    single_arm_sample_size,
    two_mean_power,
    two_mean_sample_size,
    two_proportion_power,
    two_proportion_sample_size,
)
from cordtrial.analysis.endpoints import (
    ais_shift_table,
    conversion_summary,
    endpoint_table,
    measure_changes,
)
from cordtrial.analysis.errors import (
    AnalysisInputError,
    BackendUnavailableError,
    SmallSampleWarning,
)
from cordtrial.analysis.exposure import (
    exposure_adjusted_incidence,
    follow_up_table,
    poisson_exact_ci,
    time_to_first_event,
    upper_bound_no_events,
)
from cordtrial.analysis.historical import (
    compare_with_source_counts,
    secular_trend_sensitivity,
    stratified_comparisons,
)
from cordtrial.analysis.natural_history import (
    NaturalHistoryFigure,
    applicable_figures,
    figure_by_id,
    natural_history_figures,
)
from cordtrial.analysis.report import (
    build_dsmb_report,
    build_efficacy_report,
    render_html,
    render_pdf,
    write_report,
)
from cordtrial.analysis.safety import (
    StoppingRule,
    ae_incidence,
    evaluate_stopping_rule,
    serious_listing,
    special_interest_listing,
    stopping_rule_crossed,
)
from cordtrial.analysis.simulation import SimulationDesign, simulate
from cordtrial.analysis.stats import (
    beta_binomial_posterior,
    clopper_pearson,
    exact_binomial_test,
)
from cordtrial.analysis.store import TrialData, load_trial
from cordtrial.analysis.timepoint import (
    TimePointEndpoint,
    implausible_jumps,
    time_point_endpoint,
)
from cordtrial.analysis.walking import walking_rule_applies, walking_score

__all__ = [
    "AnalysisInputError",
    "BackendUnavailableError",
    "CohortComparison",
    "NaturalHistoryFigure",
    "SimulationDesign",
    "SmallSampleWarning",
    "StoppingRule",
    "TimePointEndpoint",
    "TrialData",
    "ae_incidence",
    "ais_shift_table",
    "ais_shift_test",
    "applicable_figures",
    "beta_binomial_posterior",
    "build_dsmb_report",
    "build_efficacy_report",
    "change_summary",
    "clopper_pearson",
    "compare_with_natural_history",
    "compare_with_source_counts",
    "conversion_summary",
    "endpoint_table",
    "evaluate_stopping_rule",
    "exact_binomial_test",
    "exposure_adjusted_incidence",
    "figure_by_id",
    "follow_up_table",
    "implausible_jumps",
    "load_trial",
    "measure_changes",
    "motor_level_responders",
    "natural_history_figures",
    "poisson_exact_ci",
    "render_html",
    "render_pdf",
    "secular_trend_sensitivity",
    "sensitivity",
    "serious_listing",
    "simulate",
    "single_arm_design",
    "single_arm_sample_size",
    "special_interest_listing",
    "stopping_rule_crossed",
    "stratified_comparisons",
    "time_point_endpoint",
    "time_to_first_event",
    "two_mean_power",
    "two_mean_sample_size",
    "two_proportion_power",
    "two_proportion_sample_size",
    "upper_bound_no_events",
    "walking_rule_applies",
    "walking_score",
    "write_report",
]
