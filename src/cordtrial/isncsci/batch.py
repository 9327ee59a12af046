"""``classify_frame``: the ISNCSCI rules vectorized with numpy over many exams at once.

The batch classifier is defined as "equal to the one-exam engine": it runs the same steps as
:mod:`cordtrial.isncsci.levels`, :mod:`~cordtrial.isncsci.impairment` and
:mod:`~cordtrial.isncsci.zpp`, level by level, on arrays of exams instead of one exam, and its
value categories are tables computed from the very predicates the one-exam engine uses
(:mod:`cordtrial.isncsci.outcome`). Property tests hold the two equal on generated exams.

Cells are coded as small integers, ``grade * 3 + flag`` (grade 6 for NT, flag 0 none, 1 ``*``,
2 ``**``). A possible-value result is two boolean matrices, *here* and *starred*, with one column
per level (C1-S4_5), then ``INT`` and ``NA``; rendering to worksheet notation goes through the
few distinct patterns only.

Rows that are not valid exams are never dropped: their result fields are empty and ``error`` /
``error_field`` say why (the one-exam parser's message).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]

from cordtrial.isncsci import outcome as o
from cordtrial.isncsci.classification import RESULT_FIELDS
from cordtrial.isncsci.errors import InvalidExamError
from cordtrial.isncsci.exam import KEY_MUSCLES, SENSORY_LEVELS, Exam, Level
from cordtrial.isncsci.impairment import first_key_muscle_from
from cordtrial.isncsci.values import Cell, Flag, parse_motor, parse_sensory

__all__ = ["BATCH_FIELDS", "classify_frame"]

#: Columns of ``classify_frame``'s result: the result record, then the rejection reason.
BATCH_FIELDS: tuple[str, ...] = (*RESULT_FIELDS, "error_field", "error")

Bool = np.ndarray[Any, np.dtype[np.bool_]]
Ints = np.ndarray[Any, np.dtype[np.int64]]

NT_GRADE = 6
N_CODES = 21
INT_COL = 29
NA_COL = 30
N_COLS = 31
MISSING = -2
INVALID = -1
_FLAGS = (Flag.NONE, Flag.NOT_NORMAL, Flag.NORMAL)
_CELLS = [Cell(None if g == NT_GRADE else g, f) for g in range(7) for f in _FLAGS]


def _table(predicate: Callable[[Cell], bool]) -> Bool:
    """A predicate of the one-exam engine, as a look-up table over cell codes."""
    return np.array([predicate(c) for c in _CELLS], dtype=bool)


# value categories, computed from the one-exam engine's own predicates
SENS_NORMAL = _table(lambda c: c.grade == 2 and c.flag is Flag.NONE)
SENS_ABNORMAL = _table(lambda c: c.grade is not None and c.grade < 2 and c.flag is not Flag.NORMAL)
GRADED_NORMAL_FLAG = _table(lambda c: c.grade is not None and c.flag is Flag.NORMAL)
NT_PLAIN = _table(lambda c: o.is_nt(c))
NT_STAR = _table(lambda c: o.is_nt(c, Flag.NOT_NORMAL))
LOW = _table(o.is_low)
LOW_NOT_NORMAL = _table(o.is_low_not_normal)
LOW_NORMAL = _table(o.is_low_normal)
MID = _table(o.is_mid)
NORMAL5 = _table(lambda c: o.is_considered_normal(c, 5))
NORMAL2 = _table(lambda c: o.is_considered_normal(c, 2))
FLAG_NORMAL = _table(lambda c: c.flag is Flag.NORMAL)
GRADE5 = _table(lambda c: c.grade == 5)
STARRED = _table(lambda c: c.starred)
MAY_BE_ABSENT = _table(lambda c: (c.grade == 0 or c.grade is None) and c.flag is not Flag.NORMAL)
ZERO = _table(lambda c: c == Cell(0))
ZERO_FLAGGED = _table(lambda c: c.grade == 0 and c.starred)
ZERO_NORMAL_FLAG = _table(lambda c: c.grade == 0 and c.flag is Flag.NORMAL)
WEAK = _table(
    lambda c: (c.grade is not None and c.grade <= 2 and c.flag is Flag.NONE)
    or (c.grade is None and c.flag is not Flag.NORMAL)
)
FLAGGED_WEAK = _table(lambda c: c.grade is not None and c.grade <= 2 and c.flag is Flag.NOT_NORMAL)
STRONG = _table(lambda c: not (c.grade is not None and c.grade <= 2 and c.flag is Flag.NONE))
FLAGGED_LOW = _table(lambda c: c.grade is not None and c.grade <= 2 and c.starred)
GRADED_STARRED = _table(lambda c: c.grade is not None and c.starred)
ZPP_FUNCTION = _table(lambda c: (c.grade is not None and c.grade >= 1) or c.flag is Flag.NORMAL)
ZPP_MAYBE = _table(lambda c: c.grade is None or (c.grade == 0 and c.flag is Flag.NOT_NORMAL))
GRADE_OF = np.array([c.grade if c.grade is not None else -1 for c in _CELLS], dtype=np.int64)
STRIP = np.array([(code // 3) * 3 for code in range(N_CODES)], dtype=np.int8)

NORMAL_SENSORY_CODE = 2 * 3
KEY_INDEX = {lv: i for i, lv in enumerate(KEY_MUSCLES)}
_START_MORE_THAN_THREE = np.array(
    [first_key_muscle_from(min(lv + 4, Level.S4_5 + 1)) for lv in range(29)]
    + [first_key_muscle_from(Level.S4_5)],
    dtype=np.int64,
)
_START_BELOW = np.array(
    [first_key_muscle_from(lv + 1) for lv in range(29)] + [first_key_muscle_from(29)],
    dtype=np.int64,
)


# --- encoding cells ----------------------------------------------------------------------------


def _code_table(parse: Callable[[str, object], Cell]) -> dict[str, int]:
    table = {}
    for code, cell in enumerate(_CELLS):
        text = str(cell)
        try:
            if parse("", text) == cell:
                table[text] = code
        except InvalidExamError:
            pass
    return table


_MOTOR_CODES = _code_table(parse_motor)
_SENSORY_CODES = _code_table(parse_sensory)


def _byte_lut(table: dict[str, int]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Look-up of a code from up to four bytes: alphabet index per byte, then a dense key."""
    alphabet = {ch: i + 1 for i, ch in enumerate("012345NT*")}
    byte_index = np.zeros(256, dtype=np.int64)
    for ch, i in alphabet.items():
        byte_index[ord(ch)] = i
    lut = np.full(5 * 10**4, INVALID, dtype=np.int8)
    for text, code in table.items():
        key = len(text) * 10**4
        for pos, ch in enumerate(text):
            key += alphabet[ch] * 10 ** (3 - pos)
        lut[key] = code
    return byte_index, lut


