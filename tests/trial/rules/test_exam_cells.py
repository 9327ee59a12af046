"""Exam cells as entered: 'not recorded' distinct from NT; classification when complete."""

from __future__ import annotations

import pytest

from builders import lesion_flat
from cordtrial.isncsci import ENGINE_VERSION, EXAM_COLUMNS, ISNCSCI_REVISION, Level
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.exam_cells import (
    CELL_COLUMNS,
    classify_cells,
    merge_cells,
    normalize_cells,
)


def test_absent_or_blank_cells_are_not_recorded_and_nt_is_kept() -> None:
    cells = normalize_cells({"r_c5_motor": "NT", "r_c6_motor": "", "l_c5_motor": "4"})
    assert set(cells) == set(CELL_COLUMNS)
    assert cells["r_c5_motor"] == "NT"
    assert cells["r_c6_motor"] is None
    assert cells["r_c7_motor"] is None
    assert cells["l_c5_motor"] == "4"


def test_values_are_kept_as_entered() -> None:
    assert normalize_cells({"r_c5_motor": "3*"})["r_c5_motor"] == "3*"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("r_c5_motor", "6", r"cells.r_c5_motor: '6' is not a motor grade"),
        ("l_t4_pp", "3", r"cells.l_t4_pp: '3'"),
        ("vac", "maybe", r"cells.vac: 'maybe'"),
        ("r_c5_motor", 4, r"cells.r_c5_motor: 4 is not text"),
    ],
)
def test_invalid_cell_names_the_column(column: str, value: object, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        normalize_cells({column: value})


def test_non_key_muscle_at_a_thoracic_level_or_l1_is_stored_and_classified() -> None:
    """Any level C5..S1 is a lowest non-key muscle (ISNCSCI worksheets before 2019 record T2-L1);
    T7 more than three levels below a C5 motor level makes AIS B into C."""
    cells = normalize_cells({**lesion_flat(Level.C5, dap="Yes"), "r_nkm": "T7", "l_nkm": "L1"})
    assert (cells["r_nkm"], cells["l_nkm"]) == ("T7", "L1")
    outcome = classify_cells(cells)
    assert outcome.record is not None and outcome.record["ais"] == "C"


def test_non_key_muscle_outside_c5_to_s1_names_the_field_and_allowed_levels() -> None:
    with pytest.raises(InvalidValueError, match=r"cells.l_nkm: 'S2' is not a level from C5 to S1"):
        normalize_cells({"l_nkm": "S2"})


def test_first_invalid_cell_in_worksheet_order_is_reported() -> None:
    """The engine's check_cells judges every recorded cell; the store names the first of them."""
    with pytest.raises(InvalidValueError, match=r"cells.r_c6_motor"):
        normalize_cells({"vac": "maybe", "l_c5_motor": "9", "r_c6_motor": "6"})


def test_unknown_column_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="cells: 'r_c5_motr' is not a cell"):
        normalize_cells({"r_c5_motr": "5"})


def test_complete_exam_is_classified_with_engine_version_and_revision() -> None:
    """Normal to C5, nothing below, no sacral sparing: NLI C5, AIS A (ISNCSCI 2019)."""
    outcome = classify_cells(normalize_cells(lesion_flat(Level.C5)))
    assert outcome.record is not None
    assert (outcome.record["nli"], outcome.record["ais"]) == ("C5", "A")
    assert (outcome.engine_version, outcome.isncsci_revision) == (ENGINE_VERSION, ISNCSCI_REVISION)
    assert outcome.note == ""


def test_incomplete_exam_is_not_classified_and_says_why() -> None:
    cells = dict(lesion_flat(Level.C5))
    del cells["l_s4_5_pp"]
    outcome = classify_cells(normalize_cells(cells))
    assert outcome.record is None
    assert outcome.note == "not classified: not recorded: l_s4_5_pp"


def test_nt_cells_are_classified_as_ranges() -> None:
    cells = normalize_cells({**lesion_flat(Level.C5), "r_c6_lt": "NT", "r_c6_pp": "NT"})
    record = classify_cells(cells).record
    assert record is not None and "," in record["sensory_right"]


def test_merge_un_records_a_cell_with_none() -> None:
    cells = normalize_cells(lesion_flat(Level.C5))
    merged = merge_cells(cells, {"r_c5_motor": None, "l_c5_motor": "4"})
    assert merged["r_c5_motor"] is None
    assert merged["l_c5_motor"] == "4"
    assert len([c for c in EXAM_COLUMNS if merged[c] is None]) == 1
