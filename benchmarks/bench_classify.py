"""Throughput of ``classify_frame`` against the npm reference, on the same generated exams.

    .venv/bin/python benchmarks/bench_classify.py [--exams 100000] [--repeat 3]
        [--scenarios default,nt_5pct,clean] [--scalar-exams 10000] [--stages] [--json]
        [--name classify]

For each scenario, the same exams go to

* ``classify_frame`` -- timed on a frame already in memory (reading the file excluded, like the
  reference's JSON parsing), one frame per way a user's exams arrive: **the default path**
  ``read_frame(path)`` of a CSV file (Arrow strings), ``pd.read_csv(path, dtype=str)``,
  ``pd.read_csv(path, dtype=object)``, a frame built from Python records (``object`` columns of
  distinct ``str`` objects), categoricals (``astype("category")``), and Arrow strings
  (``astype("string[pyarrow]")``); single thread (``workers=1``), and the default path with the
  default workers (one thread per core) too;
* the npm reference (isncsci 2.0.6) under Node.js -- ``tests/oracle/oracle.py``'s
  ``bench_reference``: ``run.js --bench`` times only its own classification loop, JSON parsing and
  conversion excluded;
* the scalar ``classify`` (``classify(Exam.from_flat(row)).to_record()``) -- on the first
  ``--scalar-exams`` exams only (it is slow; 0 skips it), its exams/s extrapolated to the whole
  set.

Each timing is the best of ``--repeat`` runs. Scenarios: ``default`` (the generator's default
rates: about 2% NT cells, 4% flagged cells, 10% of sides with a non-key muscle, 5% uniformly
random exams), ``nt_5pct`` (the same exams with further cells set to ``NT`` at random, seeded,
until exactly 5% of all cells are ``NT``), and ``clean`` (no NT, no flags, no random exams).
``--stages`` adds where the time goes on the default path (coding, classifying, rendering), per
100,000 exams. Results: a table on stdout (``--json``: the JSON instead), and JSON in
``benchmarks/results/<name>.json``. Non-interactive: everything is set by the flags.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from _common import load, machine, table, write_results

from cordtrial.isncsci import Exam, classify
from cordtrial.isncsci.batch import classify_frame
from cordtrial.isncsci.batch import encode as batch_encode
from cordtrial.isncsci.batch import frame as batch_frame
from cordtrial.isncsci.io.formats import read_frame
from oracle.oracle import CELL_COLUMNS, bench_reference, ensure_installed
from strategies import generate_exams

SEED = 20_261_125
SCENARIOS = ("default", "nt_5pct", "clean")
#: (key, what the table calls it); each a frame of the same exams as a user may hand it over.
ENTRY_PATHS = (
    ("read_frame", "read_frame(csv): the default path (Arrow strings)"),
    ("read_csv_str", "pd.read_csv(csv, dtype=str)"),
    ("read_csv_object", "pd.read_csv(csv, dtype=object)"),
    ("records_object", "pd.DataFrame(records, dtype=object)"),
    ("categorical", "astype('category')"),
    ("arrow", "astype('string[pyarrow]')"),
)


def _log(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


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


def _frames(exams: list[dict[str, str]], folder: Path) -> dict[str, pd.DataFrame]:
    records = pd.DataFrame(exams, dtype=object)
    csv = folder / "exams.csv"
    records.to_csv(csv, index=False)
    return {
        "read_frame": read_frame(csv),
        "read_csv_str": pd.read_csv(csv, dtype=str, keep_default_na=False),
        "read_csv_object": pd.read_csv(csv, dtype=object, keep_default_na=False),
        "records_object": records,
        "categorical": records.astype("category"),
        "arrow": records.astype("string[pyarrow]"),
    }


def _stages(frame: pd.DataFrame, repeat: int) -> dict[str, float]:
    """Seconds of classify_frame's own stages on one frame, one thread, one chunk."""

    def coding() -> None:  # as _classify_codes does it: one compiled pass over the cells
        arrow = batch_encode.with_arrow_strings(frame)
        if batch_encode.cell_codes(arrow) is None:  # without Numba: column by column
            batch_encode.side_arrays(arrow, "r")
            batch_encode.side_arrays(arrow, "l")
        batch_encode.binary_codes(batch_encode.column_of(frame, "vac"))
        batch_encode.binary_codes(batch_encode.column_of(frame, "dap"))

    codes = batch_frame._classify_codes(frame)
    return {
        "coding cells (batch/encode.py)": _best(coding, repeat),
        "coding + closed form + walk + totals": _best(
            lambda: batch_frame._classify_codes(frame), repeat
        ),
        "results to worksheet notation, rejected rows (batch/frame.py _frame)": _best(
            lambda: batch_frame._frame(frame, *codes), repeat
        ),
        "classify_frame(workers=1), all": _best(lambda: classify_frame(frame, workers=1), repeat),
    }


