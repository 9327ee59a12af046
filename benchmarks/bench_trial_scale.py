"""The trial store at scale: `audit verify`, `backup` and `restore` on a large synthetic trial.

    .venv/bin/python benchmarks/bench_trial_scale.py --participants 500 --sites 10
        [--database URL] [--audit-rows 1000000] [--exams-per-participant 2]
        [--baseline-src DIR] [--workdir DIR] [--name NAME]

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
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cordtrial-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    stores = _Stores(args.database, workdir)
    backend = "postgresql" if args.database else "sqlite"
    results: dict[str, Any] = {"machine": machine(), "load_start": load(), "backend": backend,
                               "args": {k: str(v) for k, v in vars(args).items()}}  # fmt: skip
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