_MOTOR_LUT = _byte_lut(_MOTOR_CODES)
_SENSORY_LUT = _byte_lut(_SENSORY_CODES)


def _encode(series: pd.Series[Any], table: dict[str, int], lut: tuple[Any, Any]) -> Any:
    """Cell codes of a column; ``MISSING`` for empty cells, ``INVALID`` for anything else."""
    array = series.array
    arrow = getattr(array, "_pa_array", None)
    if arrow is not None and pa.types.is_large_string(arrow.type) or (
        arrow is not None and pa.types.is_string(arrow.type)
    ):
        return _encode_arrow(arrow.combine_chunks(), lut)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([_code_of(v, table) for v in uniques] + [MISSING], dtype=np.int8)
    return mapped[codes]


def _code_of(value: object, table: dict[str, int]) -> int:
    if isinstance(value, str):
        if not value.strip():
            return MISSING
        return table.get(value, INVALID)
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, int | np.integer):
        return table.get(str(int(value)), INVALID)
    if isinstance(value, float | np.floating):
        if value != value:
            return MISSING
        return table.get(str(int(value)), INVALID) if float(value).is_integer() else INVALID
    return INVALID


def _encode_arrow(arrow: Any, lut: tuple[Any, Any]) -> Any:
    byte_index, codes = lut
    n = len(arrow)
    buffers = arrow.buffers()
    offset_type = np.int64 if pa.types.is_large_string(arrow.type) else np.int32
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[arrow.offset : arrow.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0)
    data = np.concatenate([data, np.zeros(4, dtype=np.uint8)])
    start = offsets[:-1].astype(np.int64)
    length = (offsets[1:] - offsets[:-1]).astype(np.int64)
    key = np.minimum(length, 5) * 10**4
    for pos in range(4):
        index = byte_index[data[start + pos]]
        key += np.where(length > pos, index, 0) * 10 ** (3 - pos)
    result = np.where(length > 4, INVALID, codes[np.minimum(key, 5 * 10**4 - 1)]).astype(np.int8)
    result[length == 0] = MISSING
    if arrow.null_count:
        valid = np.asarray(arrow.is_valid())
        result[~valid] = MISSING
    return result


# --- the exams as arrays -----------------------------------------------------------------------


class _Side:
    """One side of many exams: motor (n, 10), light touch and pin prick (n, 29), nkm (n,)."""

    def __init__(self, motor: Any, lt: Any, pp: Any, nkm: Any):
        self.motor, self.lt, self.pp, self.nkm = motor, lt, pp, nkm

    def stripped(self) -> _Side:
        return _Side(STRIP[self.motor], STRIP[self.lt], STRIP[self.pp], self.nkm)

    def muscle(self, level: Level) -> Any:
        return self.motor[:, KEY_INDEX[level]]


