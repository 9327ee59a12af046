"""Exam files: dialects, nested JSON, CSV / JSON / JSON Lines / Parquet, writing tables."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cordtrial.isncsci import EXAM_COLUMNS, RESULT_FIELDS, classify_frame
from cordtrial.isncsci.exam import KEY_MUSCLES, NKM_COLUMNS, SENSORY_LEVELS
from cordtrial.isncsci.io.formats import (
    EXTENSIONS,
    PRAXIS_COLUMNS,
    FileFormatError,
    TableWriter,
    UnreadableInputError,
    canonical_to_praxis,
    detect_dialect,
    errors_path,
    flat_to_nested,
    nested_to_flat,
    praxis_to_canonical,
    read_frame,
    read_table,
    write_frame,
    write_results,
)
from cordtrial.isncsci.io.streaming import classify_table
from strategies import generate_exams

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ALL_EXAM_COLUMNS = (*EXAM_COLUMNS, *NKM_COLUMNS)


@pytest.fixture
def exams() -> pd.DataFrame:
    """The shipped example exams (canonical CSV)."""
    return read_frame(EXAMPLES / "exams.csv")


def normal_exam(**changes: object) -> dict[str, object]:
    """A flat canonical exam with every value normal (AIS E), then ``changes`` applied."""
    record: dict[str, object] = {"id": "N1"}
    for column in EXAM_COLUMNS:
        record[column] = "5" if column.endswith("_motor") else "2"
    record.update(vac="Yes", dap="Yes", r_nkm=None, l_nkm=None)
    record.update(changes)
    return record


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_json(path: Path, value: object) -> Path:
    return write_text(path, json.dumps(value))


# --- reading CSV ---


def test_read_frame_gives_every_canonical_column_csv(exams: pd.DataFrame) -> None:
    assert set(ALL_EXAM_COLUMNS) <= set(exams.columns)
    assert len(exams) == 10


def test_read_frame_gives_text_values_csv(exams: pd.DataFrame) -> None:
    assert all(dtype == "string[pyarrow]" for dtype in exams.dtypes)  # the default
    plain = read_frame(EXAMPLES / "exams.csv", arrow=False)
    values = plain.to_numpy().ravel()
    assert all(value is None or isinstance(value, str) for value in values)
    assert all(dtype == "object" for dtype in plain.dtypes)


def test_read_frame_keeps_pass_through_columns_csv(exams: pd.DataFrame) -> None:
    assert list(exams.columns[:3]) == ["id", "participant", "visit"]
    assert exams.loc[0, ["id", "participant", "visit"]].tolist() == ["EX01", "P001", "screening"]


def test_read_frame_reads_empty_cell_as_none_csv() -> None:
    frame = read_frame(EXAMPLES / "exams_with_errors.csv", arrow=False)
    assert frame.loc[2, "l_t4_pp"] is None
    assert read_frame(EXAMPLES / "exams_with_errors.csv").loc[2, "l_t4_pp"] is pd.NA


def test_read_frame_keeps_na_like_text_csv(tmp_path: Path) -> None:
    """pandas would read 'NA' and 'null' as missing; an exam file must keep what was written."""
    path = tmp_path / "exams.csv"
    write_frame(pd.DataFrame([normal_exam(id="NA", r_c5_motor="null")]), path)
    frame = read_frame(path)
    assert (frame.loc[0, "id"], frame.loc[0, "r_c5_motor"]) == ("NA", "null")


def test_read_frame_adds_absent_exam_columns_as_none_csv(tmp_path: Path) -> None:
    path = write_text(tmp_path / "part.csv", "id,r_c5_motor\nA,5\n")
    frame = read_frame(path, arrow=False)
    assert frame.loc[0, "r_c5_motor"] == "5"
    assert frame.loc[0, "l_s4_5_pp"] is None


def test_read_frame_accepts_byte_order_mark_csv(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (EXAMPLES / "exams.csv").read_bytes())
    assert read_frame(path).columns[0] == "id"


def test_read_frame_keeps_short_row_of_truncated_csv(tmp_path: Path) -> None:
    """A file cut inside its last row keeps that row; its lost cells are missing, not 0."""
    text = (EXAMPLES / "exams.csv").read_text(encoding="utf-8")
    path = write_text(tmp_path / "cut.csv", text[: text.rindex("\n", 0, len(text) - 1) + 40])
    frame = read_frame(path, arrow=False)
    assert len(frame) == 10
    assert frame.iloc[-1]["l_s1_motor"] is None


# --- Arrow strings ---


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_read_frame_arrow_gives_the_same_cells_as_arrow_strings(
    exams: pd.DataFrame, tmp_path: Path, extension: str
) -> None:
    """The default (``arrow=True``): the same columns, rows and values as ``arrow=False``, as
    ``string[pyarrow]`` (None -> NA)."""
    source = exams.astype(object).where(exams.notna(), None)
    source.loc[1, "r_c5_motor"] = None
    path = tmp_path / f"exams{extension}"
    write_frame(source.drop(columns=["l_nkm"]), path)
    plain, arrow = read_frame(path, arrow=False), read_frame(path)
    assert read_frame(path, arrow=True).equals(arrow)
    assert list(arrow.columns) == list(plain.columns)
    assert all(dtype == "string[pyarrow]" for dtype in arrow.dtypes)
    assert all(isinstance(arrow[c].array, pd.arrays.ArrowStringArray) for c in arrow.columns)
    assert arrow.astype(object).where(arrow.notna(), None).equals(plain)
    assert arrow["r_c5_motor"].isna().tolist() == [row == 1 for row in range(len(arrow))]
    assert arrow["l_nkm"].isna().all()  # absent from the file: added, empty


def test_read_frame_arrow_parquet_classifies_as_the_object_frame(tmp_path: Path) -> None:
    """The point of ``arrow=True``: ``classify_frame`` gives the same results, from Arrow memory."""
    path = tmp_path / "exams.parquet"
    pd.DataFrame(generate_exams(3000, 4242, nt_rate=0.05, star_rate=0.05)).to_parquet(path)
    arrow = read_frame(path, arrow=True)
    assert all(dtype == "string[pyarrow]" for dtype in arrow.dtypes)
    pd.testing.assert_frame_equal(
        classify_frame(arrow).astype(object), classify_frame(read_frame(path)).astype(object)
    )


# --- round trips ---


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_write_frame_round_trips_canonical(
    exams: pd.DataFrame, tmp_path: Path, extension: str
) -> None:
    path = tmp_path / f"exams{extension}"
    write_frame(exams, path)
    pd.testing.assert_frame_equal(read_frame(path), exams)


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_write_frame_round_trips_praxis(
    exams: pd.DataFrame, tmp_path: Path, extension: str
) -> None:
    path = tmp_path / f"exams{extension}"
    write_frame(exams, path, dialect="praxis")
    pd.testing.assert_frame_equal(read_frame(path), exams)


@pytest.mark.parametrize("extension", [".json", ".jsonl"])
def test_write_frame_round_trips_nested(
    exams: pd.DataFrame, tmp_path: Path, extension: str
) -> None:
    path = tmp_path / f"exams{extension}"
    write_frame(exams, path, nested=True)
    back = read_frame(path)
    pd.testing.assert_frame_equal(back[list(exams.columns)], exams)


def test_write_frame_writes_praxis_names(exams: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "praxis.csv"
    write_frame(exams, path, dialect="praxis")
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert "c5RightMotor" in header
    assert "analContraction" in header
    assert not set(header) & set(ALL_EXAM_COLUMNS)


def test_write_frame_writes_missing_as_json_null(tmp_path: Path) -> None:
    path = tmp_path / "exams.json"
    write_frame(pd.DataFrame([normal_exam(r_c5_motor=None)]), path)
    assert json.loads(path.read_text(encoding="utf-8"))[0]["r_c5_motor"] is None


def test_write_frame_writes_parquet_strings(exams: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "exams.parquet"
    write_frame(exams, path)
    assert set(pq.read_schema(path).types) == {pa.string()}


def test_write_frame_refuses_nested_csv(exams: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="nested"):
        write_frame(exams, tmp_path / "exams.csv", nested=True)


def test_write_frame_refuses_unknown_extension(exams: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match=r"unknown file extension '\.xlsx'"):
        write_frame(exams, tmp_path / "exams.xlsx")


# --- praxis dialect ---


@pytest.mark.parametrize(
    ("canonical", "praxis"),
    [
        ("r_c5_motor", "c5RightMotor"),
        ("l_s4_5_pp", "s4_5LeftPrick"),
        ("r_t3_lt", "t3RightTouch"),
        ("l_s1_motor", "s1LeftMotor"),
        ("vac", "analContraction"),
        ("dap", "analSensation"),
        ("r_nkm", "rightLowestNonKeyMuscleWithMotorFunction"),
        ("l_nkm", "leftLowestNonKeyMuscleWithMotorFunction"),
        ("id", "id"),
        ("visit", "visit"),
    ],
)
def test_canonical_to_praxis_maps_column(canonical: str, praxis: str) -> None:
    assert canonical_to_praxis(canonical) == praxis
    assert praxis_to_canonical(praxis) == canonical


def test_praxis_to_canonical_inverts_every_exam_column() -> None:
    assert [praxis_to_canonical(canonical_to_praxis(c)) for c in ALL_EXAM_COLUMNS] == list(
        ALL_EXAM_COLUMNS
    )
    assert len(set(PRAXIS_COLUMNS.values())) == len(ALL_EXAM_COLUMNS)


def test_praxis_cell_columns_follow_pattern() -> None:
    pattern = re.compile(r"^[ctls]\d+(_5)?(Right|Left)(Motor|Touch|Prick)$")
    cells = [canonical_to_praxis(c) for c in EXAM_COLUMNS if c not in ("vac", "dap")]
    assert all(pattern.match(name) for name in cells)


def test_detect_dialect_finds_canonical() -> None:
    assert detect_dialect(["id", "r_c5_motor", "vac"]) == "canonical"


def test_detect_dialect_finds_praxis() -> None:
    assert detect_dialect(["id", "c5RightMotor", "analContraction"]) == "praxis"


def test_detect_dialect_refuses_both() -> None:
    with pytest.raises(ValueError, match="both dialects"):
        detect_dialect(["r_c5_motor", "c5RightMotor"])


def test_detect_dialect_refuses_no_exam_columns() -> None:
    with pytest.raises(ValueError, match="no exam columns"):
        detect_dialect(["id", "visit"])


def test_read_frame_detects_praxis_file(exams: pd.DataFrame) -> None:
    """praxis_cases.csv holds EX01, EX04 and EX09 of exams.csv under the ids PX01-PX03."""
    praxis = read_frame(EXAMPLES / "praxis_cases.csv")
    expected = exams.iloc[[0, 3, 8]][list(ALL_EXAM_COLUMNS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(praxis[list(ALL_EXAM_COLUMNS)], expected)


def test_read_frame_forced_praxis_reads_praxis_file() -> None:
    frame = read_frame(EXAMPLES / "praxis_cases.csv", dialect="praxis")
    assert frame["id"].tolist() == ["PX01", "PX02", "PX03"]


def test_read_frame_forced_canonical_refuses_praxis_file() -> None:
    with pytest.raises(UnreadableInputError, match="no canonical exam columns"):
        read_frame(EXAMPLES / "praxis_cases.csv", dialect="canonical")


def test_read_frame_forced_dialect_passes_other_dialect_through(tmp_path: Path) -> None:
    path = write_text(tmp_path / "mixed.csv", "id,r_c5_motor,c5RightMotor\nA,5,4\n")
    frame = read_frame(path, dialect="canonical")
    assert (frame.loc[0, "r_c5_motor"], frame.loc[0, "c5RightMotor"]) == ("5", "4")


def test_read_frame_refuses_mixed_dialects_undetected(tmp_path: Path) -> None:
    path = write_text(tmp_path / "mixed.csv", "id,r_c5_motor,c5RightMotor\nA,5,4\n")
    with pytest.raises(UnreadableInputError, match="both dialects"):
        read_frame(path)


def test_read_frame_refuses_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="unknown dialect"):
        read_frame(EXAMPLES / "exams.csv", dialect="excel")  # type: ignore[arg-type]


# --- nested JSON ---


def test_read_frame_reads_single_nested_exam(exams: pd.DataFrame) -> None:
    """examples/exam.json is EX03 of exams.csv, nested."""
    frame = read_frame(EXAMPLES / "exam.json")
    assert len(frame) == 1
    pd.testing.assert_series_equal(frame.iloc[0][exams.columns], exams.iloc[2], check_names=False)


def test_flat_to_nested_gives_reference_shape(exams: pd.DataFrame) -> None:
    """The shape of the reference package's Exam interface (isncsci 2.0.6)."""
    nested = flat_to_nested(exams.iloc[8].to_dict())
    assert set(nested["right"]) == {
        "motor",
        "lightTouch",
        "pinPrick",
        "lowestNonKeyMuscleWithMotorFunction",
    }
    assert list(nested["left"]["motor"]) == [lv.name for lv in KEY_MUSCLES]
    assert list(nested["left"]["pinPrick"]) == [lv.name for lv in SENSORY_LEVELS]
    assert nested["voluntaryAnalContraction"] == "No"
    assert nested["deepAnalPressure"] == "Yes"


