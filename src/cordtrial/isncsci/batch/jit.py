"""The batch classifier's general path (exams with NT or flagged values), compiled with Numba.

:func:`cordtrial.isncsci.batch.classify_frame` classifies exams without NT or flags by closed
forms over whole arrays. Exams with NT or ``*``/``**`` values need the level-by-level walk,
because a value that *may* be normal leaves several results possible. In numpy that walk is a
few dozen array operations per level for every exam (:mod:`~cordtrial.isncsci.batch.walk`);
here it is the same walk, one exam at a time, compiled to machine code: the same step tables
(:mod:`~cordtrial.isncsci.batch.steps`), the same value categories
(:mod:`~cordtrial.isncsci.batch.codes`), the same order of steps, and the same packed result
(bit ``c`` = column ``c`` possible, bit ``32 + c`` = that value starred).

Each function below mirrors the numpy function of the same name in ``walk.py``; the property
tests hold both, and the one-exam engine, equal on generated exams. The kernel releases the GIL,
so ``classify_frame``'s threads classify their chunks in parallel. Compiled code is cached on disk
(Numba's ``cache=True``): the first use in a fresh installation compiles for about 15 seconds
(``scripts/setup`` does it once, :func:`warm_up`). The rule tables travel as an argument, never
as globals, so that a cached kernel cannot outlive a rule change made in another file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit

from cordtrial.isncsci.batch import codes as cell_codes
from cordtrial.isncsci.batch import steps as step_tables
from cordtrial.isncsci.batch.arrays import SideArrays
from cordtrial.isncsci.classification import RESULT_FIELDS
from cordtrial.isncsci.exam import KEY_MUSCLES, LEVELS, Level

__all__ = ["TOTAL_FIELDS", "classify_exams", "general_keys"]

_N = cell_codes.N_CODES
_INT = cell_codes.INT_COL
_NA = cell_codes.NA_COL
_MISSING, _INVALID = cell_codes.MISSING, cell_codes.INVALID
# Levels by name (Numba freezes these module-level ints as constants).
_C1 = int(Level.C1)
_C4, _C5, _T1, _L1, _L2 = int(Level.C4), int(Level.C5), int(Level.T1), int(Level.L1), int(Level.L2)
_S1, _S2, _S3, _S4_5 = int(Level.S1), int(Level.S2), int(Level.S3), int(Level.S4_5)
_N_LEVELS = len(LEVELS)
_N_KEY = len(KEY_MUSCLES)
_ALL_START_BITS = (1 << (_N_LEVELS + 1)) - 1  # one bit per first level, 0-29


# Every kernel function takes the rule tables as an argument, ``t``: one uint8 matrix whose rows
# are the step tables (indexed by codes and ``relied``; bits 1 proceed, 2 here, 4 starred,
# 8 relied), the value categories (one entry per cell code) and the first key muscle below each
# level. Not globals: Numba freezes globals into its on-disk cache, which is keyed on this file
# alone, so a rule changed in codes.py, steps.py or outcome.py would otherwise run with stale
# tables.
_ROWS = (
    ("_SENS", step_tables.SENSORY_STEP_TABLE),
    ("_MOTOR", step_tables.MOTOR_STEP_TABLE),
    ("_BEFORE", step_tables.BEFORE_KEY_STEP_TABLE),
    ("_END", step_tables.END_OF_KEY_STEP_TABLE),
    ("_ZERO", cell_codes.ZERO),
    ("_GRADE1", cell_codes.GRADE_OF + 1),  # the grade plus one (NT: 0)
    ("_FLAG_NORMAL", cell_codes.FLAG_NORMAL),
    ("_MAY_BE_ABSENT", cell_codes.MAY_BE_ABSENT),
    ("_ZERO_FLAGGED", cell_codes.ZERO_FLAGGED),
    ("_ZERO_NORMAL_FLAG", cell_codes.ZERO_NORMAL_FLAG),
    ("_WEAK", cell_codes.WEAK),
    ("_FLAGGED_WEAK", cell_codes.FLAGGED_WEAK),
    ("_STRONG", cell_codes.STRONG),
    ("_FLAGGED_LOW", cell_codes.FLAGGED_LOW),
    ("_STARRED", cell_codes.STARRED),
    ("_NORMAL2", cell_codes.NORMAL2),
    ("_NORMAL5", cell_codes.NORMAL5),
    ("_ZPP_FUNCTION", cell_codes.ZPP_FUNCTION),
    ("_ZPP_MAYBE", cell_codes.ZPP_MAYBE),
    ("_GRADED_STARRED", cell_codes.GRADED_STARRED),
    ("_STRIP", cell_codes.STRIP),
    ("_FIRST_LEVEL_MORE_THAN_THREE_BELOW", step_tables.FIRST_LEVEL_MORE_THAN_THREE_BELOW),
    ("_START_BELOW", step_tables.START_BELOW),
)
(
    _SENS,
    _MOTOR,
    _BEFORE,
    _END,
    _ZERO,
    _GRADE1,
    _FLAG_NORMAL,
    _MAY_BE_ABSENT,
    _ZERO_FLAGGED,
    _ZERO_NORMAL_FLAG,
    _WEAK,
    _FLAGGED_WEAK,
    _STRONG,
    _FLAGGED_LOW,
    _STARRED,
    _NORMAL2,
    _NORMAL5,
    _ZPP_FUNCTION,
    _ZPP_MAYBE,
    _GRADED_STARRED,
    _STRIP,
    _FIRST_LEVEL_MORE_THAN_THREE_BELOW,
    _START_BELOW,
) = range(len(_ROWS))


def _table_matrix() -> Any:
    width = max(len(values) for _, values in _ROWS)
    matrix = np.zeros((len(_ROWS), width), dtype=np.uint8)
    for row, (_, values) in enumerate(_ROWS):
        matrix[row, : len(values)] = np.asarray(values).astype(np.uint8)
    return matrix


_TABLES = _table_matrix()

#: per level: its key muscle's index (0-9), or -1
_KEY_AT = np.full(_N_LEVELS, -1, dtype=np.int64)
for _i, _lv in enumerate(KEY_MUSCLES):
    _KEY_AT[int(_lv)] = _i
_KEY_LEVEL = np.array([int(lv) for lv in KEY_MUSCLES], dtype=np.int64)

# No reference counting (``_nrt=False``): the kernel allocates nothing (its scratch arrays come from
# the caller), and without it every call passing an exam's rows pays atomic increments (measured:
# 0.38 s -> 0.22 s per 100,000 exams). Small steps are inlined into their callers ("always").
F = TypeVar("F", bound=Callable[..., Any])
_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "_nrt": False}
_jit = cast(Callable[[F], F], njit(**_OPTIONS))
_step = cast(Callable[[F], F], njit(**_OPTIONS, inline="always"))


# --- steps (steps.sensory_step, motor_step, before_key_step, end_of_key_step) ------------


@_step
def _sensory_step(t: Any, lt: Any, pp: Any, dermatome: int, relied: int) -> int:
    return int(t[_SENS, (np.int64(lt[dermatome]) * _N + pp[dermatome]) * 2 + relied])


@_step
def _motor_step(t: Any, m: int, below: int, relied: int) -> int:
    return int(t[_MOTOR, (np.int64(m) * _N + below) * 2 + relied])


@_step
def _before_key_step(t: Any, first: int, relied: int) -> int:
    return int(t[_BEFORE, np.int64(first) * 2 + relied])


@_step
def _end_of_key_step(t: Any, motor: Any, lt: Any, pp: Any, last: int, relied: int) -> int:
    first = _C5 if last == _T1 else _L2
    proceed_s, any_here, any_relied = 1, 0, 0
    for level in range(first - 1, last + 1):
        bits = _sensory_step(t, lt, pp, level + 1, 0)
        proceed_s &= bits & 1
        any_here |= (bits >> 1) & 1
        any_relied |= (bits >> 3) & 1
    m = np.int64(motor[_KEY_AT[last]])
    return int(t[_END, (((m * 2 + proceed_s) * 2 + any_here) * 2 + any_relied) * 2 + relied])


@_step
def _motor_level_step(t: Any, motor: Any, lt: Any, pp: Any, level: int, relied: int) -> int:
    if level in (_C4, _L1):
        return _before_key_step(t, motor[_KEY_AT[level + 1]], relied)
    if level in (_T1, _S1):
        return _end_of_key_step(t, motor, lt, pp, level, relied)
    k = _KEY_AT[level]
    if k >= 0:
        return _motor_step(t, motor[k], motor[k + 1], relied)
    return _sensory_step(t, lt, pp, level + 1, relied)


@_step
def _nli_motor_step(t: Any, motor: Any, level: int, relied: int) -> int:
    if level in (_C4, _L1):
        return _before_key_step(t, motor[_KEY_AT[level + 1]], relied)
    k = _KEY_AT[level]
    below = k if level in (_T1, _S1) else k + 1
    return _motor_step(t, motor[k], motor[below], relied)


# --- levels (walk._sensory_level, _motor_level, _nli): (here bits, starred bits) ----------------


@_step
def _intact(here: int, star: int, relied: int) -> tuple[int, int]:
    """A walk that reached S4_5 with normal function: ``INT``, starred if it relied on a flag."""
    return here | (1 << _INT), star | (relied << _INT)


@_jit
def _sensory_level(t: Any, lt: Any, pp: Any) -> tuple[int, int]:
    here, star, relied = 0, 0, 0
    for level in range(_S4_5):
        bits = _sensory_step(t, lt, pp, level + 1, relied)
        here |= ((bits >> 1) & 1) << level
        star |= ((bits >> 1) & (bits >> 2) & 1) << level
        relied = (bits >> 3) & 1
        if not bits & 1:
            return here, star
    return _intact(here, star, relied)


@_jit
def _motor_level(t: Any, motor: Any, lt: Any, pp: Any, vac: int) -> tuple[int, int]:
    here, star, relied = 0, 0, 0
    for level in range(_S4_5):
        bits = _motor_level_step(t, motor, lt, pp, level, relied)
        here |= ((bits >> 1) & 1) << level
        star |= ((bits >> 1) & (bits >> 2) & 1) << level
        relied = (bits >> 3) & 1
        if not bits & 1:
            return here, star
    if vac != 0 and not (here >> _S3) & 1:
        here |= 1 << _S3
        if relied:
            star |= 1 << _S3
    if vac != 1:
        here |= 1 << _INT
        if relied:
            star |= 1 << _INT
    return here, star


@_jit
def _nli(
    t: Any, r_motor: Any, r_lt: Any, r_pp: Any, l_motor: Any, l_lt: Any, l_pp: Any
) -> tuple[int, int]:
    here, star, relied = 0, 0, 0
    for level in range(_S4_5):
        rb = _sensory_step(t, r_lt, r_pp, level + 1, relied)
        lb = _sensory_step(t, l_lt, l_pp, level + 1, relied)
        s_proceed = rb & lb & 1
        s_here = ((rb | lb) >> 1) & 1
        s_starred = relied | ((rb & lb) >> 1 & (rb & lb) >> 2 & 1)
        s_relied = relied | (((rb | lb) >> 3) & 1)
        if _C4 <= level <= _T1 or _L1 <= level <= _S1:
            mr = _nli_motor_step(t, r_motor, level, relied)
            ml = _nli_motor_step(t, l_motor, level, relied)
            now_here = ((mr | ml) >> 1) & 1 | s_here
            starred = relied | ((mr & ml) >> 1 & ((mr | ml) >> 2) & 1)
            proceed = s_proceed & mr & ml & 1
            mixed = relied | s_relied | (((mr | ml) >> 3) & 1)
            now_relied = mixed if s_proceed else s_relied
        else:
            now_here, starred, proceed, now_relied = s_here, s_starred, s_proceed, s_relied
        if now_here:
            here |= 1 << level
            if starred:
                star |= 1 << level
        relied = now_relied
        if not proceed:
            return here, star
    return _intact(here, star, relied)


# --- completeness and AIS (walk._completeness, _ais and their helpers) ------------------------


@_step
def _completeness(t: Any, sacral: Any, vac: int, dap: int) -> tuple[int, int, int, int]:
    """(C possible, C starred, I possible, I starred)."""
    all_zero, zero_not_normal, zero_not_star, may_be_absent = 1, 1, 1, 1
    for c in sacral:
        all_zero &= t[_ZERO, c]
        zero = t[_GRADE1, c] == 1
        zero_not_normal &= zero and not t[_FLAG_NORMAL, c]
        zero_not_star &= zero and c % 3 != 1
        may_be_absent &= t[_MAY_BE_ABSENT, c]
    no_no = vac == 1 and dap == 1
    complete = no_no and all_zero
    c_star = no_no and not all_zero and zero_not_normal
    i_star = no_no and not all_zero and not zero_not_normal and zero_not_star
    decided = complete or c_star or i_star
    open_ = not decided and vac != 0 and dap != 0 and may_be_absent
    return int(complete or c_star or open_), int(c_star), int(not complete), int(c_star or i_star)


@_step
def _per_start(t: Any, motor: Any, nkm: int) -> tuple[int, int, int, int]:
    """Bits l (0-29), per first level, in one pass for both readings of "motor function at or
    below l" (a key muscle that breaks, or the lowest non-key muscle at any level) and "a
    flagged key muscle from l down to it": a muscle that may have function (``walk``'s
    ~MAY_BE_ABSENT, ZERO_FLAGGED), then one that has (~ZERO, ZERO_NORMAL_FLAG). Only the key
    muscles' levels and the non-key muscle's change the answer from the level below: the
    levels between them repeat it, set a run at a time."""
    found_may, flagged_may, found, flagged = 0, 0, 0, 0
    fm, flm, f, fl = 0, 0, 0, 0  # the answers at level ``done`` (nothing below S4_5)
    done = _N_LEVELS
    k = _N_KEY - 1
    while True:
        key_level = _KEY_LEVEL[k] if k >= 0 else -1
        level = nkm if key_level < nkm < done else key_level
        run = ((1 << done) - 1) ^ ((1 << (level + 1)) - 1)  # levels level+1 .. done-1
        found_may |= run * fm
        flagged_may |= run * flm
        found |= run * f
        flagged |= run * fl
        if level < 0:
            return found_may, flagged_may, found, flagged
        brk_may = brk = nkm == level
        flag_may = flag = False
        if level == key_level:
            m = motor[k]
            brk_may = brk_may or not t[_MAY_BE_ABSENT, m]
            flag_may = t[_ZERO_FLAGGED, m] != 0
            brk = brk or not t[_ZERO, m]
            flag = t[_ZERO_NORMAL_FLAG, m] != 0
            k -= 1
        fm = 1 if brk_may or fm else 0
        flm = 1 if flag_may or (not brk_may and flm) else 0
        f = 1 if brk or f else 0
        fl = 1 if flag or (not brk and fl) else 0
        found_may |= fm << level
        flagged_may |= flm << level
        found |= f << level
        flagged |= fl << level
        done = level


@_step
def _over_candidates(t: Any, here: int, found: int, flagged: int) -> tuple[int, int, int]:
    """(hit, starred at the hit, starred overall) over a motor level's possible values."""
    starred_acc = 0
    for column in range(_INT + 1):
        if not here >> column:  # no possible value left
            break
        if (here >> column) & 1:
            s = t[_FIRST_LEVEL_MORE_THAN_THREE_BELOW, column]
            starred_acc |= (flagged >> s) & 1
            if (found >> s) & 1:
                return 1, starred_acc, starred_acc
    return 0, 0, starred_acc


