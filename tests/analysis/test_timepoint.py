"""The primary endpoint at the protocol time point: pending participants, exams outside the
window, uncertain baselines and implausible jumps (issue 13). Expected answers are worked by
hand from the demo's dates (schedule: week 52 at day 364 +/- 28 after treatment)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from cordtrial.analysis.endpoints import endpoint_table
from cordtrial.analysis.errors import AnalysisInputError
from cordtrial.analysis.timepoint import (
    implausible_jumps,
    time_point_endpoint,
    uncertain_baselines,
)
from cordtrial.trial.demo import DEMO_EXAM_VISITS, DEMO_TRAJECTORIES


def _demo_ep(demo_data) -> pd.DataFrame:
    return endpoint_table(
        demo_data.exams, participants=demo_data.participants, baseline_visit="screening",
        schedule=demo_data.schedule, data_cut=demo_data.last_data_date,
    )  # fmt: skip


def _converted_at(visit: str) -> list[str]:
    """The demo participants whose grade at ``visit`` is better than at screening, from the
    demo's design (DEMO_TRAJECTORIES at DEMO_EXAM_VISITS), not from the analysis."""
    order = "ABCDE"
    return sorted(
        study_id for study_id, visits in DEMO_EXAM_VISITS.items() if visit in visits
        and order.index(DEMO_TRAJECTORIES[study_id][visits.index(visit)])
        > order.index(DEMO_TRAJECTORIES[study_id][visits.index("screening")])
    )  # fmt: skip


def test_demo_week_52_assessed_for_every_participant_after_five_years(demo_data):
    """Every demo participant was examined at week 52 (five years of follow-up): assessed are
    those with a week 52 exam in the demo's design, converted those whose grade rose."""
    end = time_point_endpoint(_demo_ep(demo_data), "week 52")
    examined = sorted(s for s, visits in DEMO_EXAM_VISITS.items() if "week 52" in visits)
    assert (end.assessed, end.yes) == (len(examined), len(_converted_at("week 52")))
    assert end.pending == [] and end.missing == [] and end.outside_window == []


def test_demo_cut_before_week_52_leaves_the_late_participants_pending(demo_data):
    """A data cut on the day the first participant's week 52 window (day 364 + 28) closed: the
    participants not yet examined at week 52 whose window closes after the cut are pending,
    not 'not converted'; the others were assessed (the dates are the store's, the rule is the
    schedule's)."""
    people = demo_data.participants
    cut = min(people["transplant_date"]) + timedelta(days=392)
    exams = demo_data.exams[demo_data.exams["examined_on"] <= cut]
    examined = set(exams.loc[exams["visit"] == "week 52", "participant"])
    late = sorted(
        p for p, day0 in zip(people["participant"], people["transplant_date"], strict=True)
        if p not in examined and day0 + timedelta(days=392) > cut
    )  # fmt: skip
    assert late and examined  # the cut leaves someone pending and someone assessed
    ep = endpoint_table(
        exams, participants=people, baseline_visit="screening", schedule=demo_data.schedule,
        data_cut=cut,
    )  # fmt: skip
    end = time_point_endpoint(ep, "week 52")
    assert end.pending == late
    assert end.assessed == len(people) - len(late)
    assert end.summary.iloc[0]["pending participants"] == ", ".join(late)


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


def test_implausible_jumps_follow_each_participant_in_order_of_first_row():
    """Issue 17: the chains are read in one pass over the columns, not a frame per participant.
    Participants interleaved, one whose first row is missing and one never observed: the flags
    come per participant, in the order of each participant's first row (P2 before P1), each
    chain starting at the baseline; worked by hand (A -> E gains 4, E -> C loses 2, E -> B
    loses 3)."""
    ep = _rows([("P2", "week 4", "missing", "", "A", ""),
                ("P1", "week 4", "observed", "yes", "A", "E"),
                ("P3", "week 4", "missing", "", "A", ""),
                ("P2", "week 12", "observed", "yes", "A", "E"),
                ("P1", "week 12", "observed", "yes", "A", "B"),
                ("P2", "week 52", "observed", "yes", "A", "C")])  # fmt: skip
    flags = implausible_jumps(ep)
    assert [tuple(r) for r in flags[["participant", "from visit", "to visit", "from AIS",
                                     "to AIS", "change"]].itertuples(index=False)] == [
        ("P2", "screening", "week 12", "A", "E", 4),
        ("P2", "week 12", "week 52", "E", "C", -2),
        ("P1", "screening", "week 4", "A", "E", 4),
        ("P1", "week 4", "week 12", "E", "B", -3),
    ]  # fmt: skip