def test_flat_to_nested_leaves_out_empty_nkm() -> None:
    nested = flat_to_nested(normal_exam(r_nkm="", l_nkm=None))
    assert "lowestNonKeyMuscleWithMotorFunction" not in nested["right"]
    assert "lowestNonKeyMuscleWithMotorFunction" not in nested["left"]


def test_nested_to_flat_inverts_flat_to_nested() -> None:
    record = normal_exam(r_nkm="T1", l_nkm="L3", visit="week-26")
    assert nested_to_flat(flat_to_nested(record)) == record


@pytest.mark.parametrize("extension", [".csv", ".json", ".jsonl", ".parquet"])
def test_thoracic_and_l1_non_key_muscles_are_read_and_classified_in_every_format(
    tmp_path: Path, extension: str
) -> None:
    """Non-key muscles at T2-L1 (older worksheets) pass every reader and the batch classifier."""
    record = normal_exam(r_nkm="T5", l_nkm="L1")
    path = tmp_path / f"exams{extension}"
    if extension == ".json":
        path.write_text(json.dumps([flat_to_nested(record)]), encoding="utf-8")
    else:
        write_frame(pd.DataFrame([record]), path)
    frame = read_frame(path)
    assert (frame.loc[0, "r_nkm"], frame.loc[0, "l_nkm"]) == ("T5", "L1")
    assert classify_frame(frame).loc[0, "error"] == ""

    with pytest.raises(ValueError, match=r"'right.motor.C4' is not a level of motor"):
        nested_to_flat({"right": {"motor": {"C4": "5"}}})


