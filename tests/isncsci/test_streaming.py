"""Streaming: files read chunk by chunk exactly as ``read_frame`` reads them whole, classified
chunk by chunk exactly as ``classify_table`` classifies them whole, written incrementally."""

from __future__ import annotations

import functools
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cordtrial import __version__
from cordtrial.isncsci import ENGINE_VERSION, ISNCSCI_REVISION, RESULT_FIELDS, Exam, classify
from cordtrial.isncsci.io.formats import (
    ERROR_FIELDS,
    UnreadableInputError,
    canonical_to_praxis,
    errors_path,
    read_frame,
    read_table,
    write_frame,
)
from cordtrial.isncsci.io.streaming import (
    CLASSIFY_THREADS,
    PARQUET_METADATA_KEYS,
    READ_AHEAD_THREAD,
    StreamProgress,
    classify_chunks,
    classify_file,
    classify_stream,
    classify_table,
    engine_stamp,
    meta_path,
    open_exams,
)
from strategies import generate_exams

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMS = EXAMPLES / "exams.csv"
WITH_ERRORS = EXAMPLES / "exams_with_errors.csv"


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Any frame of text cells as ``str``/``None`` objects with a default index."""
    values = frame.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    return pd.DataFrame(values, columns=frame.columns, dtype=object)


def streamed(path: Path, chunk_rows: int = 3, **options: object) -> tuple[pd.DataFrame, list[int]]:
    """Every chunk of ``path`` joined, as text; and the chunks' lengths."""
    with open_exams(path, chunk_rows=chunk_rows, **options) as exams:  # type: ignore[arg-type]
        chunks = list(exams)
    if not chunks:  # no exams: no chunk
        return pd.DataFrame(columns=["id"], dtype=object), []
    return as_text(pd.concat([as_text(c) for c in chunks])), [len(c) for c in chunks]


def assert_streams_as_read(path: Path, chunk_rows: int = 3) -> list[int]:
    """The chunks of ``path`` hold what ``read_frame`` reads (its ``id`` and exam columns)."""
    chunks, lengths = streamed(path, chunk_rows)
    whole = read_frame(path)
    assert list(chunks.columns) == [c for c in whole.columns if c in set(chunks.columns)]
    assert chunks.values.tolist() == as_text(whole[list(chunks.columns)]).values.tolist()
    return lengths


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def exam_lines(count: int, prefix: str = "X") -> list[str]:
    """``count`` CSV lines of the example exam EX01 with ids ``X1`` ..."""
    cells = EXAMS.read_text(encoding="utf-8").splitlines()[1].split(",", 1)[1]
    return [f"{prefix}{n},{cells}" for n in range(1, count + 1)]


def csv_header() -> str:
    return EXAMS.read_text(encoding="utf-8").splitlines()[0]


def unreadable_message(read: object) -> str:
    with pytest.raises(UnreadableInputError) as caught:
        read()  # type: ignore[operator]
    return str(caught.value)


def assert_refused_as_read_frame(path: Path, chunk_rows: int = 4) -> str:
    """Streaming refuses ``path`` with ``read_frame``'s very message."""
    expected = unreadable_message(lambda: read_frame(path))
    assert unreadable_message(lambda: streamed(path, chunk_rows)) == expected
    return expected


# --- reading CSV ---------------------------------------------------------------------------


def test_open_exams_chunks_rows_with_continuing_index() -> None:
    with open_exams(EXAMS, chunk_rows=4) as exams:
        chunks = list(exams)
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert [list(c.index) for c in chunks][2] == [8, 9]


def test_open_exams_reads_csv_as_read_frame() -> None:
    assert assert_streams_as_read(EXAMS) == [3, 3, 3, 1]


def test_open_exams_reads_praxis_csv_under_canonical_names() -> None:
    assert_streams_as_read(EXAMPLES / "praxis_cases.csv", chunk_rows=2)
    with open_exams(EXAMPLES / "praxis_cases.csv") as exams:
        assert exams.dialect == "praxis"
        assert "r_c5_motor" in next(iter(exams)).columns


def test_open_exams_reads_only_id_and_exam_columns() -> None:
    chunks, _ = streamed(EXAMS)
    assert "participant" not in chunks.columns
    assert chunks.columns[0] == "id"


