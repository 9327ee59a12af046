"""The level-by-level walk in numpy: each step of the one-exam engine over all exams at once.

Any exam (NT, flags, non-key muscles) is classified here when Numba is not available or the
batch is small; :mod:`cordtrial.isncsci.batch.jit` is the same walk compiled, one exam at a
time. Each function mirrors the one-exam step of the same name (levels.py, impairment.py,
zpp.py) and returns a :class:`~cordtrial.isncsci.batch.arrays.Possibles`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from cordtrial.isncsci.batch.arrays import Possibles, SideArrays
from cordtrial.isncsci.batch.codes import (
    FLAG_NORMAL,
    FLAGGED_LOW,
    FLAGGED_WEAK,
    GRADE_OF,
    GRADED_STARRED,
    INT_COL,
    KEY_INDEX,
    MAY_BE_ABSENT,
    NA_COL,
    NORMAL2,
    NORMAL5,
    STARRED,
    STRONG,
    WEAK,
    ZERO,
    ZERO_FLAGGED,
    ZERO_NORMAL_FLAG,
    ZPP_FUNCTION,
    ZPP_MAYBE,
    Bool,
    Ints,
)
from cordtrial.isncsci.batch.steps import (
    FIRST_LEVEL_MORE_THAN_THREE_BELOW,
    START_BELOW,
    Step,
    before_key_step,
    end_of_key_step,
    motor_step,
    sensory_step,
)
from cordtrial.isncsci.exam import KEY_MUSCLES, LEVELS, Level

_NEXT_MUSCLE = dict(itertools.pairwise(KEY_MUSCLES))


def _motor_level_step(side: SideArrays, level: Level, relied: Bool) -> Step:
    if level in (Level.C4, Level.L1):
        return before_key_step(side.muscle(Level(level + 1)), relied)
    if level in (Level.T1, Level.S1):
        return end_of_key_step(side, level, relied)
    if level.is_key_muscle:
        return motor_step(side.muscle(level), side.muscle(_NEXT_MUSCLE[level]), relied)
    return sensory_step(side, level + 1, relied)


def _scan(
    n: int, step: Callable[[Level, Bool], Step], end: Callable[[Possibles, Bool, Bool], None]
) -> Possibles:
    """Walk down the levels for every exam at once, as the one-exam engine walks one."""
    result = Possibles(n)
    alive = np.ones(n, dtype=bool)
    relied = np.zeros(n, dtype=bool)
    for level in Level:
        if level is Level.S4_5:
            end(result, alive, relied)
            break
        proceed, here, starred, now_relied = step(level, relied)
        result.add(level, alive & here, starred)
        relied = np.where(alive, now_relied, relied)
        alive &= proceed
        if not alive.any():
            break
    return result


def _sensory_level(side: SideArrays, n: int) -> Possibles:
    def end(result: Possibles, alive: Bool, relied: Bool) -> None:
        result.add(INT_COL, alive, relied)

    return _scan(n, lambda level, relied: sensory_step(side, level + 1, relied), end)


def _motor_level(side: SideArrays, vac: Any, n: int) -> Possibles:
    def end(result: Possibles, alive: Bool, relied: Bool) -> None:
        no_s3 = ~result.here[Level.S3]
        result.add(Level.S3, alive & (vac != 0) & no_s3, relied)
        result.add(INT_COL, alive & (vac != 1), relied)

    return _scan(n, lambda level, relied: _motor_level_step(side, level, relied), end)


def _nli_motor_step(side: SideArrays, level: Level, relied: Bool) -> Step:
    if level in (Level.C4, Level.L1):
        return before_key_step(side.muscle(Level(level + 1)), relied)
    below = level if level in (Level.T1, Level.S1) else _NEXT_MUSCLE[level]
    return motor_step(side.muscle(level), side.muscle(below), relied)


def _nli(right: SideArrays, left: SideArrays, n: int) -> Possibles:
    def step(level: Level, relied: Bool) -> Step:
        rp, rh, rs, rr = sensory_step(right, level + 1, relied)
        lp, lh, ls, lr = sensory_step(left, level + 1, relied)
        s_proceed, s_here = rp & lp, rh | lh
        s_starred = relied | (rh & lh & rs & ls)
        s_relied = relied | rr | lr
        if not (Level.C4 <= level <= Level.T1 or Level.L1 <= level <= Level.S1):
            return s_proceed, s_here, s_starred, s_relied
        mrp, mrh, mrs, mrr = _nli_motor_step(right, level, relied)
        mlp, mlh, mls, mlr = _nli_motor_step(left, level, relied)
        here = mrh | mlh | s_here
        starred = relied | (mrh & mlh & (mrs | mls))
        proceed = s_proceed & mrp & mlp
        now_relied = np.where(s_proceed, relied | s_relied | mrr | mlr, s_relied)
        return proceed, here, starred, now_relied

    def end(result: Possibles, alive: Bool, relied: Bool) -> None:
        result.add(INT_COL, alive, relied)

    return _scan(n, step, end)


# --- completeness and AIS ----------------------------------------------------------------------


def _sacral(right: SideArrays, left: SideArrays) -> list[Any]:
    return [right.lt[Level.S4_5], right.pp[Level.S4_5], left.lt[Level.S4_5], left.pp[Level.S4_5]]


def _completeness(
    right: SideArrays, left: SideArrays, vac: Any, dap: Any
) -> tuple[Bool, Bool, Bool, Bool]:
    """(C possible, C starred, I possible, I starred), as impairment.determine_completeness."""
    sacral = _sacral(right, left)
    no_no = (vac == 1) & (dap == 1)
    all_zero = np.logical_and.reduce([np.take(ZERO, c) for c in sacral])
    zero_not_normal = np.logical_and.reduce(
        [(np.take(GRADE_OF, c) == 0) & ~np.take(FLAG_NORMAL, c) for c in sacral]
    )
    zero_not_star = np.logical_and.reduce(
        [(np.take(GRADE_OF, c) == 0) & ((c % 3) != 1) for c in sacral]
    )
    complete = no_no & all_zero
    c_star = no_no & ~all_zero & zero_not_normal
    i_star = no_no & ~all_zero & ~zero_not_normal & zero_not_star
    decided = complete | c_star | i_star
    open_ = ~decided & (vac != 0) & (dap != 0)
    open_ &= np.logical_and.reduce([np.take(MAY_BE_ABSENT, c) for c in sacral])
    return complete | c_star | open_, c_star, ~complete, c_star | i_star


def _per_start(side: SideArrays, breaks: Bool, flag: Any) -> tuple[Any, Any]:
    """For every first level (0-29): any muscle with motor function at or below it (a key muscle
    in ``breaks``, or the lowest non-key muscle, at any level), and any key muscle in ``flag``
    from it down to that one, as impairment._more_than_three_below scans them."""
    n = side.motor.shape[1]
    found = np.zeros((len(LEVELS) + 1, n), dtype=bool)
    flagged = np.zeros((len(LEVELS) + 1, n), dtype=bool)
    for level in reversed(LEVELS):
        brk = side.nkm == level
        k = KEY_INDEX.get(level)
        if k is None:
            flagged[level] = ~brk & flagged[level + 1]
        else:
            m = side.motor[k]
            brk |= np.take(breaks, m)
            flagged[level] = flag[m] | (~brk & flagged[level + 1])
        found[level] = brk | found[level + 1]
    return found, flagged


def _over_candidates(here: Bool, found: Any, flagged: Any, starts: Ints) -> tuple[Bool, Bool, Bool]:
    """Walk a result's possible values in order: (hit, starred at the hit, starred overall)."""
    n = here.shape[1]
    hit = np.zeros(n, dtype=bool)
    starred_acc = np.zeros(n, dtype=bool)
    starred_at_hit = np.zeros(n, dtype=bool)
    for column in range(INT_COL + 1):
        is_c = here[column] & ~hit
        if not is_c.any():
            continue
        s = starts[column]
        starred_acc |= is_c & flagged[s]
        new_hit = is_c & found[s]
        starred_at_hit |= new_hit & starred_acc
        hit |= new_hit
    return hit, starred_at_hit, starred_acc


