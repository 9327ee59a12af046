"""The trial store at scale: `audit verify`, `backup` and `restore` on a large synthetic trial,
and (``--pages``) every workspace page.

    .venv/bin/python benchmarks/bench_trial_scale.py --participants 500 --sites 10
        [--database URL] [--audit-rows 1000000] [--exams-per-participant 2]
        [--baseline-src DIR] [--workdir DIR] [--name NAME]
    .venv/bin/python benchmarks/bench_trial_scale.py --pages --participants 500 --sites 10
        [--database URL] [--repeats 20] [--audit-rows 760000]

With ``--pages`` the trial is the one the statement-count test reads (``tests/scale_trial.py``:
through the use cases, records of every kind in fixed proportions), and a process of its own
serves the workspace pages through the app (FastAPI's TestClient, in process: no network, one
client) as an admin (every site) and as a monitor of one site: per page and user the median and
95th percentile of ``--repeats`` requests (after one warm-up request), the median CPU time of
the process per request (all its threads: on a loaded machine closer to what the page costs than
the wall time), the SQL statements of one
request (SQLAlchemy's ``before_cursor_execute``), the page's size, and the process's peak RSS
after all pages. The analysis page and the report downloads are not timed here (issue 17's
analysis cache has its own numbers).

1. Seeds a synthetic trial through the use cases: ``create_trial``, ``add_site`` per site,
   ``enroll_participant`` per participant, ``import_exams`` (the bulk import, 500 rows a
   transaction) for ``--exams-per-participant`` exams each. Every row of the audit trail so far is
   written by the use cases. Seeding a million audit rows that way takes far too long on a 2-core
   machine, so the trail is then **padded in bulk** up to ``--audit-rows``: pairs of corrections of
   a participant's age at injury (``34 -> 35 -> 34``), chained and hashed exactly as the trail
   writes them, inserted in batches. The padded trail verifies (the corrections cancel out): the
   verifier walks and reconciles all of it.
2. Runs each command as the installed ``cordtrial`` would, in a process of its own
   (``python -c "from cordtrial.cli import app; app()" ...``): ``audit verify``, ``backup -o``,
   ``restore`` (into an empty database of the same kind). Peak RSS is the child's own maximum
   resident set (``wait4``); the time is the wall time of the process.
3. With ``--baseline-src DIR`` (a checkout of the code before, e.g. ``git archive 7e60a29 src |
   tar -x -C DIR``) the same three commands run first with that code on the same data, the store at
   that code's latest revision (``--baseline-revision``, default 0009); the store is then migrated
   to the latest revision and measured with this checkout's code: a before/after ratio in one run.

``--database`` takes a PostgreSQL server URL (``postgresql+psycopg://.../db``): the benchmark
creates its own databases on that server beside ``db`` and drops them at the end. Without it, SQLite
files in ``--workdir`` (by default a temporary directory, deleted at the end). Prints one JSON
object per command and writes everything, with the machine and its load average, to
``benchmarks/results/<name>_<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from _common import ROOT, load, machine, write_results
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from builders import acting_as, lesion_flat
from cordtrial.isncsci import Level
from cordtrial.trial.audit import audit_head, entry_hash, to_text
from cordtrial.trial.database import make_engine, make_session_factory, upgrade
from cordtrial.trial.models import AuditEntry, Participant
from cordtrial.trial.rules.access import set_password_hash_profile
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.imports import import_exams
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial

PROTOCOL = "BENCH-SCALE"
INJURY = date(2026, 1, 5)
SCHEDULE = [VisitSpec("screening", -7, 7, 0), VisitSpec("day 0", 0, 0, 0)]
_PAD_BATCH = 5000


def _seed(
    url: str, revision: str, participants: int, sites: int, exams_each: int
) -> dict[str, int]:
    upgrade(url, revision)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            bench = acting_as("bench")  # an administrator, not stored: the trail names "bench"
            create_trial(
                session, user=bench, protocol_id=PROTOCOL, title="Synthetic scale trial",
                phase="1", arms=[ArmSpec("cells", "cell therapy")], visits=SCHEDULE,
            )  # fmt: skip
            for s in range(1, sites + 1):
                add_site(session, user=bench, protocol_id=PROTOCOL, code=f"S{s:02d}",
                         name=f"Site {s}")  # fmt: skip
            for p in range(1, participants + 1):
                enroll_participant(
                    session, user=bench, protocol_id=PROTOCOL,
                    site_code=f"S{(p - 1) % sites + 1:02d}", study_id=f"P{p:04d}",
                    injury_date=INJURY, injury_level="C5", injury_mechanism="fall",
                    age_at_injury=34, sex="F" if p % 2 else "M",
                )  # fmt: skip
            if exams_each:
                cells = lesion_flat(Level.C5)
                rows = [
                    {"participant": f"P{p:04d}", "visit": None,
                     "examined_on": date(2026, 2, 1 + e).isoformat(), "examiner": "Dr Bench",
                     **cells}
                    for p in range(1, participants + 1)
                    for e in range(exams_each)
                ]  # fmt: skip
                frame = pd.DataFrame(rows, dtype=object)
                frame = frame.astype(object).where(frame.notna(), None)
                report = import_exams(session, actor="bench", protocol_id=PROTOCOL, frame=frame)
                if report.errors:
                    raise SystemExit(f"exams refused: {report.errors[:3]}")
            return {"exams": report.inserted if exams_each else 0,
                    "audit_rows_use_cases": audit_head(session)[0]}  # fmt: skip
    finally:
        engine.dispose()


def _pad(url: str, audit_rows: int) -> int:
    """Append correction pairs (age 34 -> 35 -> 34) until the trail holds ``audit_rows``."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            seq, prev = audit_head(session)
            ids = list(session.scalars(select(Participant.id).order_by(Participant.id)))
        table = AuditEntry.__table__
        at = datetime.now(UTC)
        batch: list[dict[str, Any]] = []
        i = 0
        while seq < audit_rows:
            key = str(ids[i // 2 % len(ids)])
            old, new = (to_text(34), to_text(35)) if i % 2 == 0 else (to_text(35), to_text(34))
            if i % 2 == 0 and seq + 2 > audit_rows:
                break
            seq += 1
            row = {"seq": seq, "at": at, "actor": "bench", "action": "update",
                   "entity": "participant", "entity_id": key, "field": "age_at_injury",
                   "old_value": old, "new_value": new, "reason": "benchmark correction",
                   "prev_hash": prev}  # fmt: skip
            row["row_hash"] = prev = entry_hash(**row)
            batch.append(row)
            i += 1
            if len(batch) >= _PAD_BATCH:
                with engine.begin() as connection:
                    connection.execute(table.insert(), batch)
                batch = []
        if batch:
            with engine.begin() as connection:
                connection.execute(table.insert(), batch)
        return seq
    finally:
        engine.dispose()


def _run(src: Path, url: str, *args: str) -> dict[str, Any]:
    """One ``cordtrial`` command in a process of its own: wall time, peak RSS, exit status."""
    env = os.environ | {"PYTHONPATH": str(src), "CORDTRIAL_DATABASE_URL": url}
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        # GNU time reports the child's own peak resident set (%M, KiB): measured from this
        # process, a forked child would inherit the benchmark's own high-water mark.
        command = ["/usr/bin/time", "-f", "%M", "-o", report.name, sys.executable, "-c",
                   "from cordtrial.cli import app; app()", *args]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - start
        peak_kib = int(report.read().split()[-1])
    output = (done.stdout + done.stderr).strip()
    return {
        "command": "cordtrial " + " ".join(args),
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "exit": done.returncode,
        "output_tail": output.strip().splitlines()[-1:] if output.strip() else [],
        "load": load(),
    }


class _Stores:
    """Databases of one kind: the seeded store and empty restore targets."""

    def __init__(self, server: str | None, workdir: Path):
        self.server, self.workdir, self.made = server, workdir, []

    def new(self, name: str) -> str:
        if self.server is None:
            return f"sqlite:///{self.workdir / f'{name}.db'}"
        db = f"cordtrial_bench_{os.getpid()}_{name}"
        self._admin(f'CREATE DATABASE "{db}"')
        self.made.append(db)
        return make_url(self.server).set(database=db).render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        assert self.server is not None
        engine = make_engine(self.server, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(sql))
        finally:
            engine.dispose()

    def drop(self) -> None:
        for db in self.made:
            self._admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def _commands(src: Path, url: str, target: str, backup: Path, label: str) -> list[dict[str, Any]]:
    results = []
    for args, where in [
        (("audit", "verify"), url),
        (("backup", "-o", str(backup)), url),
        (("restore", str(backup)), target),
    ]:
        result = _run(src, where, *args) | {"code": label}
        if args[0] == "backup":
            result["backup_mib"] = round(backup.stat().st_size / 2**20, 1)
        print(json.dumps(result), flush=True)
        results.append(result)
    return results


def _seed_pages(url: str, participants: int, sites: int) -> dict[str, Any]:
    from scale_trial import seed_scale_trial

    set_password_hash_profile("test")  # the users' passwords: the tests' fast hashing
    upgrade(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            seeded = seed_scale_trial(session, participants, sites)
            return {"participant": seeded.participant_ids["P0001"], "exam": seeded.exam_id,
                    "adverse_event": seeded.adverse_event_id,
                    "audit_rows": audit_head(session)[0]}  # fmt: skip
    finally:
        engine.dispose()


#: The pages timed: every workspace page but the analysis page and the report downloads.
PAGES = {
    "dashboard": "/",
    "participant list": "/participants",
    "participant list, filtered": "/participants?site=S01&ais=A&status=treated&q=P0",
    "participant list, page 5": "/participants?page=5&sort=ais",
    "participant": "/participants/{participant}",
    "adverse events": "/adverse-events",
    "adverse events, filtered": "/adverse-events?site=S01&serious=yes&grade=3",
    "adverse events, page 10": "/adverse-events?page=10&sort=grade",
    "adverse event": "/adverse-events/{adverse_event}",
    "exam": "/exams/{exam}",
    "new exam": "/participants/{participant}/exams/new",
    "lots": "/lots",
    "audit log": "/audit",
    "audit log, older": "/audit?before=1000",
    "audit log of a participant": "/audit?participant={participant}",
    "users": "/users",
}


def _measure_pages(url: str, ids: dict[str, int], repeats: int) -> None:
    """In a process of its own: time each page, print one JSON line per page and user."""
    import statistics

    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from cordtrial.trial.models import User
    from cordtrial.trial.services.tokens import issue_token
    from cordtrial.web import WebSettings, create_app
    from cordtrial.web.pages.security import SESSION_COOKIE
    from scale_trial import SCALE_NOW

    engine = make_engine(url)
    factory = make_session_factory(engine)
    statements: list[int] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(1))
    app = create_app(WebSettings(database_url=url), session_factory=factory,
                     clock=lambda: SCALE_NOW)  # fmt: skip
    for username in ("scale_admin", "scale_monitor"):
        # as a server runs it: the app's start-up (lifespan) included
        with TestClient(app, follow_redirects=False) as client:
            with factory() as session:
                user = session.scalars(select(User).where(User.username == username)).one()
                token = issue_token(session, user_id=user.id, now=SCALE_NOW).token
            client.cookies.set(SESSION_COOKIE, token)
            for name, path in PAGES.items():
                path = path.format(**ids)
                first = client.get(path)
                if first.status_code != 200:
                    continue  # a page this role may not open (users, new exam for a monitor)
                statements.clear()
                client.get(path)
                count = len(statements)
                times, cpu = [], []
                for _ in range(repeats):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    client.get(path)
                    times.append(time.perf_counter() - start)
                    cpu.append(time.process_time() - start_cpu)
                times.sort()
                print(json.dumps({
                    "page": name, "user": username, "path": path,
                    "median_ms": round(statistics.median(times) * 1000, 1),
                    "p95_ms": round(times[max(0, round(0.95 * len(times)) - 1)] * 1000, 1),
                    "max_ms": round(times[-1] * 1000, 1),
                    "cpu_median_ms": round(statistics.median(cpu) * 1000, 1), "statements": count,
                    "kib": round(len(first.content) / 1024), "load": load(),
                }), flush=True)  # fmt: skip
    # VmHWM, not ru_maxrss: this process was started by fork and exec from the seeding one,
    # whose peak ru_maxrss would carry over (cordtrial.analysis.archive.peak_rss_mib)
    from cordtrial.analysis.archive import peak_rss_mib

    print(json.dumps({"peak_rss_mib": round(peak_rss_mib(), 1)}), flush=True)


def _pages(url: str, ids: dict[str, int], repeats: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--measure-pages", url, "--ids", json.dumps(ids),
               "--repeats", str(repeats)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    for row in rows:
        print(json.dumps(row), flush=True)
    return {"pages": [r for r in rows if "page" in r],
            "server_peak_rss_mib": rows[-1]["peak_rss_mib"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=500)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--database", help="a PostgreSQL server URL (default: SQLite files)")
    parser.add_argument("--audit-rows", type=int, default=0, help="pad the trail to this many")
    parser.add_argument("--exams-per-participant", type=int, default=2)
    parser.add_argument("--baseline-src", type=Path, help="the code before, to compare with")
    parser.add_argument("--baseline-revision", default="0009")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--name", default="trial_scale")
    parser.add_argument("--pages", action="store_true", help="time the workspace pages")
    parser.add_argument("--repeats", type=int, default=20, help="requests per page (--pages)")
    parser.add_argument("--measure-pages", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_pages:
        _measure_pages(args.measure_pages, json.loads(args.ids), args.repeats)
        return

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cordtrial-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    stores = _Stores(args.database, workdir)
    backend = "postgresql" if args.database else "sqlite"
    results: dict[str, Any] = {"machine": machine(), "load_start": load(), "backend": backend,
                               "args": {k: str(v) for k, v in vars(args).items()}}  # fmt: skip
    if args.pages:
        try:
            url = stores.new("pages")
            start = time.perf_counter()
            ids = _seed_pages(url, args.participants, args.sites)
            rows = _pad(url, args.audit_rows) if args.audit_rows else ids["audit_rows"]
            ids.pop("audit_rows")
            results["seed"] = {"seconds": round(time.perf_counter() - start, 1),
                               "audit_rows": rows}  # fmt: skip
            print(json.dumps(results["seed"]), flush=True)
            results |= _pages(url, ids, args.repeats)
            results["load_end"] = load()
        finally:
            stores.drop()
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
        name = f"{args.name}_pages_{args.participants}_{backend}"
        print(f"results written to {write_results(name, results)}", file=sys.stderr)
        return
    try:
        url = stores.new("store")
        start = time.perf_counter()
        revision = args.baseline_revision if args.baseline_src else "head"
        counts = _seed(url, revision, args.participants, args.sites, args.exams_per_participant)
        seeded = time.perf_counter() - start
        rows = _pad(url, args.audit_rows)
        results["seed"] = {"seconds_use_cases": round(seeded, 1),
                           "seconds_total": round(time.perf_counter() - start, 1),
                           "audit_rows": rows, **counts}  # fmt: skip
        print(json.dumps(results["seed"]), flush=True)
        runs: list[dict[str, Any]] = []
        if args.baseline_src:
            before = workdir / "before.backup"
            runs += _commands(args.baseline_src, url, stores.new("before"), before, "before")
            before.unlink()
            upgrade(url)
        after = workdir / "after.backup"
        runs += _commands(ROOT / "src", url, stores.new("after"), after, "after")
        after.unlink()
        results["commands"] = runs
        results["load_end"] = load()
    finally:
        stores.drop()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    path = write_results(f"{args.name}_{backend}", results)
    print(f"results written to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
