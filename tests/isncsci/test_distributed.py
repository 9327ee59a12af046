"""``classify_dask`` / ``classify_parquet`` on a real ``distributed.LocalCluster``.

Two worker processes (one thread each) classify a partitioned Parquet dataset written from
generated exams (NT, ``*``, ``**``, non-key muscles, and invalid rows); the results must equal
``classify_frame`` on the whole frame, and the one-exam ``classify`` on a sample.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cordtrial.cli import app
from cordtrial.isncsci import InvalidExamError, classify
from cordtrial.isncsci.batch import BATCH_FIELDS, classify_frame
from cordtrial.isncsci.exam import Exam
from cordtrial.isncsci.io.formats import canonical_to_praxis, errors_path
from strategies import generate_exams

dd = pytest.importorskip("dask.dataframe", reason="the optional dask extra is not installed")
distributed = pytest.importorskip("distributed")

from cordtrial.isncsci.io.distributed import (  # noqa: E402 - only once Dask is known present
    RESULT_DTYPE,
    classify_dask,
    classify_parquet,
    client_for,
    dask_engine,
)

#: Rows per file of the dataset: unequal partitions, 3,000 exams in all.
PARTITION_ROWS = (700, 900, 600, 800)
#: (row, column, value) made invalid: each row must come back flagged, in place.
INVALID_CELLS = (
    (5, "r_c5_motor", "6"),
    (701, "l_t3_lt", None),
    (1200, "vac", "maybe"),
    (1650, "r_nkm", "S2"),
    (2222, "l_s1_motor", "5*"),
    (2999, "r_c2_pp", ""),
)
SAMPLE_ROWS = 150


def _exams() -> pd.DataFrame:
    exams = (
        generate_exams(1500, 71)
        + generate_exams(900, 72, nt_rate=0.05)
        + generate_exams(600, 73, star_rate=0.08, nkm_rate=0.8, random_rate=0.2)
    )
    frame = pd.DataFrame(exams, dtype=object)
    for row, column, value in INVALID_CELLS:
        frame.loc[row, column] = value
    frame.insert(0, "id", [f"X{i:05d}" for i in range(len(frame))])
    frame["participant"] = [f"P{i // 4:04d}" for i in range(len(frame))]
    return frame


def _write_dataset(frame: pd.DataFrame, folder: Path) -> Path:
    folder.mkdir()
    start = 0
    for number, rows in enumerate(PARTITION_ROWS):
        part = frame.iloc[start : start + rows]
        table = pa.Table.from_pandas(part, preserve_index=False).cast(
            pa.schema([(name, pa.string()) for name in part.columns])
        )
        pq.write_table(table, folder / f"part-{number:02d}.parquet")
        start += rows
    assert start == len(frame)
    return folder


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    """A result frame with every column as strings and a default index, for comparison."""
    return frame.astype(RESULT_DTYPE).reset_index(drop=True)


@pytest.fixture(scope="module")
def exams() -> pd.DataFrame:
    return _exams()


@pytest.fixture(scope="module")
def dataset(exams: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_dataset(exams, tmp_path_factory.mktemp("registry") / "exams")


@pytest.fixture(scope="module")
def expected(exams: pd.DataFrame) -> pd.DataFrame:
    """classify_frame on the whole frame, with the string dtype that Dask reads from Parquet:
    the local path the cluster must equal."""
    return _text(classify_frame(exams.astype(RESULT_DTYPE)))


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    """Two worker processes with one thread each; closed (with its cluster) after the module."""
    with client_for(None, n_workers=2, threads_per_worker=1, dashboard_address=":0") as client:
        client.wait_for_workers(2, timeout=60)
        yield client
    assert client.status == "closed"
    assert client.cluster is not None and client.cluster.status.name == "closed"


@pytest.fixture(scope="module")
def computed(client: distributed.Client, dataset: Path) -> pd.DataFrame:
    """classify_dask over the dataset, computed on the cluster."""
    result = classify_dask(dd.read_parquet(dataset))
    assert result.npartitions == len(PARTITION_ROWS)
    return result.compute().reset_index(drop=True)


def test_classify_parquet_on_local_cluster_equals_classify_frame(
    client: distributed.Client, dataset: Path, expected: pd.DataFrame, tmp_path: Path
) -> None:
    run = classify_parquet(dataset, tmp_path / "results")
    assert (run.exams, run.rejected, run.partitions) == (3000, len(INVALID_CELLS), 4)
    written = pd.read_parquet(tmp_path / "results")
    assert list(written.columns) == list(BATCH_FIELDS)
    pd.testing.assert_frame_equal(_text(written), expected)


def test_classify_dask_equals_classify_frame_row_for_row(
    computed: pd.DataFrame, exams: pd.DataFrame, expected: pd.DataFrame
) -> None:
    assert list(computed["id"]) == list(exams["id"])
    pd.testing.assert_frame_equal(_text(computed), expected)


def test_classify_dask_declares_its_schema_as_strings(
    client: distributed.Client, dataset: Path
) -> None:
    result = classify_dask(dd.read_parquet(dataset))
    assert list(result.columns) == list(BATCH_FIELDS)
    assert set(result.dtypes) == {RESULT_DTYPE}
    first = result.partitions[0].compute()
    assert dict(first.dtypes) == dict(result.dtypes)


def test_classify_dask_equals_one_exam_engine_on_sample(
    computed: pd.DataFrame, exams: pd.DataFrame
) -> None:
    invalid = {row for row, _, _ in INVALID_CELLS}
    sample = [r for r in range(0, len(exams), len(exams) // SAMPLE_ROWS) if r not in invalid]
    for row in sample:
        flat = {str(k): v for k, v in exams.iloc[row].items()}
        record = classify(Exam.from_flat(flat)).to_record()
        got = computed.iloc[row]
        assert {k: got[k] for k in record} == dict(record), f"row {row}"
        assert (got["error_field"], got["error"]) == ("", "")


def test_invalid_rows_come_back_flagged_in_place(
    computed: pd.DataFrame, exams: pd.DataFrame
) -> None:
    assert len(computed) == len(exams)
    for row, column, _value in INVALID_CELLS:
        flat = {str(k): v for k, v in exams.iloc[row].items()}
        with pytest.raises(InvalidExamError) as raised:
            Exam.from_flat(flat)
        got = computed.iloc[row]
        assert (got["id"], got["error_field"]) == (exams["id"].iloc[row], column)
        assert got["error"] == str(raised.value)
        assert (got[list(BATCH_FIELDS[1:-2])] == "").all()
    assert (computed["error"] != "").sum() == len(INVALID_CELLS)


def test_classify_dask_numbers_exams_without_id_across_partitions(
    client: distributed.Client, exams: pd.DataFrame, tmp_path: Path
) -> None:
    """Without an id column, ids are positions in the whole frame, as classify_frame gives."""
    anonymous = exams.drop(columns=["id"])
    folder = _write_dataset(anonymous, tmp_path / "anonymous")
    computed = classify_dask(dd.read_parquet(folder)).compute()
    assert list(computed["id"]) == [str(i) for i in range(1, len(exams) + 1)]
    local = classify_frame(anonymous.astype(RESULT_DTYPE))
    pd.testing.assert_frame_equal(_text(computed), _text(local))


def test_classify_parquet_reads_praxis_columns(
    client: distributed.Client, exams: pd.DataFrame, expected: pd.DataFrame, tmp_path: Path
) -> None:
    praxis = exams.rename(columns=canonical_to_praxis)
    folder = _write_dataset(praxis, tmp_path / "praxis")
    run = classify_parquet(folder, tmp_path / "results")
    assert run.exams == len(exams)
    pd.testing.assert_frame_equal(_text(pd.read_parquet(tmp_path / "results")), expected)


def test_classify_parquet_refuses_a_dataset_without_exam_columns(
    client: distributed.Client, tmp_path: Path
) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    pq.write_table(pa.table({"id": ["a"], "weight": ["70"]}), folder / "part.parquet")
    with pytest.raises(ValueError, match="no exam columns found"):
        classify_parquet(folder, tmp_path / "results")


def test_client_for_address_uses_the_running_cluster_and_leaves_it_running(
    client: distributed.Client, dataset: Path, expected: pd.DataFrame
) -> None:
    address = client.scheduler.address
    with client_for(address) as second:
        assert second.scheduler.address == address
        assert len(second.scheduler_info()["workers"]) == 2
        computed = classify_dask(dd.read_parquet(dataset)).compute(scheduler=second)
    assert client.status == "running"
    pd.testing.assert_frame_equal(_text(computed), expected)


def test_importing_the_engine_and_batch_does_not_import_dask() -> None:
    """Dask stays optional: only cordtrial.isncsci.io.distributed imports it."""
    code = (
        "import sys, cordtrial.isncsci, cordtrial.isncsci.batch, cordtrial.isncsci.io.formats;"
        "print(sorted(k for k in ('dask', 'distributed') if k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_classify_dask_runs_without_a_cluster(exams: pd.DataFrame) -> None:
    """Dask's default local scheduler works too (no distributed client needed)."""
    part = exams.iloc[:500].astype(RESULT_DTYPE)
    computed = classify_dask(dd.from_pandas(part, npartitions=3)).compute(scheduler="threads")
    pd.testing.assert_frame_equal(computed, classify_frame(part).astype(RESULT_DTYPE))


