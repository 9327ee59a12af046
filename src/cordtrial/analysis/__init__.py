"""Analysis of trial outcomes against natural recovery, safety monitoring, trial design, and
DSMB / efficacy reports.

Usable on plain pandas DataFrames or on a trial store (:mod:`~cordtrial.analysis.store`):

* :mod:`~cordtrial.analysis.endpoints` -- AIS shift tables, conversion, changes of motor and
  sensory scores and levels, functional measures; NT ranges kept as ranges, missing visits shown.
* :mod:`~cordtrial.analysis.natural_history` -- published spontaneous-recovery figures with
  source, population, timing, n and confidence (``natural_history.json``).
* :mod:`~cordtrial.analysis.walking` -- the van Middendorp 2011 walking rule.
* :mod:`~cordtrial.analysis.stats` -- exact binomial test, Clopper-Pearson, beta-binomial posterior.
* :mod:`~cordtrial.analysis.cohort` -- observed vs expected conversions, sensitivity across sources.
* :mod:`~cordtrial.analysis.safety` -- AE incidence, listings, the safety stopping rule.
* :mod:`~cordtrial.analysis.design` -- sample size and power.
* :mod:`~cordtrial.analysis.simulation` -- Monte Carlo of a proposed trial (numpy; CuPy optional).
* :mod:`~cordtrial.analysis.plots` -- figures (matplotlib, imported when a figure is drawn).
* :mod:`~cordtrial.analysis.report` -- DSMB and efficacy reports, HTML and PDF.

Results are objects with a ``summary`` DataFrame; nothing is printed.
"""

from __future__ import annotations

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
from cordtrial.analysis.natural_history import (
    NaturalHistoryFigure,
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
from cordtrial.analysis.walking import walking_score

__all__ = [
    "AnalysisInputError",
    "BackendUnavailableError",
    "CohortComparison",
    "NaturalHistoryFigure",
    "SimulationDesign",
    "SmallSampleWarning",
    "StoppingRule",
    "TrialData",
    "ae_incidence",
    "ais_shift_table",
    "beta_binomial_posterior",
    "build_dsmb_report",
    "build_efficacy_report",
    "clopper_pearson",
    "compare_with_natural_history",
    "conversion_summary",
    "endpoint_table",
    "evaluate_stopping_rule",
    "exact_binomial_test",
    "figure_by_id",
    "load_trial",
    "measure_changes",
    "natural_history_figures",
    "render_html",
    "render_pdf",
    "sensitivity",
    "serious_listing",
    "simulate",
    "single_arm_design",
    "single_arm_sample_size",
    "special_interest_listing",
    "stopping_rule_crossed",
    "two_mean_power",
    "two_mean_sample_size",
    "two_proportion_power",
    "two_proportion_sample_size",
    "walking_score",
    "write_report",
]