@_step
def _no_motor_below(t: Any, found: int, flagged: int, motor_level: int) -> tuple[int, int]:
    hit, starred, _ = _over_candidates(t, motor_level, ~found & _ALL_START_BITS, flagged)
    return hit, starred


@_step
def _motor_below(t: Any, found: int, flagged: int, motor_level: int) -> tuple[int, int]:
    hit, starred_at_hit, starred_acc = _over_candidates(t, motor_level, found, flagged)
    return hit | starred_acc, starred_at_hit if hit else starred_acc


@_step
def _fewer_and_at_least_half(
    t: Any, r_motor: Any, l_motor: Any, nli: int, with_d: bool
) -> tuple[int, int, int, int]:
    """(C, C starred, D, D starred) over the NLI's possible values: fewer than half / at least
    half of the key muscles below the NLI graded >= 3 (``walk._fewer_than_half``,
    ``_at_least_half``). Both rules count the same muscles below the same levels, so one loop
    over them per candidate level gathers all four counts; ``with_d=False``: C only."""
    c, c_star, d, d_star = 0, 0, 0, 0
    c_open, d_open = True, with_d
    for column in range(_INT + 1):
        if not nli >> column:  # no possible value left
            break
        if not (nli >> column) & 1:
            continue
        s = t[_START_BELOW, column]
        half = 10 - s
        weak, flagged_weak, strong, flagged_low = 0, 0, 0, 0
        for k in range(s, _N_KEY):
            r, l_ = r_motor[k], l_motor[k]
            weak += t[_WEAK, r] + t[_WEAK, l_]
            flagged_weak += t[_FLAGGED_WEAK, r] + t[_FLAGGED_WEAK, l_]
            strong += t[_STRONG, r] + t[_STRONG, l_]
            flagged_low += t[_FLAGGED_LOW, r] + t[_FLAGGED_LOW, l_]
        if c_open:  # the first candidate with fewer than half decides C and its star
            if weak > half:
                c, c_star, c_open = 1, 0, False
            elif weak + flagged_weak > half:
                c, c_star, c_open = 1, 1, False
        if d_open and column < _INT:  # NLI INT: no key muscle below it, no D
            if half == 0 or strong - flagged_low >= half:  # D without a flag: unstarred
                d, d_star, d_open = 1, 0, False
            elif strong >= half:  # D only where the flagged low grades count as strong
                d, d_star = 1, 1
        if not c_open and not d_open:
            break
    return c, c_star, d, d_star