class _Result:
    """Possible values of one result for many exams: here/starred per column."""

    def __init__(self, n: int):
        self.here = np.zeros((n, N_COLS), dtype=bool)
        self.starred = np.zeros((n, N_COLS), dtype=bool)

    def add(self, column: int, where: Bool, starred: Bool) -> None:
        self.here[:, column] |= where
        self.starred[:, column] |= where & starred


Step = tuple[Bool, Bool, Bool, Bool]


def _sensory_step(side: _Side, below: int, relied: Bool) -> Step:
    lt, pp = side.lt[:, below], side.pp[:, below]
    both_normal = SENS_NORMAL[lt] & SENS_NORMAL[pp]
    abnormal = ~both_normal & (SENS_ABNORMAL[lt] | SENS_ABNORMAL[pp])
    rest = ~both_normal & ~abnormal
    nt_star = rest & (NT_STAR[lt] | NT_STAR[pp])
    rest &= ~nt_star
    nt = rest & (NT_PLAIN[lt] | NT_PLAIN[pp])
    flagged_rest = rest & ~nt
    other = GRADED_NORMAL_FLAG[lt] | GRADED_NORMAL_FLAG[pp]
    proceed = both_normal | nt | flagged_rest
    here = abnormal | nt_star | nt
    starred = ((abnormal | nt) & relied) | nt_star
    now_relied = relied | nt_star | flagged_rest | (nt & other)
    return proceed, here, starred, now_relied


def _motor_step(m: Any, b: Any, relied: Bool) -> Step:
    surely = NORMAL5[m]
    below_weak = LOW[b] | LOW_NOT_NORMAL[b] | NT_PLAIN[b] | NT_STAR[b]
    proceed = (surely | NT_PLAIN[m]) & ~LOW[b]
    here = ~(surely & ~below_weak)
    flagged_weak = LOW_NOT_NORMAL[m] | NT_STAR[m]
    starred = (
        flagged_weak | (LOW_NORMAL[m] & (LOW_NOT_NORMAL[b] | NT_PLAIN[b] | NT_STAR[b])) | relied
    )
    now_relied = np.where(
        flagged_weak,
        True,
        np.where(FLAG_NORMAL[m], relied | ~LOW[b], relied | (GRADE5[m] & LOW_NORMAL[b])),
    )
    return proceed, here, starred, now_relied


def _before_key_step(first: Any, relied: Bool) -> Step:
    here = LOW[first] | LOW_NOT_NORMAL[first] | NT_PLAIN[first] | NT_STAR[first]
    return ~LOW[first], here, relied, relied | LOW_NORMAL[first]


