"""The ``cordtrial`` command: in-process with Typer's runner, and as the installed script."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cordtrial import __version__
from cordtrial.cli import app
from cordtrial.isncsci import ENGINE_VERSION, ISNCSCI_REVISION, RESULT_FIELDS
from cordtrial.isncsci.io.formats import ERROR_FIELDS, errors_path, read_frame, write_frame
from cordtrial.isncsci.io.streaming import classify_table
from strategies import generate_exams

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMS = str(EXAMPLES / "exams.csv")
WITH_ERRORS = str(EXAMPLES / "exams_with_errors.csv")
PRAXIS = str(EXAMPLES / "praxis_cases.csv")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def header(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()[0].split(",")


# --- help and version ---


def test_help_lists_isncsci_commands(runner: CliRunner) -> None:
    top = runner.invoke(app, ["--help"])
    sub = runner.invoke(app, ["isncsci", "--help"])
    assert (top.exit_code, sub.exit_code) == (0, 0)
    assert "isncsci" in top.stdout
    assert "classify" in sub.stdout
    assert "explain" in sub.stdout
    assert "diff" in sub.stdout


def test_version_names_package_and_revision(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"cordtrial {__version__} (ISNCSCI 2019")


# --- classify ---


def test_classify_writes_result_record_columns_csv(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["isncsci", "classify", EXAMS, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert header(out) == list(RESULT_FIELDS)
    assert [row["id"] for row in read_csv(out)] == [f"EX{n:02}" for n in range(1, 11)]


@pytest.mark.parametrize("extension", [".json", ".jsonl", ".parquet"])
def test_classify_writes_format_of_output_extension(
    runner: CliRunner, tmp_path: Path, extension: str
) -> None:
    out = tmp_path / f"out{extension}"
    result = runner.invoke(app, ["isncsci", "classify", EXAMS, "-o", str(out)])
    assert result.exit_code == 0, result.output
    if extension == ".parquet":
        back = pd.read_parquet(out)
    else:
        back = pd.read_json(out, dtype=str, lines=extension == ".jsonl")
    assert tuple(back.columns) == RESULT_FIELDS
    assert len(back) == 10


def test_classify_gives_grades_of_examples(runner: CliRunner, tmp_path: Path) -> None:
    """The grades the examples were built for; the reference isncsci 2.0.6 agrees."""
    out = tmp_path / "out.csv"
    runner.invoke(app, ["isncsci", "classify", EXAMS, "-o", str(out)])
    grades = [row["ais"] for row in read_csv(out)]
    assert grades == ["A", "B", "C", "D", "E", "A", "A,C", "D", "C", "B"]


def test_classify_neutralizes_formula_cells_in_results_and_errors_csv(
    runner: CliRunner, tmp_path: Path
) -> None:
    """OWASP CSV injection: text cells starting with = + - @ tab or CR are written with a leading
    ' in the results and in OUTPUT.errors.csv; numbers (-3) stay numbers."""
    exams = read_frame(EXAMS).head(6).copy()
    ids = ["=HYPERLINK(1)", "+A1", "-3", "@SUM(A1)", "\tx", "\rx"]
    exams["id"] = ids
    exams.loc[5, "r_c5_motor"] = "=1+1"  # a rejected row: its value is quoted in the error
    source = tmp_path / "exams.csv"
    write_frame(exams, source)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["isncsci", "classify", str(source), "-o", str(out)])
    assert result.exit_code == 1, result.output
    written = [row["id"] for row in read_csv(out)]
    assert written == ["'=HYPERLINK(1)", "'+A1", "-3", "'@SUM(A1)", "'\tx"]  # the 6th rejected
    errors = read_csv(errors_path(out))
    assert len(errors) == 1
    assert errors[0]["id"] == "'\rx"
    assert all(not value.startswith(("=", "+", "@", "\t", "\r")) for value in errors[0].values())


def test_classify_prints_summary(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["isncsci", "classify", EXAMS, "-o", str(tmp_path / "out.csv")])
    assert "10 exams: 10 classified, 0 rejected. AIS: A=2 B=2 C=2 D=2 E=1 A,C=1" in result.stderr