@_step
def _any_flag(t: Any, cells: Any) -> bool:
    """Whether stripping the flags (``_strip``) changes any of ``cells``."""
    for i in range(len(cells)):  # noqa: SIM110 - a plain loop, as in every kernel here
        if t[_STRIP, cells[i]] != cells[i]:
            return True
    return False


@_step
def _sensory_preserved(t: Any, sacral: Any, dap: int) -> tuple[int, int]:
    all_zero, all_grade_zero = 1, 1
    for c in sacral:
        all_zero &= t[_ZERO, c]
        all_grade_zero &= t[_GRADE1, c] == 1
    possible = dap != 1 or not all_zero
    starred = dap == 1 and not all_zero and all_grade_zero
    return int(possible), int(starred)


@_step
def _strip(t: Any, cells: Any, out: Any) -> Any:
    for i in range(len(cells)):
        out[i] = t[_STRIP, cells[i]]
    return out


@_jit
def _ais(
    t: Any,
    r_motor: Any,
    r_lt: Any,
    r_pp: Any,
    l_motor: Any,
    l_lt: Any,
    l_pp: Any,
    r_nkm: int,
    l_nkm: int,
    sacral: Any,
    vac: int,
    dap: int,
    completeness: tuple[int, int, int, int],
    motor_right: int,
    motor_left: int,
    nli: tuple[int, int],
    plain: tuple[Any, Any, Any, Any, Any, Any],
) -> tuple[int, int]:
    """AIS grades (bits 0-4 = A-E) and their stars."""
    here, star = 0, 0
    nli_here, nli_star = nli
    only_int = (nli_here >> _INT) & 1 and (nli_here & ((1 << _INT) - 1)) == 0
    rest = not (only_int and vac == 0)
    c_possible, c_star, _, i_star = completeness
    if rest and c_possible:
        here |= 1
        star |= c_star | i_star
    # B and the motor-incomplete rule need sacral sensation (and VAC no or NT: with VAC yes the
    # injury is incomplete whatever lies below the motor level): only then the per-level scans.
    incomplete, incomplete_star = rest and vac != 1, False
    if rest:
        sensory, sensory_star = _sensory_preserved(t, sacral, dap)
        if sensory and vac != 0:
            r_found_may, r_flagged_may, r_found, r_flagged = _per_start(t, r_motor, r_nkm)
            l_found_may, l_flagged_may, l_found, l_flagged = _per_start(t, l_motor, l_nkm)
            r_none, r_star = _no_motor_below(t, r_found_may, r_flagged_may, motor_right)
            if r_none:
                l_none, l_star = _no_motor_below(t, l_found_may, l_flagged_may, motor_left)
                if l_none:
                    here |= 1 << 1
                    if sensory_star or (vac == 1 and (r_star or l_star)):
                        star |= 1 << 1
            if vac == 1:  # VAC no: motor function more than three levels below the motor level
                r_below, r_bstar = _motor_below(t, r_found, r_flagged, motor_right)
                l_below, l_bstar = _motor_below(t, l_found, l_flagged, motor_left)
                incomplete = bool(r_below or l_below)
                incomplete_star = incomplete and bool(r_bstar or l_bstar)
    if incomplete:
        c, c_flag, d, d_flag = _fewer_and_at_least_half(t, r_motor, l_motor, nli_here, True)
        if c:
            here |= 1 << 2
            if c_flag or incomplete_star:
                star |= 1 << 2
            elif (
                _any_flag(t, r_motor)
                or _any_flag(t, l_motor)
                or _any_flag(t, r_lt)
                or _any_flag(t, l_lt)
                or _any_flag(t, r_pp)
                or _any_flag(t, l_pp)
            ):
                # is C possible at face value too (every flag removed)? Without a flag the cells
                # are their own face value: the same walk, the same C, nothing to star.
                pr_m, pr_lt, pr_pp, pl_m, pl_lt, pl_pp = plain
                _strip(t, r_motor, pr_m)
                _strip(t, r_lt, pr_lt)
                _strip(t, r_pp, pr_pp)
                _strip(t, l_motor, pl_m)
                _strip(t, l_lt, pl_lt)
                _strip(t, l_pp, pl_pp)
                plain_nli, _ = _nli(t, pr_m, pr_lt, pr_pp, pl_m, pl_lt, pl_pp)
                c_plain = _fewer_and_at_least_half(t, pr_m, pl_m, plain_nli, False)[0]
                if not c_plain:
                    star |= 1 << 2
        if d:
            here |= 1 << 3
            if d_flag or incomplete_star:
                star |= 1 << 3
    if vac != 1 and (nli_here >> _INT) & 1:
        here |= 1 << 4
        star |= ((nli_star >> _INT) & 1) << 4
    return here, star