def test_nested_to_flat_refuses_side_not_object() -> None:
    with pytest.raises(ValueError, match="'left' is not an object"):
        nested_to_flat({"left": "normal"})


def test_read_frame_names_bad_nested_exam(tmp_path: Path) -> None:
    good = flat_to_nested(normal_exam())
    path = write_json(tmp_path / "exams.json", [good, {**good, "right": {"strength": {}}}])
    with pytest.raises(UnreadableInputError, match=r"exam 2: 'right\.strength'"):
        read_frame(path)


def test_read_frame_reads_mixed_flat_and_nested_json(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "exams.json", [normal_exam(id="F"), flat_to_nested(normal_exam(id="N"))]
    )
    frame = read_frame(path)
    assert frame["id"].tolist() == ["F", "N"]
    assert frame["r_s4_5_lt"].tolist() == ["2", "2"]


# --- JSON value types ---


def test_read_frame_reads_json_number_as_text(tmp_path: Path) -> None:
    path = write_json(tmp_path / "exams.json", [normal_exam(r_c5_motor=4, l_c5_motor=3.0)])
    frame = read_frame(path)
    assert (frame.loc[0, "r_c5_motor"], frame.loc[0, "l_c5_motor"]) == ("4", "3")


def test_read_frame_reads_json_fraction_as_text(tmp_path: Path) -> None:
    path = write_json(tmp_path / "exams.json", [normal_exam(r_c5_motor=4.5)])
    assert read_frame(path).loc[0, "r_c5_motor"] == "4.5"


