"""Where a PostgreSQL dump's time goes, against SQLite's backup of the same store (issue 17).

    scripts/postgres sh -c '.venv/bin/python benchmarks/bench_copy_floor.py \\
        --database "$CORDTRIAL_TEST_POSTGRES_URL" --sqlite /tmp/bk2/store.db [--table audit_entry]
        [--repeat 3] [--name copy_floor]'

The stores: ``benchmarks/bench_backup_compare.sh --seed`` (a million audit rows in both). Each
variant runs ``--repeat`` times, alternating, in this process after the imports; for each: wall
time, this process's CPU (all threads) and the CPU of the PostgreSQL backend that served it
(``/proc/PID/stat`` of the backend, so only when the server runs on this machine):

* ``sqlite_backup_api``: what ``cordtrial backup`` does on SQLite (``sqlite3`` online backup of
  the whole file into a new one, synced to the disk) -- the baseline;
* ``server_only``: ``COPY table TO '/dev/null'``: the server's own work for the table, no client
  (a superuser or ``pg_write_server_files`` is needed; skipped otherwise);
* ``client_discard``: ``pgcopy.copy_out`` of the table, the blocks thrown away;
* ``client_gzip``: the same into gzip level 1 in a second thread (ISA-L), as the backup does,
  synced to the disk;
* ``split2_discard``, ``split2_file`` (uncompressed files, synced) and ``split2_gzip``: two
  connections sharing one exported snapshot, each copying half of the table's pages (``ctid``
  ranges, PostgreSQL 14+), in two threads.

What it shows on a machine whose cores the server shares with the client: the server's part
alone takes about as long as SQLite's whole backup, and the client's work (receiving, and gzip)
comes on top on the same cores; splitting the server's work in two does not help, because the
total CPU is then about twice SQLite's. Results: ``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from _common import load, write_results  # noqa: E402
from isal import igzip_threaded  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from cordtrial.trial.pgcopy import copy_out, set_copy_settings  # noqa: E402


def _backend_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _connect(url: str, snapshot: str | None = None) -> psycopg.Connection[Any]:
    connection = psycopg.connect(url)
    connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    if snapshot is not None:
        connection.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    with connection.cursor() as cursor:
        set_copy_settings(cursor)
    return connection


def _columns(connection: psycopg.Connection[Any], table: str) -> str:
    names = connection.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum",
        (table,),
    ).fetchall()
    return ", ".join(f'"{name}"' for (name,) in names)


def _sync(path: Path) -> None:
    """To the disk, as ``cordtrial backup`` syncs what it writes."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _gzip_sink(folder: Path, name: str) -> tuple[Callable[[bytes], object], Callable[[], None]]:
    raw = open(folder / name, "wb")  # noqa: SIM115 (closed by the returned function)
    stream = igzip_threaded.open(raw, "wb", compresslevel=1, threads=1, block_size=1 << 20)

    def close() -> None:
        stream.close()
        raw.close()
        _sync(folder / name)

    return stream.write, close


def _measure(run: Callable[[], list[int]]) -> dict[str, Any]:
    """Wall time and this process's CPU for ``run``, which returns the CPU (ms) its PostgreSQL
    backends spent (read while they were open: a closed backend's /proc entry is gone)."""
    wall, cpu = time.perf_counter(), time.process_time()
    server = run()
    return {
        "seconds": round(time.perf_counter() - wall, 3),
        "client_cpu_s": round(time.process_time() - cpu, 3),
        "server_cpu_s": None if not server else round(sum(server) / 1000, 3),
    }


