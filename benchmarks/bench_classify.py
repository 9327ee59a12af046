"""Throughput of ``classify_frame`` against the npm reference, on the same generated exams.

    .venv/bin/python benchmarks/bench_classify.py [--exams 100000] [--repeat 3]

For each scenario, the same exams go to

* ``classify_frame`` -- timed on a frame already in memory, two input forms: ``object`` columns
  of ``str`` (what ``read_frame`` gives) and Arrow-backed strings (what Parquet, Dask and the
  streaming reader give); single thread (``workers=1``), and ``workers=2`` for information;
* the npm reference (isncsci 2.0.6) under Node.js -- ``tests/oracle/oracle.py``'s
  ``bench_reference``: ``run.js --bench`` times only its own classification loop, JSON parsing and
  conversion excluded;
* the scalar ``classify`` (``classify(Exam.from_flat(row)).to_record()``) -- on the first
  ``--scalar-exams`` exams only (it is slow), its exams/s extrapolated to the whole set.

Each timing is the best of ``--repeat`` runs. Scenarios: ``default`` (the generator's default
rates: about 2% NT cells, 4% flagged cells, 10% of sides with a non-key muscle, 5% uniformly
random exams), ``nt_5pct`` (the same exams with further cells set to ``NT`` at random, seeded,
until exactly 5% of all cells are ``NT``), and ``clean`` (no NT, no flags, no random exams).
Results: a table on stdout, JSON in ``benchmarks/results/classify.json``.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from _common import load, machine, table, write_results

from cordtrial.isncsci import Exam, classify
from cordtrial.isncsci.batch import classify_frame
from oracle.oracle import CELL_COLUMNS, bench_reference, ensure_installed
from strategies import generate_exams

SEED = 20_261_125


def _best(run: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _nt_share(exams: list[dict[str, str]]) -> float:
    cells = sum(len(CELL_COLUMNS) for _ in exams)
    nt = sum(1 for e in exams for c in CELL_COLUMNS if e[c].startswith("NT"))
    return nt / cells


def _with_nt(exams: list[dict[str, str]], share: float, seed: int) -> list[dict[str, str]]:
    """Copies of ``exams`` with random cells set to NT until ``share`` of all cells are NT."""
    rng = random.Random(seed)
    out = [dict(e) for e in exams]
    free = [(i, c) for i, e in enumerate(out) for c in CELL_COLUMNS if not e[c].startswith("NT")]
    wanted = round(share * len(out) * len(CELL_COLUMNS)) - (
        len(out) * len(CELL_COLUMNS) - len(free)
    )
    for i, c in rng.sample(free, max(0, wanted)):
        out[i][c] = "NT"
    return out


def _scenario(name: str, exams: list[dict[str, str]], args: argparse.Namespace) -> dict[str, Any]:
    n = len(exams)
    frame = pd.DataFrame(exams, dtype=object)
    arrow = frame.astype("string[pyarrow]")
    result = classify_frame(frame)  # warm-up, and a sanity check
    assert len(result) == n and (result["error"] == "").all()
    load_before = load()
    ours = {
        "object_workers1": _best(lambda: classify_frame(frame, workers=1), args.repeat),
        "arrow_workers1": _best(lambda: classify_frame(arrow, workers=1), args.repeat),
        "arrow_workers2": _best(lambda: classify_frame(arrow, workers=2), args.repeat),
    }
    reference = min(bench_reference(exams)["seconds"] for _ in range(args.repeat))
    subset = exams[: args.scalar_exams]
    scalar = _best(lambda: [classify(Exam.from_flat(e)).to_record() for e in subset], 1)
    ref_rate = n / reference
    timings: dict[str, Any] = {
        "exams": n,
        "nt_cell_share": round(_nt_share(exams), 4),
        "exams_with_nt": sum(any(e[c].startswith("NT") for c in CELL_COLUMNS) for e in exams),
        "reference": {"seconds": reference, "exams_per_s": ref_rate},
        "scalar_classify": {
            "exams_timed": len(subset),
            "seconds": scalar,
            "exams_per_s": len(subset) / scalar,
            "note": f"timed on the first {len(subset)} exams; rate extrapolated",
        },
        "load_before": load_before,
        "load_after": load(),
    }
    for key, seconds in ours.items():
        timings[f"classify_frame_{key}"] = {
            "seconds": seconds,
            "exams_per_s": n / seconds,
            "x_reference": (n / seconds) / ref_rate,
        }
    return {"scenario": name, **timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exams", type=int, default=100_000)
    parser.add_argument("--scalar-exams", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ensure_installed()
    print(f"generating {args.exams:,} exams (seed {SEED}) ...", flush=True)
    default = generate_exams(args.exams, SEED)
    scenarios = {
        "default": default,
        "nt_5pct": _with_nt(default, 0.05, SEED + 1),
        "clean": generate_exams(
            args.exams, SEED + 2, nt_rate=0, star_rate=0, nkm_rate=0.1, random_rate=0
        ),
    }
    results = []
    for name, exams in scenarios.items():
        print(f"scenario {name} ...", flush=True)
        results.append(_scenario(name, exams, args))

    rows = []
    for r in results:
        ref = r["reference"]["exams_per_s"]
        rows.append([f"{r['scenario']}: npm reference (Node loop)", f"{ref:,.0f}", "1.0x"])
        for key in ("object_workers1", "arrow_workers1", "arrow_workers2"):
            t = r[f"classify_frame_{key}"]
            rows.append(
                [
                    f"{r['scenario']}: classify_frame ({key.replace('_', ', ')})",
                    f"{t['exams_per_s']:,.0f}",
                    f"{t['x_reference']:.1f}x",
                ]
            )
        s = r["scalar_classify"]
        rows.append(
            [
                f"{r['scenario']}: scalar classify (first {s['exams_timed']:,}, extrapolated)",
                f"{s['exams_per_s']:,.0f}",
                f"{s['exams_per_s'] / ref:.2f}x",
            ]
        )
    print()
    print(table(rows, ["engine (exams, NT share)", "exams/s", "vs reference"]))
    for r in results:
        print(
            f"{r['scenario']}: {r['exams']:,} exams, {r['nt_cell_share']:.1%} NT cells, "
            f"{r['exams_with_nt']:,} exams with NT; load {r['load_before']} -> {r['load_after']}"
        )
    path = write_results(
        "classify", {"machine": machine(), "args": vars(args), "scenarios": results}
    )
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
