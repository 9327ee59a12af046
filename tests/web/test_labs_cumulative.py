"""The cumulative laboratory table of the participant page: an analyte per row, the latest
collection dates as columns, each value marked against its reference range."""

from __future__ import annotations

from datetime import date, timedelta

from cordtrial.trial.models import LabResult
from cordtrial.trial.rules.labs import ANALYTES
from cordtrial.web.pages.labs import cumulative_labs, range_flag, range_text

START = date(2026, 1, 5)


def _result(
    id_: int, day: int, analyte: str, value: float, lln: float | None = 1.0,
    uln: float | None = 4.0, grade: int = 0,
) -> LabResult:  # fmt: skip
    return LabResult(
        id=id_, participant_id=1, collected_on=START + timedelta(days=day), analyte=analyte,
        entered_value=value, entered_unit="10*9/L", value=value, lln=lln, uln=uln,
        baseline=None, ctcae_grade=grade, ctcae_term=None, grade_basis="",
    )  # fmt: skip


def test_the_latest_dates_are_columns_oldest_first_and_earlier_ones_are_counted() -> None:
    results = [_result(i, 7 * i, "lymphocytes", 2.0) for i in range(10)]
    results.append(_result(10, 0, "platelets", 200.0, 150.0, 400.0))  # only on an earlier date
    table = cumulative_labs(results, shown=8)
    assert table.dates == tuple(START + timedelta(days=7 * i) for i in range(2, 10))
    assert table.earlier == 2
    assert [row.analyte for row in table.rows] == ["lymphocytes"]  # no row left empty
    (row,) = table.rows
    assert sorted(row.cells) == list(table.dates)
    assert all(len(cell) == 1 for cell in row.cells.values())


def test_rows_follow_the_catalogue_and_a_day_with_two_results_keeps_both_in_order() -> None:
    names = list(ANALYTES)
    first, second = names[0], names[-1]
    results = [
        _result(3, 0, second, 5.0),
        _result(2, 0, first, 3.0),
        _result(1, 0, first, 2.0),  # the same day: both shown, by id
    ]
    table = cumulative_labs(results)
    assert [row.analyte for row in table.rows] == [first, second]
    assert [r.id for r in table.rows[0].cells[START]] == [1, 2]
    assert table.earlier == 0 and table.dates == (START,)


def test_an_analyte_shows_the_reference_range_of_its_latest_result() -> None:
    results = [
        _result(1, 0, "haemoglobin", 140.0, 130.0, 170.0),
        _result(2, 30, "haemoglobin", 120.0, 120.0, 160.0),  # another range later
    ]
    (row,) = cumulative_labs(results).rows
    assert (row.lln, row.uln) == (120.0, 160.0)
    assert [r.id for day in sorted(row.cells) for r in row.cells[day]] == [1, 2]


def test_a_value_is_high_or_low_only_beyond_its_limits() -> None:
    assert range_flag(_result(1, 0, "lymphocytes", 4.0)) == ""  # on the upper limit
    assert range_flag(_result(1, 0, "lymphocytes", 4.01)) == "high"
    assert range_flag(_result(1, 0, "lymphocytes", 0.99)) == "low"
    assert range_flag(_result(1, 0, "alt", 90.0, None, 45.0)) == "high"
    assert range_flag(_result(1, 0, "alt", 0.0, None, 45.0)) == ""
    assert range_flag(_result(1, 0, "inr", 9.0, None, None)) == ""


def test_reference_ranges_read_in_words() -> None:
    assert range_text(130.0, 170.0) == "130\u2013170"
    assert range_text(None, 45.0) == "≤ 45"
    assert range_text(1.5, None) == "≥ 1.5"
    assert range_text(None, None) == "—"
