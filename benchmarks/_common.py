"""Shared by the benchmark scripts: machine facts, load, generated exams, results files.

Not a test module and not part of the package: the benchmarks import the test suite's exam
generator (``tests/strategies.py``) and reference oracle (``tests/oracle/oracle.py``), so that
what is timed is exactly what the tests check.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
RESULTS = Path(__file__).resolve().parent / "results"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


def _run(*command: str) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    except OSError:
        return ""
    return out.stdout.strip()


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """What the numbers were measured on, and with which code."""
    import numba
    import numpy
    import pandas
    import pyarrow

    versions = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "numba": numba.__version__,
        "node": _run("node", "--version"),
    }
    try:
        import dask
        import distributed

        versions["dask"] = dask.__version__
        versions["distributed"] = distributed.__version__
    except ImportError:
        pass
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "platform": platform.platform(),
        "versions": versions,
        "git_commit": _run("git", "rev-parse", "--short", "HEAD"),
        "engine_files_modified": _run(
            "git", "status", "--porcelain", "src/cordtrial/isncsci"
        ).splitlines(),
    }


def load() -> list[float]:
    """1, 5 and 15 minute load averages (the machine is shared: say how busy it was)."""
    return [round(x, 2) for x in os.getloadavg()]


def write_results(name: str, results: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return path


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain text table, columns right-aligned except the first."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        cells = [str(r[0]).ljust(widths[0])]
        cells += [str(c).rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        return "  ".join(cells)

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])
