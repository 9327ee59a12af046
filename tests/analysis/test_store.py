"""Loading a trial from the store (SQLite and PostgreSQL) into the analysis frames."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from analysis.conftest import DEMO_TODAY
from builders import acting_as
from cordtrial.analysis.store import load_trial, snapshot_hash
from cordtrial.trial import NotFoundError
from cordtrial.trial.database import make_session_factory
from cordtrial.trial.demo import (
    DEMO_EXAM_VISITS,
    DEMO_PROTOCOL_ID,
    DEMO_SCHEDULE,
    DEMO_TRAJECTORIES,
    seed_demo,
)
from cordtrial.trial.models import User
from cordtrial.trial.services.exams import correct_exam


def test_demo_loads_into_tidy_frames(engine: Engine, demo_data):
    factory = make_session_factory(engine)
    seed_demo(factory, today=DEMO_TODAY)
    with factory() as session:
        data = load_trial(session, DEMO_PROTOCOL_ID)
    assert list(data.participants["participant"]) == ["A-001", "A-002", "B-001", "B-002"]
    # the main study's exams: a long-term visit's exam (A-001's year 5) is not an endpoint
    main = {v.name for v in DEMO_SCHEDULE}
    assert len(data.exams) == sum(
        sum(v in main for v in visits) for visits in DEMO_EXAM_VISITS.values()
    )
    assert any(v not in main for v in DEMO_EXAM_VISITS["A-001"])
    a001 = data.exams[data.exams["participant"] == "A-001"]
    assert list(a001["ais"]) == [
        grade for grade, visit in zip(DEMO_TRAJECTORIES["A-001"], DEMO_EXAM_VISITS["A-001"],
                                      strict=True) if visit in main
    ]  # fmt: skip
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


def test_load_safety_gives_the_stopping_rule_what_load_trial_gives(engine: Engine):
    """Issue 17: the dashboard's light read (no exam cells) must decide the rule exactly as the
    full read does: same participants, same data cut, same counted and not-counted events."""
    from cordtrial.analysis.safety import evaluate_stopping_rule
    from cordtrial.analysis.store import load_safety

    factory = make_session_factory(engine)
    seed_demo(factory, today=DEMO_TODAY)
    with factory() as session:
        full = load_trial(session, DEMO_PROTOCOL_ID)
        light = load_safety(session, DEMO_PROTOCOL_ID)
    assert light.last_data_date == full.last_data_date is not None
    assert light.participants.equals(full.participants)
    assert len(light.adverse_events) < len(full.adverse_events)  # the non-serious left out
    rules = [
        evaluate_stopping_rule(d.adverse_events, d.participants, as_of=d.last_data_date)
        for d in (full, light)
    ]
    facts = [(r.crossed, r.treated, r.counting, r.posterior, r.crossed_on, r.as_of) for r in rules]
    assert facts[0] == facts[1]
    assert rules[0].history.equals(rules[1].history)
    assert rules[0].counted.equals(rules[1].counted)
    assert rules[0].not_counted.equals(rules[1].not_counted)


def _whole_document_hash(frames) -> str:
    """The snapshot hash as first defined: every frame's values read by iterating pandas'
    columns, made JSON-ready one by one, the whole document written as one JSON text."""
    import hashlib
    import json
    import math
    from datetime import date

    def canonical(value):
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, date):
            return value.isoformat()
        return value if isinstance(value, str | int | float | bool) or value is None else str(value)

    doc = {}
    for name, frame in frames.items():
        cols = sorted(str(c) for c in frame.columns)
        columns = [[canonical(v) for v in frame[c]] for c in cols]
        rows = [list(r) for r in zip(*columns, strict=True)] if cols else [[]] * len(frame)
        doc[name] = {"columns": cols, "rows": rows}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_snapshot_hash_is_the_hash_of_the_whole_document(demo_data):
    """Issue 17: the hash is written frame by frame and column by column (no call per value
    where a column's types allow); it must stay the SHA-256 of the one JSON document, on the
    demo's frames and on a frame with every kind of value (NaN, dates, numpy and Arrow values,
    text, flags, empty frames)."""
    from datetime import date

    import numpy as np
    import pandas as pd

    mixed = pd.DataFrame(
        {
            "text": pd.array(["P01", None, "Łukasz"], dtype="str"),
            "arrow_int": pd.array([1, None, 3], dtype="int64[pyarrow]"),
            "count": [1, 2, 3],
            "score": [1.5, float("nan"), 3.0],
            "flag": [True, False, True],
            "day": [date(2026, 1, 5), None, date(2026, 3, 1)],
            "mixed": [np.int64(4), float("nan"), "x"],
            "moment": pd.to_datetime(["2026-01-05", None, "2026-01-07"]),
        }
    )
    frames = {**demo_data.frames, "mixed": mixed, "empty": mixed.iloc[0:0],
              "no_columns": mixed.iloc[:, :0]}  # fmt: skip
    assert snapshot_hash(frames) == _whole_document_hash(frames)
    assert demo_data.snapshot_hash == _whole_document_hash(demo_data.frames)
    assert snapshot_hash({}) == _whole_document_hash({})
