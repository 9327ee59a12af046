"""Endpoints from classified exams: AIS shifts and conversion, score and level changes, NT ranges,
missing visits, functional measures. Expected answers are worked by hand from the exam cells."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.conftest import classified
from builders import lesion_flat
from cordtrial.analysis.endpoints import (
    ais_shift_table,
    conversion_summary,
    endpoint_table,
    last_observed,
    measure_changes,
    parse_grades,
    parse_levels,
    score_range,
)
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.isncsci import Level
from cordtrial.trial.demo import DEMO_EXAM_VISITS, DEMO_SCHEDULE

A_C5 = lesion_flat(Level.C5)  # AIS A, NLI C5: UEMS 10, LEMS 0
B_C5 = lesion_flat(Level.C5, sacral="1", dap="Yes")  # sensory sparing, no motor below: AIS B
C_C5 = lesion_flat(Level.C5, motor_below="1", sensory_below="1", sacral="1", vac="Yes", dap="Yes")
A_C6 = lesion_flat(Level.C6)  # one segment lower: UEMS 20 (C5, C6 at 5 on both sides)


def _exams() -> pd.DataFrame:
    return classified(
        [
            ("P1", "screening", A_C5),
            ("P1", "week 52", C_C5),
            ("P2", "screening", A_C5),
            ("P2", "week 52", A_C6),
            ("P3", "screening", A_C5),  # no week 52 exam: missing
        ],
        day=[-7, 364, -7, 364, -7],
    )


def test_conversion_to_c_is_two_grades_and_motor_incomplete():
    """A -> C: grade change 2, converted, motor incomplete (ISNCSCI grades A < B < C)."""
    ep = endpoint_table(_exams(), baseline_visit="screening")
    p1 = ep[(ep["participant"] == "P1")].iloc[0]
    assert (p1["ais_shift"], p1["grade_change_min"], p1["grade_change_max"]) == ("A->C", 2, 2)
    assert (p1["converted"], p1["motor_incomplete"]) == ("yes", "yes")


def test_lems_change_counts_every_key_muscle_below_the_level():
    """C_C5 has grade 1 in L2-S1 on both sides: LEMS 10, UEMS 10 + 4 x 2 x 1 = 18."""
    ep = endpoint_table(_exams(), baseline_visit="screening")
    p1 = ep[ep["participant"] == "P1"].iloc[0]
    assert (p1["lems_change_min"], p1["lems_change_max"]) == (10, 10)
    assert p1["uems_change_min"] == 8
    assert p1["total_motor_change_min"] == 18


def test_level_descending_one_segment_is_plus_one():
    """C5 -> C6 NLI: +1 segment (caudal = recovery); AIS unchanged, not converted."""
    ep = endpoint_table(_exams(), baseline_visit="screening")
    p2 = ep[ep["participant"] == "P2"].iloc[0]
    assert (p2["nli_change_min"], p2["nli_change_max"]) == (1, 1)
    assert p2["converted"] == "no"
    assert p2["uems_change_min"] == 10


def test_participant_without_the_visit_is_missing_not_dropped():
    ep = endpoint_table(_exams(), baseline_visit="screening")
    p3 = ep[ep["participant"] == "P3"]
    assert list(p3["status"]) == ["missing"]
    assert p3.iloc[0]["converted"] == ""
    assert math.isnan(p3.iloc[0]["lems_change_min"])


def test_expected_participant_without_any_exam_is_missing():
    people = pd.DataFrame({"participant": ["P1", "P2", "P3", "P4"], "arm": ["x"] * 4})
    ep = endpoint_table(_exams(), participants=people, baseline_visit="screening")
    p4 = ep[ep["participant"] == "P4"]
    assert list(p4["status"]) == ["missing"]
    assert p4.iloc[0]["ais_baseline"] == ""


def test_nt_cell_reports_a_range_of_totals_and_an_undetermined_conversion():
    """An NT key muscle (r_l2_motor) below C5 leaves AIS open (A,C per the engine's NT rules
    with VAC NT); the LEMS range is 0..5 from the cells, and conversion is undetermined."""
    open_exam = dict(A_C5, r_l2_motor="NT", vac="NT")
    exams = classified([("P1", "screening", A_C5), ("P1", "week 52", open_exam)])
    ep = endpoint_table(exams, baseline_visit="screening")
    row = ep.iloc[0]
    assert len(parse_grades(row["ais"])) > 1
    assert (row["lems_min"], row["lems_max"]) == (0, 5)
    assert row["converted"] == "undetermined"
    summary = conversion_summary(ep, "week 52")
    assert (summary.loc[0, "yes_min"], summary.loc[0, "yes_max"]) == (0, 1)


def test_score_range_uses_the_record_when_it_has_a_number():
    assert score_range({"uems": "14"}, "uems") == (14, 14)
    cells = {f"{s}_{m}_motor": "5" for s in "rl" for m in ("c5", "c6", "c7", "c8", "t1")}
    assert score_range({**cells, "uems": "ND", "r_c5_motor": "NT"}, "uems") == (45, 50)
    assert all(math.isnan(v) for v in score_range({"uems": "ND", "r_c5_motor": "NT"}, "uems"))


def test_shift_table_counts_baseline_by_visit_grade_with_missing_column():
    ep = endpoint_table(_exams(), baseline_visit="screening")
    table = ais_shift_table(ep, "week 52")
    assert table.loc["A", "C"] == 1
    assert table.loc["A", "A"] == 1
    assert table.loc["A", "missing"] == 1
    assert table.loc["total", "total"] == 3


def test_conversion_summary_counts_yes_no_and_missing():
    ep = endpoint_table(_exams(), baseline_visit="screening")
    s = conversion_summary(ep, "week 52").iloc[0]
    assert (s["expected"], s["assessed"], s["yes"], s["no"], s["missing"]) == (3, 2, 1, 1, 1)


def test_last_observed_takes_each_participants_latest_observed_visit():
    exams = classified(
        [("P1", "screening", A_C5), ("P1", "week 4", B_C5), ("P2", "screening", A_C5)],
        day=[-7, 28, -7],
    )
    ep = endpoint_table(exams, baseline_visit="screening")
    last = last_observed(ep).set_index("participant")
    assert last.loc["P1", "visit"] == "week 4" and last.loc["P1", "ais"] == "B"
    assert last.loc["P2", "status"] == "missing"


def test_default_baseline_is_each_participants_earliest_exam():
    exams = classified([("P1", "day -3", A_C5), ("P1", "week 52", C_C5)],
                       examined_on=[pd.Timestamp("2026-01-01").date(),
                                    pd.Timestamp("2027-01-01").date()])  # fmt: skip
    ep = endpoint_table(exams)
    assert list(ep["visit"]) == ["week 52"]
    assert ep.iloc[0]["baseline_visit"] == "day -3"


def test_parse_levels_orders_intact_below_s4_5():
    assert parse_levels("INT") == {29}
    assert parse_levels("C5,C6*") == {4, 5}


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: endpoint_table(pd.DataFrame({"participant": ["P1"]})), "exams.columns"),
        (lambda: endpoint_table(_exams(), baseline_visit="week 99"), "baseline_visit"),
        (lambda: parse_grades("A,F"), "ais"),
        (lambda: conversion_summary(endpoint_table(_exams()), "week 52", outcome="x"), "outcome"),
    ],
)
def test_bad_input_names_the_field(call, field: str):
    with pytest.raises(AnalysisInputError) as info:
        call()
    assert info.value.field == field


def test_measure_changes_from_baseline_with_missing_visits():
    measures = pd.DataFrame(
        {
            "participant": ["P1", "P1", "P2"],
            "visit": ["screening", "week 52", "screening"],
            "measure": ["scim_total", "scim_total", "scim_total"],
            "value": [18.0, 81.0, 20.0],
        }
    )
    out = measure_changes(measures, baseline_visit="screening").set_index("participant")
    assert out.loc["P1", "change"] == 63
    assert out.loc["P2", "status"] == "missing"


def test_measure_changes_keeps_every_measure_taken_at_one_visit():
    """Issue 13: two measures at a visit (SCIM and WISCI) are two rows, not de-duplicated by
    (participant, visit) -- the WISCI values 9 and 13 are kept beside SCIM."""
    measures = pd.DataFrame(
        {
            "participant": ["P1"] * 6,
            "visit": ["screening", "screening", "week 24", "week 24", "week 52", "week 52"],
            "measure": ["scim_total", "wisci_level"] * 3,
            "value": [18.0, 0.0, 40.0, 9.0, 60.0, 13.0],
        }
    )
    out = measure_changes(measures, baseline_visit="screening")
    wisci = out[out["measure"] == "wisci_level"].set_index("visit")
    assert list(wisci["value"]) == [9.0, 13.0]
    assert set(wisci["status"]) == {"observed"}
    assert set(out["measure"]) == {"scim_total", "wisci_level"}


def test_demo_measures_keep_wisci_of_a_001_at_weeks_24_and_52(demo_data):
    """The demo records SCIM and WISCI at weeks 24 and 52 for A-001 (WISCI 9 and 13)."""
    out = measure_changes(demo_data.measures, participants=demo_data.participants)
    a1 = out[(out["participant"] == "A-001") & (out["measure"] == "wisci_level")]
    assert a1.set_index("visit").loc[["week 24", "week 52"], "status"].tolist() == [
        "observed", "observed"]  # fmt: skip
    assert a1.set_index("visit").loc[["week 24", "week 52"], "value"].tolist() == [9.0, 13.0]


_SCHEDULE = pd.DataFrame(
    {
        "visit": ["screening", "week 12", "week 52"],
        "target_day": [-7, 84, 364],
        "window_minus": [7, 7, 28],
        "window_plus": [0, 7, 28],
    }
)


def test_visit_not_yet_due_at_the_data_cut_is_not_missing():
    """P1 treated 2026-01-01: week 52's window closes on day 392 (2027-01-28); at a data cut of
    2026-06-01 it is not yet due. P2 treated 2025-01-01 has no week-52 exam after its window
    closed (2026-01-28): missing."""
    from datetime import date

    exams = _exams().iloc[[0, 2]].reset_index(drop=True)  # the screening exams of P1 and P2
    people = pd.DataFrame(
        {"participant": ["P1", "P2"], "treated_on": [date(2026, 1, 1), date(2025, 1, 1)]}
    )
    ep = endpoint_table(
        exams, participants=people, baseline_visit="screening", visits=["week 52"],
        schedule=_SCHEDULE, data_cut=date(2026, 6, 1),
    )  # fmt: skip
    status = dict(zip(ep["participant"], ep["status"], strict=True))
    assert status == {"P1": "not_due", "P2": "missing"}


def test_demo_missing_visits_are_the_exam_visits_the_demo_left_out(demo_data):
    """Five years after their transplants every window of the main study has closed, so each
    exam visit of the schedule (DEMO_SCHEDULE, all but day 0) that the demo's design has no exam
    for (DEMO_EXAM_VISITS: B-002's missed week 12) is missing, and nothing is not yet due."""
    ep = endpoint_table(
        demo_data.exams, participants=demo_data.participants, baseline_visit="screening",
        schedule=demo_data.schedule, data_cut=demo_data.last_data_date,
    )  # fmt: skip
    exam_visits = [v.name for v in DEMO_SCHEDULE if v.name not in ("screening", "day 0")]
    expected = sorted(
        [study_id, visit] for study_id, done in DEMO_EXAM_VISITS.items()
        for visit in exam_visits if visit not in done
    )  # fmt: skip
    assert expected  # the demo keeps one missed visit
    missing = ep[ep["status"] == "missing"][["participant", "visit"]].values.tolist()
    assert sorted(missing) == expected
    assert (ep["status"] == "not_due").sum() == 0


def test_conversion_summary_reports_uncertain_baselines_instead_of_dropping_them():
    """A baseline 'A,C' is not AIS A for certain: left out of the AIS A counts but counted in
    ``uncertain_baseline`` (issue 13)."""
    ep = pd.DataFrame(
        {
            "participant": ["P1", "P2"], "arm": ["", ""], "visit": ["week 52"] * 2,
            "status": ["observed"] * 2, "ais_baseline": ["A", "A,C"], "ais": ["B", "C"],
            "converted": ["yes", "undetermined"], "motor_incomplete": ["no", "yes"],
        }
    )  # fmt: skip
    row = conversion_summary(ep, "week 52").iloc[0]
    assert (row["expected"], row["yes"], row["uncertain_baseline"]) == (1, 1, 1)
