"""Monte Carlo simulation of a proposed single-arm trial against a natural conversion rate.

Each simulated trial enrols up to ``n_max`` participants one after another. For each
participant three independent draws decide whether they convert (probability ``treated_rate``, or
``null_rate`` in the type I error run), drop out before the outcome visit (``dropout``; a dropout
counts as *not converted*, the conservative convention), and have an event the safety rule
counts (``safety_rate``). Then:

* **safety** -- the :class:`~cordtrial.analysis.safety.StoppingRule` is checked after every
  participant (its boundary of counting participants by number treated); crossing it stops the
  trial, without success;
* **interim looks** at the fractions ``looks`` of ``n_max`` (the last is the final analysis):
  stop for efficacy when P(rate > null_rate | data) > ``efficacy_threshold`` (beta-binomial,
  prior ``prior``) or for futility when it is < ``futility_threshold``;
* **final analysis** -- success when the exact binomial test against ``null_rate`` at one-sided
  ``alpha`` rejects (at least the critical count of ``n_max``).

Outcomes are assumed known at each look (no follow-up lag). The same design is run with the
true rate ``treated_rate`` (power) and with ``null_rate`` (type I error: looks inflate it, which
the simulation shows). Vectorized with numpy over trials: 100,000 trials of 30 participants take
well under a second (see docs/benchmarks.md). ``backend="cupy"`` runs the same array code with
CuPy on a GPU where CuPy and a device are present; nothing in cordtrial needs it, and the tests
never use it. :func:`simulate_python` is the same model as a plain Python loop, the baseline of
the benchmark and a cross-check in the tests.

:func:`simulate_boundaries` runs the stopping boundaries of any single-arm design of
:mod:`cordtrial.analysis.designs` (Simon, Fleming, Thall-Simon, Lee-Liu) by Monte Carlo: the
tests check every design's exact operating characteristics against it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from cordtrial.analysis.design import single_arm_design
from cordtrial.analysis.designs.boundaries import OC_COLUMNS, StoppingBoundaries
from cordtrial.analysis.errors import AnalysisInputError, BackendUnavailableError
from cordtrial.analysis.safety import DEFAULT_STOPPING_RULE, StoppingRule
from cordtrial.analysis.stats import check_count, check_probability

__all__ = [
    "BACKENDS",
    "ScenarioResult",
    "SimulationDesign",
    "SimulationResult",
    "array_module",
    "decision_bounds",
    "simulate",
    "simulate_boundaries",
    "simulate_python",
]

Backend = Literal["numpy", "cupy"]
BACKENDS: Final = ("numpy", "cupy")
_CELLS_PER_BATCH = 4_000_000


def array_module(backend: str) -> ModuleType:
    """The array module of a backend: ``numpy``, or ``cupy`` (imported only when asked)."""
    if backend == "numpy":
        return np
    if backend == "cupy":
        try:
            import cupy  # type: ignore[import-not-found]

            cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # ImportError, or CUDA without a device
            raise BackendUnavailableError(
                f"backend 'cupy' is not available here ({type(exc).__name__}: {exc}); "
                "install CuPy on a machine with a CUDA device, or use backend='numpy'"
            ) from exc
        module: ModuleType = cupy
        return module
    raise AnalysisInputError("backend", backend, "one of " + ", ".join(BACKENDS))


@dataclass(frozen=True, slots=True)
class SimulationDesign:
    """A proposed single-arm trial (see the module docstring for the model)."""

    n_max: int
    null_rate: float
    treated_rate: float
    dropout: float = 0.0
    looks: tuple[float, ...] = (1.0,)
    alpha: float = 0.05
    efficacy_threshold: float = 0.99
    futility_threshold: float = 0.05
    prior: tuple[float, float] = (1.0, 1.0)
    safety_rate: float = 0.0
    safety_rule: StoppingRule | None = DEFAULT_STOPPING_RULE

    def __post_init__(self) -> None:
        check_count("n_max", self.n_max, 1, 10_000)
        check_probability("null_rate", self.null_rate)
        check_probability("treated_rate", self.treated_rate)
        check_probability("dropout", self.dropout, open_interval=False)
        check_probability("alpha", self.alpha)
        check_probability("efficacy_threshold", self.efficacy_threshold)
        check_probability("futility_threshold", self.futility_threshold, open_interval=False)
        check_probability("safety_rate", self.safety_rate, open_interval=False)
        if self.dropout >= 1:
            raise AnalysisInputError("dropout", self.dropout, "a probability below 1")
        looks = self.looks
        if not looks or any(not 0 < f <= 1 for f in looks) or list(looks) != sorted(set(looks)):
            raise AnalysisInputError(
                "looks", looks, "increasing fractions in (0, 1], the last 1.0 (final analysis)"
            )
        if looks[-1] != 1.0:
            raise AnalysisInputError("looks", looks, "a last look of 1.0 (the final analysis)")

    @property
    def look_sizes(self) -> tuple[int, ...]:
        """Participants enrolled at each look (``ceil(fraction * n_max)``)."""
        return tuple(sorted({max(1, math.ceil(f * self.n_max - 1e-9)) for f in self.looks}))


def decision_bounds(design: SimulationDesign) -> dict[str, np.ndarray[Any, Any]]:
    """Count thresholds by participants enrolled (index n = 0 .. n_max).

    ``efficacy``: fewest conversions with P(rate > p0) > efficacy_threshold (n + 1: none);
    ``futility``: most conversions with P(rate > p0) < futility_threshold (-1: none);
    ``safety``: fewest counting participants that cross the safety rule (n + 1: none);
    ``final``: the exact test's critical count at n_max (a length-1 array).
    """
    from scipy import stats

    a, b = design.prior
    n_max = design.n_max
    eff = np.empty(n_max + 1, dtype=np.int64)
    fut = np.empty(n_max + 1, dtype=np.int64)
    for n in range(n_max + 1):
        ks = np.arange(n + 1)
        post = stats.beta.sf(design.null_rate, a + ks, b + n - ks)
        over = np.nonzero(post > design.efficacy_threshold)[0]
        under = np.nonzero(post < design.futility_threshold)[0]
        eff[n] = over[0] if len(over) else n + 1
        fut[n] = under[-1] if len(under) else -1
    if design.safety_rule is not None:
        safety = design.safety_rule.boundary(n_max)
    else:
        safety = np.arange(n_max + 1, dtype=np.int64) + 1
    final = single_arm_design(n_max, design.null_rate, design.treated_rate, alpha=design.alpha)
    return {
        "efficacy": eff, "futility": fut, "safety": safety,
        "final": np.array([final.critical], dtype=np.int64),
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """Operating characteristics under one true conversion rate."""

    true_rate: float
    trials: int
    success: float
    expected_n: float
    early_stop: float
    stop_efficacy: float
    stop_futility: float
    stop_safety: float


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Power, type I error, expected size and early stopping of a design.

    Attributes
    ----------
    design : SimulationDesign
    alternative : ScenarioResult
        Under ``treated_rate``: ``success`` is the power.
    null : ScenarioResult
        Under ``null_rate``: ``success`` is the type I error.
    backend : str
    seed : int
    """

    design: SimulationDesign
    alternative: ScenarioResult
    null: ScenarioResult
    backend: str
    seed: int
    caveats: tuple[str, ...] = field(default=())

    @property
    def power(self) -> float:
        """P(success) when the true rate is ``treated_rate``."""
        return self.alternative.success

    @property
    def type_i_error(self) -> float:
        """P(success) when the true rate is the natural rate."""
        return self.null.success

    @property
    def summary(self) -> pd.DataFrame:
        """Two rows (alternative, null): P(success), expected size, early stops by reason."""
        rows = []
        for name, s in (("treated_rate", self.alternative), ("null_rate", self.null)):
            rows.append({"scenario": name, **{f: getattr(s, f) for f in s.__dataclass_fields__}})
        return pd.DataFrame(rows)


