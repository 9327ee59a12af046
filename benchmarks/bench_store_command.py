"""A `cordtrial` command on one store (default ``audit verify``) with this checkout's code and with
older code, alternating, each in a process of its own (wall time, CPU and peak RSS from GNU time),
so that the ratio of the two comes from one run on one machine:

    .venv/bin/python benchmarks/bench_store_command.py --database URL --before DIR/src \
        [--command "audit verify"] [--rounds 5] [--name NAME]
    .venv/bin/python benchmarks/bench_store_command.py --database TARGET_URL --before DIR/src \
        --command "restore store.dump --force" --name NAME

DIR: ``git archive COMMIT src | tar -x -C DIR``. The store is any store at this checkout's
revision; ``benchmarks/bench_backup_compare.sh --seed`` makes the million-row one of
docs/benchmarks.md. Every run must print the same (the same trail verified, the same rows
restored). The JSON goes to benchmarks/results/store_command_NAME.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(src: Path, url: str, command: list[str]) -> dict[str, object]:
    env = {**os.environ, "CORDTRIAL_DATABASE_URL": url, "PYTHONPATH": str(src)}
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %U %S %M", sys.executable, "-c",
         "from cordtrial.cli import app; app()", *command],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({src}): {done.stdout}{done.stderr}")
    wall, user, system, rss = done.stderr.strip().splitlines()[-1].split()
    return {
        "wall_s": float(wall), "cpu_s": float(user) + float(system),
        "peak_rss_mib": int(rss) / 1024, "report": done.stdout.strip(),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--before", required=True, type=Path, help="older code's src directory")
    parser.add_argument("--command", default="audit verify", help="cordtrial's arguments")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--name", default="run")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, object]]] = {"before": [], "now": []}
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    for i in range(args.rounds):
        for kind, src in (("before", args.before), ("now", ROOT / "src")):
            run = _run(src.resolve(), args.database, shlex.split(args.command))
            runs[kind].append(run)
            print(f"{i + 1} {kind:6s} {run['wall_s']:.2f} s  cpu {run['cpu_s']:.2f} s", flush=True)
    reports = {str(r["report"]) for rs in runs.values() for r in rs}
    if len(reports) != 1:
        raise SystemExit(f"the runs printed different results: {reports}")
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[:3]
    summary = {
        kind: {
            "median_wall_s": statistics.median(float(str(r["wall_s"])) for r in rs),
            "median_cpu_s": statistics.median(float(str(r["cpu_s"])) for r in rs),
            "max_peak_rss_mib": max(float(str(r["peak_rss_mib"])) for r in rs),
        }
        for kind, rs in runs.items()
    }
    ratio = summary["now"]["median_wall_s"] / summary["before"]["median_wall_s"]
    result = {
        "command": args.command,
        "database": "postgresql" if args.database.startswith("postgresql") else "sqlite",
        "report": reports.pop(), "rounds": args.rounds, "summary": summary,
        "now_over_before_wall": round(ratio, 3), "load_before": load_before,
        "load_after": load_after, "runs": runs,
    }  # fmt: skip
    out = ROOT / "benchmarks" / "results" / f"store_command_{args.name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("summary", "now_over_before_wall")}, indent=2))


if __name__ == "__main__":
    main()
