"""Starting report jobs off the server's event loop and interpreter.

A report (:mod:`cordtrial.analysis.archive`) draws figures and lays out pages for seconds: in a
thread of the server it would hold the interpreter's lock, slow every other request and leave
its memory in the server (a DSMB PDF of 500 participants took the server from about 400 to
800 MiB). Jobs -- the archive's and a direct download's -- run instead in a process pool of one
worker, each in a fresh process (``max_tasks_per_child=1``:
its memory goes back to the system when the report is written), started with ``spawn`` (no
copy of the server's state). The job's state is in the database; this module keeps nothing but
the pool.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

__all__ = ["render_report", "start_report_job"]

_POOL: ProcessPoolExecutor | None = None
_LOCK = threading.Lock()


def _pool() -> ProcessPoolExecutor:
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=1,
            )
        return _POOL


def start_report_job(database_url: str, report_id: int, folder: Path) -> Future[None]:
    """Queue the job of report ``report_id``; returns at once."""
    from cordtrial.analysis.archive import run_report_job

    return _pool().submit(run_report_job, database_url, report_id, str(folder))


def render_report(
    database_url: str, protocol_id: str, kind: str, fmt: str
) -> tuple[bytes, str, str]:
    """A report file rendered in the pool's process (:func:`~cordtrial.analysis.archive.
    render_report_file`), waited for in the calling thread (never the event loop): ``(body,
    protocol_id, snapshot_hash)``. One report at a time, after any queued archive job."""
    from cordtrial.analysis.archive import render_report_file

    return _pool().submit(render_report_file, database_url, protocol_id, kind, fmt).result()