def test_dask_engine_classifies_a_stream_of_chunks_in_order(
    client: distributed.Client, exams: pd.DataFrame
) -> None:
    """The streaming CLI's hook: chunks read here, classified on the cluster, yielded in order."""
    chunks = [exams.iloc[i : i + 250] for i in range(0, 2000, 250)]
    engine = dask_engine(client, in_flight=3)
    pairs = list(engine(iter(chunks)))
    assert [chunk.index[0] for chunk, _ in pairs] == [chunk.index[0] for chunk in chunks]
    for chunk, batch in pairs:
        assert batch.index.equals(chunk.index)
        expected = classify_frame(chunk)
        pd.testing.assert_frame_equal(batch.astype(object), expected.astype(object))


def test_dask_engine_cancels_what_is_in_flight_when_the_reader_stops(
    client: distributed.Client, exams: pd.DataFrame
) -> None:
    chunks = [exams.iloc[i : i + 100] for i in range(0, 1000, 100)]
    stream = dask_engine(client, in_flight=4)(iter(chunks))
    first_chunk, _ = next(stream)
    assert first_chunk.index[0] == 0
    stream.close()
    deadline = time.monotonic() + 10
    while client.futures and time.monotonic() < deadline:  # releases travel asynchronously
        time.sleep(0.05)
    assert not client.futures


