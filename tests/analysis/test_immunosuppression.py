"""The DSMB report's immunosuppression tables (issue 15): exposure per participant (days on
drug, interruptions, stop reason) and trough levels in/below/above the protocol's target, from
the demo trial loaded out of the store (SQLite and PostgreSQL) and from hand-made frames."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from analysis.conftest import DEMO_TODAY
from cordtrial.analysis.immunosuppression import immunosuppression_tables
from cordtrial.analysis.store import TrialData, load_trial
from cordtrial.trial.database import make_session_factory
from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo
from cordtrial.trial.demo_immunosuppression import DEMO_TROUGHS


def _by(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {str(r["Participant"]): r for r in table.to_dict("records")}  # type: ignore[misc]


def test_demo_exposure_and_troughs_per_participant(engine: Engine) -> None:
    factory = make_session_factory(engine)
    seed_demo(factory, today=DEMO_TODAY)
    with factory() as session:
        data = load_trial(session, DEMO_PROTOCOL_ID)
    (title_a, exposure), (title_b, troughs) = immunosuppression_tables(data, as_of=DEMO_TODAY)
    assert title_a == "Exposure to immunosuppression"
    assert title_b == "Trough levels against the protocol's target"
    rows = _by(exposure)
    # demo_immunosuppression: A-002 stops on day 150 for an infection after 3 days without drug
    assert (rows["A-002"]["Days on drug"], rows["A-002"]["Interruptions"]) == (147, 1)
    assert rows["A-002"]["Days interrupted"] == 3
    assert rows["A-002"]["Stop reason"] == "infection"
    assert rows["A-001"]["Days on drug"] == 182
    assert rows["A-001"]["Stop reason"].startswith("planned")
    # the other three reach the planned stop (every transplant is years before the demo's day)
    day0 = data.participants.set_index("participant")["transplant_date"]
    for study_id in ("A-001", "B-001", "B-002"):
        assert rows[study_id]["Stop reason"].startswith("planned"), study_id
        assert rows[study_id]["Days on drug"] == 182, study_id
        assert str(rows[study_id]["Start"]) == str(day0[study_id]), study_id
    levels = _by(troughs)
    assert (levels["B-001"]["Above target"], levels["B-001"]["Below target"]) == (1, 0)
    assert levels["All participants"]["Above target"] == 1
    assert levels["All participants"]["Below target"] == 0
    stored = sum(len(v) for v in DEMO_TROUGHS.values())  # each sampled before its stop
    assert levels["All participants"]["Troughs"] == stored
    assert levels["All participants"]["In range"] == stored - 1


def test_tables_from_hand_made_frames_count_an_open_interruption_to_the_cut_off() -> None:
    start = date(2026, 3, 1)
    data = TrialData(
        protocol_id="T", title="t", phase="1", participants=pd.DataFrame(),
        exams=pd.DataFrame(), measures=pd.DataFrame(), adverse_events=pd.DataFrame(),
        immunosuppression_courses=pd.DataFrame([{
            "participant": "P1", "drug": "tacrolimus", "started_on": start, "start_dose": 6.0,
            "dose_unit": "mg/d", "stopped_on": None, "stop_reason": ""}]),
        immunosuppression_interruptions=pd.DataFrame([{
            "participant": "P1", "drug": "tacrolimus", "from_date": start + timedelta(days=5),
            "to_date": None}]),
        troughs=pd.DataFrame([{
            "participant": "P1", "drug": "tacrolimus", "sampled_on": start, "day": 0,
            "value": 3.0, "unit": "ng/mL", "target_low": 5.0, "target_high": 15.0,
            "flag": "below"}]),
    )  # fmt: skip
    (_, exposure), (_, troughs) = immunosuppression_tables(data, as_of=date(2026, 3, 10))
    (row,) = exposure.to_dict("records")
    # 1-10 March: 10 days, the interruption from 6 March still open takes 5
    assert (row["Days on drug"], row["Days interrupted"], row["Stop reason"]) == (5, 5, "—")
    assert list(troughs["Below target"]) == [1, 1]


def test_no_course_gives_empty_tables_with_their_columns() -> None:
    data = TrialData(protocol_id="T", title="t", phase="1", participants=pd.DataFrame(),
                     exams=pd.DataFrame(), measures=pd.DataFrame(),
                     adverse_events=pd.DataFrame())  # fmt: skip
    (_, exposure), (_, troughs) = immunosuppression_tables(data, as_of=date(2026, 1, 1))
    assert exposure.empty and "Days on drug" in exposure.columns
    assert troughs.empty and "Above target" in troughs.columns
    assert "troughs" not in data.frames  # the snapshot of a trial without any is unchanged
