"""The primary endpoint at the protocol time point: pending participants, exams outside the
window, uncertain baselines and implausible jumps (issue 13). Expected answers are worked by
hand from the demo's dates (schedule: week 52 at day 364 +/- 28 after treatment)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cordtrial.analysis.endpoints import endpoint_table
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.timepoint import (
    implausible_jumps,
    time_point_endpoint,
    uncertain_baselines,
)


def _demo_ep(demo_data) -> pd.DataFrame:
    return endpoint_table(
        demo_data.exams, participants=demo_data.participants, baseline_visit="screening",
        schedule=demo_data.schedule, data_cut=demo_data.last_data_date,
    )  # fmt: skip


def test_demo_week_52_has_two_assessed_and_two_pending(demo_data):
    """A-001 (A->D) and A-002 (A->C) reached week 52; B-001 (treated 2026-05-09) and B-002
    (2026-09-06) had not at the data cut 2026-11-19: pending, not 'not converted'."""
    end = time_point_endpoint(_demo_ep(demo_data), "week 52")
    assert (end.assessed, end.yes) == (2, 2)
    assert end.pending == ["B-001", "B-002"]
    assert end.missing == [] and end.outside_window == []
    assert end.summary.iloc[0]["pending participants"] == "B-001, B-002"


def _rows(specs: list[tuple[str, str, str, str, str, str]]) -> pd.DataFrame:
    """(participant, visit, status, in_window, ais_baseline, ais) -> endpoint-like rows."""
    order = "ABCDE"
    rows = []
    for pid, visit, status, in_window, base, ais in specs:
        grades = [order.index(g) for g in ais.split(",")] if ais else []
        bases = [order.index(g) for g in base.split(",")]
        lo = min(grades) - max(bases) if grades else float("nan")
        hi = max(grades) - min(bases) if grades else float("nan")
        rows.append({
            "participant": pid, "arm": "", "visit": visit, "baseline_visit": "screening",
            "status": status, "in_window": in_window, "ais_baseline": base, "ais": ais,
            "ais_shift": f"{base}->{ais}" if ais else "", "grade_change_min": lo,
            "grade_change_max": hi, "examined_on": date(2026, 1, 1), "window_closes": None,
            "converted": "" if not ais else "yes" if lo >= 1 else "undetermined" if hi >= 1
            else "no",
            "motor_incomplete": "",
        })  # fmt: skip
    return pd.DataFrame(rows)


def test_exam_outside_the_window_is_not_the_time_point_exam():
    ep = _rows([("P1", "week 52", "observed", "no", "A", "C"),
                ("P2", "week 52", "observed", "yes", "A", "A")])  # fmt: skip
    end = time_point_endpoint(ep, "week 52")
    assert end.outside_window == ["P1"]
    assert (end.assessed, end.yes) == (1, 0)


def test_uncertain_baseline_is_reported_not_dropped():
    """A baseline 'A,C' (NT leaves it open) is not in the AIS A count, and is listed."""
    ep = _rows([("P1", "week 52", "observed", "yes", "A,C", "C"),
                ("P2", "week 52", "observed", "yes", "A", "B")])  # fmt: skip
    end = time_point_endpoint(ep, "week 52")
    assert list(end.uncertain["participant"]) == ["P1"]
    assert end.summary.iloc[0]["uncertain baseline"] == 1
    assert list(uncertain_baselines(ep)["ais_baseline"]) == ["A,C"]
    assert end.assessed == 1


def test_a_to_e_jump_is_flagged_and_gradual_recovery_is_not():
    ep = _rows([("P1", "week 4", "observed", "yes", "A", "E"),
                ("P2", "week 4", "observed", "yes", "A", "B"),
                ("P2", "week 12", "observed", "yes", "A", "C"),
                ("P2", "week 52", "observed", "yes", "A", "D"),
                ("P3", "week 4", "observed", "yes", "D", "B")])  # fmt: skip
    flags = implausible_jumps(ep)
    assert list(flags["participant"]) == ["P1", "P3"]
    assert list(flags["change"]) == [4, -2]
    assert "gain of 4" in flags.iloc[0]["reason"]


def test_demo_has_no_implausible_jump(demo_data):
    assert implausible_jumps(_demo_ep(demo_data)).empty


def test_unknown_visit_names_the_field():
    with pytest.raises(AnalysisInputError) as info:
        time_point_endpoint(_rows([("P1", "week 4", "observed", "yes", "A", "A")]), "week 99")
    assert info.value.field == "visit"
