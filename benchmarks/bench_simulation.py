"""Monte Carlo trial simulation: 100,000 simulated trials, vectorized numpy vs a Python loop.

    .venv/bin/python benchmarks/bench_simulation.py [--trials N] [--loop-trials N] [--repeat N]

For each design, ``cordtrial.analysis.simulation.simulate`` runs ``--trials`` simulated trials
under the treated rate *and* ``--trials`` under the natural rate (power and type I error): the
time is for both, 2 x ``--trials`` trials. The baseline is ``simulate_python`` -- the same model,
one trial and one participant at a time in plain Python -- on ``--loop-trials`` trials per
scenario, its time **extrapolated** linearly to 2 x ``--trials``. Each vectorized timing is the
best of ``--repeat`` runs; the loop runs once. CPU only (numpy); the CuPy backend is not timed
(no GPU on the benchmark machine). Results: a table on stdout, JSON in
``benchmarks/results/simulation.json``.
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

from _common import load, machine, table, write_results

from cordtrial.analysis.simulation import SimulationDesign, simulate, simulate_python

DESIGNS = {
    "n30, 1 look": SimulationDesign(n_max=30, null_rate=0.261, treated_rate=0.5,
                                    safety_rule=None),
    "n30, 2 looks, dropout 10%, safety 5%": SimulationDesign(
        n_max=30, null_rate=0.261, treated_rate=0.5, dropout=0.1, looks=(0.5, 1.0),
        safety_rate=0.05),
    "n100, 4 looks, dropout 15%, safety 3%": SimulationDesign(
        n_max=100, null_rate=0.261, treated_rate=0.4, dropout=0.15,
        looks=(0.25, 0.5, 0.75, 1.0), safety_rate=0.03),
}  # fmt: skip


def _design(name: str, design: SimulationDesign, args: argparse.Namespace) -> dict[str, Any]:
    simulate(design, trials=1000)  # warm-up (imports, scipy boundaries)
    load_before = load()
    times = []
    result = None
    for i in range(args.repeat):
        gc.collect()
        start = time.perf_counter()
        result = simulate(design, trials=args.trials, seed=20_261_125 + i)
        times.append(time.perf_counter() - start)
    assert result is not None
    start = time.perf_counter()
    loop_alt = simulate_python(design, trials=args.loop_trials, seed=1)
    loop_null = simulate_python(design, trials=args.loop_trials, seed=2, rate=design.null_rate)
    loop_seconds = time.perf_counter() - start
    simulated = 2 * args.trials
    loop_rate = 2 * args.loop_trials / loop_seconds
    best = min(times)
    return {
        "design": name,
        "n_max": design.n_max,
        "looks": list(design.looks),
        "trials_simulated": simulated,
        "vectorized": {"seconds": best, "all_seconds": times, "trials_per_s": simulated / best},
        "python_loop": {
            "trials_timed": 2 * args.loop_trials,
            "seconds": loop_seconds,
            "trials_per_s": loop_rate,
            "extrapolated_seconds": simulated / loop_rate,
            "note": f"timed on {2 * args.loop_trials} trials; extrapolated to {simulated}",
        },
        "speedup": (simulated / best) / loop_rate,
        "power": result.power,
        "type_i_error": result.type_i_error,
        "expected_n": result.alternative.expected_n,
        "loop_power": loop_alt.success,
        "loop_type_i_error": loop_null.success,
        "load_before": load_before,
        "load_after": load(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--loop-trials", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = []
    for name, design in DESIGNS.items():
        print(f"design {name} ...", flush=True)
        results.append(_design(name, design, args))
    rows = [
        [
            r["design"],
            f"{r['trials_simulated']:,}",
            f"{r['vectorized']['seconds']:.2f}",
            f"{r['python_loop']['extrapolated_seconds']:.1f}",
            f"{r['speedup']:.0f}x",
            f"{r['power']:.3f} / {r['type_i_error']:.4f}",
        ]
        for r in results
    ]
    print()
    print(table(rows, ["design", "trials", "numpy s", "loop s (extrap.)", "ratio",
                       "power / type I"]))  # fmt: skip
    path = write_results("simulation", {"machine": machine(), "args": vars(args),
                                        "designs": results})  # fmt: skip
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
