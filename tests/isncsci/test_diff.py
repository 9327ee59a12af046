"""Re-classification diff: result records of two runs matched by id, compared field by field."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cordtrial.isncsci import RESULT_FIELDS
from cordtrial.isncsci.io.diff import DIFF_FIELDS, diff_results, read_results
from cordtrial.isncsci.io.formats import EXTENSIONS, UnreadableInputError, read_frame, write_results
from cordtrial.isncsci.io.streaming import classify_table

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    """Result records of the example exams, as text."""
    records, _ = classify_table(read_frame(EXAMPLES / "exams.csv"))
    return records.astype(object)


def test_diff_results_finds_nothing_between_same_results(results: pd.DataFrame) -> None:
    found = diff_results(results, results.copy())
    assert (found.identical, found.compared, len(found.changes)) == (True, 10, 0)
    assert tuple(found.changes.columns) == DIFF_FIELDS


def test_diff_results_lists_changed_fields_in_record_order(results: pd.DataFrame) -> None:
    new = results.copy()
    new.loc[6, ["ais", "nli"]] = ["A", "C6"]
    new.loc[2, "lt"] = "99"
    found = diff_results(results, new)
    assert found.changes.values.tolist() == [
        ["EX03", "changed", "lt", "68", "99"],
        ["EX07", "changed", "nli", "C5,C6", "C6"],
        ["EX07", "changed", "ais", "A,C", "A"],
    ]
    assert (found.changed, found.fields) == (2, {"nli": 1, "ais": 1, "lt": 1})


def test_diff_results_matches_exams_by_id_not_order(results: pd.DataFrame) -> None:
    found = diff_results(results, results.iloc[::-1].reset_index(drop=True))
    assert found.identical


def test_diff_results_lists_exams_in_one_file_only(results: pd.DataFrame) -> None:
    new = pd.concat([results.iloc[1:], results.iloc[[0]].assign(id="EX11")], ignore_index=True)
    found = diff_results(results, new)
    assert found.changes.values.tolist() == [
        ["EX01", "old_only", "", "", ""],
        ["EX11", "new_only", "", "", ""],
    ]
    assert (found.compared, found.old_only, found.new_only, found.identical) == (9, 1, 1, False)


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_read_results_reads_every_format(
    results: pd.DataFrame, tmp_path: Path, extension: str
) -> None:
    path = tmp_path / f"results{extension}"
    write_results(results, path)
    assert read_results(path).values.tolist() == results.values.tolist()


def test_read_results_keeps_only_result_record(results: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    write_results(results.assign(site="Z"), path)
    assert tuple(read_results(path).columns) == RESULT_FIELDS


def test_read_results_names_duplicate_ids_and_rows(results: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    write_results(results.assign(id=["A", "B", "A", *results["id"][3:9], "B"]), path)
    with pytest.raises(
        UnreadableInputError, match=r"duplicate ids: 'A' \(rows 1, 3\), 'B' \(rows 2, 10\)"
    ):
        read_results(path)


def test_read_results_names_rows_without_id(results: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    write_results(results.assign(id=["A", "", *results["id"][2:7], " ", "I", "J"]), path)
    with pytest.raises(UnreadableInputError, match="2 exams without an id: rows 2, 8"):
        read_results(path)


def test_read_results_shortens_long_lists(results: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    write_results(results.assign(id=""), path)
    with pytest.raises(UnreadableInputError, match="rows 1, 2, 3, 4, 5 and 5 more"):
        read_results(path)


def test_read_results_refuses_file_without_result_columns(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="not a results file: no column 'sensory_right'"):
        read_results(EXAMPLES / "exams.csv")


def test_read_results_refuses_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="file not found"):
        read_results(tmp_path / "nope.csv")
