"""The natural-history data module: sources in the data, confirmed figures as defaults only."""

from __future__ import annotations

import pytest

from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.natural_history import (
    DEFAULT_PRIMARY_FIGURE,
    figure_by_id,
    figures_frame,
    motor_change_figures,
    natural_history_figures,
)


def test_every_figure_carries_source_population_timing_and_confidence():
    frame = figures_frame()
    for column in ("source", "levels", "timing", "baseline_exam", "confidence"):
        assert frame[column].astype(str).str.len().min() > 0, column
    assert set(frame["confidence"]) <= {"C", "C/S", "S"}
    assert frame["proportion"].between(0, 1).all()


def test_defaults_are_only_confirmed_figures():
    figures = natural_history_figures("A", "improved_1_grade")
    assert figures and all(f.confidence == "C" for f in figures)
    assert "marino2011_tetra" not in {f.id for f in figures}


def test_unconfirmed_figures_need_an_explicit_opt_in():
    with_opt_in = {f.id for f in natural_history_figures("A", include_unconfirmed=True)}
    assert "marino2011_tetra" in with_opt_in
    with pytest.raises(AnalysisInputError, match="include_unconfirmed"):
        figure_by_id("keio2025_claim_mi")
    assert figure_by_id("keio2025_claim_mi", include_unconfirmed=True).confidence == "S"


def test_primary_figure_is_van_middendorp_2009_42_of_161():
    """Source: van Middendorp et al. Spinal Cord 2009;47:555-560 -- AIS A converted 26% (42/161)
    (reference notes, section 2.2); Kirshblum 2021 Table 2 gives 26.1%."""
    f = figure_by_id(DEFAULT_PRIMARY_FIGURE)
    assert (f.events, f.n, f.proportion) == (42, 161, 0.261)
    assert f.proportion == pytest.approx(f.events / f.n, abs=0.001)


def test_kirshblum_2021_table_2_any_conversion_values():
    """Source: Kirshblum 2021 J Neurotrauma Table 2 (reference notes section 2.1)."""
    expected = {"marino1999_all": (0.154, 482), "burns2003_all": (0.113, 53),
                "spiess2009_all": (0.302, 139), "spiess2009_above_t10": (0.242, 62),
                "kirshblum2016_all": (0.278, 187)}  # fmt: skip
    for figure_id, (p, n) in expected.items():
        f = figure_by_id(figure_id)
        assert (f.proportion, f.n) == (p, n)


def test_level_groups_select_cervical_and_thoracic_figures():
    cervical = natural_history_figures("A", "to_motor_incomplete", level_group="cervical")
    assert {f.id for f in cervical} >= {"kirshblum2022_cervical_mi"}
    thoracic = natural_history_figures("A", level_group="thoracic")
    assert all(f.level_group == "thoracic" for f in thoracic) and thoracic


def test_motor_change_figures_are_kirshblum_2022():
    """Source: Kirshblum 2022 APMR -- cervical AIS A UEMS +7.8 +/- 6.5, LEMS +2.3 +/- 7.4."""
    lems = motor_change_figures("lems")[0]
    assert (lems.mean_change, lems.sd_change) == (2.3, 7.4)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"baseline_grade": "F"}, "baseline_grade"), ({"outcome": "walks"}, "outcome"),
     ({"level_group": "lumbar"}, "level_group")],
)  # fmt: skip
def test_bad_selection_names_the_field(kwargs: dict[str, str], field: str):
    with pytest.raises(AnalysisInputError) as info:
        natural_history_figures(**kwargs)
    assert info.value.field == field


def test_follow_up_times_as_published():
    """van Middendorp 2009 assessed at 6 or 12 months; Marino 2020 follow-up 30-730 days
    (natural-history.md; the old file said "about 1 year" for both)."""
    vm = figure_by_id("vanmiddendorp2009_above_t11")
    assert vm.timing == "6 or 12 months" and vm.outcome_days == (180, 365)
    marino = figure_by_id("marino2020_nscid_all")
    assert marino.timing == "30-730 days" and marino.outcome_days == (30, 730)


def test_every_figure_carries_its_applicability_as_data():
    from cordtrial.analysis.endpoints import level_index

    for f in natural_history_figures("A", include_unconfirmed=True):
        assert level_index(f.level_range[0]) <= level_index(f.level_range[1])
        assert f.baseline_days[0] <= f.baseline_days[1]
        assert f.outcome_days[0] <= f.outcome_days[1]


def test_a_52_week_endpoint_leaves_out_3_and_6_month_sources():
    """Ariji 2024 (3 months) and Aimetti 2019 (about 6 months) cannot be compared with week 52."""
    from cordtrial.analysis.natural_history import applicable_figures

    ids = {f.id for f in applicable_figures("A", outcome_day=364, window=(336, 392))}
    assert "ariji2022_japan" not in ids and "aimetti2019_thoracic" not in ids
    assert "vanmiddendorp2009_above_t11" in ids


def test_level_selection_uses_the_sources_level_range():
    """A thoracic T6 cohort is covered by 'above T11' and T1-T9 figures, not by tetraplegia."""
    from cordtrial.analysis.natural_history import applicable_figures

    ids = {f.id for f in applicable_figures("A", levels=["T6"], outcome_day=364)}
    assert "marino2020_nscid_t1_t9" in ids and "marino2020_nscid_tetra" not in ids