def _copy(
    connection: psycopg.Connection[Any], statement: str, write: Callable[[bytes], object]
) -> int:
    """Server CPU (ms) spent on ``statement`` by the connection's backend."""
    pid = connection.info.backend_pid
    before = _backend_cpu(pid)
    copy_out(connection, statement, write, 1 << 20)
    after = _backend_cpu(pid)
    return 0 if before is None or after is None else round((after - before) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="the PostgreSQL store's URL")
    parser.add_argument("--sqlite", required=True, type=Path, help="the SQLite store's file")
    parser.add_argument("--table", default="audit_entry")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--name", default="copy_floor")
    args = parser.parse_args()
    url = make_url(args.database).set(drivername="postgresql").render_as_string(False)
    table = args.table
    folder = Path(tempfile.mkdtemp(prefix="copy-floor-"))

    def sqlite_backup_api() -> list[int]:
        target_path = folder / "backup.db"
        target_path.unlink(missing_ok=True)
        with sqlite3.connect(args.sqlite) as source, sqlite3.connect(target_path) as target:
            source.backup(target)
        target.close()
        source.close()
        _sync(target_path)
        return []

    def one(write_to: str) -> list[int]:
        with _connect(url) as connection:
            listed = _columns(connection, table)
            statement = f'COPY "{table}" ({listed}) TO STDOUT'
            if write_to == "discard":
                return [_copy(connection, statement, lambda block: None)]
            write, close = _gzip_sink(folder, "one.gz")
            try:
                return [_copy(connection, statement, write)]
            finally:
                close()

    def server_only() -> list[int]:
        with _connect(url) as connection:
            pid = connection.info.backend_pid
            before = _backend_cpu(pid)
            connection.execute(f"COPY \"{table}\" TO '/dev/null'")
            after = _backend_cpu(pid)
            return [] if before is None or after is None else [round((after - before) * 1000)]

    def split2(write_to: str) -> list[int]:
        with _connect(url) as main:
            snapshot = main.execute("SELECT pg_export_snapshot()").fetchone()
            assert snapshot is not None
            pages = main.execute(
                "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int",
                (table,),
            ).fetchone()
            assert pages is not None
            listed = _columns(main, table)
            middle = int(pages[0]) // 2
            halves = [f"ctid < '({middle},0)'", f"ctid >= '({middle},0)'"]
            used: list[int] = [0, 0]

            def half(i: int) -> None:
                with _connect(url, snapshot[0]) as connection:
                    statement = f'COPY (SELECT {listed} FROM "{table}" WHERE {halves[i]}) TO STDOUT'
                    if write_to == "discard":
                        used[i] = _copy(connection, statement, lambda block: None)
                        return
                    if write_to == "file":
                        with open(folder / f"half{i}.copy", "wb") as stream:
                            used[i] = _copy(connection, statement, stream.write)
                        _sync(folder / f"half{i}.copy")
                        return
                    write, close = _gzip_sink(folder, f"half{i}.gz")
                    try:
                        used[i] = _copy(connection, statement, write)
                    finally:
                        close()

            threads = [threading.Thread(target=half, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return used

    variants: dict[str, Callable[[], list[int]]] = {
        "sqlite_backup_api": sqlite_backup_api,
        "server_only": server_only,
        "client_discard": lambda: one("discard"),
        "client_gzip": lambda: one("gzip"),
        "split2_discard": lambda: split2("discard"),
        "split2_file": lambda: split2("file"),
        "split2_gzip": lambda: split2("gzip"),
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    load_before = load()
    for _ in range(args.repeat):
        for name, run in variants.items():
            try:
                runs[name].append(_measure(run))
            except psycopg.errors.InsufficientPrivilege:
                runs[name].append({"skipped": "COPY TO a file needs pg_write_server_files"})
    summary = {}
    for name, measured in runs.items():
        timed = [m for m in measured if "seconds" in m]
        if not timed:
            continue
        summary[name] = {
            key: round(statistics.mean(m[key] for m in timed), 3)
            for key in ("seconds", "client_cpu_s", "server_cpu_s")
            if all(m[key] is not None for m in timed)
        }
        print(name, summary[name], flush=True)
    path = write_results(
        args.name,
        {
            "table": table,
            "repeat": args.repeat,
            "load_before": load_before,
            "load_after": load(),
            "nproc": os.cpu_count(),
            "mean": summary,
            "runs": runs,
        },
    )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