# --- zones of partial preservation (walk._sensory_zpp, _motor_zpp) -----------------------------


@_jit
def _sensory_zpp(t: Any, lt: Any, pp: Any, dap: int) -> tuple[int, int]:
    here, star = 0, 0
    s45_lt, s45_pp = lt[_S4_5], pp[_S4_5]
    applies = dap != 0 and t[_MAY_BE_ABSENT, s45_lt] and t[_MAY_BE_ABSENT, s45_pp]
    sacral_open = not (t[_ZERO, s45_lt] and t[_ZERO, s45_pp])
    if not applies or dap == 2 or sacral_open:
        here |= 1 << _NA
    if not applies:
        return here, star
    relied = 0
    for level in range(_S3, 0, -1):
        a, p = lt[level], pp[level]
        if t[_ZERO, a] and t[_ZERO, p]:
            continue
        stop = not (t[_MAY_BE_ABSENT, a] and t[_MAY_BE_ABSENT, p])
        flagged = not stop and t[_GRADE1, a] >= 1 and t[_GRADE1, p] >= 1
        here |= 1 << level
        if flagged or relied:
            star |= 1 << level
        relied |= flagged
        if stop:
            return here, star
    here |= 1 << _C1
    return here, star


@_jit
def _motor_zpp_range(
    t: Any, motor: Any, lt: Any, pp: Any, nkm: int, vac: int, ais_here: int, motor_level: int
) -> tuple[int, int]:
    """zpp.determine_motor_zpp: the AIS C reading where C is possible, and the union of both
    readings where AIS is open between C and another grade (a value stays starred only where
    both readings star it)."""
    c_possible = (ais_here >> 2) & 1
    with_nkm = _motor_zpp(t, motor, lt, pp, nkm, vac, c_possible, motor_level)
    if nkm < 0 or not c_possible or not ais_here & ~4:
        return with_nkm
    h1, s1 = with_nkm
    h2, s2 = _motor_zpp(t, motor, lt, pp, nkm, vac, 0, motor_level)
    here = h1 | h2
    return here, here & (s1 | ~h1) & (s2 | ~h2)