def _no_motor_below(side: SideArrays, motor_level: Possibles) -> tuple[Bool, Bool]:
    found, flagged = _per_start(side, ~MAY_BE_ABSENT, ZERO_FLAGGED)
    hit, starred, _ = _over_candidates(
        motor_level.here, ~found, flagged, FIRST_LEVEL_MORE_THAN_THREE_BELOW
    )
    return hit, starred


def _motor_below(side: SideArrays, motor_level: Possibles) -> tuple[Bool, Bool]:
    found, flagged = _per_start(side, ~ZERO, ZERO_NORMAL_FLAG)
    hit, starred_at_hit, starred_acc = _over_candidates(
        motor_level.here, found, flagged, FIRST_LEVEL_MORE_THAN_THREE_BELOW
    )
    return hit | starred_acc, np.where(hit, starred_at_hit, starred_acc)


def _counts_from(right: SideArrays, left: SideArrays, table: Bool) -> Ints:
    """Muscles (both sides) in ``table`` from each first muscle s (0-10) down to S1."""
    per = table[right.motor].astype(np.int16) + table[left.motor].astype(np.int16)
    out = np.zeros((11, per.shape[1]), dtype=np.int16)
    out[:10] = np.cumsum(per[::-1], axis=0)[::-1]
    return out


