"""Follow-up, exposure-adjusted incidence with exact Poisson intervals, Kaplan-Meier time to
first event and exact bounds when no event was seen; each checked against a published value or
an independent library named in its docstring."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from cordtrial.analysis.errors import SmallSampleWarning
from cordtrial.analysis.exposure import (
    exposure_adjusted_incidence,
    follow_up_table,
    poisson_exact_ci,
    time_to_first_event,
    upper_bound_no_events,
)


def test_poisson_interval_for_five_events_is_dalgaards():
    """Dalgaard, R-help 12 Sep 2005: qgamma gives 1.623486 to 11.66833 for x = 5."""
    low, high = poisson_exact_ci(5)
    assert (round(low, 6), round(high, 5)) == (1.623486, 11.66833)


@pytest.mark.parametrize(("count", "exposure"), [(0, 1.0), (1, 3.5), (3, 45.2), (10, 2.0)])
def test_poisson_interval_equals_statsmodels_exact(count: int, exposure: float):
    """statsmodels' confint_poisson(method="exact-c") is the same Garwood interval."""
    assert poisson_exact_ci(count, exposure) == pytest.approx(
        confint_poisson(count, exposure, method="exact-c"), rel=1e-9, abs=1e-12)  # fmt: skip


def test_no_event_in_four_has_a_one_sided_upper_bound_of_52_7_percent():
    """Issue 13: 0 tumours in 4 participants, one-sided 95% upper bound 1 - 0.05^(1/4) = 0.527;
    equal to the two-sided 90% Clopper-Pearson upper limit (statsmodels)."""
    assert upper_bound_no_events(4) == pytest.approx(1 - 0.05**0.25)
    assert round(upper_bound_no_events(4), 3) == 0.527
    assert upper_bound_no_events(4) == pytest.approx(proportion_confint(0, 4, 0.10, "beta")[1])


@pytest.mark.parametrize(("n", "bound"), [(10, 0.2589), (20, 0.1391), (50, 0.0582),
                                          (100, 0.0295)])  # fmt: skip
def test_upper_bound_matches_the_reference_table(n: int, bound: float):
    """designs.md section 7 (computed): exact one-sided 95% upper = 1 - 0.05^(1/n)."""
    assert round(upper_bound_no_events(n), 4) == bound


PEOPLE = pd.DataFrame({
    "participant": ["P1", "P2", "P3", "P4"],
    "treated_on": [date(2025, 1, 1), date(2025, 7, 1), date(2026, 1, 1), None],
})  # fmt: skip
AES = pd.DataFrame([
    {"participant": "P1", "onset_date": date(2025, 3, 1), "serious": True, "category": "infection",
     "outcome": "recovered", "serious_criteria": "hospitalisation"},
    {"participant": "P1", "onset_date": date(2025, 5, 1), "serious": False,
     "category": "infection", "outcome": "recovered", "serious_criteria": ""},
    {"participant": "P2", "onset_date": date(2025, 6, 1), "serious": True, "category": "other",
     "outcome": "recovered", "serious_criteria": "hospitalisation"},  # before treatment
    {"participant": "P3", "onset_date": date(2026, 2, 1), "serious": True, "category": "other",
     "outcome": "fatal", "serious_criteria": "death"},
])  # fmt: skip
CUT = date(2026, 7, 1)


def test_follow_up_runs_from_treatment_to_the_cut_or_death():
    fu = follow_up_table(PEOPLE, CUT, AES).set_index("participant")
    assert list(fu.index) == ["P1", "P2", "P3"]  # P4 not treated
    assert fu.loc["P1", "days"] == (CUT - date(2025, 1, 1)).days
    assert (fu.loc["P3", "end reason"], fu.loc["P3", "days"]) == ("death", 31)
    assert fu.loc["P1", "years"] == pytest.approx(fu.loc["P1", "days"] / 365.25)