@_step
def _first_flagged(t: Any, motor: Any, lt: Any, pp: Any, first: int, last: int) -> int:
    """The first level from ``first`` to ``last`` with a flagged cell, or ``_N_LEVELS``."""
    for level in range(first, last + 1):
        flag = t[_STARRED, lt[level]] or t[_STARRED, pp[level]]
        k = _KEY_AT[level]
        if k >= 0 and t[_STARRED, motor[k]]:
            flag = True
        if flag:
            return level
    return _N_LEVELS


@_step
def _last_normal(t: Any, motor: Any, lt: Any, pp: Any, top: int, bottom: int) -> int:
    """The last level of the run of normal key levels below ``top`` (``bottom`` if unbroken)."""
    for level in range(top + 1, bottom + 1):
        k = _KEY_AT[level]
        consec = (
            k >= 0 and t[_NORMAL2, lt[level]] and t[_NORMAL2, pp[level]] and t[_NORMAL5, motor[k]]
        )
        if not consec:
            return level - 1
    return bottom


@_jit
def _motor_zpp(
    t: Any, motor: Any, lt: Any, pp: Any, nkm: int, vac: int, c_possible: int, motor_level: int
) -> tuple[int, int]:
    here, star = 0, 0
    if vac != 1:
        here |= 1 << _NA
    if vac == 0:
        return here, star
    consider_nkm = nkm >= 0 and c_possible
    candidates = motor_level & ((1 << (_INT + 1)) - 1)
    top, lowest = 0, 0
    if candidates:
        for column in range(_INT + 1):
            if (candidates >> column) & 1:
                top = column
                break
        for column in range(_INT, -1, -1):
            if (candidates >> column) & 1:
                lowest = column
                break
    top = min(top, _S4_5)
    sacral = (motor_level >> _S2 | motor_level >> _S3 | motor_level >> _INT) & 1
    bottom = (_S3 if lowest == _INT else lowest) if sacral else _S1
    # The flags decide stars only: the first flagged level (from the top) and the last of the
    # consecutive normal levels below the top are found when a star first depends on them, and
    # only as far down as it needs (levels 0..scanned read so far; a flag found is the first).
    first_flagged, scanned, last_normal = _N_LEVELS, -1, -1
    if not (nkm >= 0 and nkm <= bottom):
        nkm = -1
    add_nkm, nkm_added = False, False
    for level in range(min(_S4_5, bottom), top - 1, -1):
        overridden = consider_nkm and nkm >= 0 and nkm - level > 3
        k = _KEY_AT[level]
        if k >= 0:
            m = motor[k]
            function = t[_ZPP_FUNCTION, m]
            if function or t[_ZPP_MAYBE, m]:
                if overridden:
                    add_nkm = True
                else:
                    here |= 1 << level
                    if t[_ZERO_FLAGGED, m]:
                        if first_flagged == _N_LEVELS and scanned < bottom:
                            first_flagged = _first_flagged(t, motor, lt, pp, scanned + 1, bottom)
                            scanned = bottom
                        if first_flagged < _N_LEVELS:  # a flag at or above the motor ZPP's bottom
                            star |= 1 << level
                    if nkm == level:
                        nkm_added = True
            if function:
                break
        elif (motor_level >> level) & 1:
            if overridden:
                add_nkm = True
            else:
                here |= 1 << level
                digit = t[_GRADED_STARRED, lt[level]] or t[_GRADED_STARRED, pp[level]]
                # starred: a flag at or above the bottom and a flagged digit here, or a flag at
                # or above this level (so at or above the bottom too) within the normal run
                upto = bottom if digit else level
                if first_flagged == _N_LEVELS and scanned < upto:
                    first_flagged = _first_flagged(t, motor, lt, pp, scanned + 1, upto)
                    scanned = upto
                if first_flagged <= upto:
                    if digit:
                        star |= 1 << level
                    else:
                        if last_normal < 0:
                            last_normal = _last_normal(t, motor, lt, pp, top, bottom)
                        if level <= last_normal:
                            star |= 1 << level
    if add_nkm and not nkm_added and nkm >= 0:
        here |= 1 << nkm
    return here, star