def _fewer_than_half(right: SideArrays, left: SideArrays, nli: Possibles) -> tuple[Bool, Bool]:
    weak = _counts_from(right, left, WEAK)
    flagged = _counts_from(right, left, FLAGGED_WEAK)
    n = weak.shape[1]
    done = np.zeros(n, bool)
    possible = np.zeros(n, bool)
    starred = np.zeros(n, bool)
    for column in range(INT_COL + 1):
        is_c = nli.here[column] & ~done
        if not is_c.any():
            continue
        s = START_BELOW[column]
        half = 10 - s
        plain = is_c & (weak[s] > half)
        with_flags = is_c & ~plain & (weak[s] + flagged[s] > half)
        possible |= plain | with_flags
        starred |= with_flags
        done |= plain | with_flags
    return possible, starred


def _at_least_half(right: SideArrays, left: SideArrays, nli: Possibles) -> tuple[Bool, Bool]:
    strong = _counts_from(right, left, STRONG)
    flagged = _counts_from(right, left, FLAGGED_LOW)
    n = strong.shape[1]
    done = np.zeros(n, bool)
    possible = np.zeros(n, bool)
    starred = np.zeros(n, bool)
    for column in range(INT_COL):
        is_c = nli.here[column] & ~done
        if not is_c.any():
            continue
        s = START_BELOW[column]
        half = 10 - s
        sure = is_c if half == 0 else is_c & (strong[s] - flagged[s] >= half)
        possible |= sure
        starred &= ~sure
        done |= sure
        maybe = is_c & ~sure & (strong[s] >= half)
        possible |= maybe
        starred |= maybe & (strong[s] - flagged[s] < half)
    return possible, starred


def _sensory_preserved(right: SideArrays, left: SideArrays, dap: Any) -> tuple[Bool, Bool]:
    sacral = _sacral(right, left)
    all_zero = np.logical_and.reduce([np.take(ZERO, c) for c in sacral])
    possible = (dap != 1) | ~all_zero
    starred = (
        (dap == 1) & ~all_zero & np.logical_and.reduce([np.take(GRADE_OF, c) == 0 for c in sacral])
    )
    return possible, starred