def _scenario(name: str, exams: list[dict[str, str]], args: argparse.Namespace) -> dict[str, Any]:
    n = len(exams)
    with tempfile.TemporaryDirectory() as folder:
        frames = _frames(exams, Path(folder))
    expected = classify_frame(frames["arrow"])  # warm-up, and a sanity check
    assert len(expected) == n and (expected["error"] == "").all()
    for key, frame in frames.items():
        assert classify_frame(frame).equals(expected), key
    load_before = load()
    ours = {f"{key}_workers1": frames[key] for key, _ in ENTRY_PATHS}
    timings: dict[str, Any] = {}
    for key, frame in ours.items():
        seconds = _best(lambda f=frame: classify_frame(f, workers=1), args.repeat)  # type: ignore[misc]
        timings[key] = seconds
    timings["read_frame_default_workers"] = _best(
        lambda: classify_frame(frames["read_frame"]), args.repeat
    )
    reference = min(bench_reference(exams)["seconds"] for _ in range(args.repeat))
    ref_rate = n / reference
    result: dict[str, Any] = {
        "scenario": name,
        "exams": n,
        "nt_cell_share": round(_nt_share(exams), 4),
        "exams_with_nt": sum(any(e[c].startswith("NT") for c in CELL_COLUMNS) for e in exams),
        "reference": {"seconds": reference, "exams_per_s": ref_rate},
    }
    for key, seconds in timings.items():
        result[f"classify_frame_{key}"] = {
            "seconds": seconds,
            "exams_per_s": n / seconds,
            "x_reference": (n / seconds) / ref_rate,
        }
    if args.scalar_exams:
        subset = exams[: args.scalar_exams]
        scalar = _best(lambda: [classify(Exam.from_flat(e)).to_record() for e in subset], 1)
        result["scalar_classify"] = {
            "exams_timed": len(subset),
            "seconds": scalar,
            "exams_per_s": len(subset) / scalar,
            "x_reference": (len(subset) / scalar) / ref_rate,
            "note": f"timed on the first {len(subset)} exams; rate extrapolated",
        }
    if args.stages:
        per = 100_000 / n
        result["stages_per_100k_exams_s"] = {
            key: {
                entry: round(seconds * per, 4)
                for entry, seconds in _stages(frames[key], args.repeat).items()
            }
            for key in ("read_frame", "records_object")
        }
    result["load_before"] = load_before
    result["load_after"] = load()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exams", type=int, default=100_000)
    parser.add_argument("--scalar-exams", type=int, default=10_000, help="0: skip")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS)
    )
    parser.add_argument("--stages", action="store_true", help="time classify_frame's stages")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--name", default="classify", help="benchmarks/results/NAME.json")
    args = parser.parse_args()
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SCENARIOS))
    if unknown:
        parser.error(f"--scenarios: unknown {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    ensure_installed()
    _log(f"generating {args.exams:,} exams (seed {SEED}) ...")
    default = generate_exams(args.exams, SEED)
    makers: dict[str, Callable[[], list[dict[str, str]]]] = {
        "default": lambda: default,
        "nt_5pct": lambda: _with_nt(default, 0.05, SEED + 1),
        "clean": lambda: generate_exams(
            args.exams, SEED + 2, nt_rate=0, star_rate=0, nkm_rate=0.1, random_rate=0
        ),
    }
    results = []
    for name in wanted:
        _log(f"scenario {name} ...")
        results.append(_scenario(name, makers[name](), args))
    document = {"machine": machine(), "args": vars(args), "scenarios": results}
    path = write_results(args.name, document)
    if args.json:
        print(json.dumps(document, indent=2))
        return
    rows = []
    labels = dict(ENTRY_PATHS)
    for r in results:
        ref = r["reference"]["exams_per_s"]
        rows.append([f"{r['scenario']}: npm reference (Node loop)", f"{ref:,.0f}", "1.0x"])
        for key, label in [
            *((f"{k}_workers1", f"{labels[k]}, workers=1") for k, _ in ENTRY_PATHS),
            ("read_frame_default_workers", "read_frame(csv), default workers"),
        ]:
            t = r[f"classify_frame_{key}"]
            rows.append(
                [
                    f"{r['scenario']}: {label}",
                    f"{t['exams_per_s']:,.0f}",
                    f"{t['x_reference']:.1f}x",
                ]
            )
        if "scalar_classify" in r:
            s = r["scalar_classify"]
            rows.append(
                [
                    f"{r['scenario']}: scalar classify (first {s['exams_timed']:,}, extrapolated)",
                    f"{s['exams_per_s']:,.0f}",
                    f"{s['x_reference']:.2f}x",
                ]
            )
    print(table(rows, ["classify_frame input (scenario)", "exams/s", "vs reference"]))
    for r in results:
        print(
            f"{r['scenario']}: {r['exams']:,} exams, {r['nt_cell_share']:.1%} NT cells, "
            f"{r['exams_with_nt']:,} exams with NT; load {r['load_before']} -> {r['load_after']}"
        )
        for key, stages in r.get("stages_per_100k_exams_s", {}).items():
            for stage, seconds in stages.items():
                print(f"  {key}: {stage}: {seconds:.3f} s per 100,000 exams")
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