def test_eair_counts_participants_once_over_participant_years():
    """Serious events in follow-up: P1 (2025-03-01) and P3 (2026-02-01); P2's onset precedes
    treatment. EAIR = 2 / years x 100 with the Garwood interval (statsmodels exact-c)."""
    fu = follow_up_table(PEOPLE, CUT, AES)
    years = fu["years"].sum()
    out = exposure_adjusted_incidence(AES, fu, serious_only=True).set_index("group")
    row = out.loc["any"]
    assert (row["participants"], row["events"]) == (2, 2)
    assert row["EAIR"] == pytest.approx(200 / years)
    low, high = confint_poisson(2, years, method="exact-c")
    assert (row["EAIR low"], row["EAIR high"]) == pytest.approx((100 * low, 100 * high))


def test_eair_reference_example():
    """designs.md section 8 (computed): 3 participants over 45.2 years: 6.64 per 100, 1.37-19.40."""
    people = pd.DataFrame({"participant": ["A", "B", "C"],
                           "treated_on": [date(2020, 1, 1)] * 3})  # fmt: skip
    fu = follow_up_table(people, date(2020, 1, 1), None).assign(years=[15.0, 15.0, 15.2])
    fu = fu.assign(**{"follow-up ends": [date(2035, 1, 1)] * 3})
    aes = pd.DataFrame({"participant": ["A", "B", "C"], "onset_date": [date(2021, 1, 1)] * 3,
                        "serious": [True] * 3, "category": ["other"] * 3})  # fmt: skip
    row = exposure_adjusted_incidence(aes, fu).set_index("group").loc["any"]
    assert (round(row["EAIR"], 2), round(row["EAIR low"], 2), round(row["EAIR high"], 2)) == (
        6.64, 1.37, 19.40)  # fmt: skip


def test_kaplan_meier_time_to_first_sae_is_the_product_limit():
    """First principles: P1 event on day 59 of 4 at risk -> 3/4; P3 event on day 31 (death)
    comes first: S = 2/3 after day 31 (3 at risk, 1 event), then x 1/2 after day 59 (2 at risk,
    P1's event) = 1/3; P2 censored."""
    fu = follow_up_table(PEOPLE, CUT, AES)
    with pytest.warns(SmallSampleWarning):
        km = time_to_first_event(AES, fu, label="serious adverse event", serious_only=True)
    assert km.events == 2
    table = km.table.set_index("day")
    assert table.loc[31.0, "event-free"] == pytest.approx(2 / 3)
    assert table.loc[59.0, "event-free"] == pytest.approx(1 / 3)
    assert km.final_event_free == pytest.approx(1 / 3)


def test_tumour_free_follow_up_with_no_tumour_stays_at_one():
    fu = follow_up_table(PEOPLE, CUT, AES)
    with pytest.warns(SmallSampleWarning):
        km = time_to_first_event(AES, fu, label="tumour finding",
                                 category="tumour_or_graft_overgrowth")  # fmt: skip
    assert km.events == 0 and km.final_event_free == 1.0


def test_kaplan_meier_matches_statsmodels_survfunc_right():
    """Independent implementation: statsmodels' SurvfuncRight (product limit, Greenwood
    variance with the log(-log) interval) gives the same estimate and interval at every time."""
    from statsmodels.duration.survfunc import SurvfuncRight

    from cordtrial.analysis.exposure import _product_limit_table

    days = np.array([5.0, 8.0, 8.0, 12.0, 20.0, 20.0, 31.0, 40.0, 44.0, 60.0])
    events = np.array([True, True, False, True, False, True, True, False, True, False])
    table = _product_limit_table(days, events).set_index("day")
    reference = SurvfuncRight(days, events.astype(int))
    for t, s in zip(reference.surv_times, reference.surv_prob, strict=True):
        assert table.loc[t, "event-free"] == pytest.approx(s)
    se = reference.surv_prob_se
    # statsmodels' log(-log) interval from its Greenwood standard errors
    for t, s, e in zip(reference.surv_times, reference.surv_prob, se, strict=True):
        if 0 < s < 1:
            theta = e / (s * abs(np.log(s)))
            expected = (s ** np.exp(1.959964 * theta), s ** np.exp(-1.959964 * theta))
            assert (table.loc[t, "low 95%"], table.loc[t, "high 95%"]) == pytest.approx(
                expected, rel=1e-5
            )
    assert table.loc[0.0, "event-free"] == 1.0
    assert table["at risk"].tolist()[:3] == [10, 10, 9]