def test_read_frame_reads_json_boolean_as_text(tmp_path: Path) -> None:
    path = write_json(tmp_path / "exams.json", [normal_exam(vac=True)])
    assert read_frame(path).loc[0, "vac"] == "true"


def test_read_frame_reads_json_null_as_none(tmp_path: Path) -> None:
    path = write_json(tmp_path / "exams.json", [normal_exam(r_c5_motor=None)])
    assert read_frame(path, arrow=False).loc[0, "r_c5_motor"] is None


def test_read_frame_reads_parquet_integers_as_text(tmp_path: Path) -> None:
    table = {column: ["5"] for column in ALL_EXAM_COLUMNS}
    table["r_c5_motor"] = [4]  # type: ignore[list-item]
    path = tmp_path / "exams.parquet"
    pd.DataFrame(table).to_parquet(path)
    assert read_frame(path).loc[0, "r_c5_motor"] == "4"


def test_read_frame_reads_parquet_types_as_json_would(tmp_path: Path) -> None:
    """Parquet cells become the text JSON values of the same kind become."""
    cells = {
        "r_c5_motor": pa.array([4.0, 4.5, None, float("nan")]),
        "r_c6_motor": pa.array([True, False, None, True]),
        "r_c7_motor": pa.array([None, None, None, None], type=pa.null()),
        "r_c8_motor": pa.array([1, -2, None, 2**40], type=pa.int64()),
        "visit": pa.array([dt.date(2024, 1, 2), None, dt.date(2025, 12, 31), None]),
        "site": pa.array(["a", "b", None, "a"]).dictionary_encode(),
        "vac": pa.array(["Yes", "", None, "NT"], type=pa.large_string()),
    }
    path = tmp_path / "types.parquet"
    pq.write_table(pa.table(cells), path)
    frame = read_frame(path, arrow=False)
    assert frame["r_c5_motor"].tolist() == ["4", "4.5", None, None]
    assert frame["r_c6_motor"].tolist() == ["true", "false", None, "true"]
    assert frame["r_c7_motor"].tolist() == [None] * 4
    assert frame["r_c8_motor"].tolist() == ["1", "-2", None, "1099511627776"]
    assert frame["visit"].tolist() == ["2024-01-02", None, "2025-12-31", None]
    assert frame["site"].tolist() == ["a", "b", None, "a"]
    assert frame["vac"].tolist() == ["Yes", "", None, "NT"]