TRICKY_CSV = {
    "quoted commas and newlines": b'id,r_c5_motor,vac\n"A,1","5","Yes"\n"B\nx",4,No\n',
    "byte-order mark and CRLF": b"\xef\xbb\xbfid,r_c5_motor\r\nA,5\r\nB,4\r\n",
    "blank lines": b"\n\nid,r_c5_motor\n\nA,5\n\n\nB,\n",
    "truncated last line": b"id,r_c5_motor,vac\nA,5,Yes\nB,4",
    "white-space line": b"id,r_c5_motor\nA,5\n  \nB,3\n",
    "quote inside unquoted cell": b'id,r_c5_motor\nA"1,5\nB,4"\n',
    "NA-like words": b"id,r_c5_motor\nNA,null\nnan,NaN\n",
    "empty quoted cells": b'id,r_c5_motor\n"",""\nB,""\n',
    "header only": b"id,r_c5_motor\n",
    "non-ASCII text": "id,r_c5_motor\nZürich-1,5\n€,4\n".encode(),
    "escaped quotes": b'id,r_c5_motor\n"say ""5""",5\n',
    "carriage returns only": b"id,r_c5_motor\rA,5\rB,4",
    "short row mid-file": "\n".join(["id,r_c5_motor,vac", *[f"A{n},5,No" for n in range(9)]])
    .replace("A4,5,No", "A4,5")
    .encode(),
    "short row in quoted file": b'id,r_c5_motor,vac\n"A",5,No\nB,4\n"C",3,Yes\n',
}


@pytest.mark.parametrize("name", TRICKY_CSV)
def test_open_exams_reads_tricky_csv_as_read_frame(tmp_path: Path, name: str) -> None:
    path = write_bytes(tmp_path / "tricky.csv", TRICKY_CSV[name])
    assert_streams_as_read(path, chunk_rows=2)


@pytest.mark.parametrize("quoted", [False, True])
def test_open_exams_reads_csv_over_many_arrow_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quoted: bool
) -> None:
    """Arrow reads in small blocks; the csv module checks each in step where quotes appear."""
    monkeypatch.setattr("cordtrial.isncsci.io.streaming._CSV_BLOCK_BYTES", 2048)
    lines = exam_lines(60)
    if quoted:
        lines = [f'"{line.split(",", 1)[0]}",{line.split(",", 1)[1]}' for line in lines]
    path = write_bytes(tmp_path / "many.csv", "\n".join([csv_header(), *lines]).encode())
    assert assert_streams_as_read(path, chunk_rows=7) == [7] * 8 + [4]


def test_open_exams_reads_truncated_long_csv_as_read_frame(tmp_path: Path) -> None:
    """A file cut inside its last line keeps that row, its missing cells empty."""
    text = "\n".join([csv_header(), *exam_lines(40)])
    path = write_bytes(tmp_path / "cut.csv", text[: len(text) - 50].encode())
    assert assert_streams_as_read(path, chunk_rows=7)[-1] == 5


# --- refusing CSV as read_frame does ----------------------------------------------------------


REFUSED_CSV = {
    "quote never closed": b'id,r_c5_motor\nA,5\nB,"5\n',
    "text after a closing quote": b'id,r_c5_motor\nA,5\n"B"x,5\n',
    "line with too many cells": b"id,r_c5_motor\n" + b"A,5\n" * 30 + b"B,5,6\nC,5\n",
    "too many cells in quoted file": b'id,r_c5_motor\n"A",5\n' * 30 + b"B,5,6\n",
    "not UTF-8 late in the file": b"id,r_c5_motor\n" + b"A,5\n" * 30 + b"B\xff,5\n",
    "not UTF-8 after a byte-order mark": b"\xef\xbb\xbfid,r_c5_motor\nA,5\nB\xe9,5\n",
    "not UTF-8 in quoted file": b'id,r_c5_motor\n"A",5\n' * 30 + b'"B\xff",5\n',
    "UTF-8 cut at the end": b"id,r_c5_motor\nA,5\nB,5\xe2\x82",
    "a column twice": b"id,r_c5_motor,r_c5_motor\nA,5,5\n",
    "no exam columns": b"id,name\nA,b\n",
    "empty": b"",
    "only white space": b"  \n\n\t\n",
    "byte-order mark alone": b"\xef\xbb\xbf",
}