def _scenario(
    design: SimulationDesign, rate: float, trials: int, rng: Any, xp: ModuleType,
    bounds: dict[str, Any],
) -> ScenarioResult:  # fmt: skip
    n = design.n_max
    looks = design.look_sizes
    totals = {"success": 0.0, "n": 0.0, "eff": 0.0, "fut": 0.0, "safety": 0.0}
    batch = max(1, _CELLS_PER_BATCH // n)
    done = 0
    while done < trials:
        t = min(batch, trials - done)
        done += t
        converted = (rng.random((t, n)) < rate) & (rng.random((t, n)) >= design.dropout)
        cum = xp.cumsum(converted, axis=1, dtype=xp.int32)
        never = n + 1
        stop_at = xp.full(t, never, dtype=xp.int32)
        outcome = xp.zeros(t, dtype=xp.int8)  # 1 efficacy, 2 futility, 3 final success
        for m in looks:
            k = cum[:, m - 1]
            open_ = stop_at == never
            if m < n:
                eff = open_ & (k >= int(bounds["efficacy"][m]))
                fut = open_ & ~eff & (k <= int(bounds["futility"][m]))
                stop_at = xp.where(eff | fut, m, stop_at)
                outcome = xp.where(eff, 1, xp.where(fut, 2, outcome)).astype(xp.int8)
            else:
                win = open_ & (k >= int(bounds["final"][0]))
                stop_at = xp.where(open_, m, stop_at)
                outcome = xp.where(win, 3, outcome).astype(xp.int8)
        safety_at = xp.full(t, never, dtype=xp.int32)
        if design.safety_rule is not None and design.safety_rate > 0:
            events = xp.cumsum(rng.random((t, n)) < design.safety_rate, axis=1, dtype=xp.int32)
            crossed = events >= xp.asarray(bounds["safety"][1:], dtype=xp.int32)[None, :]
            first = xp.argmax(crossed, axis=1).astype(xp.int32) + 1
            safety_at = xp.where(crossed.any(axis=1), first, never)
        by_safety = safety_at <= stop_at
        size = xp.where(by_safety, safety_at, stop_at)
        won = ~by_safety & ((outcome == 1) | (outcome == 3))
        totals["success"] += float(won.sum())
        totals["n"] += float(size.sum())
        totals["eff"] += float((~by_safety & (outcome == 1)).sum())
        totals["fut"] += float((~by_safety & (outcome == 2)).sum())
        totals["safety"] += float((by_safety & (safety_at < n)).sum())
    stop_eff, stop_fut, stop_safe = (totals[k] / trials for k in ("eff", "fut", "safety"))
    return ScenarioResult(
        true_rate=rate, trials=trials, success=totals["success"] / trials,
        expected_n=totals["n"] / trials, early_stop=stop_eff + stop_fut + stop_safe,
        stop_efficacy=stop_eff, stop_futility=stop_fut, stop_safety=stop_safe,
    )  # fmt: skip


def simulate(
    design: SimulationDesign,
    *,
    trials: int = 100_000,
    seed: int = 20_261_125,
    backend: Backend = "numpy",
) -> SimulationResult:
    """Simulate ``trials`` trials of ``design`` under the treated and the natural rate.

    Parameters
    ----------
    design : SimulationDesign
    trials : int
        Simulated trials per scenario (Monte Carlo SE of a probability p: sqrt(p(1-p)/trials)).
    seed : int
        Seed of the random generator (numpy's PCG64; CuPy's default generator on a GPU).
    backend : {"numpy", "cupy"}

    Returns
    -------
    SimulationResult

    Notes
    -----
    Early stops: ``stop_safety`` counts trials stopped by the safety rule before the last
    participant; a safety crossing at the last participant ends the trial without success but
    is not "early".
    """
    trials = check_count("trials", trials, 1, 100_000_000)
    xp = array_module(backend)
    bounds = decision_bounds(design)
    rng = xp.random.default_rng(seed)
    alt = _scenario(design, design.treated_rate, trials, rng, xp, bounds)
    null = _scenario(design, design.null_rate, trials, rng, xp, bounds)
    return SimulationResult(design=design, alternative=alt, null=null, backend=backend, seed=seed)


def simulate_python(
    design: SimulationDesign, *, trials: int = 1000, seed: int = 1, rate: float | None = None
) -> ScenarioResult:
    """The same model as :func:`simulate`, one trial and one participant at a time in plain
    Python (``random.Random``): the benchmark's baseline and the tests' cross-check.

    ``rate`` is the true conversion rate (default ``treated_rate``).
    """
    trials = check_count("trials", trials, 1)
    rng = random.Random(seed)
    bounds = decision_bounds(design)
    rate = design.treated_rate if rate is None else rate
    looks = set(design.look_sizes)
    n_max = design.n_max
    success = size_total = eff_n = fut_n = safe_n = 0
    for _ in range(trials):
        k = events = 0
        result = "none"
        size = n_max
        for i in range(1, n_max + 1):
            converted = rng.random() < rate
            stays = rng.random() >= design.dropout
            k += converted and stays
            if design.safety_rule is not None and design.safety_rate > 0:
                events += rng.random() < design.safety_rate
                if events >= bounds["safety"][i]:
                    result, size = ("safety" if i < n_max else "safety_last"), i
                    break
            if i in looks:
                if i == n_max:
                    result = "final" if k >= bounds["final"][0] else "none"
                elif k >= bounds["efficacy"][i]:
                    result, size = "efficacy", i
                    break
                elif k <= bounds["futility"][i]:
                    result, size = "futility", i
                    break
        success += result in {"efficacy", "final"}
        eff_n += result == "efficacy"
        fut_n += result == "futility"
        safe_n += result == "safety"
        size_total += size
    return ScenarioResult(
        true_rate=rate, trials=trials, success=success / trials, expected_n=size_total / trials,
        early_stop=(eff_n + fut_n + safe_n) / trials, stop_efficacy=eff_n / trials,
        stop_futility=fut_n / trials, stop_safety=safe_n / trials,
    )  # fmt: skip


def simulate_boundaries(
    bounds: StoppingBoundaries,
    rates: tuple[float, ...] | list[float],
    *,
    trials: int = 100_000,
    seed: int = 20_261_204,
) -> pd.DataFrame:
    """Monte Carlo of a single-arm design's stopping boundaries, one row per true rate.

    Each simulated trial draws its participants' responses one by one (numpy), and the
    boundaries are applied at each analysis exactly as
    :func:`cordtrial.analysis.designs.boundaries.operating_characteristics` defines them; the
    columns are the same (:data:`~cordtrial.analysis.designs.boundaries.OC_COLUMNS`), so the two
    can be compared within Monte Carlo error (SE of a probability p: sqrt(p(1-p)/trials)).
    """
    trials = check_count("trials", trials, 1, 100_000_000)
    rng = np.random.default_rng(seed)
    n = bounds.n_max
    looks = np.asarray(bounds.looks) - 1
    fut = np.asarray(bounds.futility)[None, :]
    eff = np.asarray(bounds.efficacy)[None, :]
    last = len(bounds.looks) - 1
    rows = []
    for rate in rates:
        p = check_probability("true_rate", rate, open_interval=False)
        totals = dict.fromkeys(OC_COLUMNS[1:], 0.0)
        batch = max(1, _CELLS_PER_BATCH // n)
        done = 0
        while done < trials:
            t = min(batch, trials - done)
            done += t
            at_looks = np.cumsum(rng.random((t, n)) < p, axis=1, dtype=np.int32)[:, looks]
            stops = (at_looks <= fut) | (at_looks >= eff)
            stops[:, last] = True
            first = np.argmax(stops, axis=1)
            s = at_looks[np.arange(t), first]
            active = s >= eff[0, first]
            inactive = s <= fut[0, first]
            early = first < last
            totals["p_active"] += float(active.sum())
            totals["p_inactive"] += float(inactive.sum())
            totals["p_inconclusive"] += float((~active & ~inactive).sum())
            totals["p_early_stop"] += float(early.sum())
            totals["p_early_active"] += float((early & active).sum())
            totals["p_early_inactive"] += float((early & inactive).sum())
            totals["expected_n"] += float(np.asarray(bounds.looks)[first].sum())
        rows.append({"true_rate": p, **{k: v / trials for k, v in totals.items()}})
    return pd.DataFrame(rows, columns=list(OC_COLUMNS))
