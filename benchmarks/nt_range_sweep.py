"""The documented sweep of complete NT ranges: at least 1,000,000 single-NT substitutions.

DESIGN.md: replacing an ``NT`` by any concrete value must give results inside the ranges the exam
reported. Each generated exam (the default mix: NT, ``*``/``**`` and non-key muscles at any level
elsewhere in the exam) gets one random cell opened to ``NT``; every concrete value of that cell is
classified and each of the 11 ranged fields compared with the opened exam's range
(``tests/nt_ranges.py``). The batch classifier (``classify_frame``) does the million; the one-exam
engine checks a sample (the two are held equal by tests/isncsci/test_batch.py).

    PYTHONPATH=src .venv/bin/python benchmarks/nt_range_sweep.py            # 1,000,000+
    PYTHONPATH=src .venv/bin/python benchmarks/nt_range_sweep.py --exams 3000

Writes benchmarks/results/nt_range_sweep.json; exits 1 on any value outside its range.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd
from _common import load, machine, write_results

from cordtrial.isncsci import Exam, classify
from cordtrial.isncsci.batch import classify_frame
from nt_ranges import sweep

#: Exams per run: about 3.4 substitutions each, so 300,000 exams give over 1,000,000.
DEFAULT_EXAMS = 300_000
SEED = 20261204


def _one_exam_engine(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        [classify(Exam.from_flat(row)).to_record() for row in frame.to_dict("records")]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exams", type=int, default=DEFAULT_EXAMS)
    parser.add_argument("--engine-exams", type=int, default=3000, help="sample for classify()")
    args = parser.parse_args()
    load_before = load()
    started = time.perf_counter()
    batch_n, batch_bad = sweep(classify_frame, args.exams, SEED, nkm_rate=0.3)
    batch_s = time.perf_counter() - started
    started = time.perf_counter()
    engine_n, engine_bad = sweep(_one_exam_engine, args.engine_exams, SEED + 1, nkm_rate=0.3)
    engine_s = time.perf_counter() - started
    results = {
        "machine": machine(),
        "load_before": load_before,
        "load_after": load(),
        "exams": args.exams,
        "batch": {"substitutions": batch_n, "violations": len(batch_bad), "seconds": batch_s},
        "engine": {"substitutions": engine_n, "violations": len(engine_bad), "seconds": engine_s},
        "first_violations": [list(v) for v in (batch_bad + engine_bad)[:10]],
    }
    path = write_results("nt_range_sweep", results)
    for name, n, bad in (
        ("classify_frame", batch_n, batch_bad),
        ("classify", engine_n, engine_bad),
    ):
        inside = 100.0 * (n - len({v[0] for v in bad})) / max(1, n)
        print(
            f"{name}: {n:,} substitutions, 11 fields each: {len(bad)} values outside their range;"
            f" {inside:.4f}% of substitutions inside every range"
        )
    print(f"results: {path}")
    return 1 if batch_bad or engine_bad else 0


if __name__ == "__main__":
    sys.exit(main())