@pytest.mark.parametrize("name", REFUSED_CSV)
def test_open_exams_refuses_csv_with_read_frame_message(tmp_path: Path, name: str) -> None:
    path = write_bytes(tmp_path / "bad.csv", REFUSED_CSV[name])
    assert "bad.csv: " in assert_refused_as_read_frame(path)


def test_open_exams_refuses_csv_before_reading_chunks(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "bad.csv", b"id,name\nA,b\n")
    with pytest.raises(UnreadableInputError, match="no exam columns found"):
        open_exams(path)


@pytest.mark.parametrize("name", ["nope.csv", "nope.parquet", "nope.jsonl"])
def test_open_exams_refuses_missing_file(tmp_path: Path, name: str) -> None:
    assert assert_refused_as_read_frame(tmp_path / name).endswith(": file not found")


def test_open_exams_refuses_directory(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    assert "is a directory" in assert_refused_as_read_frame(tmp_path / "d.csv")


def test_open_exams_refuses_unknown_extension(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "exams.xlsx", b"PK")
    assert "unknown file extension '.xlsx'" in assert_refused_as_read_frame(path)


def test_open_exams_refuses_wrong_forced_dialect() -> None:
    with pytest.raises(UnreadableInputError, match="no canonical exam columns found"):
        open_exams(EXAMPLES / "praxis_cases.csv", "canonical")


def test_open_exams_refuses_chunk_rows_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        open_exams(EXAMS, chunk_rows=0)


# --- reading Parquet, JSON Lines, JSON ---------------------------------------------------------


def test_open_exams_reads_parquet_row_groups_in_chunks(tmp_path: Path) -> None:
    frame = pd.concat([read_frame(EXAMS)] * 3, ignore_index=True)
    frame["id"] = [f"P{n}" for n in range(len(frame))]
    frame.loc[4, "r_c5_motor"] = None
    frame.loc[5, "vac"] = ""
    path = tmp_path / "exams.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=7)
    assert assert_streams_as_read(path, chunk_rows=4) == [4] * 7 + [2]
    with open_exams(path) as exams:
        assert exams.total_exams == 30


def test_open_exams_reads_parquet_types_as_read_frame(tmp_path: Path) -> None:
    cells = {
        "id": pa.array([1, 2, 3, None]),
        "r_c5_motor": pa.array([4.0, 4.5, None, float("nan")]),
        "r_c6_motor": pa.array([True, False, None, True]),
        "r_c7_motor": pa.array([None] * 4, type=pa.null()),
        "r_c8_motor": pa.array(["5", "NT*", None, ""]).dictionary_encode(),
        "vac": pa.array(["Yes", "", None, "NT"], type=pa.large_string()),
    }
    path = tmp_path / "types.parquet"
    pq.write_table(pa.table(cells), path)
    assert_streams_as_read(path, chunk_rows=3)


def test_open_exams_reads_praxis_parquet(tmp_path: Path) -> None:
    frame = read_frame(EXAMS)
    path = tmp_path / "praxis.parquet"
    write_frame(frame, path, dialect="praxis")
    chunks, _ = streamed(path, chunk_rows=4)
    assert chunks["r_c5_motor"].tolist() == frame["r_c5_motor"].tolist()


def test_open_exams_refuses_corrupt_parquet_as_read_frame(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "bad.parquet", b"PAR1 this is not parquet")
    assert "not a valid Parquet file" in assert_refused_as_read_frame(path)


def test_open_exams_reads_json_lines_as_read_frame(tmp_path: Path) -> None:
    nested = json.loads((EXAMPLES / "exam.json").read_text(encoding="utf-8"))
    flat = read_frame(EXAMS).head(4).to_dict("records")
    lines = [json.dumps(nested), "", *(json.dumps(r) for r in flat), "  ", json.dumps(nested)]
    path = write_bytes(tmp_path / "exams.jsonl", ("\ufeff" + "\r\n".join(lines)).encode())
    assert assert_streams_as_read(path, chunk_rows=2) == [2, 2, 2]


def test_open_exams_reads_json_as_read_frame(tmp_path: Path) -> None:
    path = tmp_path / "exams.json"
    write_frame(read_frame(EXAMS), path, nested=True)
    assert assert_streams_as_read(path, chunk_rows=4) == [4, 4, 2]
    with open_exams(path) as exams:
        assert exams.total_exams == 10


def json_lines(count: int) -> list[str]:
    return [json.dumps(r) for r in read_frame(EXAMS).head(1).to_dict("records")] * count


REFUSED_JSONL = {
    "line cut short late": "\n".join([*json_lines(9), "", '{"id": "A", "r_c5_mo']),
    "line not an object": "\n".join([*json_lines(7), "", "[1, 2]"]),
    "bad nested exam": "\n".join([*json_lines(7), '{"right": {"motor": {"C4": "5"}}}']),
    "no exam columns": '{"id": "A"}\n',
    "empty": "\n\n",
}


@pytest.mark.parametrize("name", REFUSED_JSONL)
def test_open_exams_refuses_json_lines_with_read_frame_message(tmp_path: Path, name: str) -> None:
    path = write_bytes(tmp_path / "bad.jsonl", REFUSED_JSONL[name].encode())
    assert_refused_as_read_frame(path, chunk_rows=2)


def test_open_exams_refuses_json_lines_not_utf8_as_read_frame(tmp_path: Path) -> None:
    data = "\n".join(json_lines(6)).encode() + b'\n{"id": "\xff"}\n'
    path = write_bytes(tmp_path / "bad.jsonl", b"\xef\xbb\xbf" + data)
    assert "not UTF-8 text (at byte offset" in assert_refused_as_read_frame(path, chunk_rows=2)


def test_open_exams_refuses_json_lines_mixing_dialects(tmp_path: Path) -> None:
    praxis = {canonical_to_praxis(k): v for k, v in read_frame(EXAMS, arrow=False).iloc[0].items()}
    path = write_bytes(
        tmp_path / "mixed.jsonl", "\n".join([*json_lines(4), json.dumps(praxis)]).encode()
    )
    assert "columns of both dialects" in assert_refused_as_read_frame(path, chunk_rows=2)


# --- classifying chunk by chunk ---------------------------------------------------------------


def test_classify_table_gives_result_record_columns() -> None:
    results, errors = classify_table(read_frame(EXAMS))
    assert (tuple(results.columns), tuple(errors.columns)) == (RESULT_FIELDS, ERROR_FIELDS)


def test_classify_table_grades_example_exams() -> None:
    """Grades the examples were built for; the reference isncsci 2.0.6 agrees on every field."""
    results, _ = classify_table(read_frame(EXAMS))
    assert results["ais"].tolist() == ["A", "B", "C", "D", "E", "A", "A,C", "D", "C", "B"]
    assert results["nli"].tolist()[:6] == ["C5", "C6", "C7", "T12", "INT", "T6"]


def test_classify_table_numbers_ids_without_id_column() -> None:
    results, _ = classify_table(read_frame(EXAMS).drop(columns="id"))
    assert results["id"].tolist() == [str(n) for n in range(1, 11)]


def test_classify_table_reports_rejected_rows() -> None:
    results, errors = classify_table(read_frame(WITH_ERRORS))
    assert errors[["row", "id", "field", "value"]].values.tolist() == [
        [2, "ERR02", "r_c6_motor", "6"],
        [3, "ERR03", "l_t4_pp", ""],
        [4, "ERR04", "vac", "maybe"],
    ]
    assert results["id"].tolist() == ["ERR01", "ERR05"]


def test_errors_show_the_field_label_beside_the_column_name() -> None:
    """People read words: each rejected row names its field as a column and as a label."""
    _, errors = classify_table(read_frame(WITH_ERRORS))
    assert list(errors.columns[2:4]) == ["field", "label"]
    assert errors["label"].tolist() == [
        "Right C6 motor",
        "Left T4 pin prick",
        "Voluntary anal contraction (VAC)",
    ]


def test_classify_table_gives_parser_reason() -> None:
    _, errors = classify_table(read_frame(WITH_ERRORS))
    assert errors.loc[0, "reason"].startswith("Right C6 motor: 6 is not a motor grade (0-5 or NT")
    assert errors.loc[1, "reason"].startswith("Left T4 pin prick: is missing (not recorded)")


def test_classify_table_rejects_json_boolean(tmp_path: Path) -> None:
    record = read_frame(EXAMS).iloc[0].to_dict() | {"vac": True}
    path = write_bytes(tmp_path / "exams.json", json.dumps([record]).encode())
    _, errors = classify_table(read_frame(path))
    assert errors[["field", "value"]].values.tolist() == [["vac", "true"]]


def test_classify_table_gives_empty_id_for_missing_id() -> None:
    frame = read_frame(EXAMS).head(2)
    frame.loc[1, "id"] = None
    results, _ = classify_table(frame)
    assert results["id"].tolist() == ["EX01", ""]


def test_classify_table_classifies_exam_the_parser_accepts_as_classify_does() -> None:
    """Cells with white space around them: the one-exam parser accepts them; so do the results."""
    frame = read_frame(WITH_ERRORS)
    frame.loc[0, "r_t1_motor"] = "5 "
    frame.loc[4, "l_c5_motor"] = " 5"
    results, errors = classify_table(frame)
    expected = [
        ["ERR01", *classify(Exam.from_flat(frame.iloc[0].to_dict())).to_record().values()],
        ["ERR05", *classify(Exam.from_flat(frame.iloc[4].to_dict())).to_record().values()],
    ]
    assert as_text(results).values.tolist() == expected
    assert errors["row"].tolist() == [2, 3, 4]


def test_classify_table_handles_no_exams() -> None:
    results, errors = classify_table(read_frame(EXAMS).iloc[:0])
    assert (tuple(results.columns), len(results), len(errors)) == (RESULT_FIELDS, 0, 0)


def stream_results(path: Path, chunk_rows: int) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    with open_exams(path, chunk_rows=chunk_rows) as exams:
        parts = list(classify_stream(exams))
    results = pd.concat([as_text(p.results) for p in parts], ignore_index=True)
    errors = pd.concat([p.errors for p in parts], ignore_index=True)
    return results, errors, len(parts)


def assert_streams_as_classified_whole(path: Path, chunk_rows: int) -> int:
    """Streaming classification equals ``classify_table`` on ``read_frame``; the chunk count."""
    results, errors, chunks = stream_results(path, chunk_rows)
    whole_results, whole_errors = classify_table(read_frame(path))
    assert results.values.tolist() == as_text(whole_results).values.tolist()
    assert errors.values.tolist() == whole_errors.values.tolist()
    return chunks


def test_classify_stream_numbers_rejected_rows_across_chunks() -> None:
    _, errors, chunks = stream_results(WITH_ERRORS, chunk_rows=2)
    assert (errors["row"].tolist(), chunks) == ([2, 3, 4], 3)


def test_classify_stream_numbers_ids_across_chunks_without_id(tmp_path: Path) -> None:
    path = tmp_path / "no_id.parquet"
    write_frame(read_frame(EXAMS).drop(columns="id"), path)
    results, _, _ = stream_results(path, chunk_rows=3)
    assert results["id"].tolist() == [str(n) for n in range(1, 11)]


@pytest.mark.parametrize("extension", [".csv", ".parquet", ".jsonl"])
def test_classify_stream_gives_parser_messages_for_every_format(
    tmp_path: Path, extension: str
) -> None:
    """Missing cells are "missing" whether a chunk holds Arrow strings or Python objects."""
    path = tmp_path / f"errors{extension}"
    write_frame(read_frame(WITH_ERRORS), path)
    assert assert_streams_as_classified_whole(path, chunk_rows=3) == 2


def generated_exams(count: int, seed: int) -> pd.DataFrame:
    """Generated exams (NT, flags, non-key muscles), some made invalid in varied ways."""
    exams = generate_exams(count, seed=seed, nt_rate=0.03, star_rate=0.03)
    frame = pd.DataFrame([{"id": f"G{n}"} | exam for n, exam in enumerate(exams)])
    frame = frame.astype(object).where(frame != "", None)
    rng = random.Random(seed)
    bad_values = ["6", "", "  ", " 5", "4 ", "nt", None, "3***", "Yes", "2.0", "C9", "5*"]
    for row in rng.sample(range(count), count // 20):
        frame.iat[row, rng.randrange(1, len(frame.columns))] = rng.choice(bad_values)
    return frame


@pytest.mark.parametrize("extension", [".csv", ".parquet"])
def test_classify_stream_equals_whole_on_generated_exams(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"generated{extension}"
    write_frame(generated_exams(400, seed=11), path)
    assert assert_streams_as_classified_whole(path, chunk_rows=250) == 2


def test_classify_stream_runs_given_engine() -> None:
    seen: list[int] = []

    def counting(chunks: Iterable[pd.DataFrame]) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        for chunk, batch in classify_chunks(chunks):
            seen.append(len(chunk))
            yield chunk, batch

    with open_exams(EXAMS, chunk_rows=4) as exams:
        parts = list(classify_stream(exams, counting))
    assert (seen, sum(len(p.results) for p in parts)) == ([4, 4, 2], 10)


# --- classify_file -----------------------------------------------------------------------------


def test_classify_file_writes_results_errors_and_record(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    run = classify_file(WITH_ERRORS, out, chunk_rows=2)
    assert (run.exams, run.classified, run.rejected, run.chunks) == (5, 2, 3, 3)
    assert read_table(out)["id"].tolist() == ["ERR01", "ERR05"]
    assert read_table(tmp_path / "out.errors.csv")["row"].tolist() == ["2", "3", "4"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.csv",
        "out.errors.csv",
        "out.meta.json",
    ]


def test_classify_file_records_engine_in_sidecar(tmp_path: Path) -> None:
    run = classify_file(EXAMS, tmp_path / "out.jsonl")
    record = json.loads(meta_path(tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert record == {
        "cordtrial_version": __version__,
        "engine_version": ENGINE_VERSION,
        "isncsci_revision": ISNCSCI_REVISION,
        "created": run.created.isoformat(timespec="seconds"),
        "input": str(EXAMS),
        "dialect": "canonical",
        "results": str(tmp_path / "out.jsonl"),
        "errors": str(tmp_path / "out.errors.csv"),
        "exams": 10,
        "classified": 10,
        "rejected": 0,
    }


def test_classify_file_records_engine_in_parquet_metadata(tmp_path: Path) -> None:
    classify_file(EXAMS, tmp_path / "out.parquet")
    metadata = pq.read_schema(tmp_path / "out.parquet").metadata
    assert metadata[b"cordtrial.engine_version"] == ENGINE_VERSION.encode()
    assert metadata[b"cordtrial.isncsci_revision"] == ISNCSCI_REVISION.encode()
    assert set(PARQUET_METADATA_KEYS) <= {k.decode() for k in metadata}


def test_classify_file_writes_one_row_group_per_chunk_parquet(tmp_path: Path) -> None:
    classify_file(EXAMS, tmp_path / "out.parquet", chunk_rows=3)
    assert pq.ParquetFile(tmp_path / "out.parquet").num_row_groups == 4


def test_classify_file_leaves_nothing_when_input_fails_midway(tmp_path: Path) -> None:
    data = "\n".join([csv_header(), *exam_lines(20)]).encode() + b"\nA,5,6\n"
    bad = write_bytes(tmp_path / "bad.csv", data.replace(b"\nX12,", b"\nX12,extra,"))
    with pytest.raises(UnreadableInputError, match="line 13 has 140 cells but the header has 139"):
        classify_file(bad, tmp_path / "out.csv", chunk_rows=4)
    assert [p.name for p in tmp_path.iterdir()] == ["bad.csv"]


def test_classify_file_reads_ahead_in_a_thread_it_stops_on_success_and_on_failure(
    tmp_path: Path,
) -> None:
    """The next chunks are read while the current ones are classified; the reading thread ends
    with the run, also when the input fails midway (its error raised where the chunk was)."""
    names_seen: set[str] = set()

    def note_threads(_: StreamProgress) -> None:
        names_seen.update(t.name for t in threading.enumerate())

    many = write_bytes(tmp_path / "many.csv", "\n".join([csv_header(), *exam_lines(200)]).encode())
    classify_file(many, tmp_path / "o.csv", chunk_rows=4, on_chunk=note_threads)
    assert "cordtrial-read-ahead" in names_seen
    data = "\n".join([csv_header(), *exam_lines(20)]).encode() + b"\nA,5,6\n"
    bad = write_bytes(tmp_path / "bad.csv", data.replace(b"\nX12,", b"\nX12,extra,"))
    in_step: list[int] = []  # the progress reading chunk by chunk in this thread gives
    with open_exams(bad, chunk_rows=4) as exams, pytest.raises(UnreadableInputError):
        for _ in exams:
            in_step.append(exams.progress().exams)
    seen: list[int] = []
    with pytest.raises(UnreadableInputError, match="line 13 has 140 cells"):
        classify_file(
            bad, tmp_path / "o2.csv", chunk_rows=4, on_chunk=lambda p: seen.append(p.exams)
        )
    assert seen == in_step
    assert "cordtrial-read-ahead" not in {t.name for t in threading.enumerate()}


def test_classify_file_keeps_earlier_output_when_failing(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    classify_file(EXAMS, out)
    before = out.read_bytes()
    bad = write_bytes(tmp_path / "bad.csv", csv_header().encode() + b'\n"cut')
    with pytest.raises(UnreadableInputError, match="not valid CSV"):
        classify_file(bad, out)
    assert out.read_bytes() == before


def test_classify_file_reports_progress_per_chunk(tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    classify_file(
        EXAMS, tmp_path / "o.csv", chunk_rows=4, on_chunk=lambda p: seen.append((p.exams, 0))
    )
    assert [exams for exams, _ in seen] == [4, 8, 10]


def test_classify_file_counts_bytes_of_csv(tmp_path: Path) -> None:
    last: list[StreamProgress] = []
    classify_file(EXAMS, tmp_path / "o.csv", on_chunk=last.append)
    size = EXAMS.stat().st_size
    assert last[-1].total_bytes == size
    assert last[-1].bytes_read is not None
    assert 0.9 * size < last[-1].bytes_read <= size  # estimated from the cells handed out


# --- the pipeline: reading, classifying in threads, writing ----------------------------------


def pipeline_threads() -> set[str]:
    """Names of the live threads the stream starts (reading ahead, classifying)."""
    return {
        t.name
        for t in threading.enumerate()
        if t.name == READ_AHEAD_THREAD or t.name.startswith(CLASSIFY_THREADS)
    }


def test_classify_chunks_hands_out_chunks_in_order_when_later_ones_finish_first() -> None:
    """A large first chunk is classified while the small ones after it finish: all come out in
    the order they went in, each with its own results."""
    frame = read_frame(EXAMS)
    big = pd.concat([frame] * 300, ignore_index=True)
    chunks = [big, *(frame.iloc[i : i + 1] for i in range(len(frame)))]
    out = list(classify_chunks(chunks, workers=3))
    assert [chunk is given for (chunk, _), given in zip(out, chunks, strict=True)] == [True] * 11
    assert [batch["id"].tolist() for _, batch in out[1:]] == [[i] for i in frame["id"]]
    assert len(out[0][1]) == 3000


def test_classify_chunks_raises_a_chunks_error_and_ends_its_threads() -> None:
    """A chunk the classifier fails on (here not a frame at all) raises in the caller, where
    that chunk would have come, after the chunks before it; no classifying thread is left."""
    frame = read_frame(EXAMS)
    chunks: list[Any] = [frame, frame, None, frame]
    seen: list[int] = []
    with pytest.raises(TypeError):
        for chunk, _ in classify_chunks(chunks, workers=2):
            seen.append(len(chunk))
    assert seen == [10, 10]
    assert not pipeline_threads()


def test_classify_chunks_refuses_no_workers() -> None:
    with pytest.raises(ValueError, match="workers: 0 is not a number of threads"):
        next(classify_chunks([read_frame(EXAMS)], workers=0))


@pytest.mark.parametrize("workers", [1, 3])
def test_classify_file_numbers_bad_rows_across_chunk_boundaries_in_threads(
    tmp_path: Path, workers: int
) -> None:
    """Parquet to Parquet in chunks of 37 exams classified by several threads: the results and
    the rejected rows (numbered over the whole input) equal ``classify_table`` on the whole file."""
    source = tmp_path / "generated.parquet"
    write_frame(generated_exams(600, seed=23), source)
    out = tmp_path / "out.parquet"
    engine = functools.partial(classify_chunks, workers=workers)
    run = classify_file(source, out, chunk_rows=37, engine=engine)
    whole_results, whole_errors = classify_table(read_frame(source))
    written = read_table(out)
    assert written.values.tolist() == as_text(whole_results).values.tolist()
    errors = read_table(errors_path(out))
    assert errors["row"].tolist() == [str(row) for row in whole_errors["row"]]
    assert errors["reason"].tolist() == whole_errors["reason"].tolist()
    chunks_with_errors = {(int(row) - 1) // 37 for row in errors["row"]}
    assert len(chunks_with_errors) > 5  # rejected rows in many chunks, not only the first
    assert (run.chunks, run.rejected, run.classified) == (17, len(whole_errors), len(written))
    assert not pipeline_threads()


def test_classify_file_ends_its_threads_and_writes_nothing_when_engine_fails(
    tmp_path: Path,
) -> None:
    """An engine failing after some chunks were written: its error reaches the caller, no thread
    of the stream is left behind and no output file either."""
    source = tmp_path / "generated.parquet"
    write_frame(generated_exams(200, seed=3), source)

    def failing(chunks: Iterable[pd.DataFrame]) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        for number, (chunk, batch) in enumerate(classify_chunks(chunks, workers=2)):
            if number == 3:
                raise RuntimeError("the classifier broke")
            yield chunk, batch

    with pytest.raises(RuntimeError, match="the classifier broke"):
        classify_file(source, tmp_path / "out.parquet", chunk_rows=20, engine=failing)
    assert not pipeline_threads()
    assert [p.name for p in tmp_path.iterdir()] == ["generated.parquet"]


def test_classify_file_ends_its_threads_when_input_fails_midway(tmp_path: Path) -> None:
    data = "\n".join([csv_header(), *exam_lines(200)]).encode() + b"\nA,5,6\n"
    bad = write_bytes(tmp_path / "bad.csv", data.replace(b"\nX150,", b"\nX150,extra,"))
    engine = functools.partial(classify_chunks, workers=2)
    with pytest.raises(UnreadableInputError, match="line 151 has 140 cells"):
        classify_file(bad, tmp_path / "out.parquet", chunk_rows=7, engine=engine)
    assert not pipeline_threads()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.csv"]


_WRITE_FAILS = """
import resource, signal, sys, threading
from cordtrial.isncsci.io.formats import FileFormatError
from cordtrial.isncsci.io.streaming import classify_file

source, warm, out = sys.argv[1:]
classify_file(source, warm, chunk_rows=50)  # the compiled code loaded, before the limit
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, resource.RLIM_INFINITY))
try:
    classify_file(source, out, chunk_rows=50)
except FileFormatError as error:
    print("failed:", error)
print("threads:", sorted(t.name for t in threading.enumerate()))
"""


def test_classify_file_stops_and_writes_nothing_when_writing_fails_midway(
    tmp_path: Path,
) -> None:
    """A disk that fills up while results are written (a file-size limit, in a process of its
    own): the run fails naming the results file instead of hanging, its threads end and
    nothing is left under the output's names."""
    source = tmp_path / "exams.parquet"
    exams = pd.DataFrame(generate_exams(2_000, seed=9))
    write_frame(exams.astype(object).where(exams != "", None), source)
    out = tmp_path / "out.parquet"
    done = subprocess.run(
        [sys.executable, "-c", _WRITE_FAILS, str(source), str(tmp_path / "warm.csv"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"failed: {tmp_path / 'out.parquet'}" in done.stdout
    assert "File too large" in done.stdout
    assert "threads: ['MainThread']" in done.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("out.", ".out."))]


# --- engine stamps -----------------------------------------------------------------------------


def test_engine_stamp_reads_sidecar(tmp_path: Path) -> None:
    classify_file(EXAMS, tmp_path / "out.csv")
    stamp = engine_stamp(tmp_path / "out.csv")
    assert stamp is not None
    assert (stamp.engine_version, stamp.isncsci_revision) == (ENGINE_VERSION, ISNCSCI_REVISION)


def test_engine_stamp_reads_parquet_metadata_without_sidecar(tmp_path: Path) -> None:
    classify_file(EXAMS, tmp_path / "out.parquet")
    meta_path(tmp_path / "out.parquet").unlink()
    stamp = engine_stamp(tmp_path / "out.parquet")
    assert stamp is not None
    assert str(stamp) == f"engine {ENGINE_VERSION}, ISNCSCI {ISNCSCI_REVISION}"


def test_engine_stamp_is_none_when_not_recorded(tmp_path: Path) -> None:
    classify_file(EXAMS, tmp_path / "out.csv")
    meta_path(tmp_path / "out.csv").unlink()
    assert engine_stamp(tmp_path / "out.csv") is None


@pytest.mark.parametrize(
    ("output", "expected"),
    [("out.csv", "out.meta.json"), ("run/results.parquet", "run/results.meta.json")],
)
def test_meta_path_sits_beside_output(output: str, expected: str) -> None:
    assert meta_path(output) == Path(expected)