def _ais(
    right: SideArrays,
    left: SideArrays,
    vac: Any,
    dap: Any,
    completeness: tuple[Bool, Bool, Bool, Bool],
    motor_right: Possibles,
    motor_left: Possibles,
    nli: Possibles,
) -> Possibles:
    """AIS grades (columns 0-4 = A-E), as impairment.determine_ais."""
    n = len(vac)
    ais = Possibles(n)
    only_int = nli.here[INT_COL] & ~nli.here[:INT_COL].any(axis=0)
    rest = ~(only_int & (vac == 0))
    c_possible, c_star, _, i_star = completeness
    ais.add(0, rest & c_possible, c_star | i_star)
    sensory, sensory_star = _sensory_preserved(right, left, dap)
    r_none, r_star = _no_motor_below(right, motor_right)
    l_none, l_star = _no_motor_below(left, motor_left)
    b = rest & sensory & (vac != 0) & r_none & l_none
    ais.add(1, b, sensory_star | ((vac == 1) & (r_star | l_star)))
    r_below, r_bstar = _motor_below(right, motor_right)
    l_below, l_bstar = _motor_below(left, motor_left)
    vac_present = vac != 1
    below = sensory & (r_below | l_below)
    incomplete = rest & (vac_present | below)
    incomplete_star = ~vac_present & below & (r_bstar | l_bstar)
    c, c_flag = _fewer_than_half(right, left, nli)
    c_plain = np.ones(n, bool)
    rows = np.nonzero(incomplete & c)[0]
    if len(rows):
        plain_r, plain_l = right.stripped(rows), left.stripped(rows)
        c_plain[rows], _ = _fewer_than_half(plain_r, plain_l, _nli(plain_r, plain_l, len(rows)))
    ais.add(2, incomplete & c, c_flag | incomplete_star | ~c_plain)
    d, d_flag = _at_least_half(right, left, nli)
    ais.add(3, incomplete & d, d_flag | incomplete_star)
    ais.add(4, (vac != 1) & nli.here[INT_COL], nli.starred[INT_COL])
    return ais


# --- zones of partial preservation -------------------------------------------------------------


def _sensory_zpp(side: SideArrays, dap: Any) -> Possibles:
    n = len(dap)
    zpp = Possibles(n)
    never = np.zeros(n, bool)
    s45_lt, s45_pp = side.lt[Level.S4_5], side.pp[Level.S4_5]
    applies = (dap != 0) & np.take(MAY_BE_ABSENT, s45_lt) & np.take(MAY_BE_ABSENT, s45_pp)
    sacral_open = ~(np.take(ZERO, s45_lt) & np.take(ZERO, s45_pp))
    zpp.add(NA_COL, ~applies | (dap == 2) | sacral_open, never)
    alive = applies.copy()
    relied = np.zeros(n, bool)
    for level in range(Level.S3, 0, -1):
        lt, pp = side.lt[level], side.pp[level]
        both_zero = np.take(ZERO, lt) & np.take(ZERO, pp)
        stop = ~both_zero & ~(np.take(MAY_BE_ABSENT, lt) & np.take(MAY_BE_ABSENT, pp))
        nt = ~both_zero & ~stop & ((np.take(GRADE_OF, lt) < 0) | (np.take(GRADE_OF, pp) < 0))
        flagged = ~both_zero & ~stop & ~nt
        zpp.add(level, alive & ~both_zero, flagged | relied)
        relied = np.where(alive, relied | flagged, relied)
        alive &= ~stop
        if not alive.any():
            break
    zpp.add(Level.C1, alive, never)
    return zpp


def first_true(matrix: Bool, default: int) -> Ints:
    """Per column of a (levels, n) matrix: the first row that is True, else ``default``."""
    return np.where(matrix.any(axis=0), matrix.argmax(axis=0), default)


def _motor_zpp(side: SideArrays, vac: Any, ais: Possibles, motor_level: Possibles) -> Possibles:
    """Motor ZPP (NA column and levels), as zpp.determine_motor_zpp: the AIS C reading where a
    non-key muscle is recorded and C is possible, and both readings where AIS is open between C
    and another grade."""
    has_nkm = side.nkm >= 0
    with_nkm = _motor_zpp_reading(side, vac, has_nkm & ais.here[2], motor_level)
    mixed = has_nkm & ais.here[2] & ais.here[[0, 1, 3, 4]].any(axis=0)
    if not mixed.any():
        return with_nkm
    without = _motor_zpp_reading(side, vac, np.zeros(len(vac), bool), motor_level)
    return with_nkm.union_where(mixed, without)