# --- all results of many exams ------------------------------------------------------------------


@_step
def _key(result: tuple[int, int]) -> np.int64:
    return np.int64(result[0] | (result[1] << 32))


@_step
def _exam_keys(
    t: Any,
    rm: Any,
    rlt: Any,
    rpp: Any,
    lm: Any,
    llt: Any,
    lpp: Any,
    r_nkm: int,
    l_nkm: int,
    v: int,
    d: int,
    plain: tuple[Any, Any, Any, Any, Any, Any],
    sacral: Any,
    out: Any,
    o: int,
) -> None:
    """Every keyed result of one exam (its cells as 1-D arrays) into column ``o`` of ``out``."""
    sacral[0], sacral[1], sacral[2], sacral[3] = rlt[_S4_5], rpp[_S4_5], llt[_S4_5], lpp[_S4_5]
    motor_right = _motor_level(t, rm, rlt, rpp, v)
    motor_left = _motor_level(t, lm, llt, lpp, v)
    nli = _nli(t, rm, rlt, rpp, lm, llt, lpp)
    completeness = _completeness(t, sacral, v, d)
    ais = _ais(
        t,
        rm,
        rlt,
        rpp,
        lm,
        llt,
        lpp,
        r_nkm,
        l_nkm,
        sacral,
        v,
        d,
        completeness,
        motor_right[0],
        motor_left[0],
        nli,
        plain,
    )
    c_possible, c_star, i_possible, i_star = completeness
    complete = (
        c_possible | (i_possible << 1),
        (c_star & c_possible) | ((i_star & i_possible) << 1),
    )
    out[0, o] = _key(_sensory_level(t, rlt, rpp))
    out[1, o] = _key(_sensory_level(t, llt, lpp))
    out[2, o] = _key(motor_right)
    out[3, o] = _key(motor_left)
    out[4, o] = _key(nli)
    out[5, o] = _key(ais)
    out[6, o] = _key(complete)
    out[7, o] = _key(_sensory_zpp(t, rlt, rpp, d))
    out[8, o] = _key(_sensory_zpp(t, llt, lpp, d))
    out[9, o] = _key(_motor_zpp_range(t, rm, rlt, rpp, r_nkm, v, ais[0], motor_right[0]))
    out[10, o] = _key(_motor_zpp_range(t, lm, llt, lpp, l_nkm, v, ais[0], motor_left[0]))


#: The order in which the kernel writes an exam's totals: the result record's (RESULT_FIELDS).
TOTAL_FIELDS = (
    "uems_right",
    "uems_left",
    "lems_right",
    "lems_left",
    "motor_right_total",
    "motor_left_total",
    "uems",
    "lems",
    "lt_right",
    "lt_left",
    "pp_right",
    "pp_left",
    "lt",
    "pp",
)
if RESULT_FIELDS[-len(TOTAL_FIELDS) :] != TOTAL_FIELDS:  # pragma: no cover - a reordered record
    raise AssertionError("jit.TOTAL_FIELDS must follow the order of RESULT_FIELDS")
#: A side's total at or above this has an NT among its cells (notation.GRADE_OR_ND counts NT 64).
_NT_WEIGHT = 64


@_step
def _cells_sum(grade_or_nd: Any, cells: Any, first: int, stop: int) -> int:
    total = 0
    for k in range(first, stop):
        total += grade_or_nd[cells[k]]
    return total


@_step
def _both(a: int, b: int, nd: int) -> int:
    """The sum of two sides' raw totals, ``nd`` where either holds an NT."""
    return nd if a >= _NT_WEIGHT or b >= _NT_WEIGHT else a + b


@_step
def _one(a: int, nd: int) -> int:
    return nd if a >= _NT_WEIGHT else a


@_step
def _exam_totals(
    grade_or_nd: Any,
    nd: int,
    rm: Any,
    rlt: Any,
    rpp: Any,
    lm: Any,
    llt: Any,
    lpp: Any,
    out: Any,
    o: int,
) -> None:
    """The totals of one exam (``notation.total``, ``add_totals``) into column ``o`` of ``out``,
    as indices into ``notation.TOTAL_TEXT`` (``nd``: not determinable), in TOTAL_FIELDS' order."""
    uems_r = _cells_sum(grade_or_nd, rm, 0, 5)
    uems_l = _cells_sum(grade_or_nd, lm, 0, 5)
    lems_r = _cells_sum(grade_or_nd, rm, 5, _N_KEY)
    lems_l = _cells_sum(grade_or_nd, lm, 5, _N_KEY)
    lt_r = _cells_sum(grade_or_nd, rlt, 1, _N_LEVELS)
    lt_l = _cells_sum(grade_or_nd, llt, 1, _N_LEVELS)
    pp_r = _cells_sum(grade_or_nd, rpp, 1, _N_LEVELS)
    pp_l = _cells_sum(grade_or_nd, lpp, 1, _N_LEVELS)
    out[0, o] = _one(uems_r, nd)
    out[1, o] = _one(uems_l, nd)
    out[2, o] = _one(lems_r, nd)
    out[3, o] = _one(lems_l, nd)
    out[4, o] = _both(uems_r, lems_r, nd)
    out[5, o] = _both(uems_l, lems_l, nd)
    out[6, o] = _both(uems_r, uems_l, nd)
    out[7, o] = _both(lems_r, lems_l, nd)
    out[8, o] = _one(lt_r, nd)
    out[9, o] = _one(lt_l, nd)
    out[10, o] = _one(pp_r, nd)
    out[11, o] = _one(pp_l, nd)
    out[12, o] = _both(lt_r, lt_l, nd)
    out[13, o] = _both(pp_r, pp_l, nd)


