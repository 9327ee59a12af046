"""The fast readers of :mod:`cordtrial.analysis.frames` give exactly what pandas gives
(``list(column)``, ``to_dict(orient="records")``: the independent implementation compared
against), value by value and type by type, on every kind of column the analysis frames hold."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from cordtrial.analysis.frames import column_values, records


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a is b or bool(a == b)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study_id": pd.array(["P01", None, "P03"], dtype="str"),
            "arrow_text": pd.array(["a", None, "c"], dtype="string[pyarrow]"),
            "arrow_int": pd.array([1, None, 3], dtype="int64[pyarrow]"),
            "arrow_date": pd.array([date(2026, 1, 5), None, date(2026, 3, 1)],
                                   dtype=pd.ArrowDtype(__import__("pyarrow").date32())),
            "arrow_moment": pd.array([pd.Timestamp("2026-01-05 10:00", tz="UTC"), None,
                                      pd.Timestamp("2026-01-06", tz="UTC")],
                                     dtype="timestamp[us, tz=UTC][pyarrow]"),
            "count": [1, 2, 3],
            "score": [1.5, float("nan"), 3.0],
            "flag": [True, False, True],
            "mixed": [np.int64(4), pd.NA, date(2026, 2, 2)],
            "moment": pd.to_datetime(["2026-01-05", None, "2026-01-07"]),
        }
    )  # fmt: skip


def test_column_values_equal_iterating_the_column() -> None:
    frame = _frame()
    for name in frame.columns:
        expected, got = list(frame[name]), column_values(frame[name])
        assert len(got) == len(expected)
        assert all(_same(a, b) for a, b in zip(expected, got, strict=True)), name


def test_records_equal_to_dict_records() -> None:
    frame = _frame()
    expected, got = frame.to_dict(orient="records"), records(frame)
    assert [list(r) for r in got] == [list(r) for r in expected]
    for want, have in zip(expected, got, strict=True):
        assert all(_same(want[k], have[k]) for k in want), (want, have)
    assert records(frame.iloc[:, :0]) == frame.iloc[:, :0].to_dict(orient="records")
