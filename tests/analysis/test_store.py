"""Loading a trial from the store (SQLite and PostgreSQL) into the analysis frames."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from analysis.conftest import DEMO_TODAY
from builders import acting_as
from cordtrial.analysis.store import load_trial, snapshot_hash
from cordtrial.trial import NotFoundError
from cordtrial.trial.database import make_session_factory
from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo
from cordtrial.trial.models import User
from cordtrial.trial.services.exams import correct_exam


def test_demo_loads_into_tidy_frames(engine: Engine, demo_data):
    factory = make_session_factory(engine)
    seed_demo(factory, today=DEMO_TODAY)
    with factory() as session:
        data = load_trial(session, DEMO_PROTOCOL_ID)
    assert list(data.participants["participant"]) == ["A-001", "A-002", "B-001", "B-002"]
    assert len(data.exams) == 6 + 6 + 4 + 3
    a001 = data.exams[data.exams["participant"] == "A-001"]
    assert list(a001["ais"]) == ["A", "A", "B", "C", "D", "D"]
    assert {"r_l3_motor", "uems", "lems", "nli", "day"} <= set(data.exams.columns)
    assert set(data.measures["measure"]) >= {"scim_total", "wisci_level", "ten_metre_walk_speed"}
    speed = data.measures[(data.measures["measure"] == "ten_metre_walk_speed")
                          & (data.measures["visit"] == "week 52")]  # fmt: skip
    assert speed["value"].iloc[0] == 10.0 / 21.0
    serious = data.adverse_events[data.adverse_events["serious"]]
    assert list(serious["participant"]) == ["B-001"] and bool(serious["related"].iloc[0])
    # the same data on either database give the same snapshot hash
    assert data.snapshot_hash == demo_data.snapshot_hash


def test_snapshot_hash_changes_when_an_exam_is_corrected(engine: Engine):
    factory = make_session_factory(engine)
    seed_demo(factory, today=DEMO_TODAY)
    with factory() as session:
        before = load_trial(session, DEMO_PROTOCOL_ID)
        exam_id = int(before.exams["exam_id"].iloc[-1])
        correct_exam(session, user=acting_as("tester"), exam_id=exam_id, reason="typo",
                     cells={"r_l3_motor": "1"})  # fmt: skip
        after = load_trial(session, DEMO_PROTOCOL_ID)
    assert before.snapshot_hash != after.snapshot_hash


def test_a_users_read_is_scoped_to_their_sites(engine: Engine):
    factory = make_session_factory(engine)
    seed_demo(factory, today=DEMO_TODAY)
    with factory() as session:
        user = session.scalars(select(User).where(User.username == "coordinator_a")).one()
        data = load_trial(session, DEMO_PROTOCOL_ID, user=user)
    assert set(data.participants["participant"]) == {"A-001", "A-002"}
    assert set(data.exams["participant"]) == {"A-001", "A-002"}
    assert set(data.adverse_events["participant"]) <= {"A-001", "A-002"}


def test_unknown_trial_is_not_found(engine: Engine):
    with make_session_factory(engine)() as session, pytest.raises(NotFoundError):
        load_trial(session, "NO-SUCH-TRIAL")


def test_snapshot_hash_ignores_column_order():
    import pandas as pd

    a = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    assert snapshot_hash({"t": a}) == snapshot_hash({"t": a[["y", "x"]]})
    assert snapshot_hash({"t": a}) != snapshot_hash({"t": a.iloc[::-1]})