@_jit
def _general_keys(
    t: Any,
    r_motor: Any,
    r_lt: Any,
    r_pp: Any,
    r_nkm: Any,
    l_motor: Any,
    l_lt: Any,
    l_pp: Any,
    l_nkm: Any,
    vac: Any,
    dap: Any,
    out: Any,
    plain: tuple[Any, Any, Any, Any, Any, Any],
    sacral: Any,
    rows: Any,
    grade_or_nd: Any,
    nd: int,
    totals: Any,
) -> None:
    """Exams ``rows`` of level-major cell arrays (each exam's cells a column: read in place,
    no copy): their keyed results into ``out``'s columns 0, 1, ... and, where ``totals`` has
    columns, their totals into it."""
    with_totals = totals.shape[1] > 0
    for o in range(len(rows)):
        i = rows[o]
        rm, rlt, rpp = r_motor[:, i], r_lt[:, i], r_pp[:, i]
        lm, llt, lpp = l_motor[:, i], l_lt[:, i], l_pp[:, i]
        v, d = int(vac[i]), int(dap[i])
        _exam_keys(t, rm, rlt, rpp, lm, llt, lpp, r_nkm[i], l_nkm[i], v, d, plain, sacral, out, o)
        if with_totals:
            _exam_totals(grade_or_nd, nd, rm, rlt, rpp, lm, llt, lpp, totals, o)


def _walk(
    right: Any, left: Any, vac: Any, dap: Any, rows: Any, totals_of: tuple[Any, int] | None
) -> tuple[Any, Any]:
    out = np.empty((11, len(rows)), dtype=np.int64)
    totals = np.empty((len(TOTAL_FIELDS), len(rows) if totals_of else 0), dtype=np.int16)
    grade_or_nd, nd = totals_of if totals_of else (np.zeros(_N, np.int16), 0)
    if len(rows):
        _general_keys(
            _TABLES,
            right.motor,
            right.lt,
            right.pp,
            np.ascontiguousarray(right.nkm, dtype=np.int64),
            left.motor,
            left.lt,
            left.pp,
            np.ascontiguousarray(left.nkm, dtype=np.int64),
            np.ascontiguousarray(vac, dtype=np.int8),
            np.ascontiguousarray(dap, dtype=np.int8),
            out,
            (
                np.empty(_N_KEY, np.int8),
                np.empty(_N_LEVELS, np.int8),
                np.empty(_N_LEVELS, np.int8),
                np.empty(_N_KEY, np.int8),
                np.empty(_N_LEVELS, np.int8),
                np.empty(_N_LEVELS, np.int8),
            ),
            np.empty(4, np.int64),
            np.ascontiguousarray(rows, dtype=np.int64),
            np.ascontiguousarray(grade_or_nd, dtype=np.int16),
            int(nd),
            totals,
        )
    return out.view(np.uint64), totals


def general_keys(right: Any, left: Any, vac: Any, dap: Any, rows: Any = None) -> Any:
    """The packed results (11, n) of ``walk.general_keys_numpy``, by the compiled walk; with
    ``rows``, of those exams only (11, len(rows)), read where they are."""
    if rows is None:
        rows = np.arange(len(vac), dtype=np.int64)
    return _walk(right, left, vac, dap, rows, None)[0]


def classify_exams(
    right: Any, left: Any, vac: Any, dap: Any, grade_or_nd: Any, nd: int
) -> tuple[Any, Any]:
    """Every exam in one compiled pass, with or without NT and flags: the packed results
    (11, n) of ``walk.general_keys_numpy`` and the totals (14, n, int16, in
    :data:`TOTAL_FIELDS`' order) of ``notation.total`` and ``add_totals``: each cell's
    ``grade_or_nd`` summed, ``nd`` where the sum reaches an NT's weight (64)."""
    rows = np.arange(len(vac), dtype=np.int64)
    return _walk(right, left, vac, dap, rows, (grade_or_nd, nd))


# --- cell codes straight from Arrow string buffers (encode.encode_arrow) -------------------------


@_jit
def _code_strings(offsets: Any, data: Any, byte_index: Any, codes: Any, out: Any) -> None:
    for i in range(len(out)):
        start, end = offsets[i], offsets[i + 1]
        length = end - start
        if length == 0:
            out[i] = _MISSING
        elif length > 4:
            out[i] = _INVALID
        else:
            key = length * 10**4
            scale = 1000
            for pos in range(length):
                key += byte_index[data[start + pos]] * scale
                scale //= 10
            out[i] = codes[key]


def code_strings(offsets: Any, data: Any, lut: tuple[Any, Any]) -> Any:
    """Cell codes of an Arrow string array's cells (its offsets and data buffer), as
    ``encode.encode_arrow`` computes them: ``INVALID`` for anything the look-up does not know."""
    out = np.empty(len(offsets) - 1, dtype=np.int8)
    byte_index, codes = lut
    _code_strings(np.asarray(offsets, dtype=np.int64), data, byte_index, codes, out)
    return out


