"""Make an archived report: the job behind :func:`cordtrial.trial.services.reports.request_report`.

:func:`run_report_job` runs in a process of its own (the web app starts it through a process
pool, so that drawing figures never holds the server's interpreter): it opens the store, loads
the trial, builds the report, renders the PDF and the HTML page into the archive folder (created
owner-only, ``0700``; files ``0600``) and records the snapshot hash, the engine versions, the
PDF's SHA-256, the time taken and the process's peak memory. Its progress is written to the
database as it goes, so any worker can show it.
"""

from __future__ import annotations

import hashlib
import os
import resource
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "generate_report",
    "peak_rss_mib",
    "render_report_file",
    "report_file_name",
    "run_report_job",
]


def _now() -> datetime:
    return datetime.now(UTC)


def report_file_name(report_id: int, protocol_id: str, kind: str, snapshot: str) -> str:
    """``000012-DEMO-IPSC-SCI-dsmb-35d8ed9c5a7b`` (no extension): id, trial, kind, snapshot."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in protocol_id)
    return f"{report_id:06d}-{safe}-{kind}-{snapshot[:12]}"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)


def generate_report(
    factory: sessionmaker[Session], report_id: int, folder: Path,
    *, clock: Callable[[], datetime] = _now,
) -> None:  # fmt: skip
    """Do the job of report ``report_id``: build, render, store, record (``done``), or record
    the error (``failed``)."""
    from cordtrial.analysis.report import (
        build_dsmb_report,
        build_efficacy_report,
        render_html,
        render_pdf,
    )
    from cordtrial.analysis.store import load_trial
    from cordtrial.trial.models import ArchivedReport, Trial
    from cordtrial.trial.services.reports import finish_report, set_report_progress

    start = time.perf_counter()

    def progress(percent: int, stage: str) -> None:
        with factory() as s:
            set_report_progress(s, report_id, progress=percent, stage=stage, now=clock())

    try:
        with factory() as session:
            job = session.get(ArchivedReport, report_id)
            assert job is not None
            trial = session.get(Trial, job.trial_id)
            assert trial is not None
            kind, protocol_id = job.kind, trial.protocol_id
        progress(5, "loading the trial's data")
        with factory() as session:
            data = load_trial(session, protocol_id)
        progress(25, "computing tables and figures")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the report lists its caveats itself
            report = build_dsmb_report(data) if kind == "dsmb" else build_efficacy_report(data)
            progress(55, "writing the PDF")
            pdf = render_pdf(report)
            progress(85, "writing the HTML page")
            page = render_html(report).encode("utf-8")
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        name = report_file_name(report_id, protocol_id, kind, report.snapshot_hash)
        _write_private(folder / f"{name}.pdf", pdf)
        _write_private(folder / f"{name}.html", page)
        peak = peak_rss_mib()
        with factory() as session:
            finish_report(
                session, report_id, now=clock(), snapshot_hash=report.snapshot_hash,
                data_cut=report.data_cut, versions=dict(report.versions),
                pdf_file=f"{name}.pdf", html_file=f"{name}.html",
                pdf_sha256=hashlib.sha256(pdf).hexdigest(), pdf_bytes=len(pdf),
                seconds=round(time.perf_counter() - start, 2), peak_rss_mib=round(peak, 1),
            )  # fmt: skip
    except Exception as exc:  # the job's end is recorded whatever went wrong
        with factory() as session:
            finish_report(
                session, report_id, now=clock(), error=f"{type(exc).__name__}: {exc}"[:2000]
            )
        raise


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB: Linux's ``VmHWM`` of its own address space.
    Not ``getrusage``'s ``ru_maxrss``, which a process started by fork and exec inherits from its
    parent (the web server, a benchmark: the kernel carries the old address space's peak over
    ``execve``), so that a job started by a 500 MiB server would report at least 500 MiB.
    Elsewhere (no ``/proc``) ``ru_maxrss``, in KiB as Linux and the BSDs give it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_report_job(database_url: str, report_id: int, folder: str) -> None:
    """:func:`generate_report` in a fresh process: its own engine on ``database_url``."""
    import matplotlib

    from cordtrial.trial.database import make_engine, make_session_factory

    matplotlib.use("Agg")
    engine = make_engine(database_url)
    try:
        generate_report(make_session_factory(engine), report_id, Path(folder))
    finally:
        engine.dispose()


def render_report_file(
    database_url: str, protocol_id: str, kind: str, fmt: str
) -> tuple[bytes, str, str]:
    """The report ``kind`` (``dsmb`` or ``efficacy``) of the trial's current data as a ``pdf``
    or ``html`` file, rendered in this (fresh) process: ``(body, protocol_id, snapshot_hash)``.
    The web app's direct download runs it in its report process, so that the figures and the
    PDF's layout never stay in the server's memory."""
    import matplotlib

    from cordtrial.analysis.report import (
        build_dsmb_report,
        build_efficacy_report,
        render_html,
        render_pdf,
    )
    from cordtrial.analysis.store import load_trial
    from cordtrial.trial.database import make_engine, make_session_factory

    matplotlib.use("Agg")
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            data = load_trial(session, protocol_id)
    finally:
        engine.dispose()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the report lists its caveats itself
        report = build_dsmb_report(data) if kind == "dsmb" else build_efficacy_report(data)
        body = render_pdf(report) if fmt == "pdf" else render_html(report).encode("utf-8")
    return body, data.protocol_id, data.snapshot_hash
