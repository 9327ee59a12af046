"""CPU time of ``classify_frame``'s stages per 100,000 exams, on the default path.

    .venv/bin/python benchmarks/classify_cpu.py [--exams 100000] [--repeat 7] [--src DIR]

On a shared machine the wall time of a run is the share of the cores it gets; the CPU time of
the process (``time.process_time``, best of ``--repeat``) moves much less with the load. The
same exams as ``bench_classify.py`` (``default`` and ``nt_5pct``), written to CSV and read back
with ``read_frame``; one thread (``workers=1``). ``--src DIR`` imports ``cordtrial`` from another
checkout's ``src`` (an earlier commit: ``git archive COMMIT src | tar -x -C DIR/..``), to compare
two versions under the same load, alternating. Prints one JSON line per scenario.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _cpu(run: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exams", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--src", help="import cordtrial from this src folder")
    args = parser.parse_args()
    if args.src:
        sys.path.insert(0, str(Path(args.src).resolve()))
    import pandas as pd
    from bench_classify import SEED, _with_nt

    from cordtrial.isncsci.batch import classify_frame
    from cordtrial.isncsci.batch import encode as batch_encode
    from cordtrial.isncsci.batch import frame as batch_frame
    from cordtrial.isncsci.io.formats import read_frame
    from strategies import generate_exams

    exams = generate_exams(args.exams, SEED)
    per = 100_000 / args.exams
    for scenario, flats in (("default", exams), ("nt_5pct", _with_nt(exams, 0.05, SEED + 1))):
        with tempfile.TemporaryDirectory() as folder:
            csv = Path(folder) / "exams.csv"
            pd.DataFrame(flats, dtype=object).to_csv(csv, index=False)
            frame = read_frame(csv)
        classify_frame(frame, workers=1)  # compiled code loaded
        codes = batch_frame._classify_codes(frame)
        coder = getattr(batch_encode, "cell_codes", None)

        def coding(frame: Any = frame, coder: Any = coder) -> None:
            if coder is None or coder(frame) is None:  # before the one-pass coder
                batch_encode.side_arrays(frame, "r")
                batch_encode.side_arrays(frame, "l")

        stages = {
            "coding the cells": _cpu(coding, args.repeat),
            "coding + closed form + walk + totals": _cpu(
                lambda f=frame: batch_frame._classify_codes(f), args.repeat
            ),
            "results to categoricals (_frame)": _cpu(
                lambda f=frame, c=codes: batch_frame._frame(f, *c), args.repeat
            ),
            "classify_frame(workers=1)": _cpu(
                lambda f=frame: classify_frame(f, workers=1), args.repeat
            ),
        }
        import cordtrial

        print(
            json.dumps(
                {
                    "scenario": scenario,
                    "cordtrial": str(Path(cordtrial.__file__).parent.parent),
                    "load": [round(x, 2) for x in os.getloadavg()],
                    "cpu_s_per_100k": {k: round(v * per, 4) for k, v in stages.items()},
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
