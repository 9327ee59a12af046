"""Monte Carlo of a proposed trial: the vectorized simulation against exact results and against
the same model as a plain Python loop."""

from __future__ import annotations

import math

import pytest

from cordtrial.analysis.design import single_arm_design
from cordtrial.analysis.errors import AnalysisInputError, BackendUnavailableError
from cordtrial.analysis.simulation import (
    SimulationDesign,
    array_module,
    simulate,
    simulate_python,
)


def _close(a: float, b: float, p: float, trials: int, sigmas: float = 4.5) -> bool:
    return abs(a - b) <= sigmas * math.sqrt(max(p * (1 - p), 1e-4) / trials) + 1e-9


def test_single_look_without_dropout_or_safety_gives_the_exact_power():
    """Source: exact binomial power and size (single_arm_design, itself checked against a brute
    force over scipy.stats.binom) -- the simulation must agree within Monte Carlo error."""
    design = SimulationDesign(n_max=25, null_rate=0.2, treated_rate=0.45, safety_rule=None)
    result = simulate(design, trials=40_000, seed=3)
    exact = single_arm_design(25, 0.2, 0.45)
    assert _close(result.power, exact.power, exact.power, 40_000)
    assert _close(result.type_i_error, exact.attained_alpha, exact.attained_alpha, 40_000)
    assert result.alternative.expected_n == 25
    assert result.alternative.early_stop == 0


def test_vectorized_equals_python_loop_with_looks_dropout_and_safety():
    design = SimulationDesign(n_max=20, null_rate=0.25, treated_rate=0.5, dropout=0.1,
                              looks=(0.5, 1.0), safety_rate=0.08)  # fmt: skip
    fast = simulate(design, trials=20_000, seed=11).alternative
    slow = simulate_python(design, trials=4000, seed=12)
    for name in ("success", "stop_efficacy", "stop_futility", "stop_safety"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert _close(a, b, b, 4000, sigmas=5), name
    assert abs(fast.expected_n - slow.expected_n) < 0.6


def test_interim_looks_inflate_type_i_error_over_the_single_look():
    single = SimulationDesign(n_max=30, null_rate=0.2, treated_rate=0.4, safety_rule=None)
    looks = SimulationDesign(n_max=30, null_rate=0.2, treated_rate=0.4, safety_rule=None,
                             looks=(0.25, 0.5, 0.75, 1.0), efficacy_threshold=0.9)  # fmt: skip
    inflated = simulate(looks, trials=30_000).type_i_error
    assert inflated > simulate(single, trials=30_000).type_i_error


def test_safety_events_stop_trials_early():
    design = SimulationDesign(n_max=20, null_rate=0.2, treated_rate=0.4, safety_rate=0.5)
    result = simulate(design, trials=5000)
    assert result.alternative.stop_safety > 0.9
    assert result.alternative.expected_n < 8
    assert list(result.summary["scenario"]) == ["treated_rate", "null_rate"]


def test_same_seed_same_result():
    design = SimulationDesign(n_max=10, null_rate=0.2, treated_rate=0.4)
    assert simulate(design, trials=2000, seed=5) == simulate(design, trials=2000, seed=5)


def test_cupy_backend_reports_clearly_when_not_available():
    """No GPU is needed anywhere: asking for CuPy where it is missing is a clear error."""
    try:
        array_module("cupy")
    except BackendUnavailableError as exc:
        assert "backend='numpy'" in str(exc)
    else:  # pragma: no cover - only on a machine with CuPy and a CUDA device
        pytest.skip("CuPy and a CUDA device are present")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"looks": (0.5,)}, "looks"), ({"looks": (0.7, 0.5, 1.0)}, "looks"),
     ({"dropout": 1.0}, "dropout"), ({"n_max": 0}, "n_max")],
)  # fmt: skip
def test_bad_design_names_the_field(kwargs: dict[str, object], field: str):
    base = {"n_max": 10, "null_rate": 0.2, "treated_rate": 0.4}
    with pytest.raises(AnalysisInputError) as info:
        SimulationDesign(**{**base, **kwargs})  # type: ignore[arg-type]
    assert info.value.field == field


def test_unknown_backend_names_the_field():
    with pytest.raises(AnalysisInputError) as info:
        array_module("jax")
    assert info.value.field == "backend"


def test_simulate_boundaries_single_look_gives_the_binomial_tail():
    """Source: scipy.stats.binom -- one analysis at 20, active when >= 8: P = P(X >= 8)."""
    from scipy import stats

    from cordtrial.analysis.designs.boundaries import StoppingBoundaries
    from cordtrial.analysis.simulation import simulate_boundaries

    bounds = StoppingBoundaries(looks=(20,), futility=(7,), efficacy=(8,))
    result = simulate_boundaries(bounds, [0.3], trials=40_000, seed=11)
    exact = float(stats.binom.sf(7, 20, 0.3))
    assert _close(float(result["p_active"][0]), exact, exact, 40_000)
    assert result["expected_n"][0] == 20
    assert result["p_early_stop"][0] == 0
    again = simulate_boundaries(bounds, [0.3], trials=40_000, seed=11)
    assert again.equals(result)


def test_simulate_boundaries_refuses_a_rate_outside_0_1():
    from cordtrial.analysis.designs.boundaries import StoppingBoundaries
    from cordtrial.analysis.simulation import simulate_boundaries

    bounds = StoppingBoundaries(looks=(10,), futility=(2,), efficacy=(3,))
    with pytest.raises(AnalysisInputError) as info:
        simulate_boundaries(bounds, [1.5], trials=10)
    assert info.value.field == "true_rate"
