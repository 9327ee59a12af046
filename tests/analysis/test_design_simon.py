"""Simon's two-stage designs: published table rows, the computed rows of the reference sheet, a
brute-force search written independently, and the exact error rates against scipy."""

from __future__ import annotations

from math import comb

import pytest

from cordtrial.analysis.designs.boundaries import operating_characteristics
from cordtrial.analysis.designs.simon import simon_design, simon_two_stage
from cordtrial.analysis.errors import AnalysisInputError


@pytest.mark.parametrize(
    ("p0", "p1", "optimal"),
    [
        (0.30, 0.50, (5, 15, 18, 46)),
        (0.40, 0.60, (7, 16, 23, 46)),
        (0.50, 0.70, (8, 15, 26, 43)),
    ],
)
def test_optimal_design_reproduces_simon_1989_table(p0, p1, optimal):
    """Source: Simon R, Controlled Clinical Trials 1989;10:1-10, table rows for alpha 0.05,
    beta 0.20 (r1/n1, r/n), as quoted from p. 4 by kkmann (shared/reference/designs.md, tag C)."""
    d = simon_two_stage(p0, p1, alpha=0.05, power=0.8).optimal
    assert (d.r1, d.n1, d.r, d.n) == optimal


@pytest.mark.parametrize(
    ("p0", "p1", "alpha", "power", "optimal", "minimax"),
    [
        (0.10, 0.30, 0.05, 0.90, (2, 18, 6, 35, 22.53, 0.734), (2, 22, 6, 33, 26.18, 0.620)),
        (0.10, 0.30, 0.10, 0.90, (1, 12, 5, 35, 19.84, 0.659), (1, 16, 4, 25, 20.37, 0.515)),
        (0.20, 0.40, 0.10, 0.90, (3, 17, 10, 37, 26.02, 0.549), (3, 19, 10, 36, 28.26, 0.455)),
    ],
)
def test_optimal_and_minimax_equal_the_reference_sheet(p0, p1, alpha, power, optimal, minimax):
    """Source: shared/reference/designs.md section 1, rows marked "computed" (an exact search
    written by the sheet's author, itself checked against the published rows above) -- a
    secondary check, not a published table. The 0.1/0.3 alpha=beta=0.1 row is the one a tutorial
    site gets wrong (2/18, 4/26)."""
    result = simon_two_stage(p0, p1, alpha=alpha, power=power).to_dict()
    for got, want in ((result["optimal"], optimal), (result["minimax"], minimax)):
        assert (got["r1"], got["n1"], got["r"], got["n"]) == want[:4]
        assert got["en0"] == pytest.approx(want[4], abs=0.006)
        assert got["pet0"] == pytest.approx(want[5], abs=0.0006)


def test_exact_error_rates_of_the_p0_02_design():
    """Source: designs.md section 1: the p0 0.2 / p1 0.4 optimal design for alpha 0.05, power
    0.8 has exact alpha 0.0496 and power 0.8002 (computed there, by the sheet's own code)."""
    d = simon_two_stage(0.2, 0.4, alpha=0.05, power=0.8).optimal
    assert d.alpha == pytest.approx(0.0496, abs=5e-5)
    assert d.power == pytest.approx(0.8002, abs=5e-5)
    assert d.alpha <= 0.05 and d.power >= 0.8


def _brute_force(p0: float, p1: float, alpha: float, power: float, n_max: int):
    """Every (r1, n1, r, n), pure Python with math.comb: an implementation independent of
    the vectorised search."""

    def pmf(x: int, n: int, p: float) -> float:
        return comb(n, x) * p**x * (1 - p) ** (n - x)

    def reject(r1: int, n1: int, r: int, n: int, p: float) -> float:
        total = 0.0
        for x1 in range(r1 + 1, n1 + 1):
            need = r - x1  # stage-2 responses must exceed this
            tail = 1.0 if need < 0 else sum(pmf(x, n - n1, p) for x in range(need + 1, n - n1 + 1))
            total += pmf(x1, n1, p) * tail
        return total

    feasible = []
    for n in range(2, n_max + 1):
        for n1 in range(1, n):
            for r1 in range(0, n1):
                pet0 = sum(pmf(x, n1, p0) for x in range(r1 + 1))
                en0 = n1 + (1 - pet0) * (n - n1)
                for r in range(r1, n):
                    if reject(r1, n1, r, n, p0) <= alpha and reject(r1, n1, r, n, p1) >= power:
                        feasible.append((en0, n, n1, r1, r))
    optimal = min(feasible, key=lambda d: (round(d[0], 12), d[1], d[2]))
    minimax = min(feasible, key=lambda d: (d[1], round(d[0], 12), d[2]))
    return optimal, minimax


def test_search_equals_an_independent_brute_force():
    """Source: exhaustive enumeration of every design with n <= 18 (pure Python)."""
    optimal, minimax = _brute_force(0.1, 0.4, 0.1, 0.8, 18)
    result = simon_two_stage(0.1, 0.4, alpha=0.1, power=0.8, n_max=18)
    assert (result.optimal.r1, result.optimal.n1, result.optimal.r, result.optimal.n) == (
        optimal[3], optimal[2], optimal[4], optimal[1])  # fmt: skip
    assert result.optimal.en0 == pytest.approx(optimal[0])
    assert (result.minimax.r1, result.minimax.n1, result.minimax.r, result.minimax.n) == (
        minimax[3], minimax[2], minimax[4], minimax[1])  # fmt: skip


def test_boundaries_give_the_same_error_rates_as_simons_formula():
    """The generic boundary engine and Simon's closed formula agree (alpha, power, EN0, PET0)."""
    d = simon_design(2, 18, 6, 35, 0.1, 0.3)
    oc = operating_characteristics(d.boundaries, [0.1, 0.3])
    assert oc["p_active"][0] == pytest.approx(d.alpha, abs=1e-12)
    assert oc["p_active"][1] == pytest.approx(d.power, abs=1e-12)
    assert oc["expected_n"][0] == pytest.approx(d.en0, abs=1e-9)
    assert oc["p_early_inactive"][0] == pytest.approx(d.pet0, abs=1e-12)
    assert oc["p_early_active"].max() == 0


def test_json_has_exactly_the_contract_keys():
    """DESIGN.md contract: {"optimal": {r1, n1, r, n, en0, pet0}, "minimax": {...}}."""
    result = simon_two_stage(0.2, 0.4, alpha=0.1, power=0.9).to_dict()
    assert set(result) == {"optimal", "minimax"}
    for design in result.values():
        assert set(design) == {"r1", "n1", "r", "n", "en0", "pet0"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"p0": 0.4, "p1": 0.2}, "p1"),
        ({"p0": 0.0, "p1": 0.2}, "p0"),
        ({"p0": 0.1, "p1": 0.3, "alpha": 1.5}, "alpha"),
        ({"p0": 0.1, "p1": 0.15, "n_max": 10}, "n_max"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(AnalysisInputError) as info:
        simon_two_stage(**kwargs)
    assert info.value.field == field