def _motor_zpp_reading(
    side: SideArrays, vac: Any, consider_nkm: Bool, motor_level: Possibles
) -> Possibles:
    n = len(vac)
    zpp = Possibles(n)
    zpp.add(NA_COL, vac != 1, np.zeros(n, bool))
    applies = vac != 0
    has_nkm = side.nkm >= 0
    here = motor_level.here
    candidates = here[: INT_COL + 1]
    top = np.minimum(first_true(candidates, 0), int(Level.S4_5))
    lowest = np.where(candidates.any(axis=0), INT_COL - candidates[::-1].argmax(axis=0), 0)
    sacral = here[Level.S2] | here[Level.S3] | here[INT_COL]
    bottom = np.where(sacral, np.where(lowest == INT_COL, int(Level.S3), lowest), int(Level.S1))
    levels = np.arange(29)[:, None]
    in_range = levels <= bottom[None, :]
    key_rows = [int(lv) for lv in KEY_MUSCLES]
    flag_any = np.take(STARRED, side.lt) | np.take(STARRED, side.pp)
    flag_any[key_rows] |= np.take(STARRED, side.motor)
    first_flagged = first_true(flag_any & in_range, 99)
    has_flag = first_flagged < 99
    consec = np.zeros((29, n), dtype=bool)
    consec[key_rows] = (
        np.take(NORMAL2, side.lt[key_rows])
        & np.take(NORMAL2, side.pp[key_rows])
        & np.take(NORMAL5, side.motor)
    )
    after_top = (levels > top[None, :]) & in_range
    first_break = first_true(after_top & ~consec, -1)
    last_normal = np.where(first_break >= 0, first_break - 1, bottom)
    nkm = np.where(has_nkm & (side.nkm <= bottom), side.nkm, -1)

    active = applies.copy()
    add_nkm = np.zeros(n, bool)
    nkm_added = np.zeros(n, bool)
    for level in range(28, -1, -1):
        in_window = active & (level <= bottom) & (level >= top)
        if not in_window.any():
            if not (active & (level >= top)).any():
                break
            continue
        overridden = consider_nkm & (nkm >= 0) & (nkm - level > 3)
        if Level(level).is_key_muscle:
            m = side.muscle(Level(level))
            function = np.take(ZPP_FUNCTION, m)
            candidate = in_window & (function | np.take(ZPP_MAYBE, m))
            zpp.add(level, candidate & ~overridden, has_flag & np.take(ZERO_FLAGGED, m))
            nkm_added |= candidate & ~overridden & (nkm == level)
            add_nkm |= candidate & overridden
            active &= ~(in_window & function)
        else:
            digit = np.take(GRADED_STARRED, side.lt[level]) | np.take(
                GRADED_STARRED, side.pp[level]
            )
            star = has_flag & (digit | ((first_flagged <= level) & (level <= last_normal)))
            candidate = in_window & here[level]
            zpp.add(level, candidate & ~overridden, star)
            nkm_added |= candidate & ~overridden & (nkm == level)
            add_nkm |= candidate & overridden
    extra = applies & add_nkm & ~nkm_added & (nkm >= 0)
    for level in np.unique(nkm[extra]).tolist():
        zpp.add(level, extra & (nkm == level), np.zeros(n, bool))
    return zpp


def general_keys_numpy(right: SideArrays, left: SideArrays, vac: Any, dap: Any) -> Any:
    """Every result by the level-by-level steps in numpy: each step over all exams at once."""
    n = len(vac)
    motor_right = _motor_level(right, vac, n)
    motor_left = _motor_level(left, vac, n)
    nli = _nli(right, left, n)
    completeness = _completeness(right, left, vac, dap)
    ais = _ais(right, left, vac, dap, completeness, motor_right, motor_left, nli)
    complete = Possibles(n)
    complete.add(0, completeness[0], completeness[1])
    complete.add(1, completeness[2], completeness[3])
    return np.stack(
        [
            _sensory_level(right, n).key,
            _sensory_level(left, n).key,
            motor_right.key,
            motor_left.key,
            nli.key,
            ais.key,
            complete.key,
            _sensory_zpp(right, dap).key,
            _sensory_zpp(left, dap).key,
            _motor_zpp(right, vac, ais, motor_right).key,
            _motor_zpp(left, vac, ais, motor_left).key,
        ]
    )