def _end_of_key_step(side: _Side, last: Level, relied: Bool) -> Step:
    first = Level.C5 if last is Level.T1 else Level.L2
    n = len(relied)
    proceed_s, any_here, any_relied = np.ones(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    never = np.zeros(n, bool)
    for level in range(first - 1, last + 1):
        p, h, _, r = _sensory_step(side, level + 1, never)
        proceed_s &= p
        any_here |= h
        any_relied |= r
    m = side.muscle(last)
    flagged_weak = LOW_NOT_NORMAL[m] | NT_STAR[m]
    proceed = proceed_s & ~(flagged_weak | MID[m])
    here = NT_PLAIN[m] | ~(NORMAL5[m] & proceed_s & ~any_here)
    starred = flagged_weak | (LOW_NORMAL[m] & (any_here | ~proceed_s)) | relied
    now_relied = (
        relied
        | flagged_weak
        | LOW_NORMAL[m]
        | (FLAG_NORMAL[m] & proceed_s)
        | ((GRADE5[m] | NT_PLAIN[m]) & proceed_s & any_relied & ~any_here)
    )
    return proceed, here, starred, now_relied


_NEXT_MUSCLE = dict(zip(KEY_MUSCLES, KEY_MUSCLES[1:], strict=False))


def _motor_level_step(side: _Side, level: Level, relied: Bool) -> Step:
    if level in (Level.C4, Level.L1):
        return _before_key_step(side.muscle(Level(level + 1)), relied)
    if level in (Level.T1, Level.S1):
        return _end_of_key_step(side, level, relied)
    if level.is_key_muscle:
        return _motor_step(side.muscle(level), side.muscle(_NEXT_MUSCLE[level]), relied)
    return _sensory_step(side, level + 1, relied)


def _scan(
    n: int, step: Callable[[Level, Bool], Step], end: Callable[[_Result, Bool, Bool], None]
) -> _Result:
    """Walk down the levels for every exam at once, as the one-exam engine walks one."""
    result = _Result(n)
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
    return result


def _sensory_level(side: _Side, n: int) -> _Result:
    def end(result: _Result, alive: Bool, relied: Bool) -> None:
        result.add(INT_COL, alive, relied)

    return _scan(n, lambda level, relied: _sensory_step(side, level + 1, relied), end)


def _motor_level(side: _Side, vac: Any, n: int) -> _Result:
    def end(result: _Result, alive: Bool, relied: Bool) -> None:
        no_s3 = ~result.here[:, Level.S3]
        result.add(Level.S3, alive & (vac != 0) & no_s3, relied)
        result.add(INT_COL, alive & (vac != 1), relied)

    return _scan(n, lambda level, relied: _motor_level_step(side, level, relied), end)


def _nli_motor_step(side: _Side, level: Level, relied: Bool) -> Step:
    if level in (Level.C4, Level.L1):
        return _before_key_step(side.muscle(Level(level + 1)), relied)
    below = level if level in (Level.T1, Level.S1) else _NEXT_MUSCLE[level]
    return _motor_step(side.muscle(level), side.muscle(below), relied)


def _nli(right: _Side, left: _Side, n: int) -> _Result:
    def step(level: Level, relied: Bool) -> Step:
        rp, rh, rs, rr = _sensory_step(right, level + 1, relied)
        lp, lh, ls, lr = _sensory_step(left, level + 1, relied)
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

    def end(result: _Result, alive: Bool, relied: Bool) -> None:
        result.add(INT_COL, alive, relied)

    return _scan(n, step, end)


# --- completeness and AIS ----------------------------------------------------------------------


def _completeness(right: _Side, left: _Side, vac: Any, dap: Any) -> tuple[Bool, Bool, Bool, Bool]:
    """(C possible, C starred, I possible, I starred)."""
    sacral = [right.lt[:, 28], right.pp[:, 28], left.lt[:, 28], left.pp[:, 28]]
    no_no = (vac == 1) & (dap == 1)
    all_zero = np.logical_and.reduce([ZERO[c] for c in sacral])
    zero_not_normal = np.logical_and.reduce(
        [(GRADE_OF[c] == 0) & ~FLAG_NORMAL[c] for c in sacral]
    )
    zero_not_star = np.logical_and.reduce(
        [(GRADE_OF[c] == 0) & ((c % 3) != 1) for c in sacral]
    )
    complete = no_no & all_zero
    c_star = no_no & ~all_zero & zero_not_normal
    i_star = no_no & ~all_zero & ~zero_not_normal & zero_not_star
    decided = complete | c_star | i_star
    open_ = ~decided & (vac != 0) & (dap != 0)
    open_ &= np.logical_and.reduce([MAY_BE_ABSENT[c] for c in sacral])
    c_possible = complete | c_star | open_
    i_possible = ~complete
    return c_possible, c_star, i_possible, c_star | i_star


def _per_start(side: _Side, brk_of: Callable[[Any, int], Bool], flag: Any) -> tuple[Any, Any]:
    """For every first muscle s (0-10): any breaker in s..9, and any flagged muscle in s..break."""
    n = side.motor.shape[0]
    found = np.zeros((n, 11), dtype=bool)
    flagged = np.zeros((n, 11), dtype=bool)
    for s in range(9, -1, -1):
        m = side.motor[:, s]
        brk = brk_of(m, s)
        found[:, s] = brk | found[:, s + 1]
        flagged[:, s] = flag[m] | (~brk & flagged[:, s + 1])
    return found, flagged


def _nkm_at(side: _Side, s: int) -> Bool:
    return side.nkm == int(KEY_MUSCLES[s])


def _over_candidates(
    here: Bool, found: Any, flagged: Any, starts: Ints
) -> tuple[Bool, Bool, Bool]:
    """Walk a result's possible values in order: (hit, starred at the hit, starred overall)."""
    n = here.shape[0]
    hit = np.zeros(n, dtype=bool)
    starred_acc = np.zeros(n, dtype=bool)
    starred_at_hit = np.zeros(n, dtype=bool)
    for column in range(INT_COL + 1):
        is_c = here[:, column] & ~hit
        if not is_c.any():
            continue
        s = starts[column]
        starred_acc |= is_c & flagged[:, s]
        new_hit = is_c & found[:, s]
        starred_at_hit |= new_hit & starred_acc
        hit |= new_hit
    return hit, starred_at_hit, starred_acc


def _no_motor_below(side: _Side, motor_level: _Result) -> tuple[Bool, Bool]:
    found, flagged = _per_start(
        side, lambda m, s: ~MAY_BE_ABSENT[m] | _nkm_at(side, s), ZERO_FLAGGED
    )
    none_found = ~found
    hit, starred, _ = _over_candidates(motor_level.here, none_found, flagged, _START_MORE_THAN_THREE)
    return hit, starred


def _motor_below(side: _Side, motor_level: _Result) -> tuple[Bool, Bool]:
    found, flagged = _per_start(
        side, lambda m, s: ~ZERO[m] | _nkm_at(side, s), ZERO_NORMAL_FLAG
    )
    hit, starred_at_hit, starred_acc = _over_candidates(
        motor_level.here, found, flagged, _START_MORE_THAN_THREE
    )
    possible = hit | starred_acc
    return possible, np.where(hit, starred_at_hit, starred_acc)


def _counts_from(right: _Side, left: _Side, table: Bool) -> Ints:
    """Muscles (both sides) in ``table`` from each first muscle s (0-10) down to S1."""
    per = table[right.motor].astype(np.int64) + table[left.motor].astype(np.int64)
    out = np.zeros((per.shape[0], 11), dtype=np.int64)
    out[:, :10] = np.cumsum(per[:, ::-1], axis=1)[:, ::-1]
    return out


def _fewer_than_half(right: _Side, left: _Side, nli: _Result) -> tuple[Bool, Bool]:
    weak = _counts_from(right, left, WEAK)
    flagged = _counts_from(right, left, FLAGGED_WEAK)
    n = weak.shape[0]
    done = np.zeros(n, bool)
    possible = np.zeros(n, bool)
    starred = np.zeros(n, bool)
    for column in range(INT_COL + 1):
        is_c = nli.here[:, column] & ~done
        if not is_c.any():
            continue
        s = _START_BELOW[column]
        half = 10 - s
        plain = is_c & (weak[:, s] > half)
        with_flags = is_c & ~plain & (weak[:, s] + flagged[:, s] > half)
        possible |= plain | with_flags
        starred |= with_flags
        done |= plain | with_flags
    return possible, starred


def _at_least_half(right: _Side, left: _Side, nli: _Result) -> tuple[Bool, Bool]:
    strong = _counts_from(right, left, STRONG)
    flagged = _counts_from(right, left, FLAGGED_LOW)
    n = strong.shape[0]
    done = np.zeros(n, bool)
    possible = np.zeros(n, bool)
    starred = np.zeros(n, bool)
    for column in range(INT_COL):
        is_c = nli.here[:, column] & ~done
        if not is_c.any():
            continue
        s = _START_BELOW[column]
        half = 10 - s
        if half == 0:
            sure = is_c
        else:
            sure = is_c & (strong[:, s] - flagged[:, s] >= half)
        possible |= sure
        starred &= ~sure
        done |= sure
        maybe = is_c & ~sure & (strong[:, s] >= half)
        possible |= maybe
        starred |= maybe & (strong[:, s] - flagged[:, s] < half)
    return possible, starred


def _sensory_preserved(right: _Side, left: _Side, dap: Any) -> tuple[Bool, Bool]:
    sacral = [right.lt[:, 28], right.pp[:, 28], left.lt[:, 28], left.pp[:, 28]]
    all_zero = np.logical_and.reduce([ZERO[c] for c in sacral])
    possible = (dap != 1) | ~all_zero
    starred = (dap == 1) & ~all_zero & np.logical_and.reduce([GRADE_OF[c] == 0 for c in sacral])
    return possible, starred


def _ais(
    right: _Side,
    left: _Side,
    vac: Any,
    dap: Any,
    completeness: tuple[Bool, Bool, Bool, Bool],
    motor_right: _Result,
    motor_left: _Result,
    nli: _Result,
) -> _Result:
    n = len(vac)
    ais = _Result(n)
    only_int = nli.here[:, INT_COL] & (nli.here[:, :INT_COL].sum(axis=1) == 0)
    e_only = only_int & (vac == 0)
    rest = ~e_only
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
    incomplete = vac_present | (sensory & (r_below | l_below))
    incomplete_star = ~vac_present & sensory & (r_below | l_below) & (r_bstar | l_bstar)
    incomplete &= rest
    c, c_flag = _fewer_than_half(right, left, nli)
    plain_r, plain_l = right.stripped(), left.stripped()
    plain_nli = _nli(plain_r, plain_l, n)
    c_plain, _ = _fewer_than_half(plain_r, plain_l, plain_nli)
    ais.add(2, incomplete & c, c_flag | incomplete_star | ~c_plain)
    d, d_flag = _at_least_half(right, left, nli)
    ais.add(3, incomplete & d, d_flag | incomplete_star)
    e = (vac != 1) & nli.here[:, INT_COL]
    ais.add(4, e, nli.starred[:, INT_COL])
    return ais


# --- zones of partial preservation -------------------------------------------------------------


def _sensory_zpp(side: _Side, dap: Any) -> _Result:
    n = len(dap)
    zpp = _Result(n)
    s45_lt, s45_pp = side.lt[:, 28], side.pp[:, 28]
    applies = (dap != 0) & MAY_BE_ABSENT[s45_lt] & MAY_BE_ABSENT[s45_pp]
    zpp.add(NA_COL, ~applies, np.zeros(n, bool))
    sacral_open = ~(ZERO[s45_lt] & ZERO[s45_pp])
    zpp.add(NA_COL, applies & ((dap == 2) | sacral_open), np.zeros(n, bool))
    alive = applies.copy()
    relied = np.zeros(n, bool)
    for level in range(Level.S3, 0, -1):
        lt, pp = side.lt[:, level], side.pp[:, level]
        both_zero = ZERO[lt] & ZERO[pp]
        stop = ~both_zero & ~(MAY_BE_ABSENT[lt] & MAY_BE_ABSENT[pp])
        nt = ~both_zero & ~stop & ((GRADE_OF[lt] < 0) | (GRADE_OF[pp] < 0))
        flagged = ~both_zero & ~stop & ~nt
        here = alive & (stop | nt | flagged)
        zpp.add(level, here, flagged | relied)
        relied = np.where(alive, relied | flagged, relied)
        alive &= ~stop
    zpp.add(Level.C1, alive, np.zeros(n, bool))
    return zpp


def _first_true(matrix: Bool, default: int) -> Ints:
    any_ = matrix.any(axis=1)
    return np.where(any_, matrix.argmax(axis=1), default)


def _last_true(matrix: Bool, default: int) -> Ints:
    any_ = matrix.any(axis=1)
    width = matrix.shape[1]
    return np.where(any_, width - 1 - matrix[:, ::-1].argmax(axis=1), default)


def _motor_zpp(side: _Side, vac: Any, ais: _Result, motor_level: _Result) -> _Result:
    n = len(vac)
    zpp = _Result(n)
    none = np.zeros(n, bool)
    zpp.add(NA_COL, vac != 1, none)
    applies = vac != 0
    has_nkm = side.nkm >= 0
    consider_nkm = has_nkm & ais.here[:, 2]
    here = motor_level.here
    top = np.minimum(_first_true(here[:, : INT_COL + 1], 0), 28)
    lowest = _last_true(here[:, : INT_COL + 1], 0)
    sacral = here[:, Level.S2] | here[:, Level.S3] | here[:, INT_COL]
    bottom = np.where(sacral, np.where(lowest == INT_COL, int(Level.S3), lowest), int(Level.S1))
    levels = np.arange(29)
    in_range = (levels[None, :] <= bottom[:, None])
    motor_full = np.full((n, 29), NORMAL_SENSORY_CODE * 0 + 15, dtype=np.int8)
    key_columns = [int(lv) for lv in KEY_MUSCLES]
    motor_full[:, key_columns] = side.motor
    flag_any = STARRED[side.lt] | STARRED[side.pp]
    flag_any[:, key_columns] |= STARRED[side.motor]
    first_flagged = _first_true(flag_any & in_range, 99)
    consec = np.zeros((n, 29), dtype=bool)
    consec[:, key_columns] = (
        NORMAL2[side.lt[:, key_columns]] & NORMAL2[side.pp[:, key_columns]] & NORMAL5[side.motor]
    )
    after_top = (levels[None, :] > top[:, None]) & in_range
    first_break = _first_true(after_top & ~consec, -1)
    last_normal = np.where(first_break >= 0, first_break - 1, bottom)
    nkm = np.where(has_nkm & (side.nkm <= bottom), side.nkm, -1)
    digit_flag = GRADED_STARRED[side.lt] | GRADED_STARRED[side.pp]

    active = applies.copy()
    add_nkm = np.zeros(n, bool)
    nkm_added = np.zeros(n, bool)
    for level in range(28, -1, -1):
        in_window = active & (level <= bottom) & (level >= top)
        if not in_window.any():
            continue
        overridden = consider_nkm & (nkm >= 0) & (nkm - level > 3)
        if Level(level).is_key_muscle:
            m = side.muscle(Level(level))
            function, maybe = ZPP_FUNCTION[m], ZPP_MAYBE[m]
            star = (first_flagged < 99) & (GRADE_OF[m] == 0) & STARRED[m]
            candidate = in_window & (function | maybe)
            zpp.add(level, candidate & ~overridden, star)
            nkm_added |= candidate & ~overridden & (nkm == level)
            add_nkm |= candidate & overridden
            active &= ~(in_window & function)
        else:
            star = (first_flagged < 99) & (
                digit_flag[:, level] | ((first_flagged <= level) & (level <= last_normal))
            )
            candidate = in_window & here[:, level]
            zpp.add(level, candidate & ~overridden, star)
            add_nkm |= candidate & overridden
    extra = applies & add_nkm & ~nkm_added & (nkm >= 0)
    rows = np.nonzero(extra)[0]
    zpp.here[rows, nkm[rows]] = True
    return zpp


# --- rendering ---------------------------------------------------------------------------------


_LEVEL_NAMES = [lv.name for lv in Level] + ["INT", "NA"]
_LEVEL_ORDER = list(range(N_COLS))
_ZPP_ORDER = [NA_COL, *range(29)]


def _render(result: _Result, names: list[str], order: list[int]) -> Any:
    """Worksheet notation of every row, rendered once per distinct pattern."""
    width = len(names)
    here, starred = result.here[:, :width], result.starred[:, :width]
    packed = np.packbits(np.concatenate([here, starred & here], axis=1), axis=1)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    uniques, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    texts = []
    for row in first:
        parts = [
            names[c] + ("*" if starred[row, c] else "")
            for c in order
            if c < width and here[row, c]
        ]
        texts.append(",".join(parts))
    return np.array(texts, dtype=object)[inverse.ravel()]


_TOTAL_TEXT = np.array([str(i) for i in range(113)] + ["ND"], dtype=object)


def _totals(side: _Side, which: str) -> Ints:
    if which == "uems":
        cells = side.motor[:, :5]
    elif which == "lems":
        cells = side.motor[:, 5:]
    elif which == "motor":
        cells = side.motor
    elif which == "lt":
        cells = side.lt[:, 1:]
    else:
        cells = side.pp[:, 1:]
    grades = GRADE_OF[cells]
    total = np.where(grades < 0, 0, grades).sum(axis=1)
    return np.where((grades < 0).any(axis=1), 113, total)


def _add_totals(a: Ints, b: Ints) -> Ints:
    return np.where((a == 113) | (b == 113), 113, a + b)


# --- the frame ---------------------------------------------------------------------------------


def _binary_codes(series: pd.Series[Any]) -> Any:
    table = {"Yes": 0, "No": 1, "NT": 2}
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array(
        [table.get(v, INVALID) if isinstance(v, str) else INVALID for v in uniques] + [MISSING],
        dtype=np.int8,
    )
    return mapped[codes]


def _nkm_codes(series: pd.Series[Any]) -> Any:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = []
    for value in uniques:
        if not isinstance(value, str):
            mapped.append(INVALID - 10)
            continue
        text = value.strip().upper()
        level = Level.__members__.get(text)
        if not text:
            mapped.append(-1)
        elif level is None or not level.is_key_muscle:
            mapped.append(INVALID - 10)
        else:
            mapped.append(int(level))
    return np.array([*mapped, -1], dtype=np.int64)[codes]


def _column(df: pd.DataFrame, name: str) -> pd.Series[Any]:
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def _side_arrays(df: pd.DataFrame, prefix: str) -> tuple[_Side, Bool]:
    n = len(df)
    motor = np.empty((n, 10), dtype=np.int8)
    for i, lv in enumerate(KEY_MUSCLES):
        motor[:, i] = _encode(_column(df, f"{prefix}_{lv.column}_motor"), _MOTOR_CODES, _MOTOR_LUT)
    lt = np.full((n, 29), NORMAL_SENSORY_CODE, dtype=np.int8)
    pp = np.full((n, 29), NORMAL_SENSORY_CODE, dtype=np.int8)
    for lv in SENSORY_LEVELS:
        lt[:, lv] = _encode(_column(df, f"{prefix}_{lv.column}_lt"), _SENSORY_CODES, _SENSORY_LUT)
        pp[:, lv] = _encode(_column(df, f"{prefix}_{lv.column}_pp"), _SENSORY_CODES, _SENSORY_LUT)
    nkm = _nkm_codes(_column(df, f"{prefix}_nkm")) if f"{prefix}_nkm" in df.columns else (
        np.full(n, -1, dtype=np.int64)
    )
    bad = (motor < 0).any(axis=1) | (lt < 0).any(axis=1) | (pp < 0).any(axis=1) | (nkm < -1)
    return _Side(motor, lt, pp, nkm), bad


def _rejections(df: pd.DataFrame, rows: Ints) -> tuple[list[str], list[str]]:
    fields, reasons = [], []
    columns = list(df.columns)
    for row in rows:
        values = dict(zip(columns, df.iloc[int(row)].tolist(), strict=True))
        try:
            Exam.from_flat(values)
        except InvalidExamError as err:
            fields.append(err.field)
            reasons.append(str(err))
        else:  # pragma: no cover - the fast coder and the parser disagree: a bug, say so
            fields.append("")
            reasons.append("rejected by the batch coder but accepted by the parser")
    return fields, reasons


def classify_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Classify every exam of a frame of canonical flat columns.

    Parameters
    ----------
    df:
        One exam per row, canonical columns (DESIGN.md); values as text (``"5"``, ``"NT*"``),
        or integers. An ``id`` column is passed through; without one, ``id`` is the row's
        1-based position.

    Returns
    -------
    pandas.DataFrame
        :data:`BATCH_FIELDS`: the result record per row in the same order and index, plus
        ``error_field`` and ``error`` (empty for a classified exam). A row that is not a valid
        exam keeps its place with empty results and the reason it was rejected.
    """
    n = len(df)
    right, r_bad = _side_arrays(df, "r")
    left, l_bad = _side_arrays(df, "l")
    vac = _binary_codes(_column(df, "vac"))
    dap = _binary_codes(_column(df, "dap"))
    bad = r_bad | l_bad | (vac < 0) | (dap < 0)
    if bad.any():
        # classify the rejected rows as normal exams, then blank them
        for side in (right, left):
            side.motor[bad] = 15
            side.lt[bad] = NORMAL_SENSORY_CODE
            side.pp[bad] = NORMAL_SENSORY_CODE
            side.nkm[bad] = -1
        vac = np.where(bad, 0, vac)
        dap = np.where(bad, 0, dap)

    sensory_right = _sensory_level(right, n)
    sensory_left = _sensory_level(left, n)
    motor_right = _motor_level(right, vac, n)
    motor_left = _motor_level(left, vac, n)
    nli = _nli(right, left, n)
    completeness = _completeness(right, left, vac, dap)
    ais = _ais(right, left, vac, dap, completeness, motor_right, motor_left, nli)
    complete = _Result(n)
    complete.add(0, completeness[0], completeness[1])
    complete.add(1, completeness[2], completeness[3])

    out: dict[str, Any] = {}
    if "id" in df.columns:
        out["id"] = df["id"].to_numpy(dtype=object)
    else:
        out["id"] = np.array([str(i + 1) for i in range(n)], dtype=object)
    out["sensory_right"] = _render(sensory_right, _LEVEL_NAMES[:30], _LEVEL_ORDER)
    out["sensory_left"] = _render(sensory_left, _LEVEL_NAMES[:30], _LEVEL_ORDER)
    out["motor_right"] = _render(motor_right, _LEVEL_NAMES[:30], _LEVEL_ORDER)
    out["motor_left"] = _render(motor_left, _LEVEL_NAMES[:30], _LEVEL_ORDER)
    out["nli"] = _render(nli, _LEVEL_NAMES[:30], _LEVEL_ORDER)
    out["ais"] = _render(ais, ["A", "B", "C", "D", "E"], list(range(5)))
    out["complete"] = _render(complete, ["C", "I"], [0, 1])
    out["zpp_sensory_right"] = _render(_sensory_zpp(right, dap), _LEVEL_NAMES, _ZPP_ORDER)
    out["zpp_sensory_left"] = _render(_sensory_zpp(left, dap), _LEVEL_NAMES, _ZPP_ORDER)
    out["zpp_motor_right"] = _render(_motor_zpp(right, vac, ais, motor_right), _LEVEL_NAMES, _ZPP_ORDER)
    out["zpp_motor_left"] = _render(_motor_zpp(left, vac, ais, motor_left), _LEVEL_NAMES, _ZPP_ORDER)
    totals = {}
    for name, side in (("right", right), ("left", left)):
        for which in ("uems", "lems", "motor", "lt", "pp"):
            totals[f"{which}_{name}"] = _totals(side, which)
    combined = {
        "uems": _add_totals(totals["uems_right"], totals["uems_left"]),
        "lems": _add_totals(totals["lems_right"], totals["lems_left"]),
        "lt": _add_totals(totals["lt_right"], totals["lt_left"]),
        "pp": _add_totals(totals["pp_right"], totals["pp_left"]),
    }
    for field in RESULT_FIELDS[12:]:
        if field in ("motor_right_total", "motor_left_total"):
            values = totals[f"motor_{field.split('_')[1]}"]
        else:
            values = totals.get(field, combined.get(field))
        out[field] = _TOTAL_TEXT[values]
    error_field = np.full(n, "", dtype=object)
    error = np.full(n, "", dtype=object)
    if bad.any():
        rows = np.nonzero(bad)[0]
        fields, reasons = _rejections(df, rows)
        for field in RESULT_FIELDS[1:]:
            out[field][rows] = ""
        error_field[rows] = fields
        error[rows] = reasons
    out["error_field"] = error_field
    out["error"] = error
    return pd.DataFrame(out, index=df.index, columns=list(BATCH_FIELDS))
