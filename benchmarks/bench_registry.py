"""A registry from Parquet: 10 million exams through the streaming CLI and a Dask LocalCluster.

    .venv/bin/python benchmarks/bench_registry.py [--rows 10000000] [--workdir DIR]
        [--threads N] [--skip-cli] [--skip-cli-dask] [--skip-dask] [--keep] [--name registry]
        [--json]

1. Writes ``DIR/registry.parquet``: 100,000 generated exams (``tests/strategies.py``, default
   rates) repeated with distinct ids (``E00000000`` ...) up to ``--rows``, one row group per
   100,000 rows, every column a string (as a registry export holds them);
2. runs ``cordtrial isncsci classify DIR/registry.parquet -o DIR/results.parquet`` under
   ``/usr/bin/time -v`` while polling the resident memory of the process (and any children)
   every 0.1 s: exams/s from the wall time, peak RSS from both, and the CPU time (user + system,
   in all its threads; on a shared machine it moves less than the wall time) per million exams;
   then the same with ``--engine dask`` (chunks read and written by the CLI, classified on a
   LocalCluster of one single-threaded worker process per core, started by the CLI);
3. runs ``classify_parquet`` (``cordtrial.isncsci.io.distributed``) on a LocalCluster of two worker
   processes with one thread each, reading the same file and writing ``DIR/results-dask/``;
   the wall time of the classification (the cluster already started) and of the whole run, and
   the peak RSS summed over the driver and all worker processes.

Each step runs in a process of its own, so that the benchmark's own memory (the generated
exams) is never counted. Disk space of inputs and outputs is reported; the files are deleted at
the end unless ``--keep``. Results: a table on stdout, JSON in ``benchmarks/results/registry.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from _common import ROOT, load, machine, table, write_results

BASE_ROWS = 100_000
SEED = 20_261_126
THIS = Path(__file__).resolve()


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class PeakMemory:
    """Polls the resident memory of a process and all its descendants until stopped."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_total = 0
        self.peak_process = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for process in processes:
                try:
                    rss = process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                total += rss
                self.peak_process = max(self.peak_process, rss)
            self.peak_total = max(self.peak_total, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _run_measured(command: list[str]) -> dict[str, Any]:
    """Run ``command`` under /usr/bin/time -v, polling its memory; wall time, peaks, output."""
    timed = ["/usr/bin/time", "-v", *command]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(timed, stdout=out, stderr=err, cwd=ROOT)
        with PeakMemory(process.pid) as memory:
            code = process.wait()
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    max_rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    cpu = [re.search(rf"{kind} time \(seconds\): ([\d.]+)", stderr) for kind in ("User", "System")]
    return {
        # on a shared machine the CPU seconds vary less than the wall time
        "cpu_seconds": sum(float(m.group(1)) for m in cpu if m) if all(cpu) else None,
        "command": " ".join(command),
        "exit_code": code,
        "wall_seconds": wall,
        "peak_rss_polled_total_bytes": memory.peak_total,
        "peak_rss_polled_process_bytes": memory.peak_process,
        "max_rss_time_v_bytes": int(max_rss.group(1)) * 1024 if max_rss else None,
        "stdout": stdout[-2000:],
        "stderr": stderr[-4000:],
    }


# --- step 1: the registry file ------------------------------------------------------------------


def generate(path: Path, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from strategies import ALL_COLUMNS, generate_exams

    exams = generate_exams(BASE_ROWS, SEED)
    columns = {c: pa.array([e[c] for e in exams], type=pa.string()) for c in ALL_COLUMNS}
    del exams
    base = pa.table(columns)
    schema = pa.schema([("id", pa.string()), *base.schema])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, BASE_ROWS):
            n = min(BASE_ROWS, rows - start)
            ids = pa.array([f"E{start + i:08d}" for i in range(n)], type=pa.string())
            writer.write_table(base.slice(0, n).add_column(0, "id", ids), row_group_size=BASE_ROWS)


# --- step 3: Dask ---------------------------------------------------------------------------------


def dask_run(source: Path, destination: Path, workers: int) -> dict[str, Any]:
    from cordtrial.isncsci.io.distributed import classify_parquet, client_for

    start = time.perf_counter()
    with client_for(
        None, n_workers=workers, threads_per_worker=1, dashboard_address=None
    ) as client:
        client.wait_for_workers(workers)
        started = time.perf_counter()
        run = classify_parquet(source, destination, overwrite=True)
        done = time.perf_counter()
    return {
        "workers": workers,
        "threads_per_worker": 1,
        "cluster_start_seconds": started - start,
        "classify_seconds": done - started,
        "exams": run.exams,
        "rejected": run.rejected,
        "partitions": run.partitions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cordtrial-bench"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, help="the streaming CLI's --threads (default: its own, one per core)"
    )
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-cli-dask", action="store_true")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the files in --workdir")
    parser.add_argument("--name", default="registry", help="benchmarks/results/NAME.json")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--step", choices=["generate", "dask"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    source = args.workdir / "registry.parquet"
    if args.step == "generate":
        generate(source, args.rows)
        return
    if args.step == "dask":
        result = dask_run(source, args.workdir / "results-dask", args.workers)
        print(json.dumps(result))
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    me = [sys.executable, str(THIS), "--rows", str(args.rows), "--workdir", str(args.workdir)]
    results: dict[str, Any] = {"machine": machine(), "rows": args.rows, "load_start": load()}
    if not source.is_file() or _parquet_rows(source) != args.rows:
        print(f"writing {args.rows:,} exams to {source} ...", flush=True)
        start = time.perf_counter()
        subprocess.run([*me, "--step", "generate"], check=True)
        results["generate_seconds"] = time.perf_counter() - start
    results["input"] = {"path": str(source), "bytes": _size(source), "rows": _parquet_rows(source)}
    rows = [["input file", f"{args.rows:,}", "", "", "", "", f"{_size(source) / 2**20:,.0f} MiB"]]

    cordtrial = str(Path(sys.executable).parent / "cordtrial")
    threads = ["--threads", str(args.threads)] if args.threads else []
    runs = [("cli", "CLI, streaming (1 process)", threads, args.skip_cli)]
    runs.append(
        ("cli_dask", "CLI --engine dask (LocalCluster)", ["--engine", "dask"], args.skip_cli_dask)
    )
    for key, label, options, skip in runs:
        if skip:
            continue
        output = args.workdir / f"{key}.parquet"
        print(f"{label} ...", flush=True)
        load_before = load()
        command = [cordtrial, "isncsci", "classify", str(source), "-o", str(output), *options]
        cli = _run_measured(command)
        cli["load_before"], cli["load_after"] = load_before, load()
        cli["output_bytes"] = sum(
            _size(p) for p in args.workdir.iterdir() if p.name.startswith(f"{key}.")
        )
        cli["output_rows"] = _parquet_rows(output) if output.is_file() else None
        cli["exams_per_s"] = args.rows / cli["wall_seconds"]
        cpu = cli["cpu_seconds"]
        cli["cpu_seconds_per_million"] = None if cpu is None else cpu / args.rows * 1e6
        cli["peak_rss"] = max(cli["peak_rss_polled_total_bytes"], cli["max_rss_time_v_bytes"] or 0)
        results[key] = cli
        rows.append(
            [
                label,
                f"{args.rows:,}",
                f"{cli['wall_seconds']:,.1f}",
                f"{cli['exams_per_s']:,.0f}",
                "" if cpu is None else f"{cpu:,.1f} ({cpu / args.rows * 1e6:.2f} per million)",
                f"{cli['peak_rss'] / 2**20:,.0f}",
                f"{cli['output_bytes'] / 2**20:,.0f} MiB",
            ]
        )
        if cli["exit_code"] != 0 or cli["output_rows"] != args.rows:
            print(cli["stderr"], file=sys.stderr)
            raise SystemExit(f"{label} failed")

    if not args.skip_dask:
        print(f"Dask LocalCluster, {args.workers} workers ...", flush=True)
        load_before = load()
        measured = _run_measured([*me, "--workers", str(args.workers), "--step", "dask"])
        lines = [ln for ln in measured["stdout"].splitlines() if ln.startswith("{")]
        if measured["exit_code"] != 0 or not lines:
            print(measured["stderr"], file=sys.stderr)
            raise SystemExit("the Dask step failed")
        dask = {**json.loads(lines[-1]), **measured}
        dask["load_before"], dask["load_after"] = load_before, load()
        dask["output_bytes"] = _size(args.workdir / "results-dask")
        dask["exams_per_s"] = dask["exams"] / dask["classify_seconds"]
        dask["exams_per_s_with_cluster_start"] = dask["exams"] / measured["wall_seconds"]
        results["dask"] = dask
        rows.append(
            [
                f"Dask LocalCluster ({args.workers} workers x 1 thread)",
                f"{dask['exams']:,}",
                f"{dask['classify_seconds']:,.1f}",
                f"{dask['exams_per_s']:,.0f}",
                "",
                f"{dask['peak_rss_polled_total_bytes'] / 2**20:,.0f} (all processes)",
                f"{dask['output_bytes'] / 2**20:,.0f} MiB",
            ]
        )

    results["disk_bytes_used"] = _size(args.workdir)
    results["load_end"] = load()
    print()
    headers = ["run", "exams", "seconds", "exams/s", "CPU s (user + system)", "peak RSS MiB"]
    print(table(rows, [*headers, "disk"]))
    print(
        f"disk used in {args.workdir}: {results['disk_bytes_used'] / 2**30:.2f} GiB; "
        f"load {results['load_start']} -> {results['load_end']}"
    )
    if not args.keep:
        shutil.rmtree(args.workdir)
        print(f"deleted {args.workdir}")
    path = write_results(args.name, results)
    print(f"results: {path}")
    if args.json:
        print(json.dumps(results, indent=2))


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, ValueError):
        return -1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
