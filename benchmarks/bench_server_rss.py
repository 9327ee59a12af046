"""Resident memory of `cordtrial serve` at steady state, after rounds of page requests.

    .venv/bin/python benchmarks/bench_server_rss.py --database URL [--rounds 6] [--workers 1]
        [--threads 4] [--participants-per-round 25] [--reports] [--protocol ID] [--name NAME]

``--database`` names a store already seeded by ``benchmarks/bench_trial_scale.py`` (trial
``BENCH-SCALE``; SQLite or PostgreSQL), or by ``bench_reports.py`` with ``--protocol
BENCH-REPORTS``. The script adds a user ``rss-admin`` (admin) if missing,
starts ``cordtrial serve`` on the store (``--workers N``: N worker processes, PostgreSQL only),
logs in through the login form and, in each round, requests with ``--threads`` clients in
parallel: the dashboard, the adverse-event list, the audit log, the analysis page, the lots and
users pages, with ``--reports`` the DSMB report (PDF), and ``--participants-per-round``
participant pages (different participants each round, so a cache keyed per page would grow).
After each round it reads the resident set (``VmRSS``) and its peak (``VmHWM``) of the server's
processes from ``/proc``. Prints one JSON object per round and writes everything, with the
machine and its load, to ``benchmarks/results/<name>_<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from _common import ROOT, load, machine, write_results
from sqlalchemy import select

from cordtrial.trial.database import make_engine, make_session_factory
from cordtrial.trial.models import Participant, User
from cordtrial.trial.services.users import add_user

PROTOCOL = "BENCH-SCALE"
USER, PASSWORD = "rss-admin", "a long enough benchmark passphrase"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare(url: str) -> list[int]:
    """Add the benchmark's admin if missing; the participants' ids."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            if session.scalars(select(User).where(User.username == USER)).first() is None:
                # an empty store's first user needs no actor; else its first admin adds ours
                admin = session.scalars(select(User).where(User.role == "admin")).first()
                add_user(session, user=admin, username=USER, password=PASSWORD, role="admin")
            return list(session.scalars(select(Participant.id).order_by(Participant.id)))
    finally:
        engine.dispose()


def _memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (MiB) of ``pid`` and, summed, of its child processes (the workers)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    values: dict[str, float] = {}
    for p in pids:
        status = Path(f"/proc/{p}/status").read_text()
        for field in ("VmRSS", "VmHWM"):
            kib = int(re.search(rf"{field}:\s+(\d+) kB", status)[1])  # type: ignore[index]
            values[f"{field}_{'parent' if p == pid else p}"] = round(kib / 1024, 1)
    return values


def _login(client: httpx.Client) -> None:
    form = client.get("/login")
    csrf = form.cookies["cordtrial_csrf"]
    done = client.post(
        "/login", data={"username": USER, "password": PASSWORD, "csrf_token": csrf, "next": "/"}
    )
    if done.status_code != 303:
        raise SystemExit(f"login failed: {done.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True, help="a store seeded by bench_trial_scale")
    parser.add_argument("--protocol", default=PROTOCOL, help="the trial (default BENCH-SCALE)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--participants-per-round", type=int, default=25)
    parser.add_argument("--name", default="server_rss")
    parser.add_argument("--env", action="append", default=[], help="VAR=VALUE for the server")
    parser.add_argument(
        "--reports", action="store_true", help="each round also downloads the DSMB report (PDF)"
    )
    args = parser.parse_args()

    ids = _prepare(args.database)
    port = _free_port()
    env = os.environ | {"CORDTRIAL_DATABASE_URL": args.database,
                        "PYTHONPATH": str(ROOT / "src")}  # fmt: skip
    env |= dict(item.split("=", 1) for item in args.env)
    log = tempfile.NamedTemporaryFile("w+b", suffix=".log", delete=False)  # noqa: SIM115
    command = [sys.executable, "-m", "cordtrial.cli", "serve", "--port", str(port),
               "--workers", str(args.workers)]  # fmt: skip
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {"machine": machine(), "load_start": load(),
                               "args": {k: str(v) for k, v in vars(args).items()},
                               "participants": len(ids), "rounds": []}  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server did not start:\n{Path(log.name).read_text()}")
            time.sleep(0.5)
        time.sleep(2 if args.workers == 1 else 10)  # every worker up
        results["started"] = _memory(server.pid)
        print(json.dumps({"started": results["started"]}), flush=True)
        with httpx.Client(base_url=base, timeout=600) as client:
            _login(client)
            cookies = dict(client.cookies)
        fixed = ["/", "/adverse-events", "/audit", f"/trials/{args.protocol}/analysis", "/lots",
                 "/users"]  # fmt: skip
        if args.reports:
            fixed.append(f"/trials/{args.protocol}/reports/dsmb.pdf")
        per_round = args.participants_per_round
        for number in range(args.rounds):
            chosen = ids[number * per_round % len(ids) :][:per_round]
            paths = fixed + [f"/participants/{p}" for p in chosen]
            start = time.perf_counter()

            def get(path: str) -> tuple[str, int, float]:
                began = time.perf_counter()
                status = httpx.get(base + path, cookies=cookies, timeout=600).status_code
                return path, status, time.perf_counter() - began

            with ThreadPoolExecutor(args.threads) as pool:
                answers = list(pool.map(get, paths))
            bad = [(p, s) for p, s, _ in answers if s != 200]
            row = {"round": number + 1, "requests": len(paths), "not_200": bad,
                   "seconds": round(time.perf_counter() - start, 1),
                   "slowest": max((round(t, 2), p) for p, _, t in answers),
                   **_memory(server.pid), "load": load()}  # fmt: skip
            print(json.dumps(row), flush=True)
            results["rounds"].append(row)
        time.sleep(5)
        results["idle_after"] = _memory(server.pid)
        print(json.dumps({"idle_after": results["idle_after"]}), flush=True)
        results["load_end"] = load()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        os.unlink(log.name)
    backend = "postgresql" if args.database.startswith("postgres") else "sqlite"
    path = write_results(f"{args.name}_{backend}", results)
    print(f"results written to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
