"""Shared generators of ISNCSCI exams, as canonical flat dicts of ``str``.

Two front ends over one exam builder:

* :func:`generate_exams` -- seeded plain ``random.Random``; fast, reproducible, for large
  differential runs and benchmarks;
* :func:`exams` -- a hypothesis strategy (``st.composite``) for property tests; the same builder
  draws its choices from hypothesis, so failing exams shrink towards an intact exam without flags.

The builder makes *realistic* injury patterns: per exam a kind of injury (intact, complete,
sensory incomplete, motor incomplete with weak or strong muscles below the level) and a lesion
level anywhere C1..S4_5; per side the level shifted a little (asymmetry, sometimes a different kind,
as in a Brown-Sequard pattern); normal values above the level, a partial zone of a few levels with
intermediate grades, then absent or preserved function below; optional sacral sparing (S4_5 light
touch / pin prick, DAP, VAC). Then ``NT`` (single cells and short runs), ``*`` and ``**`` flags and
non-key muscles are sprinkled at per-exam rates, and a share of exams is uniformly random over all
legal values, for coverage of the odd corners.

Legal values (docs: DESIGN.md "Cell values"): motor ``0``-``5``, sensory ``0``-``2``, ``NT``, each
optionally flagged ``*`` / ``**`` except the normal grade (no ``5*``, ``2**``); ``vac`` / ``dap``
``Yes`` / ``No`` / ``NT``; ``r_nkm`` / ``l_nkm`` a level from C5 to S1 (key-muscle levels, and the
thoracic levels and L1 that older worksheets record) or empty.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

from oracle.oracle import ALL_COLUMNS, CELL_COLUMNS, MOTOR_LEVELS, NKM_COLUMNS, SENSORY_LEVELS

__all__ = [
    "ALL_COLUMNS",
    "CELL_COLUMNS",
    "MOTOR_VALUES",
    "NKM_CHOICES",
    "NKM_COLUMNS",
    "SENSORY_VALUES",
    "exams",
    "generate_exam",
    "generate_exams",
    "random_exam",
]

T = TypeVar("T")

#: Every legal motor cell value.
MOTOR_VALUES: tuple[str, ...] = (
    *(str(g) for g in range(6)),
    *(f"{g}{f}" for f in ("*", "**") for g in range(5)),
    "NT", "NT*", "NT**",
)  # fmt: skip
#: Every legal sensory cell value.
SENSORY_VALUES: tuple[str, ...] = (
    *(str(g) for g in range(3)),
    *(f"{g}{f}" for f in ("*", "**") for g in range(2)),
    "NT", "NT*", "NT**",
)  # fmt: skip
BINARY_VALUES: tuple[str, ...] = ("Yes", "No", "NT")
#: Levels a lowest non-key muscle may be recorded at: C5 to S1, thoracic levels and L1 included.
NKM_LEVELS: tuple[str, ...] = SENSORY_LEVELS[
    SENSORY_LEVELS.index("c5") : SENSORY_LEVELS.index("s2")
]
#: The thoracic levels and L1 among them (no key muscle there).
_NKM_TRUNK: tuple[str, ...] = tuple(lv.upper() for lv in NKM_LEVELS if lv not in MOTOR_LEVELS)
_NKM_KEY: tuple[str, ...] = tuple(lv.upper() for lv in MOTOR_LEVELS)
#: Values of ``r_nkm`` / ``l_nkm`` (empty: none recorded).
NKM_CHOICES: tuple[str, ...] = ("", *(lv.upper() for lv in NKM_LEVELS))

#: C1 then the 28 dermatomes; a lesion index ``i`` means levels[0..i] are normal.
_LEVELS: tuple[str, ...] = ("c1", *SENSORY_LEVELS)
_INTACT = len(_LEVELS) - 1  # S4_5 normal: nothing below to impair
_INDEX = {lv: i for i, lv in enumerate(_LEVELS)}
_MOTOR_INDEX = tuple(_INDEX[lv] for lv in MOTOR_LEVELS)
_GRADE_COLUMNS = tuple(col for col in CELL_COLUMNS if col not in ("vac", "dap"))

_KINDS = ("intact", "complete", "sensory", "motor_weak", "motor_strong")
_KIND_WEIGHTS = (12, 25, 20, 21, 22)
#: Lesion indices 0..27 (C1..S3 the last normal level), cervical lesions the most frequent.
_LESION_INDICES = tuple(range(_INTACT))
_LESION_WEIGHTS = (2, 2, 2, 2, 4, 4, 4, 4, *(2,) * 12, *(1,) * 8)
#: Per-exam multipliers of the NT and flag rates: many clean exams, some heavily marked.
_RATE_SCALES = (0.0, 0.0, 0.5, 1.0, 2.5)


class _Chooser(Protocol):
    """The few random choices the builder needs (from ``random.Random`` or hypothesis)."""

    def randint(self, a: int, b: int) -> int: ...

    def chance(self, p: float) -> bool: ...

    def choice(self, seq: Sequence[T]) -> T: ...

    def weighted(self, seq: Sequence[T], weights: Sequence[int]) -> T: ...

    def sample(self, n: int, rate: float) -> list[int]:
        """Indices in ``range(n)``, each in with about ``rate`` probability."""
        ...


class _RandomChooser:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._cumulative: dict[tuple[int, ...], tuple[list[int], int]] = {}

    def randint(self, a: int, b: int) -> int:
        return self._rng.randint(a, b)

    def chance(self, p: float) -> bool:
        return p > 0 and self._rng.random() < p

    def choice(self, seq: Sequence[T]) -> T:
        return seq[self._rng.randrange(len(seq))]

    def weighted(self, seq: Sequence[T], weights: Sequence[int]) -> T:
        key = tuple(weights)
        if key not in self._cumulative:
            cum = [sum(key[: i + 1]) for i in range(len(key))]
            self._cumulative[key] = (cum, cum[-1])
        cum, total = self._cumulative[key]
        return seq[bisect_right(cum, self._rng.random() * total)]

    def sample(self, n: int, rate: float) -> list[int]:
        if rate <= 0:
            return []
        r = self._rng.random
        return [i for i in range(n) if r() < rate]


class _DrawChooser:
    """Choices drawn from hypothesis; each shrinks towards 'nothing happens' / the first item."""

    def __init__(self, draw: Any) -> None:
        self._draw = draw

    def randint(self, a: int, b: int) -> int:
        return int(self._draw(st.integers(a, b)))

    def chance(self, p: float) -> bool:
        if p <= 0:
            return False
        return bool(self._draw(st.integers(0, 9999)) >= round((1 - p) * 10000))

    def choice(self, seq: Sequence[T]) -> T:
        return seq[self.randint(0, len(seq) - 1)]

    def weighted(self, seq: Sequence[T], weights: Sequence[int]) -> T:
        ticket = self.randint(0, sum(weights) - 1)
        for item, w in zip(seq, weights, strict=True):
            if ticket < w:
                return item
            ticket -= w
        raise AssertionError("unreachable")

    def sample(self, n: int, rate: float) -> list[int]:
        if rate <= 0:
            return []
        most = max(1, math.ceil(3 * rate * n))
        return sorted(self._draw(st.sets(st.integers(0, n - 1), max_size=most)))


def _sensory_below(c: _Chooser, kind: str, in_zone: bool) -> int:
    if in_zone:
        return c.weighted((1, 0, 2), (6, 2, 1))
    if kind in ("complete",):
        return 0 if not c.chance(0.03) else 1
    if kind == "sensory":
        return c.weighted((0, 1, 2), (5, 4, 1))
    return c.weighted((0, 1, 2), (2, 5, 3))


def _motor_below(c: _Chooser, kind: str, in_zone: bool) -> int:
    if in_zone:
        return c.weighted((1, 2, 3, 4, 0), (3, 3, 3, 2, 2))
    if kind in ("complete", "sensory"):
        return 0 if not c.chance(0.03) else 1
    if kind == "motor_weak":
        return c.weighted((0, 1, 2, 3, 4), (5, 4, 3, 2, 1))
    return c.weighted((2, 3, 4, 5), (1, 4, 5, 3))


def _build_side(
    c: _Chooser, g: _Chooser, prefix: str, kind: str, level: int, out: dict[str, int]
) -> None:
    """Fill grades (ints, normal 5 / 2) of one side for an injury of ``kind`` below ``level``.

    ``c`` makes the few choices that shape the injury, ``g`` the many grades below the level.
    """
    if kind == "intact":
        level = _INTACT
    # light touch, pin prick and motor levels need not coincide
    lt_level = max(0, min(_INTACT, level + c.weighted((0, 1, -1, 2), (8, 2, 2, 1))))
    pp_level = max(0, min(_INTACT, level + c.weighted((0, 1, -1, 2), (8, 2, 2, 1))))
    motor_level = max(0, min(_INTACT, level + c.weighted((0, 1, -1, 2, -2), (8, 2, 2, 1, 1))))
    sensory_zone = c.randint(0, 4)
    motor_zone = c.randint(0, 3)
    for mod, mod_level in (("lt", lt_level), ("pp", pp_level)):
        for i, lv in enumerate(SENSORY_LEVELS, start=1):
            if i <= mod_level:
                grade = 2
            else:
                grade = _sensory_below(g, kind, in_zone=i <= mod_level + sensory_zone)
            out[f"{prefix}_{lv}_{mod}"] = grade
    for lv, i in zip(MOTOR_LEVELS, _MOTOR_INDEX, strict=True):
        if i <= motor_level:
            grade = 5
        else:
            # the zone counts levels, not muscles: a T6 lesion leaves L2 well beyond it
            grade = _motor_below(g, kind, in_zone=i <= motor_level + motor_zone)
        out[f"{prefix}_{lv}_motor"] = grade


def _sacral(c: _Chooser, kinds: tuple[str, str], out: dict[str, int]) -> tuple[str, str]:
    """Set S4_5 sensation to fit the injury kinds; return (vac, dap)."""
    if kinds == ("intact", "intact"):
        return "Yes", "Yes"
    if kinds == ("complete", "complete"):
        # mostly no sacral sparing at all; sometimes DAP alone (sensory incomplete, AIS B)
        for p in "rl":
            out[f"{p}_s4_5_lt"] = 0
            out[f"{p}_s4_5_pp"] = 0
        return "No", ("Yes" if c.chance(0.08) else "No")
    spare = c.weighted(("lt", "pp", "both", "dap_only", "none"), (3, 2, 4, 2, 1))
    for p in c.choice(("rl", "r", "l")):
        if spare in ("lt", "both"):
            out[f"{p}_s4_5_lt"] = max(out[f"{p}_s4_5_lt"], c.choice((1, 1, 2)))
        if spare in ("pp", "both"):
            out[f"{p}_s4_5_pp"] = max(out[f"{p}_s4_5_pp"], c.choice((1, 1, 2)))
    dap = "Yes" if spare == "dap_only" or c.chance(0.5) else "No"
    motor_sparing = any(k.startswith("motor") or k == "intact" for k in kinds)
    vac = "Yes" if c.chance(0.55 if motor_sparing else 0.04) else "No"
    return vac, dap


def _flagged(c: _Chooser, grade: int, normal: int) -> str:
    flag = c.choice(("*", "**"))
    if grade >= normal:  # no flag on a normal grade: the non-SCI impairment lowers it
        grade = c.randint(0, normal - 1)
    return f"{grade}{flag}"


def generate_exam(
    rng: random.Random,
    *,
    nt_rate: float = 0.01,
    star_rate: float = 0.01,
    nkm_rate: float = 0.1,
    random_rate: float = 0.05,
) -> dict[str, str]:
    """Build one canonical flat exam from ``rng``.

    ``nt_rate`` and ``star_rate`` are per-cell rates, each scaled per exam by one of 0, 0, 1/2, 1,
    5/2 (mean 0.8) so that clean and heavily marked exams occur in one run; a short run of ``NT``
    cells is added with probability ``4 * nt`` (``nt`` the exam's scaled rate).
    ``nkm_rate`` is the chance that a side records a lowest non-key muscle; ``random_rate`` the
    share of exams drawn uniformly over every legal value.
    """
    c = _RandomChooser(rng)
    return _build_exam(c, c, nt_rate, star_rate, nkm_rate, random_rate)


def _build_exam(
    c: _Chooser,
    g: _Chooser,
    nt_rate: float,
    star_rate: float,
    nkm_rate: float,
    random_rate: float,
) -> dict[str, str]:
    """The exam builder: ``c`` makes the shaping choices, ``g`` the bulk of the grades."""
    if c.chance(random_rate):
        return random_exam(g)
    kind = c.weighted(_KINDS, _KIND_WEIGHTS)
    # lesion index: last normal level (0 = C1 ... 28 = S4_5, i.e. nothing impaired)
    level = c.weighted(_LESION_INDICES, _LESION_WEIGHTS)
    kinds = [kind, kind]
    levels = [level, level]
    if kind != "intact" and c.chance(0.35):
        other = c.randint(0, 1)
        levels[other] = max(0, min(_INTACT - 1, level + c.choice((-3, -2, -1, 1, 2, 3, 5))))
        if c.chance(0.25):
            kinds[other] = c.choice(_KINDS)
    grades: dict[str, int] = {}
    for p, k, lv in zip("rl", kinds, levels, strict=True):
        _build_side(c, g, p, k, lv, grades)
    vac, dap = _sacral(c, (kinds[0], kinds[1]), grades)

    nt = nt_rate * c.choice(_RATE_SCALES)
    star = star_rate * c.choice(_RATE_SCALES)
    exam: dict[str, str] = {col: str(grades[col]) for col in _GRADE_COLUMNS}
    untestable = c.sample(len(_GRADE_COLUMNS), nt)
    for i in c.sample(len(_GRADE_COLUMNS), star):
        col = _GRADE_COLUMNS[i]
        exam[col] = _flagged(c, grades[col], 5 if col.endswith("_motor") else 2)
    for i in untestable:
        exam[_GRADE_COLUMNS[i]] = "NT" + c.weighted(("", "*", "**"), (6, 1, 1))
    if nt and c.chance(min(1.0, 4 * nt)):
        # a run of untestable cells (a cast, a dressing) in one modality of one side
        p = c.choice("rl")
        mod = c.choice(("lt", "pp", "motor", "sensory"))
        names = MOTOR_LEVELS if mod == "motor" else SENSORY_LEVELS
        start = c.randint(0, len(names) - 1)
        for lv in names[start : start + c.randint(2, 6)]:
            for m in ("lt", "pp") if mod == "sensory" else (mod,):
                exam[f"{p}_{lv}_{m}"] = "NT"
    exam["vac"] = "NT" if c.chance(nt) else vac
    exam["dap"] = "NT" if c.chance(nt) else dap
    for col in NKM_COLUMNS:
        if c.chance(nkm_rate):  # a quarter of them at a thoracic level or L1
            exam[col] = c.choice(_NKM_TRUNK) if c.chance(0.25) else c.choice(_NKM_KEY)
        else:
            exam[col] = ""
    return exam


def random_exam(c: _Chooser | random.Random) -> dict[str, str]:
    """An exam drawn uniformly over every legal value of every column (coverage, not realism)."""
    if isinstance(c, random.Random):
        c = _RandomChooser(c)
    elif not isinstance(c, _RandomChooser | _DrawChooser):
        raise TypeError(f"random_exam needs a random.Random, not {type(c).__name__}")
    exam: dict[str, str] = {}
    for col in _GRADE_COLUMNS:
        exam[col] = c.choice(MOTOR_VALUES if col.endswith("_motor") else SENSORY_VALUES)
    exam["vac"] = c.choice(BINARY_VALUES)
    exam["dap"] = c.choice(BINARY_VALUES)
    for col in NKM_COLUMNS:
        exam[col] = c.choice(NKM_CHOICES)
    return exam


def generate_exams(
    n: int,
    seed: int,
    nt_rate: float = 0.01,
    star_rate: float = 0.01,
    nkm_rate: float = 0.1,
    random_rate: float = 0.05,
) -> list[dict[str, str]]:
    """``n`` exams from a seeded ``random.Random`` (same seed and rates, same exams)."""
    c = _RandomChooser(random.Random(seed))
    return [_build_exam(c, c, nt_rate, star_rate, nkm_rate, random_rate) for _ in range(n)]


@st.composite
def exams(
    draw: st.DrawFn,
    nt_rate: float | None = None,
    star_rate: float | None = None,
    nkm_rate: float | None = None,
    random_rate: float = 0.05,
) -> dict[str, str]:
    """Hypothesis strategy of canonical flat exams (realistic patterns, some uniform ones).

    A rate left as ``None`` is drawn per example from a few settings (none, light, heavy).
    Hypothesis draws the choices that shape the exam (kind and level of injury, asymmetry, zones,
    sacral sparing, which cells are NT or flagged, non-key muscles), so those shrink; the grades
    below the level come from a ``random.Random`` seeded by a drawn integer, which keeps an
    example to a few dozen draws.
    """
    c = _DrawChooser(draw)
    g = _RandomChooser(random.Random(draw(st.integers(0, 2**32 - 1))))
    return _build_exam(
        c,
        g,
        c.choice((0.0, 0.03, 0.15)) if nt_rate is None else nt_rate,
        c.choice((0.0, 0.03, 0.15)) if star_rate is None else star_rate,
        c.choice((0.0, 0.2, 0.8)) if nkm_rate is None else nkm_rate,
        random_rate,
    )
