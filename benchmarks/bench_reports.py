"""The analysis page and the DSMB report at phase-3 scale (issue 17).

    .venv/bin/python benchmarks/bench_reports.py --participants 500 --sites 10
        [--database URL] [--exams-per-participant 8] [--events-per-participant 3]
        [--repeat 5] [--name NAME]

1. Seeds a synthetic trial through the use cases, as ``bench_trial_scale.py`` does, but with what
   the reports read: ``create_trial`` with eight visits (screening to week 52), ``add_site`` per
   site, ``enroll_participant`` per participant with a transplant date, ``import_exams`` (the bulk
   import) for ``--exams-per-participant`` exams at the scheduled visits (complete C5 lesions,
   some participants gaining a level or two), and ``report_adverse_event`` for about
   ``--events-per-participant`` events each, of every category, some serious.
2. The analysis page's view (``cordtrial.web.pages.analysis.analysis_view``, as a statistician who
   sees every site), in this process after a first warm-up view on other data: *after a change*
   (a participant corrected through ``update_participant``, then the view: recomputed) and
   *repeated* (the same data again: the cache), median / p95 of ``--repeat`` each; the size of the
   rendered figures (SVG bytes).
3. ``cordtrial report dsmb --database URL --trial BENCH-REPORTS -o dsmb.pdf`` in a process of its
   own: wall time, peak RSS (``/usr/bin/time``), pages; and the report job of the archive
   (``cordtrial.analysis.archive.run_report_job``, what the web app runs in its worker process),
   whose own time and peak RSS the archive records.

Prints one JSON object per measurement and writes them, with the machine and its load average, to
``benchmarks/results/<name>_<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from _common import load, machine, write_results
from bench_trial_scale import _run, _Stores
from sqlalchemy import select

from builders import acting_as, lesion_flat
from cordtrial.isncsci import Level
from cordtrial.trial.database import make_engine, make_session_factory, upgrade
from cordtrial.trial.models import Participant, User
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.imports import import_exams
from cordtrial.trial.services.participants import enroll_participant, update_participant
from cordtrial.trial.services.safety import report_adverse_event
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial
from cordtrial.trial.services.users import add_user

PROTOCOL = "BENCH-REPORTS"
START = date(2025, 1, 6)
SCHEDULE = [
    VisitSpec("screening", -14, 14, 0),
    VisitSpec("day 0", 0, 0, 0),
    VisitSpec("week 2", 14, 3, 3),
    VisitSpec("week 4", 28, 7, 7),
    VisitSpec("week 12", 84, 14, 14),
    VisitSpec("week 24", 168, 14, 14),
    VisitSpec("week 36", 252, 14, 14),
    VisitSpec("week 52", 364, 28, 28),
]
CATEGORIES = (
    "neuropathic_pain",
    "infection",
    "immunosuppression_effect",
    "syrinx",
    "other",
    "neurological_worsening",
)
_LEVELS = list(Level)


def _seed(url: str, participants: int, sites: int, exams_each: int, events_each: int) -> dict:
    upgrade(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            add_user(
                session,
                user=acting_as("bench"),
                username="bench",
                password="quiet granite harbour lantern",
                role="admin",
            )
            create_trial(
                session,
                user=acting_as("bench"),
                protocol_id=PROTOCOL,
                title="Synthetic report-scale trial",
                phase="2",
                arms=[ArmSpec("cells", "cell therapy")],
                visits=SCHEDULE,
            )
            for s in range(1, sites + 1):
                add_site(
                    session,
                    user=acting_as("bench"),
                    protocol_id=PROTOCOL,
                    code=f"S{s:02d}",
                    name=f"Site {s}",
                )
            for p in range(1, participants + 1):
                day0 = START + timedelta(days=p % 120)
                enroll_participant(
                    session,
                    user=acting_as("bench"),
                    protocol_id=PROTOCOL,
                    site_code=f"S{(p - 1) % sites + 1:02d}",
                    study_id=f"P{p:04d}",
                    injury_date=day0 - timedelta(days=20),
                    injury_level="C5",
                    injury_mechanism="fall",
                    age_at_injury=20 + p % 50,
                    sex="F" if p % 2 else "M",
                    transplant_date=day0,
                )
            rows = []
            c5 = _LEVELS.index(Level.C5)
            for p in range(1, participants + 1):
                day0 = START + timedelta(days=p % 120)
                for v, spec in enumerate(SCHEDULE[:exams_each]):
                    gain = 0 if spec.name == "screening" else min(v, p % 4) // 2
                    rows.append(
                        {
                            "participant": f"P{p:04d}",
                            "visit": spec.name,
                            "examined_on": (day0 + timedelta(days=spec.target_day)).isoformat(),
                            "examiner": "Dr Bench",
                            **lesion_flat(_LEVELS[c5 + gain]),
                        }
                    )
            frame = pd.DataFrame(rows, dtype=object)
            report = import_exams(
                session,
                actor="bench",
                protocol_id=PROTOCOL,
                frame=frame.astype(object).where(frame.notna(), None),
            )
            if report.errors:
                raise SystemExit(f"exams refused: {report.errors[:3]}")
            ids = dict(session.execute(select(Participant.study_id, Participant.id)).all())
            events = 0
            for p in range(1, participants + 1):
                day0 = START + timedelta(days=p % 120)
                for e in range(events_each if p % 10 else events_each + 1):
                    onset = day0 + timedelta(days=3 + (p * 7 + e * 53) % 330)
                    serious = (p + e) % 9 == 0
                    report_adverse_event(
                        session,
                        user=acting_as("bench"),
                        participant_id=ids[f"P{p:04d}"],
                        term=f"Synthetic event {e + 1}",
                        category=CATEGORIES[(p + e) % 6],
                        onset_date=onset,
                        awareness_date=onset,
                        ctcae_grade=1 + (p + e) % 3,
                        serious_criteria=["hospitalisation"] if serious else [],
                        related_to_cells="unlikely",
                        related_to_procedure="not_related",
                        related_to_immunosuppression="not_related",
                        expectedness="expected",
                        outcome="recovered",
                        resolution_date=onset + timedelta(days=5),
                        narrative="Synthetic benchmark event." if serious else "",
                    )
                    events += 1
            return {"exams": report.inserted, "adverse_events": events}
    finally:
        engine.dispose()


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _views(url: str, repeat: int) -> list[dict[str, Any]]:
    import matplotlib

    from cordtrial.web.pages.analysis import analysis_view

    matplotlib.use("Agg")
    engine = make_engine(url)
    factory = make_session_factory(engine)
    out = []
    try:
        with factory() as session:
            bench = session.scalars(select(User).where(User.username == "bench")).one()
            analysis_view(session, bench, PROTOCOL)  # warm-up: imports, font cache
        changed: list[float] = []
        repeated: list[float] = []
        changed_cpu: list[float] = []
        for i in range(repeat):
            with factory() as session:
                p = session.scalars(select(Participant).order_by(Participant.id)).first()
                assert p is not None
                update_participant(
                    session,
                    user=acting_as("bench"),
                    participant_id=p.id,
                    reason="benchmark correction",
                    age_at_injury=p.age_at_injury + (1 if i % 2 == 0 else -1),
                )
            with factory() as session:
                bench = session.scalars(select(User).where(User.username == "bench")).one()
                start, cpu = time.perf_counter(), time.process_time()
                view = analysis_view(session, bench, PROTOCOL)
                changed.append(time.perf_counter() - start)
                changed_cpu.append(time.process_time() - cpu)
            for _ in range(repeat):
                with factory() as session:
                    bench = session.scalars(select(User).where(User.username == "bench")).one()
                    start = time.perf_counter()
                    analysis_view(session, bench, PROTOCOL)
                    repeated.append(time.perf_counter() - start)
        svg = sum(len(f.svg) for f in view.figures)
        for label, times in (
            ("analysis view after a change", changed),
            ("analysis view repeated", repeated),
        ):
            out.append(
                {
                    "measure": label,
                    "median_s": round(statistics.median(times), 3),
                    "p95_s": round(_p95(times), 3),
                    "n": len(times),
                    "figures_svg_kib": round(svg / 1024, 1),
                    "figures": [f.id for f in view.figures],
                    "load": load(),
                }
            )
        out[0]["cpu_median_s"] = round(statistics.median(changed_cpu), 3)
    finally:
        engine.dispose()
    return out


def _report_job(url: str, folder: Path) -> dict[str, Any]:
    """The archive's report job, in a process of its own as the web app runs it."""
    from cordtrial.trial.services.reports import request_report

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            bench = session.scalars(select(User).where(User.username == "bench")).one()
            job, _ = request_report(
                session, bench, protocol_id=PROTOCOL, kind="dsmb", now=datetime.now(UTC)
            )
            job_id = job.id
    finally:
        engine.dispose()
    code = (
        "from cordtrial.analysis.archive import run_report_job; "
        f"run_report_job({url!r}, {job_id}, {str(folder)!r})"
    )
    start, cpu = time.perf_counter(), _cpu_children()
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - start
    cpu = _cpu_children() - cpu
    engine = make_engine(url)
    try:
        from cordtrial.trial.models import ArchivedReport

        with make_session_factory(engine)() as session:
            row = session.get(ArchivedReport, job_id)
            assert row is not None
            return {
                "measure": "DSMB report job (archive)",
                "status": row.status,
                "job_seconds": row.seconds,
                "job_peak_rss_mib": row.peak_rss_mib,
                "process_seconds": round(wall, 2),
                "process_cpu_seconds": round(cpu, 2),
                "pdf_kib": round((row.pdf_bytes or 0) / 1024),
                "exit": done.returncode,
                "error": row.error,
                "load": load(),
            }
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=500)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--database", help="a PostgreSQL server URL (default: SQLite files)")
    parser.add_argument("--exams-per-participant", type=int, default=8)
    parser.add_argument("--events-per-participant", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--name", default="reports")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    workdir = Path(tempfile.mkdtemp(prefix="cordtrial-bench-reports-"))
    stores = _Stores(args.database, workdir)
    backend = "postgresql" if args.database else "sqlite"
    results: dict[str, Any] = {
        "machine": machine(),
        "load_start": load(),
        "backend": backend,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    try:
        url = stores.new("reports")
        start = time.perf_counter()
        results["seed"] = _seed(
            url,
            args.participants,
            args.sites,
            args.exams_per_participant,
            args.events_per_participant,
        ) | {"seconds": round(time.perf_counter() - start, 1)}
        print(json.dumps(results["seed"]), flush=True)
        measured = _views(url, args.repeat)
        pdf = workdir / "dsmb.pdf"
        cpu = _cpu_children()
        cli = _run(
            Path(__file__).resolve().parents[1] / "src",
            url,
            "report",
            "dsmb",
            "--database",
            url,
            "--trial",
            PROTOCOL,
            "-o",
            str(pdf),
        )
        # the machine is shared: the CPU time the command used, beside its wall time
        cli["cpu_seconds"] = round(_cpu_children() - cpu, 2)
        if pdf.exists():
            import pypdfium2 as pdfium

            cli["pdf_kib"] = round(pdf.stat().st_size / 1024)
            cli["pages"] = len(pdfium.PdfDocument(pdf))
        measured.append(cli)
        measured.append(_report_job(url, workdir / "archive"))
        for m in measured:
            print(json.dumps(m), flush=True)
        results["measurements"] = measured
        results["load_end"] = load()
    finally:
        stores.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    path = write_results(f"{args.name}_{backend}", results)
    print(f"results written to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