def test_classify_writes_header_only_errors_file_when_all_valid(
    runner: CliRunner, tmp_path: Path
) -> None:
    runner.invoke(app, ["isncsci", "classify", EXAMS, "-o", str(tmp_path / "out.csv")])
    errors = tmp_path / "out.errors.csv"
    assert errors.read_text(encoding="utf-8").splitlines() == [",".join(ERROR_FIELDS)]


def test_classify_exits_1_when_rows_rejected(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["isncsci", "classify", WITH_ERRORS, "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    assert "5 exams: 2 classified, 3 rejected" in result.stderr


def test_classify_writes_rejected_rows_to_errors_file(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(app, ["isncsci", "classify", WITH_ERRORS, "-o", str(tmp_path / "out.parquet")])
    rows = read_csv(tmp_path / "out.errors.csv")
    assert [(r["row"], r["id"], r["field"], r["value"]) for r in rows] == [
        ("2", "ERR02", "r_c6_motor", "6"),
        ("3", "ERR03", "l_t4_pp", ""),
        ("4", "ERR04", "vac", "maybe"),
    ]
    assert [r["label"] for r in rows] == [
        "Right C6 motor",
        "Left T4 pin prick",
        "Voluntary anal contraction (VAC)",
    ]
    assert rows[0]["reason"].startswith("Right C6 motor: 6 is not a motor grade (0-5 or NT")


def test_classify_keeps_valid_rows_beside_rejected(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    runner.invoke(app, ["isncsci", "classify", WITH_ERRORS, "-o", str(out)])
    assert [row["id"] for row in read_csv(out)] == ["ERR01", "ERR05"]


def test_classify_prints_table_without_output(runner: CliRunner) -> None:
    result = runner.invoke(app, ["isncsci", "classify", EXAMS])
    assert result.exit_code == 0
    assert "ISNCSCI classification" in result.stdout
    assert all(f"EX{n:02}" in result.stdout for n in range(1, 11))


def test_classify_prints_rejected_rows_to_stderr_without_output(runner: CliRunner) -> None:
    result = runner.invoke(app, ["isncsci", "classify", WITH_ERRORS])
    assert result.exit_code == 1
    assert "Rejected exams" in result.stderr
    assert "r_c6_motor" in result.stderr
    assert "ERR02" not in result.stdout


def test_classify_prints_ids_literally_not_as_markup(runner: CliRunner, tmp_path: Path) -> None:
    frame = read_frame(EXAMS).head(1)
    frame["id"] = "[bold]P1[/bold]"
    path = tmp_path / "markup.csv"
    write_frame(frame, path)
    result = runner.invoke(app, ["isncsci", "classify", str(path)])
    assert "[bold]P1[/bold]" in result.stdout


def test_classify_reads_praxis_dialect(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["isncsci", "classify", PRAXIS, "--dialect", "praxis", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert [(r["id"], r["ais"]) for r in read_csv(out)] == [
        ("PX01", "A"),
        ("PX02", "D"),
        ("PX03", "C"),
    ]


def test_classify_reads_nested_json(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["isncsci", "classify", str(EXAMPLES / "exam.json"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert [(r["id"], r["ais"], r["nli"]) for r in read_csv(out)] == [("EX03", "C", "C7")]


def test_classify_shows_progress_on_long_terminal_input(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cordtrial.cli.PROGRESS_THRESHOLD", 3)
    monkeypatch.setenv("FORCE_COLOR", "1")  # Rich then treats the captured stderr as a terminal
    result = runner.invoke(app, ["isncsci", "classify", EXAMS, "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 0
    assert "classifying" in result.stderr


def test_classify_hides_progress_on_short_input(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    result = runner.invoke(app, ["isncsci", "classify", EXAMS, "-o", str(tmp_path / "out.csv")])
    assert "classifying" not in result.stderr


def test_classify_progress_shows_exams_per_second(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cordtrial.cli.PROGRESS_THRESHOLD", 3)
    monkeypatch.setenv("FORCE_COLOR", "1")
    path = tmp_path / "exams.parquet"
    write_frame(read_frame(EXAMS), path)
    result = runner.invoke(app, ["isncsci", "classify", str(path), "-o", str(tmp_path / "o.csv")])
    assert "exams/s" in result.stderr
    assert "10 exams" in result.stderr


# --- streaming, chunks, run record ---


def test_classify_writes_run_record_beside_output(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["isncsci", "classify", WITH_ERRORS, "-o", str(out)])
    record = json.loads((tmp_path / "out.meta.json").read_text(encoding="utf-8"))
    assert (record["engine_version"], record["isncsci_revision"]) == (ENGINE_VERSION, "2019")
    assert (record["exams"], record["classified"], record["rejected"]) == (5, 2, 3)
    assert record["input"] == WITH_ERRORS
    assert f"run record: {tmp_path / 'out.meta.json'}" in result.stderr


def test_classify_keeps_result_columns_with_engine_in_parquet_metadata(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "out.parquet"
    runner.invoke(app, ["isncsci", "classify", EXAMS, "-o", str(out)])
    schema = pq.read_schema(out)
    assert tuple(schema.names) == RESULT_FIELDS
    assert schema.metadata[b"cordtrial.engine_version"] == ENGINE_VERSION.encode()
    assert schema.metadata[b"cordtrial.isncsci_revision"] == ISNCSCI_REVISION.encode()


@pytest.mark.parametrize("extension", [".csv", ".json"])
def test_classify_writes_same_files_in_any_chunk_size(
    runner: CliRunner, tmp_path: Path, extension: str
) -> None:
    whole, chunked = tmp_path / f"whole{extension}", tmp_path / f"chunked{extension}"
    runner.invoke(app, ["isncsci", "classify", WITH_ERRORS, "-o", str(whole)])
    result = runner.invoke(
        app, ["isncsci", "classify", WITH_ERRORS, "-o", str(chunked), "--chunk-rows", "2"]
    )
    assert result.exit_code == 1
    assert chunked.read_bytes() == whole.read_bytes()
    errors = (tmp_path / "chunked.errors.csv").read_bytes()
    assert errors == (tmp_path / "whole.errors.csv").read_bytes()


def test_classify_streams_large_parquet_as_classified_whole(
    runner: CliRunner, tmp_path: Path
) -> None:
    """100,000 exams in chunks of 20,000 (across row groups of 30,000) give the results of their
    1,000 distinct exams classified whole (repeated, ids and rows numbered on), one Parquet row
    group per chunk: memory holds a chunk, not the file."""
    distinct = pd.DataFrame(generate_exams(999, seed=5, nt_rate=0.03, star_rate=0.03))
    distinct = distinct.astype(object).where(distinct != "", None)
    invalid = read_frame(WITH_ERRORS).iloc[[3]][list(distinct.columns)]
    distinct = pd.concat([distinct.iloc[:700], invalid, distinct.iloc[700:]], ignore_index=True)
    repeats = 100
    source = tmp_path / "registry.parquet"
    table = pa.Table.from_pandas(distinct, preserve_index=False)
    table = table.take(np.tile(np.arange(len(distinct)), repeats))
    pq.write_table(table, source, row_group_size=30_000, compression="none")
    out = tmp_path / "results.parquet"

    result = runner.invoke(
        app, ["isncsci", "classify", str(source), "-o", str(out), "--chunk-rows", "20000"]
    )

    assert result.exit_code == 1, result.output
    assert "100000 exams: 99900 classified, 100 rejected" in result.stderr
    assert pq.ParquetFile(out).num_row_groups == 5
    expected, expected_errors = classify_table(distinct)
    written = pq.read_table(out).to_pandas().to_numpy(dtype=object)
    valid = np.flatnonzero(~np.isin(np.arange(len(distinct)), expected_errors["row"] - 1))
    offsets = np.repeat(np.arange(repeats) * len(distinct), len(valid))
    assert written[:, 0].tolist() == (np.tile(valid + 1, repeats) + offsets).astype(str).tolist()
    assert (
        written[:, 1:] == np.tile(expected.astype(object).to_numpy()[:, 1:], (repeats, 1))
    ).all()
    errors = pd.read_csv(tmp_path / "results.errors.csv", dtype=str, keep_default_na=False)
    starts = np.repeat(np.arange(repeats) * len(distinct), len(expected_errors))
    rows = starts + np.tile(expected_errors["row"], repeats)
    assert errors["row"].astype(int).tolist() == rows.tolist()
    assert errors["reason"].tolist() == expected_errors["reason"].tolist() * repeats


def test_classify_writes_same_files_with_any_number_of_threads(
    runner: CliRunner, tmp_path: Path
) -> None:
    one, three = tmp_path / "one.parquet", tmp_path / "three.parquet"
    for out, threads in ((one, "1"), (three, "3")):
        options = ["-o", str(out), "--chunk-rows", "2", "--threads", threads]
        result = runner.invoke(app, ["isncsci", "classify", WITH_ERRORS, *options])
        assert result.exit_code == 1, result.output
    assert pq.read_table(one).equals(pq.read_table(three))
    errors = (tmp_path / "three.errors.csv").read_bytes()
    assert errors == (tmp_path / "one.errors.csv").read_bytes()


# --- unusable input: exit 2 ---


def test_classify_exits_2_for_chunk_rows_below_one(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["isncsci", "classify", EXAMS, "--chunk-rows", "0"])
    assert result.exit_code == 2


def test_classify_exits_2_and_writes_nothing_when_input_breaks_midway(
    runner: CliRunner, tmp_path: Path
) -> None:
    lines = Path(EXAMS).read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join([*lines, *lines[1:], lines[1] + ",extra"]), encoding="utf-8")
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["isncsci", "classify", str(broken), "-o", str(out), "--chunk-rows", "3"]
    )
    assert result.exit_code == 2
    assert "line 22 has 140 cells but the header has 139" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.csv"]


def test_classify_exits_2_for_threads_below_one(runner: CliRunner) -> None:
    result = runner.invoke(app, ["isncsci", "classify", EXAMS, "--threads", "0"])
    assert result.exit_code == 2


def test_classify_exits_2_for_threads_with_dask_engine(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["isncsci", "classify", EXAMS, "--engine", "dask", "--threads", "2"]
    )
    assert result.exit_code == 2
    assert "--threads needs --engine local" in result.stderr


def test_classify_exits_2_for_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["isncsci", "classify", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("nope.csv: file not found")
    assert len(result.stderr.strip().splitlines()) == 1


def test_classify_exits_2_for_unreadable_format(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('[{"id": "A", "r_c5_motor": "5"', encoding="utf-8")
    result = runner.invoke(app, ["isncsci", "classify", str(path)])
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr


def test_classify_exits_2_for_unknown_input_extension(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "exams.xlsx"
    path.write_bytes(b"PK")
    result = runner.invoke(app, ["isncsci", "classify", str(path)])
    assert result.exit_code == 2
    assert "unknown file extension '.xlsx'" in result.stderr


def test_classify_exits_2_for_unknown_output_extension(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["isncsci", "classify", EXAMS, "-o", str(tmp_path / "out.txt")])
    assert result.exit_code == 2
    assert "unknown file extension '.txt'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_classify_exits_2_for_missing_output_folder(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "out.csv"
    result = runner.invoke(app, ["isncsci", "classify", EXAMS, "-o", str(out)])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_classify_exits_2_rather_than_overwrite_input(runner: CliRunner, tmp_path: Path) -> None:
    exams = tmp_path / "exams.csv"
    exams.write_bytes(Path(EXAMS).read_bytes())
    result = runner.invoke(app, ["isncsci", "classify", str(exams), "-o", str(exams)])
    assert result.exit_code == 2
    assert "would overwrite the input" in result.stderr
    assert exams.read_bytes() == Path(EXAMS).read_bytes()


def test_classify_exits_2_when_output_is_a_folder(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "out.csv").mkdir()
    result = runner.invoke(app, ["isncsci", "classify", EXAMS, "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2
    assert "cannot write" in result.stderr
    assert "Traceback" not in result.output


def test_classify_exits_2_for_wrong_forced_dialect(runner: CliRunner) -> None:
    result = runner.invoke(app, ["isncsci", "classify", PRAXIS, "--dialect", "canonical"])
    assert result.exit_code == 2
    assert "no canonical exam columns found" in result.stderr


def test_classify_exits_2_for_unknown_dialect(runner: CliRunner) -> None:
    result = runner.invoke(app, ["isncsci", "classify", EXAMS, "--dialect", "excel"])
    assert result.exit_code == 2


def test_classify_exits_2_when_errors_file_is_a_folder(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "out.errors.csv").mkdir()
    result = runner.invoke(app, ["isncsci", "classify", EXAMS, "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2
    assert "out.errors.csv: is a directory" in result.stderr
    assert not (tmp_path / "out.csv").exists()


# --- diff ---


def classified(runner: CliRunner, source: Path | str, out: Path) -> Path:
    result = runner.invoke(app, ["isncsci", "classify", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def corrected_exams(tmp_path: Path) -> Path:
    """The example exams after a correction: EX07's VAC recorded as No instead of NT."""
    frame = read_frame(EXAMS)
    frame.loc[frame["id"] == "EX07", "vac"] = "No"
    path = tmp_path / "corrected.csv"
    write_frame(frame, path)
    return path


def test_diff_exits_0_for_same_results(runner: CliRunner, tmp_path: Path) -> None:
    old = classified(runner, EXAMS, tmp_path / "old.csv")
    new = classified(runner, EXAMS, tmp_path / "new.parquet")
    result = runner.invoke(app, ["isncsci", "diff", str(old), str(new)])
    assert result.exit_code == 0, result.output
    assert (
        "10 exams in both: 0 changed, 10 unchanged; 0 only in old, 0 only in new" in result.stderr
    )
    assert result.stdout == ""


def test_diff_exits_1_and_prints_changed_fields(runner: CliRunner, tmp_path: Path) -> None:
    old = classified(runner, EXAMS, tmp_path / "old.csv")
    new = classified(runner, corrected_exams(tmp_path), tmp_path / "new.jsonl")
    result = runner.invoke(app, ["isncsci", "diff", str(old), str(new)])
    assert result.exit_code == 1
    assert "Changed results" in result.stdout
    assert any(
        line.split() == ["EX07", "changed", "ais", "A,C", "A"]
        for line in result.stdout.splitlines()
    )
    assert "1 changed, 9 unchanged" in result.stderr
    assert "Changed fields: ais=1 complete=1 zpp_motor_right=1 zpp_motor_left=1" in result.stderr


def test_diff_writes_differences_file(runner: CliRunner, tmp_path: Path) -> None:
    old = classified(runner, EXAMS, tmp_path / "old.csv")
    new = classified(runner, corrected_exams(tmp_path), tmp_path / "new.csv")
    out = tmp_path / "diff.csv"
    result = runner.invoke(app, ["isncsci", "diff", str(old), str(new), "-o", str(out)])
    assert result.exit_code == 1
    assert [(r["id"], r["change"], r["field"], r["old"], r["new"]) for r in read_csv(out)] == [
        ("EX07", "changed", "ais", "A,C", "A"),
        ("EX07", "changed", "complete", "C,I", "C"),
        ("EX07", "changed", "zpp_motor_right", "NA,C7", "C7"),
        ("EX07", "changed", "zpp_motor_left", "NA,C7", "C7"),
    ]
    assert f"differences: {out}" in result.stderr


def test_diff_lists_exams_in_one_run_only(runner: CliRunner, tmp_path: Path) -> None:
    old = classified(runner, EXAMS, tmp_path / "old.csv")
    new = tmp_path / "new.csv"
    rows = read_csv(old)
    with open(new, "w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(RESULT_FIELDS))
        writer.writeheader()
        writer.writerows([*rows[1:], {**rows[0], "id": "EX99"}])
    result = runner.invoke(app, ["isncsci", "diff", str(old), str(new)])
    assert result.exit_code == 1
    assert "9 exams in both: 0 changed, 9 unchanged; 1 only in old, 1 only in new" in result.stderr
    assert any(line.split() == ["EX01", "old_only"] for line in result.stdout.splitlines())


def test_diff_prints_engine_of_each_run(runner: CliRunner, tmp_path: Path) -> None:
    old = classified(runner, EXAMS, tmp_path / "old.csv")
    new = classified(runner, EXAMS, tmp_path / "new.csv")
    (tmp_path / "new.meta.json").unlink()
    result = runner.invoke(app, ["isncsci", "diff", str(old), str(new)])
    assert f"old: {old} (engine {ENGINE_VERSION}, ISNCSCI {ISNCSCI_REVISION})" in result.stderr
    assert f"new: {new} (engine not recorded)" in result.stderr


def test_diff_exits_2_naming_duplicate_ids(runner: CliRunner, tmp_path: Path) -> None:
    old = classified(runner, EXAMS, tmp_path / "old.csv")
    text = old.read_text(encoding="utf-8").replace("EX02,", "EX01,")
    dup = tmp_path / "dup.csv"
    dup.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["isncsci", "diff", str(old), str(dup)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"cordtrial: error: cannot read {dup}: duplicate ids: 'EX01' (rows 1, 2)"
    )


def test_diff_exits_2_for_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["isncsci", "diff", EXAMS, str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_diff_exits_2_rather_than_overwrite_input(runner: CliRunner, tmp_path: Path) -> None:
    old = classified(runner, EXAMS, tmp_path / "old.csv")
    before = old.read_bytes()
    result = runner.invoke(app, ["isncsci", "diff", str(old), str(old), "-o", str(old)])
    assert result.exit_code == 2
    assert old.read_bytes() == before


# --- explain ---


def test_explain_prints_reasons_for_id(runner: CliRunner) -> None:
    result = runner.invoke(app, ["isncsci", "explain", EXAMS, "--id", "EX09"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Exam EX09 (row 9 of ")
    assert "AIS C" in result.stdout
    assert "non-key muscle" in result.stdout


def test_explain_gives_one_reason_per_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["isncsci", "explain", EXAMS, "--id", "EX01"])
    lines = result.stdout.splitlines()
    assert any(line.startswith("AIS A") for line in lines)
    assert any(line.startswith("NLI C5") for line in lines)


def test_explain_exits_2_for_unknown_id(runner: CliRunner) -> None:
    result = runner.invoke(app, ["isncsci", "explain", EXAMS, "--id", "EX99"])
    assert result.exit_code == 2
    assert "no exam with id 'EX99'" in result.stderr


def test_explain_exits_1_for_invalid_exam(runner: CliRunner) -> None:
    result = runner.invoke(app, ["isncsci", "explain", WITH_ERRORS, "--id", "ERR04"])
    assert result.exit_code == 1
    assert (
        "exam ERR04 (row 4) is invalid: Voluntary anal contraction (VAC): maybe is not"
        in result.stderr
    )


def test_explain_finds_row_number_without_id_column(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "no_id.csv"
    write_frame(read_frame(EXAMS).drop(columns="id"), path)
    result = runner.invoke(app, ["isncsci", "explain", str(path), "--id", "5"])
    assert result.exit_code == 0, result.output
    assert "AIS E" in result.stdout


def test_explain_exits_2_for_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["isncsci", "explain", str(tmp_path / "nope.csv"), "--id", "1"])
    assert result.exit_code == 2
    assert "file not found" in result.stderr


# --- the installed script ---


def cordtrial_script() -> str:
    """The console script installed beside the running interpreter (``pip install -e .``)."""
    script = Path(sys.executable).parent / "cordtrial"
    if not script.exists():
        pytest.fail(f"the cordtrial script is not installed beside {sys.executable}")
    return str(script)


def test_script_classifies_with_rejected_rows(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    done = subprocess.run(
        [cordtrial_script(), "isncsci", "classify", WITH_ERRORS, "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert header(out) == list(RESULT_FIELDS)
    assert [r["field"] for r in read_csv(tmp_path / "out.errors.csv")] == [
        "r_c6_motor",
        "l_t4_pp",
        "vac",
    ]
    assert "5 exams: 2 classified, 3 rejected" in done.stderr


def test_script_diffs_two_runs(runner: CliRunner, tmp_path: Path) -> None:
    old = classified(runner, EXAMS, tmp_path / "old.parquet")
    new = classified(runner, corrected_exams(tmp_path), tmp_path / "new.csv")
    done = subprocess.run(
        [
            cordtrial_script(),
            "isncsci",
            "diff",
            str(old),
            str(new),
            "-o",
            str(tmp_path / "d.jsonl"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    changes = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert [c["field"] for c in changes] == ["ais", "complete", "zpp_motor_right", "zpp_motor_left"]


def test_script_exits_2_without_traceback_for_missing_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [cordtrial_script(), "isncsci", "classify", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"cordtrial: error: cannot read {tmp_path}/nope.csv: file not found"
    ]
    assert done.stdout == ""