# --- unreadable input ---


def test_read_frame_refuses_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match=r"nope\.csv: file not found"):
        read_frame(tmp_path / "nope.csv")


def test_read_frame_refuses_unknown_extension(tmp_path: Path) -> None:
    path = write_text(tmp_path / "exams.xlsx", "id\n")
    with pytest.raises(UnreadableInputError, match=r"unknown file extension '\.xlsx'"):
        read_frame(path)


def test_read_frame_refuses_directory(tmp_path: Path) -> None:
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(UnreadableInputError, match="is a directory"):
        read_frame(tmp_path / "folder.csv")


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_read_frame_refuses_empty_file(tmp_path: Path, extension: str) -> None:
    path = write_text(tmp_path / f"empty{extension}", "")
    with pytest.raises(UnreadableInputError, match="file is empty"):
        read_frame(path)


def test_read_frame_refuses_byte_order_mark_alone_csv(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf")
    with pytest.raises(UnreadableInputError, match="file is empty"):
        read_frame(path)


def test_read_frame_refuses_blank_file_csv(tmp_path: Path) -> None:
    path = write_text(tmp_path / "blank.csv", "\n  \n")
    with pytest.raises(UnreadableInputError, match="file is empty"):
        read_frame(path)


def test_read_frame_refuses_truncated_json(tmp_path: Path) -> None:
    text = json.dumps([normal_exam()])
    path = write_text(tmp_path / "cut.json", text[: len(text) // 2])
    with pytest.raises(UnreadableInputError, match=r"cut\.json: not valid JSON"):
        read_frame(path)


def test_read_frame_refuses_truncated_jsonl(tmp_path: Path) -> None:
    line = json.dumps(normal_exam())
    path = write_text(tmp_path / "cut.jsonl", f"{line}\n{line[:100]}")
    with pytest.raises(UnreadableInputError, match="line 2 is not valid JSON"):
        read_frame(path)


def test_read_frame_refuses_unbalanced_quote_csv(tmp_path: Path) -> None:
    path = write_text(tmp_path / "cut.csv", 'id,r_c5_motor\n"A,5\n')
    with pytest.raises(UnreadableInputError, match="not valid CSV"):
        read_frame(path)


def test_read_frame_refuses_row_longer_than_header_csv(tmp_path: Path) -> None:
    path = write_text(tmp_path / "long.csv", "id,r_c5_motor\nA,5\nB,5,4\n")
    with pytest.raises(UnreadableInputError, match="line 3 has 3 cells but the header has 2"):
        read_frame(path)


def test_read_frame_refuses_duplicate_column_csv(tmp_path: Path) -> None:
    path = write_text(tmp_path / "twice.csv", "id,r_c5_motor,r_c5_motor\nA,5,4\n")
    with pytest.raises(UnreadableInputError, match="'r_c5_motor' appears more than once"):
        read_frame(path)


def test_read_frame_refuses_file_without_exam_columns(tmp_path: Path) -> None:
    path = write_text(tmp_path / "visits.csv", "id,visit\nA,screening\n")
    with pytest.raises(UnreadableInputError, match="no exam columns found"):
        read_frame(path)


def test_read_frame_refuses_text_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,r_c5_motor\nMüller,5\n".encode("latin-1"))
    with pytest.raises(UnreadableInputError, match="not UTF-8"):
        read_frame(path)


def test_read_frame_refuses_json_scalar(tmp_path: Path) -> None:
    path = write_text(tmp_path / "five.json", "5")
    with pytest.raises(UnreadableInputError, match="expected a JSON array of exams"):
        read_frame(path)


def test_read_frame_refuses_json_array_of_non_objects(tmp_path: Path) -> None:
    path = write_json(tmp_path / "list.json", [normal_exam(), ["5", "5"]])
    with pytest.raises(UnreadableInputError, match="exam 2 is not an object"):
        read_frame(path)


def test_read_frame_refuses_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "exams.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(UnreadableInputError, match="not a valid Parquet file"):
        read_frame(path)


def test_unreadable_input_error_carries_path_and_problem(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError) as caught:
        read_frame(tmp_path / "nope.csv")
    assert (caught.value.path, caught.value.problem) == (
        str(tmp_path / "nope.csv"),
        "file not found",
    )
    assert isinstance(caught.value, ValueError)


def test_read_frame_is_exported_by_engine_package() -> None:
    from cordtrial.isncsci import read_frame as exported

    assert exported is read_frame


# --- writing results ---


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_write_results_round_trips_as_text(
    exams: pd.DataFrame, tmp_path: Path, extension: str
) -> None:
    results, _ = classify_table(exams)
    path = tmp_path / f"results{extension}"
    write_results(results, path)
    if extension == ".csv":
        back = pd.read_csv(path, dtype=str, keep_default_na=False)
    elif extension == ".parquet":
        back = pd.read_parquet(path)
    else:
        back = pd.read_json(path, dtype=str, lines=extension == ".jsonl")
    assert tuple(back.columns) == RESULT_FIELDS
    assert back.astype(object).values.tolist() == results.astype(object).values.tolist()


def test_write_results_refuses_unknown_extension(exams: pd.DataFrame, tmp_path: Path) -> None:
    results, _ = classify_table(exams)
    with pytest.raises(FileFormatError, match=r"unknown file extension '\.txt'"):
        write_results(results, tmp_path / "results.txt")


@pytest.mark.parametrize(
    ("output", "expected"),
    [("out.csv", "out.errors.csv"), ("run/results.parquet", "run/results.errors.csv")],
)
def test_errors_path_sits_beside_output(output: str, expected: str) -> None:
    assert errors_path(output) == Path(expected)


# --- writing tables chunk by chunk ---


@pytest.mark.parametrize("extension", [".csv", ".json", ".jsonl"])
def test_table_writer_in_chunks_writes_same_bytes_as_whole(
    exams: pd.DataFrame, tmp_path: Path, extension: str
) -> None:
    whole, chunked = tmp_path / f"whole{extension}", tmp_path / f"chunked{extension}"
    write_results(exams, whole)
    with TableWriter(chunked, list(exams.columns)) as writer:
        for start in range(0, len(exams), 3):
            writer.write(exams.iloc[start : start + 3])
    assert chunked.read_bytes() == whole.read_bytes()


def test_table_writer_lays_out_json_as_json_dump(exams: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "exams.json"
    with TableWriter(path, ["id", "vac"]) as writer:
        writer.write(exams.iloc[:2])
        writer.write(exams.iloc[2:4])
    records = exams.iloc[:4][["id", "vac"]].to_dict("records")
    assert path.read_text(encoding="utf-8") == json.dumps(records, indent=1) + "\n"


@pytest.mark.parametrize("extension", [".json", ".jsonl", ".csv"])
def test_table_writer_without_rows_writes_empty_table(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"empty{extension}"
    TableWriter(path, ["id", "ais"]).close()
    expected = {".json": b"[]\n", ".jsonl": b"", ".csv": b"id,ais\r\n"}[extension]
    assert path.read_bytes() == expected


def test_table_writer_writes_row_group_per_chunk_parquet(
    exams: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "exams.parquet"
    with TableWriter(path, ["id", "vac"], metadata={"k": "v"}) as writer:
        writer.write(exams.iloc[:4])
        writer.write(exams.iloc[4:])
    parquet = pq.ParquetFile(path)
    assert parquet.num_row_groups == 2
    assert parquet.schema_arrow.metadata == {b"k": b"v"}
    assert parquet.read().column("id").to_pylist() == exams["id"].tolist()


def test_table_writer_writes_categorical_and_missing_as_text(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"a": pd.Categorical(["x", None, "y"]), "b": [1, None, 2.5], "c": ["p", None, "q"]}
    )
    path = tmp_path / "t.jsonl"
    write_results(frame, path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {"a": "x", "b": "1", "c": "p"},
        {"a": None, "b": None, "c": None},
        {"a": "y", "b": "2.5", "c": "q"},
    ]


def test_table_writer_writes_categoricals_to_parquet_as_plain_text(tmp_path: Path) -> None:
    """Categorical chunks (written from their codes as Arrow dictionaries), a column categorical
    in one chunk and plain in the next, categories growing between chunks, missing values and
    non-text categories: every value reads back as the same text, every column a string."""
    first = pd.DataFrame(
        {
            "a": pd.Categorical(["x", None, "y"]),
            "b": ["p", None, "q"],
            "n": pd.Categorical([1, 2, 1]),
        }
    )
    second = pd.DataFrame(
        {
            "a": ["z", "x", None],
            "b": pd.Categorical(["q", "r", None], categories=["r", "q", "unused"]),
            "n": pd.Categorical([3, 3, None]),
        }
    )
    path = tmp_path / "t.parquet"
    with TableWriter(path, ["a", "b", "n"], metadata={"k": "v"}) as writer:
        writer.write(first)
        writer.write(second)
    table = pq.read_table(path)
    assert table.schema.types == [pa.string()] * 3
    assert table.schema.metadata == {b"k": b"v"}
    assert table.to_pydict() == {
        "a": ["x", None, "y", "z", "x", None],
        "b": ["p", None, "q", "q", "r", None],
        "n": ["1", "2", "1", "3", "3", None],
    }


def test_table_writer_without_rows_writes_string_columns_parquet(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    TableWriter(path, ["id", "ais"], metadata={"k": "v"}).close()
    schema = pq.read_schema(path)
    assert (schema.names, schema.types) == (["id", "ais"], [pa.string(), pa.string()])
    assert schema.metadata == {b"k": b"v"}


def test_table_writer_writes_classify_frame_results_as_their_text(
    exams: pd.DataFrame, tmp_path: Path
) -> None:
    """``classify_frame``'s categorical results, chunk by chunk, read back as the text the
    one-frame result gives, row for row."""
    results, _ = classify_table(exams)
    path = tmp_path / "results.parquet"
    with TableWriter(path, list(RESULT_FIELDS)) as writer:
        for start in range(0, len(exams), 4):
            part, _ = classify_table(exams.iloc[start : start + 4])
            writer.write(part)
    expected = results.astype(object).to_numpy().tolist()
    assert pq.read_table(path).to_pandas().to_numpy().tolist() == expected


def test_table_writer_takes_format_apart_from_name(exams: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "results.part"
    with TableWriter(path, ["id"], format=".parquet") as writer:
        writer.write(exams)
    assert pq.read_table(path).column("id").to_pylist() == exams["id"].tolist()


# --- reading any table ---


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_read_table_reads_back_written_results(
    exams: pd.DataFrame, tmp_path: Path, extension: str
) -> None:
    results, _ = classify_table(exams)
    path = tmp_path / f"results{extension}"
    write_results(results, path)
    back = read_table(path)
    assert tuple(back.columns) == RESULT_FIELDS
    assert back.values.tolist() == results.astype(object).values.tolist()


def test_read_table_needs_no_exam_columns(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "id,x\nA,\n")
    assert read_table(path).values.tolist() == [["A", None]]


def test_read_table_refuses_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="file not found"):
        read_table(tmp_path / "nope.parquet")
