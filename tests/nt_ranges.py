"""Complete NT ranges (DESIGN.md): replacing an ``NT`` by any concrete value must give results
inside the ranges the exam with the ``NT`` reported. Shared by the property tests and the
sweep script (benchmarks/nt_range_sweep.py).

A *case* is a generated exam with one cell opened to ``NT`` (a random cell per exam); its
*substitutions* are the exam with that cell replaced by each concrete value (motor 0-5, sensory
0-2, VAC/DAP Yes/No). Values are compared without their ``*``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from oracle.oracle import ALL_COLUMNS, CELL_COLUMNS
from strategies import generate_exams

__all__ = ["RANGED_FIELDS", "range_violations", "single_nt_cases", "sweep"]

#: Every result that can be a range.
RANGED_FIELDS: tuple[str, ...] = (
    "sensory_right", "sensory_left", "motor_right", "motor_left", "nli", "ais", "complete",
    "zpp_sensory_right", "zpp_sensory_left", "zpp_motor_right", "zpp_motor_left",
)  # fmt: skip


def _substitutes(column: str) -> tuple[str, ...]:
    if column in ("vac", "dap"):
        return ("Yes", "No")
    return tuple(str(g) for g in range(6 if column.endswith("_motor") else 3))


def single_nt_cases(
    n: int, seed: int, **rates: float
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray[Any, Any], list[str]]:
    """``n`` generated exams, each with one random cell opened to NT; and every substitution.

    Returns the opened exams (one row each), the substituted exams, for each substitution the
    row of its opened exam, and the opened column of each exam.
    """
    rng = random.Random(seed)
    cells = np.array(
        [[e[c] for c in ALL_COLUMNS] for e in generate_exams(n, seed, **rates)], dtype=object
    )
    where = {c: i for i, c in enumerate(ALL_COLUMNS)}
    columns = [rng.choice(CELL_COLUMNS) for _ in range(n)]
    index = np.array([where[c] for c in columns])
    opened = cells.copy()
    opened[np.arange(n), index] = "NT"
    counts = np.array([len(_substitutes(c)) for c in columns])
    origin = np.repeat(np.arange(n), counts)
    concrete = opened[origin]
    concrete[np.arange(len(origin)), index[origin]] = [v for c in columns for v in _substitutes(c)]
    as_frame = lambda m: pd.DataFrame(m, columns=list(ALL_COLUMNS))  # noqa: E731
    return as_frame(opened), as_frame(concrete), origin, columns


def _names(text: str) -> frozenset[str]:
    return frozenset(v.rstrip("*") for v in text.split(","))


def range_violations(
    ranges: pd.DataFrame,
    concrete: pd.DataFrame,
    origin: np.ndarray[Any, Any],
    fields: Sequence[str] = RANGED_FIELDS,
) -> list[tuple[int, str, str, str]]:
    """(substitution, field, concrete value, reported range) for each value outside its range.
    Pairs repeat a lot in a registry, so each distinct pair is judged once."""
    found = []
    for field in fields:
        pairs = pd.DataFrame(
            {
                "value": concrete[field].astype(str).to_numpy(),
                "range": ranges[field].astype(str).to_numpy()[origin],
            }
        )
        codes, uniques = pd.factorize(pd.MultiIndex.from_frame(pairs))
        inside = np.array([_names(v) <= _names(r) for v, r in uniques])
        for row in np.flatnonzero(~inside[codes]):
            found.append((int(row), field, pairs.at[row, "value"], pairs.at[row, "range"]))
    return found


def sweep(
    classify_many: Callable[[pd.DataFrame], pd.DataFrame],
    n: int,
    seed: int,
    chunk: int = 20_000,
    **rates: float,
) -> tuple[int, list[tuple[int, str, str, str]]]:
    """Single-NT substitutions of ``n`` exams in chunks: (substitutions, violations)."""
    total, violations = 0, []
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        opened, concrete, origin, _ = single_nt_cases(size, seed + start, **rates)
        ranges, results = classify_many(opened), classify_many(concrete)
        violations += [(total + r, *rest) for r, *rest in range_violations(ranges, results, origin)]
        total += len(concrete)
    return total, violations
