"""CSV cells that a spreadsheet would run as formulas are neutralized (OWASP CSV injection)."""

from __future__ import annotations

import pandas as pd
import pytest

from cordtrial.isncsci.io.csv_safety import (
    neutralize_csv_cell,
    neutralize_csv_frame,
    neutralize_csv_row,
)


@pytest.mark.parametrize(
    "text", ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("x")']
)
def test_formula_text_is_prefixed_with_quote(text: str) -> None:
    assert neutralize_csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-3", "+1.5", "-0.25e3", 7, -7, 1.5, None, "A-001", "C5,C6"])
def test_numbers_and_plain_text_unchanged(value: object) -> None:
    assert neutralize_csv_cell(value) == value


def test_row_and_frame_neutralize_text_only() -> None:
    assert neutralize_csv_row(["=x", 3, "-4"]) == ["'=x", 3, "-4"]
    frame = pd.DataFrame({"note": ["=cmd", "ok", None], "score": [-1, 2, 3]})
    out = neutralize_csv_frame(frame)
    assert out["note"].tolist()[:2] == ["'=cmd", "ok"]
    assert out["note"].isna().tolist() == [False, False, True]
    assert out["score"].tolist() == [-1, 2, 3]
    assert frame["note"].iloc[0] == "=cmd"
