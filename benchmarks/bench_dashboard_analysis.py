"""The dashboard and the analysis page after a change, at 500 participants: wall and CPU time.

    .venv/bin/python benchmarks/bench_dashboard_analysis.py dashboard STORE [--user U] [--repeats N]
    .venv/bin/python benchmarks/bench_dashboard_analysis.py analysis STORE [--repeats N]

``STORE`` is a SQLite file, seeded on first use: for ``dashboard`` with the statement-count
test's trial (``tests/scale_trial.py``, 500 participants, 10 sites), for ``analysis`` with
``bench_reports.py``'s trial (500 participants, 4,000 exams, 1,550 adverse events). Run it with
``PYTHONPATH`` pointing at the code to measure (this checkout's ``src`` or an older one,
``git archive COMMIT src | tar -x -C DIR``) to compare before and after on the same store.

* ``dashboard``: ``GET /`` through the app in process (FastAPI's TestClient) as ``--user``
  (``scale_admin``: every site; ``scale_monitor``: one site), one warm-up request, then
  ``--repeats`` timed: median and 95th percentile of the wall time, median CPU time of the
  process, SQL statements of the last request, page size.
* ``analysis``: ``--repeats`` times, a participant corrected through ``update_participant``
  (a change of data), then the analysis page's view computed (``analysis_view`` as an admin):
  wall and CPU time of each.

Prints one JSON object with the load average (1, 5, 15 min) before and after.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from _common import load
from sqlalchemy import event, select

from builders import acting_as
from cordtrial.trial.database import make_engine, make_session_factory, upgrade
from cordtrial.trial.models import Participant, User
from cordtrial.trial.rules.access import set_password_hash_profile


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _dashboard(path: Path, user: str, repeats: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from cordtrial.trial.services.tokens import issue_token
    from cordtrial.web import WebSettings, create_app
    from cordtrial.web.pages.security import SESSION_COOKIE, session_csrf_token
    from scale_trial import SCALE_NOW, seed_scale_trial

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    factory = make_session_factory(engine)
    if not path.exists() or path.stat().st_size == 0:
        set_password_hash_profile("test")
        upgrade(url)
        with factory() as session:
            seed_scale_trial(session, 500, 10)
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    app = create_app(WebSettings(database_url=url), session_factory=factory,
                     clock=lambda: SCALE_NOW)  # fmt: skip
    client = TestClient(app, follow_redirects=False)
    with factory() as session:
        found = session.scalars(select(User).where(User.username == user)).one()
        token = issue_token(session, user_id=found.id, now=SCALE_NOW).token
    client.cookies.set(SESSION_COOKIE, token)
    client.headers["x-test-csrf"] = session_csrf_token(token)
    assert client.get("/").status_code == 200
    walls, cpus = [], []
    for _ in range(repeats):
        statements[0] = 0
        start, cpu = time.perf_counter(), time.process_time()
        response = client.get("/")
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return {
        "page": f"dashboard ({user})", "median_ms": round(statistics.median(walls) * 1000),
        "p95_ms": round(_p95(walls) * 1000), "cpu_median_ms": round(statistics.median(cpus) * 1000),
        "statements": statements[0], "kib": round(len(response.content) / 1024),
    }  # fmt: skip


def _analysis(path: Path, repeats: int) -> dict[str, Any]:
    import matplotlib
    from bench_reports import PROTOCOL, _seed

    from cordtrial.trial.services.participants import update_participant
    from cordtrial.web.pages.analysis import analysis_view

    matplotlib.use("Agg")
    url = f"sqlite:///{path}"
    if not path.exists() or path.stat().st_size == 0:
        _seed(url, 500, 10, 8, 3)
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        bench = session.scalars(select(User).where(User.username == "bench")).one()
        analysis_view(session, bench, PROTOCOL)  # warm-up: imports, fonts
    walls, cpus = [], []
    for i in range(repeats):
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
            analysis_view(session, bench, PROTOCOL)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
    return {
        "page": "analysis view after a change", "median_s": round(statistics.median(walls), 2),
        "p95_s": round(_p95(walls), 2), "cpu_median_s": round(statistics.median(cpus), 2),
        "wall_s": [round(w, 2) for w in walls], "cpu_s": [round(c, 2) for c in cpus],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["dashboard", "analysis"])
    parser.add_argument("store", type=Path, help="a SQLite file (seeded when missing)")
    parser.add_argument("--user", default="scale_admin")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    before = load()
    if args.what == "dashboard":
        result = _dashboard(args.store, args.user, args.repeats)
    else:
        result = _analysis(args.store, args.repeats)
    result |= {"code": os.environ.get("PYTHONPATH", ""), "load_before": before,
               "load_after": load()}  # fmt: skip
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