def _malloc_trim_threshold() -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_local_cluster_workers_keep_glibcs_malloc_thresholds(client: distributed.Client) -> None:
    """Dask's default MALLOC_TRIM_THRESHOLD_ slows classify_frame down ~1.7x (docs/scaling.md)."""
    assert set(client.run(_malloc_trim_threshold).values()) == {None}


def test_cli_engine_dask_on_a_running_cluster_writes_what_the_local_engine_writes(
    client: distributed.Client, exams: pd.DataFrame, tmp_path: Path
) -> None:
    """``cordtrial isncsci classify --engine dask --scheduler ADDRESS``: same files as local."""
    source = tmp_path / "exams.csv"
    exams.iloc[:1500].to_csv(source, index=False)
    runner = CliRunner()
    outputs = {}
    for name, options in (
        ("local", []),
        ("dask", ["--engine", "dask", "--scheduler", client.scheduler.address]),
    ):
        output = tmp_path / f"{name}.csv"
        command = ["isncsci", "classify", str(source), "-o", str(output), "--chunk-rows", "400"]
        result = runner.invoke(app, [*command, *options])
        assert result.exit_code == 1, result.output  # the invalid rows are reported
        outputs[name] = (output.read_text(), errors_path(output).read_text())
    assert outputs["dask"] == outputs["local"]
    assert client.status == "running"  # a cluster the CLI did not start is left running


def test_cli_scheduler_without_engine_dask_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["isncsci", "classify", "x.csv", "-o", str(tmp_path / "o.csv"), "--scheduler", "tcp://h:1"],
    )
    assert result.exit_code == 2
    assert "--scheduler needs --engine dask" in result.output