@cast(Callable[[F], F], njit(cache=True, nogil=True))  # reference counted: reads typed Lists
def _code_columns(
    offsets: Any,
    data: Any,
    targets: Any,
    lut_of: Any,
    one_char: Any,
    byte_index: Any,
    codes: Any,
    not_plain: Any,
    out: Any,
    odd: Any,
    invalid: Any,
) -> None:
    """Every cell column of a frame in one call: column ``j`` (its Arrow ``offsets`` and
    ``data``) coded with look-up ``lut_of[j]`` into row ``targets[j]`` of ``out``; ``odd[i]``
    set where exam ``i`` holds a cell that is not a plain grade (NT, a flag, empty, unknown);
    ``invalid[j]`` counts the cells the look-up does not know."""
    n = out.shape[1]
    for j in range(len(offsets)):
        off, text, row, lut = offsets[j], data[j], targets[j], lut_of[j]
        count = 0
        for i in range(n):
            start = np.int64(off[i])
            length = np.int64(off[i + 1]) - start
            if length == 1:  # most cells: one digit
                code = one_char[lut, text[start]]
            elif length == 0:
                code = _MISSING
            elif length > 4:
                code = _INVALID
            else:
                key = length * 10**4
                scale = 1000
                for pos in range(length):
                    key += byte_index[text[start + pos]] * scale
                    scale //= 10
                code = codes[lut, key]
            out[row, i] = code
            count += code == _INVALID
            odd[i] |= not_plain[code + 2]
        invalid[j] = count


def code_columns(
    columns: list[tuple[Any, Any, int, int]], out: Any, odd: Any, tables: tuple[Any, ...]
) -> Any:
    """Codes of many Arrow string columns at once (``encode.cell_codes``): ``columns`` holds
    (offsets as int32, data bytes, row of ``out``, 0 motor / 1 sensory look-up); returns the
    number of unknown cells per column."""
    from numba.typed import List

    invalid = np.zeros(len(columns), dtype=np.int64)
    if columns:
        one_char, byte_index, lut_codes, not_plain = tables
        _code_columns(
            List([c[0] for c in columns]),
            List([c[1] for c in columns]),
            np.array([c[2] for c in columns], dtype=np.int64),
            np.array([c[3] for c in columns], dtype=np.int64),
            one_char,
            byte_index,
            lut_codes,
            not_plain,
            out,
            odd,
            invalid,
        )
    return invalid


@_jit
def _row_sums(values: Any, cells: Any, out: Any) -> None:
    n = len(out)
    for i in range(n):
        out[i] = 0
    for r in range(cells.shape[0]):
        row = cells[r]
        for i in range(n):
            out[i] += values[row[i]]


def row_sums(values: Any, cells: Any) -> Any:
    """``values[cells].sum(axis=0)`` as int16 for a (rows, n) matrix of cell codes (no negative
    code): the totals' sums (``notation.total``) without a (rows, n) temporary."""
    out = np.empty(cells.shape[1], dtype=np.int16)
    _row_sums(values, np.ascontiguousarray(cells), out)
    return out


# --- results to category codes (notation.render_keys) --------------------------------------------

#: Fibonacci hashing: a key times 2**64 / golden ratio, its top bits the slot.
_HASH = np.uint64(0x9E3779B97F4A7C15)


@_jit
def _fill_places(keys: Any, slots: Any, places: Any, shift: Any) -> None:
    mask = len(slots) - 1
    for place in range(len(keys)):
        key = keys[place]
        h = np.int64((key * _HASH) >> shift)
        while places[h] >= 0:
            h = (h + 1) & mask
        slots[h] = key
        places[h] = place


@_jit
def _key_places(slots: Any, places: Any, shift: Any, keys: Any, out: Any) -> bool:
    mask = len(slots) - 1
    for i in range(len(keys)):
        key = keys[i]
        h = np.int64((key * _HASH) >> shift)
        while True:
            place = places[h]
            if place < 0:
                return False
            if slots[h] == key:
                out[i] = place
                break
            h = (h + 1) & mask
    return True


def key_table(keys: Any) -> tuple[Any, Any, Any]:
    """An open-addressing table of distinct packed results (uint64): their places in ``keys``."""
    size = 64
    while size < 2 * len(keys):
        size *= 2
    slots = np.zeros(size, dtype=np.uint64)
    places = np.full(size, -1, dtype=np.int32)
    shift = np.uint64(64 - (size.bit_length() - 1))
    _fill_places(np.ascontiguousarray(keys, dtype=np.uint64), slots, places, shift)
    return slots, places, shift


def key_places(table: tuple[Any, Any, Any], keys: Any) -> Any:
    """The place of each of ``keys`` in :func:`key_table`'s keys (int32), or ``None`` where one
    is not among them."""
    out = np.empty(len(keys), dtype=np.int32)
    found = _key_places(*table, np.ascontiguousarray(keys, dtype=np.uint64), out)
    return out if found else None


def warm_up() -> None:
    """Compile (or load from Numba's cache) every kernel for the argument types the batch passes:
    ``scripts/setup`` calls this so that no classification pays for compiling."""

    def cells(levels: int) -> Any:
        return np.full((levels, 1), cell_codes.NORMAL_SENSORY_CODE, dtype=np.int8)

    side = SideArrays(
        cells(_N_KEY), cells(_N_LEVELS), cells(_N_LEVELS), np.full(1, -1, dtype=np.int64)
    )
    general_keys(side, side, np.zeros(1, np.int8), np.zeros(1, np.int8))
    no_grades = np.zeros(_N, np.int16)
    classify_exams(side, side, np.zeros(1, np.int8), np.zeros(1, np.int8), no_grades, 0)
    for data in (np.frombuffer(b"5", np.uint8), np.array([53], np.uint8)):  # read-only or not
        code_strings(np.array([0, 1]), data, cell_codes.MOTOR_LUT)
    row_sums(np.zeros(cell_codes.N_CODES, np.int16), np.zeros((1, 1), np.int8))
    key_places(key_table(np.array([1], np.uint64)), np.array([1, 2], np.uint64))
    for offset_type in (np.int32, np.int64):  # Arrow's string and large_string
        offsets = np.frombuffer(np.array([0, 1], offset_type).tobytes(), offset_type)
        out, odd = np.empty((1, 1), np.int8), np.zeros(1, np.uint8)
        text = np.frombuffer(b"5", np.uint8)
        code_columns([(offsets, text, 0, 0)], out, odd, cell_codes.COLUMN_TABLES)
