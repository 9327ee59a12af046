"""Field labels for people, and the one validator of partly filled exams (check_cells)."""

from __future__ import annotations

import pytest

from cordtrial.isncsci import EXAM_COLUMNS, Level, check_cells, field_label


@pytest.mark.parametrize(
    ("column", "label"),
    [
        ("r_c6_motor", "Right C6 motor"),
        ("l_s4_5_pp", "Left S4-5 pin prick"),
        ("r_t10_lt", "Right T10 light touch"),
        ("vac", "Voluntary anal contraction (VAC)"),
        ("l_nkm", "Left lowest non-key muscle with motor function"),
        ("visit", "visit"),
    ],
)
def test_field_label_names_side_level_and_kind(column: str, label: str) -> None:
    assert field_label(column) == label


def test_every_exam_column_has_a_label_of_words() -> None:
    labels = [field_label(c) for c in EXAM_COLUMNS]
    assert len(set(labels)) == len(EXAM_COLUMNS)
    assert not any("_" in label for label in labels)


def test_field_label_knows_exactly_the_engines_levels() -> None:
    """cordtrial.isncsci.labels spells the levels out (errors.py, which exam.py imports, uses it):
    they must be Level's names, no more."""
    for level in Level:
        name = level.name.lower()
        assert field_label(f"l_{name}_lt") == f"Left {level.name.replace('_', '-')} light touch"
    for name in ("c0", "c9", "t0", "t13", "l6", "s4", "s5", "s4_6", "x1"):
        assert field_label(f"r_{name}_motor") == f"r_{name}_motor"


def test_check_cells_returns_every_error_in_worksheet_order() -> None:
    """Not only the first: a worksheet or an import shows all the values to correct."""
    errors = check_cells(
        {"l_c5_motor": "9", "r_c6_motor": "6", "vac": "maybe", "r_nkm": "S2", "r_t4_lt": "2**"}
    )
    assert [e.field for e in errors] == ["r_c6_motor", "r_t4_lt", "l_c5_motor", "vac", "r_nkm"]
    assert "C5 to S1" in errors[-1].allowed


def test_check_cells_leaves_cells_not_yet_recorded_alone() -> None:
    """A partly filled exam: absent, None, blank and NaN cells are not errors."""
    assert check_cells({"r_c5_motor": None, "r_c6_motor": " ", "l_c5_lt": float("nan")}) == []
    assert check_cells({"r_c5_motor": "NT*", "l_nkm": "T7", "dap": "Yes", "id": "x"}) == []
