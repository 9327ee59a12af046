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

import importlib
import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
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


def _byte_table(values: Any) -> bytes:
    """A look-up of up to 256 small values (index = a code's byte) for :func:`_translate`."""
    table = np.zeros(256, dtype=np.uint8)
    table[: len(values)] = np.asarray(values).astype(np.uint8)
    return table.tobytes()


def _translate(table: bytes, codes: Any) -> Any:
    """``table[codes]`` for a matrix of one-byte codes, by ``bytes.translate``: several times
    faster than ``np.take``, which first widens every index to 64 bits."""
    out = np.frombuffer(np.ascontiguousarray(codes).tobytes().translate(table), dtype=np.uint8)
    return out.reshape(codes.shape)


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
    lambda c: (
        (c.grade is not None and c.grade <= 2 and c.flag is Flag.NONE)
        or (c.grade is None and c.flag is not Flag.NORMAL)
    )
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
    if isinstance(array, pd.Categorical):
        # a dictionary-encoded column (Parquet, registries): code the few categories only
        codes, uniques = array.codes, array.categories
    else:
        arrow = getattr(array, "_pa_array", None)
        if arrow is not None and (
            pa.types.is_large_string(arrow.type) or pa.types.is_string(arrow.type)
        ):
            result = _encode_arrow(arrow.combine_chunks(), lut)
            odd = np.nonzero(result == INVALID)[0]
            if len(odd):
                # the byte coder knows exact spellings only; the parser also trims spaces
                result[odd] = [_code_of(v, table) for v in series.iloc[odd].tolist()]
            return result
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([_code_of(v, table) for v in uniques] + [MISSING], dtype=np.int8)
    return np.take(mapped, codes)


def _code_of(value: object, table: dict[str, int]) -> int:
    if isinstance(value, str):
        text = value.strip()
        return table.get(text, INVALID) if text else MISSING
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
    """Codes straight from Arrow's string buffers: one-character cells (most of them) by one
    look-up of their byte; longer ones (``NT``, flagged values) by a key over their bytes."""
    byte_index, codes = lut
    n = len(arrow)
    buffers = arrow.buffers()
    offset_type = np.int64 if pa.types.is_large_string(arrow.type) else np.int32
    offsets: Any = np.frombuffer(buffers[1], dtype=offset_type)[arrow.offset : arrow.offset + n + 1]
    data: Any = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else None
    coder = _compiled("code_strings") if n >= JIT_MIN_ROWS else None
    if coder is not None and data is not None:
        result = coder(offsets, data, lut)
        if arrow.null_count:
            result[~np.asarray(arrow.is_valid())] = MISSING
        return result
    start = offsets[:-1]
    length = np.diff(offsets)
    if data is None or len(data) == 0:
        result = np.full(n, MISSING, dtype=np.int8)
    else:
        first = np.take(data, start, mode="clip")
        result = np.take(codes[10**4 + byte_index * 1000], first)
        long_rows = np.nonzero(length != 1)[0]
        if len(long_rows):
            padded = np.concatenate([data, np.zeros(4, dtype=np.uint8)])
            s, ln = start[long_rows].astype(np.int64), length[long_rows].astype(np.int64)
            key = np.minimum(ln, 4) * 10**4
            for pos in range(4):
                index = byte_index[padded[s + pos]]
                key += np.where(ln > pos, index, 0) * 10 ** (3 - pos)
            long_codes = np.where(ln > 4, INVALID, codes[key]).astype(np.int8)
            long_codes[ln == 0] = MISSING
            result[long_rows] = long_codes
    if arrow.null_count:
        result[~np.asarray(arrow.is_valid())] = MISSING
    return result


# --- the exams as arrays -----------------------------------------------------------------------


class _Side:
    """One side of many exams, level-major: motor (10, n), light touch and pin prick (29, n)
    with row C1 normal, nkm (n,) as a level index or -1."""

    def __init__(self, motor: Any, lt: Any, pp: Any, nkm: Any):
        self.motor, self.lt, self.pp, self.nkm = motor, lt, pp, nkm
        self._pair: Any = None

    @property
    def pair(self) -> Any:
        """Light touch and pin prick of each dermatome as one code (for the step look-ups)."""
        if self._pair is None:
            self._pair = self.lt.astype(np.int16) * N_CODES + self.pp
        return self._pair

    def take(self, rows: Any) -> _Side:
        """The exams of ``rows``."""
        if len(rows) == self.motor.shape[1]:
            return self
        return _Side(self.motor[:, rows], self.lt[:, rows], self.pp[:, rows], self.nkm[rows])

    def stripped(self, rows: Any) -> _Side:
        """The exams of ``rows`` with every flag removed (values at face value)."""
        return _Side(
            np.take(STRIP, self.motor[:, rows]),
            np.take(STRIP, self.lt[:, rows]),
            np.take(STRIP, self.pp[:, rows]),
            self.nkm[rows],
        )

    def muscle(self, level: Level) -> Any:
        return self.motor[KEY_INDEX[level]]


class _Result:
    """Possible values of one result for many exams: here/starred per column (N_COLS, n)."""

    def __init__(self, n: int):
        self.here = np.zeros((N_COLS, n), dtype=bool)
        self.starred = np.zeros((N_COLS, n), dtype=bool)
        # the same, packed: bit c of ``key`` = here[c], bit 32 + c = starred[c]
        self.key = np.zeros(n, dtype=np.uint64)

    def add(self, column: int, where: Bool, starred: Bool) -> None:
        star = where & starred
        self.here[column] |= where
        self.starred[column] |= star
        self.key |= np.left_shift(where, np.uint64(column), dtype=np.uint64)
        self.key |= np.left_shift(star, np.uint64(32 + column), dtype=np.uint64)


Step = tuple[Bool, Bool, Bool, Bool]

# --- the steps, as boolean formulas over value categories (mirroring levels.py) ---------------


def _sensory_formula(lt: Any, pp: Any, relied: Bool) -> Step:
    both_normal = np.take(SENS_NORMAL, lt) & np.take(SENS_NORMAL, pp)
    abnormal = ~both_normal & (np.take(SENS_ABNORMAL, lt) | np.take(SENS_ABNORMAL, pp))
    rest = ~both_normal & ~abnormal
    nt_star = rest & (np.take(NT_STAR, lt) | np.take(NT_STAR, pp))
    rest &= ~nt_star
    nt = rest & (np.take(NT_PLAIN, lt) | np.take(NT_PLAIN, pp))
    flagged_rest = rest & ~nt
    other = np.take(GRADED_NORMAL_FLAG, lt) | np.take(GRADED_NORMAL_FLAG, pp)
    proceed = both_normal | nt | flagged_rest
    here = abnormal | nt_star | nt
    starred = ((abnormal | nt) & relied) | nt_star
    now_relied = relied | nt_star | flagged_rest | (nt & other)
    return proceed, here, starred, now_relied


def _motor_formula(m: Any, b: Any, relied: Bool) -> Step:
    surely = np.take(NORMAL5, m)
    below_weak = (
        np.take(LOW, b) | np.take(LOW_NOT_NORMAL, b) | np.take(NT_PLAIN, b) | np.take(NT_STAR, b)
    )
    proceed = (surely | np.take(NT_PLAIN, m)) & ~np.take(LOW, b)
    here = ~(surely & ~below_weak)
    flagged_weak = np.take(LOW_NOT_NORMAL, m) | np.take(NT_STAR, m)
    starred = (
        flagged_weak
        | (
            np.take(LOW_NORMAL, m)
            & (np.take(LOW_NOT_NORMAL, b) | np.take(NT_PLAIN, b) | np.take(NT_STAR, b))
        )
        | relied
    )
    now_relied = np.where(
        flagged_weak,
        True,
        np.where(
            np.take(FLAG_NORMAL, m),
            relied | ~np.take(LOW, b),
            relied | (np.take(GRADE5, m) & np.take(LOW_NORMAL, b)),
        ),
    )
    return proceed, here, starred, now_relied


def _before_key_formula(first: Any, relied: Bool) -> Step:
    here = (
        np.take(LOW, first)
        | np.take(LOW_NOT_NORMAL, first)
        | np.take(NT_PLAIN, first)
        | np.take(NT_STAR, first)
    )
    return ~np.take(LOW, first), here, relied, relied | np.take(LOW_NORMAL, first)


def _compile(formula: Callable[..., Step], arity: int, flags: int = 0) -> Any:
    """Evaluate a step formula once on every combination of ``arity`` codes, ``flags`` other
    booleans and ``relied``: the batch then takes each step as one look-up (index in C order of
    the arguments), bits 1 proceed, 2 here, 4 starred, 8 relied."""
    axes = [np.arange(N_CODES)] * arity + [np.array([False, True])] * (flags + 1)
    flat = [g.ravel() for g in np.meshgrid(*axes, indexing="ij")]
    proceed, here, starred, relied = formula(*flat[:arity], *(f.astype(bool) for f in flat[arity:]))
    packed = (
        proceed.astype(np.uint8)
        | (here.astype(np.uint8) << 1)
        | (starred.astype(np.uint8) << 2)
        | (relied.astype(np.uint8) << 3)
    )
    return packed


_SENSORY_LUT_STEP = _compile(_sensory_formula, 2)
_MOTOR_LUT_STEP = _compile(_motor_formula, 2)
_BEFORE_LUT_STEP = _compile(_before_key_formula, 1)


def _unpack(bits: Any) -> Step:
    return (
        (bits & 1).astype(bool),
        (bits & 2).astype(bool),
        (bits & 4).astype(bool),
        (bits & 8).astype(bool),
    )


def _sensory_step(side: _Side, below: int, relied: Bool) -> Step:
    return _unpack(np.take(_SENSORY_LUT_STEP, side.pair[below].astype(np.int32) * 2 + relied))


def _motor_step(m: Any, b: Any, relied: Bool) -> Step:
    index = (m.astype(np.int32) * N_CODES + b) * 2 + relied
    return _unpack(np.take(_MOTOR_LUT_STEP, index))


def _before_key_step(first: Any, relied: Bool) -> Step:
    return _unpack(np.take(_BEFORE_LUT_STEP, first.astype(np.int32) * 2 + relied))


def _end_of_key_formula(
    m: Any, proceed_s: Bool, any_here: Bool, any_relied: Bool, relied: Bool
) -> Step:
    """The last key muscle of a limb (T1, S1), given what its dermatomes C5-T1 / L2-S1 allow."""
    flagged_weak = np.take(LOW_NOT_NORMAL, m) | np.take(NT_STAR, m)
    proceed = proceed_s & ~(flagged_weak | np.take(MID, m))
    here = np.take(NT_PLAIN, m) | ~(np.take(NORMAL5, m) & proceed_s & ~any_here)
    starred = flagged_weak | (np.take(LOW_NORMAL, m) & (any_here | ~proceed_s)) | relied
    now_relied = (
        relied
        | flagged_weak
        | np.take(LOW_NORMAL, m)
        | (np.take(FLAG_NORMAL, m) & proceed_s)
        | ((np.take(GRADE5, m) | np.take(NT_PLAIN, m)) & proceed_s & any_relied & ~any_here)
    )
    return proceed, here, starred, now_relied


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
    return _end_of_key_formula(side.muscle(last), proceed_s, any_here, any_relied, relied)


_END_LUT_STEP = _compile(_end_of_key_formula, 1, flags=3)
_NEXT_MUSCLE = dict(itertools.pairwise(KEY_MUSCLES))


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
        if not alive.any():
            break
    return result


def _sensory_level(side: _Side, n: int) -> _Result:
    def end(result: _Result, alive: Bool, relied: Bool) -> None:
        result.add(INT_COL, alive, relied)

    return _scan(n, lambda level, relied: _sensory_step(side, level + 1, relied), end)


def _motor_level(side: _Side, vac: Any, n: int) -> _Result:
    def end(result: _Result, alive: Bool, relied: Bool) -> None:
        no_s3 = ~result.here[Level.S3]
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


def _sacral(right: _Side, left: _Side) -> list[Any]:
    return [right.lt[Level.S4_5], right.pp[Level.S4_5], left.lt[Level.S4_5], left.pp[Level.S4_5]]


def _completeness(right: _Side, left: _Side, vac: Any, dap: Any) -> tuple[Bool, Bool, Bool, Bool]:
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


def _per_start(side: _Side, brk_of: Callable[[Any, int], Bool], flag: Any) -> tuple[Any, Any]:
    """For every first muscle s (0-10): any breaker in s..9, and any flagged muscle in s..break."""
    n = side.motor.shape[1]
    found = np.zeros((11, n), dtype=bool)
    flagged = np.zeros((11, n), dtype=bool)
    for s in range(9, -1, -1):
        m = side.motor[s]
        brk = brk_of(m, s)
        found[s] = brk | found[s + 1]
        flagged[s] = flag[m] | (~brk & flagged[s + 1])
    return found, flagged


def _nkm_at(side: _Side, s: int) -> Any:
    return side.nkm == int(KEY_MUSCLES[s])


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


def _no_motor_below(side: _Side, motor_level: _Result) -> tuple[Bool, Bool]:
    found, flagged = _per_start(
        side, lambda m, s: ~np.take(MAY_BE_ABSENT, m) | _nkm_at(side, s), ZERO_FLAGGED
    )
    hit, starred, _ = _over_candidates(motor_level.here, ~found, flagged, _START_MORE_THAN_THREE)
    return hit, starred


def _motor_below(side: _Side, motor_level: _Result) -> tuple[Bool, Bool]:
    found, flagged = _per_start(
        side, lambda m, s: ~np.take(ZERO, m) | _nkm_at(side, s), ZERO_NORMAL_FLAG
    )
    hit, starred_at_hit, starred_acc = _over_candidates(
        motor_level.here, found, flagged, _START_MORE_THAN_THREE
    )
    return hit | starred_acc, np.where(hit, starred_at_hit, starred_acc)


def _counts_from(right: _Side, left: _Side, table: Bool) -> Ints:
    """Muscles (both sides) in ``table`` from each first muscle s (0-10) down to S1."""
    per = table[right.motor].astype(np.int16) + table[left.motor].astype(np.int16)
    out = np.zeros((11, per.shape[1]), dtype=np.int16)
    out[:10] = np.cumsum(per[::-1], axis=0)[::-1]
    return out


def _fewer_than_half(right: _Side, left: _Side, nli: _Result) -> tuple[Bool, Bool]:
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
        s = _START_BELOW[column]
        half = 10 - s
        plain = is_c & (weak[s] > half)
        with_flags = is_c & ~plain & (weak[s] + flagged[s] > half)
        possible |= plain | with_flags
        starred |= with_flags
        done |= plain | with_flags
    return possible, starred


def _at_least_half(right: _Side, left: _Side, nli: _Result) -> tuple[Bool, Bool]:
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
        s = _START_BELOW[column]
        half = 10 - s
        sure = is_c if half == 0 else is_c & (strong[s] - flagged[s] >= half)
        possible |= sure
        starred &= ~sure
        done |= sure
        maybe = is_c & ~sure & (strong[s] >= half)
        possible |= maybe
        starred |= maybe & (strong[s] - flagged[s] < half)
    return possible, starred


def _sensory_preserved(right: _Side, left: _Side, dap: Any) -> tuple[Bool, Bool]:
    sacral = _sacral(right, left)
    all_zero = np.logical_and.reduce([np.take(ZERO, c) for c in sacral])
    possible = (dap != 1) | ~all_zero
    starred = (
        (dap == 1) & ~all_zero & np.logical_and.reduce([np.take(GRADE_OF, c) == 0 for c in sacral])
    )
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
    """AIS grades (columns 0-4 = A-E), as impairment.determine_ais."""
    n = len(vac)
    ais = _Result(n)
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


def _sensory_zpp(side: _Side, dap: Any) -> _Result:
    n = len(dap)
    zpp = _Result(n)
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


def _first_true(matrix: Bool, default: int) -> Ints:
    """Per column of a (levels, n) matrix: the first row that is True, else ``default``."""
    return np.where(matrix.any(axis=0), matrix.argmax(axis=0), default)


def _motor_zpp(side: _Side, vac: Any, ais: _Result, motor_level: _Result) -> _Result:
    """Motor ZPP (NA column and levels), as zpp.determine_motor_zpp."""
    n = len(vac)
    zpp = _Result(n)
    zpp.add(NA_COL, vac != 1, np.zeros(n, bool))
    applies = vac != 0
    has_nkm = side.nkm >= 0
    consider_nkm = has_nkm & ais.here[2]
    here = motor_level.here
    candidates = here[: INT_COL + 1]
    top = np.minimum(_first_true(candidates, 0), int(Level.S4_5))
    lowest = np.where(candidates.any(axis=0), INT_COL - candidates[::-1].argmax(axis=0), 0)
    sacral = here[Level.S2] | here[Level.S3] | here[INT_COL]
    bottom = np.where(sacral, np.where(lowest == INT_COL, int(Level.S3), lowest), int(Level.S1))
    levels = np.arange(29)[:, None]
    in_range = levels <= bottom[None, :]
    key_rows = [int(lv) for lv in KEY_MUSCLES]
    flag_any = np.take(STARRED, side.lt) | np.take(STARRED, side.pp)
    flag_any[key_rows] |= np.take(STARRED, side.motor)
    first_flagged = _first_true(flag_any & in_range, 99)
    has_flag = first_flagged < 99
    consec = np.zeros((29, n), dtype=bool)
    consec[key_rows] = (
        np.take(NORMAL2, side.lt[key_rows])
        & np.take(NORMAL2, side.pp[key_rows])
        & np.take(NORMAL5, side.motor)
    )
    after_top = (levels > top[None, :]) & in_range
    first_break = _first_true(after_top & ~consec, -1)
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
            add_nkm |= candidate & overridden
    extra = applies & add_nkm & ~nkm_added & (nkm >= 0)
    for level in np.unique(nkm[extra]).tolist():
        zpp.add(level, extra & (nkm == level), np.zeros(n, bool))
    return zpp


# --- rendering ---------------------------------------------------------------------------------


_LEVEL_NAMES = [lv.name for lv in Level] + ["INT", "NA"]
_LEVEL_ORDER = list(range(N_COLS))
_ZPP_ORDER = [NA_COL, *range(29)]


class _Notation:
    """Worksheet text of packed results, remembered: a registry's results repeat a few thousand
    distinct values, so each is written once and then found by one vectorized look-up."""

    #: Most texts remembered per notation (a bound on memory for pathological inputs).
    LIMIT = 200_000

    def __init__(self, names: list[str], order: list[int]):
        self.names, self.order = names, order
        self._known: tuple[pd.Index, list[str]] = (pd.Index(np.empty(0, np.uint64)), [])
        self._lock = threading.Lock()

    def text(self, key: int) -> str:
        first = self.order[0] if self.order[0] != 0 else None  # listed first out of turn (NA)
        here = key & 0xFFFFFFFF
        parts = []
        if first is not None and here >> first & 1:
            parts.append(self.names[first] + ("*" if key >> (32 + first) & 1 else ""))
            here &= ~(1 << first)
        while here:
            low = here & -here
            c = low.bit_length() - 1
            parts.append(self.names[c] + ("*" if key >> (32 + c) & 1 else ""))
            here ^= low
        return ",".join(parts)

    def texts(self, uniques: Any) -> list[str]:
        """The text of each distinct key."""
        index, known = self._known
        where = index.get_indexer(pd.Index(uniques)) if len(index) else np.full(len(uniques), -1)
        missing = np.nonzero(where < 0)[0]
        if not len(missing):
            return [known[i] for i in where.tolist()]
        new = {k: self.text(k) for k in uniques[missing].tolist()}
        with self._lock:  # another thread may have added some meanwhile
            index, known = self._known
            fresh = np.array(list(new), dtype=np.uint64)
            if len(index):
                fresh = fresh[index.get_indexer(pd.Index(fresh)) < 0]
            if len(known) + len(fresh) <= self.LIMIT:
                self._known = (
                    index.append(pd.Index(fresh)),
                    known + [new[k] for k in fresh.tolist()],
                )
        return [
            known[i] if i >= 0 else new[k]
            for i, k in zip(where.tolist(), uniques.tolist(), strict=True)
        ]


def _render_keys(keys: Any, notation: _Notation) -> Any:
    codes, uniques = pd.factorize(keys)
    return _categorical(codes, notation.texts(uniques))


def _categorical(codes: Any, texts: list[str]) -> Any:
    """A string column as a Categorical (``texts`` distinct): a registry's results repeat a few
    thousand values."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(texts))


_TOTAL_TEXT = [str(i) for i in range(113)] + ["ND"]
_ND = 113


GRADE_OR_ND = np.array([g if g >= 0 else 64 for g in GRADE_OF], dtype=np.int16)
_GRADE_OR_ND_BYTES = _byte_table(GRADE_OR_ND)


def _total(cells: Any) -> Ints:
    total = _translate(_GRADE_OR_ND_BYTES, cells).sum(axis=0, dtype=np.int16)
    return np.where(total >= 64, _ND, total)


def _add_totals(a: Ints, b: Ints) -> Ints:
    return np.where((a == _ND) | (b == _ND), _ND, a + b)


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
        text = value.strip().upper() if isinstance(value, str) else None
        level = Level.__members__.get(text) if text else None
        if text == "":
            mapped.append(-1)
        elif level is None or not level.is_key_muscle:
            mapped.append(-9)
        else:
            mapped.append(int(level))
    return np.array([*mapped, -1], dtype=np.int64)[codes]


def _column(df: pd.DataFrame, name: str) -> pd.Series[Any]:
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def _one_byte_cells(series: pd.Series[Any]) -> Any:
    """The bytes of an Arrow string column whose every cell is one character, else ``None``.

    Most registry cells are one digit: their bytes, in row order, are the column's data buffer,
    and many such columns are coded by a single look-up (:func:`_encode_matrix`)."""
    arrow = getattr(series.array, "_pa_array", None)
    if arrow is None or arrow.num_chunks != 1 or arrow.null_count:
        return None
    chunk = arrow.chunk(0)
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        return None
    n = len(chunk)
    buffers = chunk.buffers()
    if buffers[2] is None:
        return None
    offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets: Any = np.frombuffer(buffers[1], dtype=offset_type)[chunk.offset : chunk.offset + n + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    if end - start != n or not (np.diff(offsets) == 1).all():
        return None
    return np.frombuffer(buffers[2], dtype=np.uint8)[start:end]


def _encode_matrix(
    columns: list[pd.Series[Any]], table: dict[str, int], lut: tuple[Any, Any], n: int
) -> Any:
    """Codes of several cell columns as one (columns, n) matrix: one-character Arrow columns by
    one look-up over all their bytes at once, any other column by :func:`_encode`."""
    byte_index, codes = lut
    one_char = np.asarray(codes[10**4 + byte_index * 1000], dtype=np.int8).view(np.uint8).tobytes()
    result = np.empty((len(columns), n), dtype=np.int8)
    fast_rows, fast_bytes = [], []
    for row, series in enumerate(columns):
        cells = _one_byte_cells(series)
        if cells is None:
            result[row] = _encode(series, table, lut)
        else:
            fast_rows.append(row)
            fast_bytes.append(cells)
    if fast_rows:
        result[fast_rows] = _translate(one_char, np.stack(fast_bytes)).view(np.int8)
    return result


def _side_arrays(df: pd.DataFrame, prefix: str) -> tuple[_Side, Bool]:
    n = len(df)
    motor = _encode_matrix(
        [_column(df, f"{prefix}_{lv.column}_motor") for lv in KEY_MUSCLES],
        _MOTOR_CODES,
        _MOTOR_LUT,
        n,
    )
    sensory = _encode_matrix(
        [
            _column(df, f"{prefix}_{lv.column}_{kind}")
            for kind in ("lt", "pp")
            for lv in SENSORY_LEVELS
        ],
        _SENSORY_CODES,
        _SENSORY_LUT,
        n,
    )
    lt = np.full((29, n), NORMAL_SENSORY_CODE, dtype=np.int8)
    pp = np.full((29, n), NORMAL_SENSORY_CODE, dtype=np.int8)
    levels = [int(lv) for lv in SENSORY_LEVELS]
    lt[levels] = sensory[: len(levels)]
    pp[levels] = sensory[len(levels) :]
    column = f"{prefix}_nkm"
    nkm = _nkm_codes(df[column]) if column in df.columns else np.full(n, -1, dtype=np.int64)
    bad = (motor < 0).any(axis=0) | (lt < 0).any(axis=0) | (pp < 0).any(axis=0) | (nkm < -1)
    if bad.any():
        motor[:, bad] = 15
        lt[:, bad] = NORMAL_SENSORY_CODE
        pp[:, bad] = NORMAL_SENSORY_CODE
        nkm[bad] = -1
    return _Side(motor, lt, pp, nkm), bad


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _rejections(df: pd.DataFrame, rows: Ints) -> tuple[list[str], list[str]]:
    """The one-exam parser's reason for each rejected row (the same words as ``classify``)."""
    fields, reasons = [], []
    subset = df.iloc[rows].astype(object)
    for record in subset.to_dict("records"):
        values = {
            str(k): None if v is pd.NA or v is None or v != v else v for k, v in record.items()
        }
        try:
            Exam.from_flat(values)
        except InvalidExamError as err:
            fields.append(err.field)
            reasons.append(str(err))
        else:  # pragma: no cover - the coder and the parser disagree: a bug, say so
            fields.append("")
            reasons.append("rejected by the batch coder but accepted by the parser")
    return fields, reasons


#: Rows classified together; big enough to amortize numpy's per-call cost, small enough for cache.
CHUNK_ROWS = 65_536
#: Fewest rows worth a thread of their own.
MIN_THREAD_ROWS = 16_384


def classify_frame(df: pd.DataFrame, workers: int | None = None) -> pd.DataFrame:
    """Classify every exam of a frame of canonical flat columns (vectorized ``classify``).

    Parameters
    ----------
    df:
        One exam per row, canonical columns (DESIGN.md); values as text (``"5"``, ``"NT*"``) or
        integers. An ``id`` column is passed through; without one, ``id`` is the row's 1-based
        position.

    Returns
    -------
    pandas.DataFrame
        :data:`BATCH_FIELDS`: the result record of each row, same order and index, then
        ``error_field`` and ``error`` (empty for a classified exam). A row that is not a valid
        exam keeps its place, with empty results and the reason it was rejected. Result columns
        are categorical (a registry repeats a few hundred distinct values).
    workers:
        Threads classifying chunks at once (numpy releases the GIL); default: one per core
        (``os.cpu_count()``). A frame of fewer than ``2 * MIN_THREAD_ROWS`` rows is classified
        in one chunk; a larger one in chunks of at most :data:`CHUNK_ROWS` rows, at least one
        per worker, of equal size. Pass ``workers=1`` where the caller already runs one
        classification per core (Dask workers, a process pool).
    """
    n = len(df)
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"workers: {workers!r} is not a number of threads (1 or more)")
    count = -(-n // CHUNK_ROWS)
    if n >= 2 * MIN_THREAD_ROWS:
        count = max(count, min(workers, n // MIN_THREAD_ROWS))
    if count <= 1:
        return _classify_chunk(df)
    size = -(-n // count)
    chunks = [df.iloc[i : i + size] for i in range(0, n, size)]
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(_classify_codes, chunks))
    else:
        parts = [_classify_codes(chunk) for chunk in chunks]
    keys, totals, bad = (np.concatenate(p, axis=-1) for p in zip(*parts, strict=True))
    return _frame(df, keys, totals, bad)


def _position(df: pd.DataFrame) -> int:
    """1-based position of the first row when the frame is a slice of a RangeIndex frame."""
    index = df.index
    if isinstance(index, pd.RangeIndex) and len(index) and index.step == 1:
        return int(index.start) + 1
    return 1


def _classify_chunk(df: pd.DataFrame) -> pd.DataFrame:
    return _frame(df, *_classify_codes(df))


def _classify_codes(df: pd.DataFrame) -> tuple[Any, Any, Bool]:
    """The results of a frame's rows as codes: packed possible values of the keyed fields
    (11, n), totals as indices into ``_TOTAL_TEXT`` (13, n), and the rejected rows."""
    n = len(df)
    right, r_bad = _side_arrays(df, "r")
    left, l_bad = _side_arrays(df, "l")
    vac = _binary_codes(_column(df, "vac"))
    dap = _binary_codes(_column(df, "dap"))
    bad = r_bad | l_bad | (vac < 0) | (dap < 0)
    # rejected rows are classified as normal exams, then blanked
    vac = np.where(bad, 0, vac)
    dap = np.where(bad, 0, dap)

    clean = _is_clean(right) & _is_clean(left) & (vac != 2) & (dap != 2)
    keys = np.zeros((len(_KEYED_FIELDS), n), dtype=np.uint64)
    for rows, path in ((np.nonzero(clean)[0], _clean_keys), (np.nonzero(~clean)[0], _general_keys)):
        if len(rows) == n:
            keys = path(right, left, vac, dap)
        elif len(rows):
            keys[:, rows] = path(right.take(rows), left.take(rows), vac[rows], dap[rows])

    totals: dict[str, Ints] = {}
    for name, side in (("right", right), ("left", left)):
        totals[f"uems_{name}"] = _total(side.motor[:5])
        totals[f"lems_{name}"] = _total(side.motor[5:])
        totals[f"motor_{name}_total"] = _add_totals(totals[f"uems_{name}"], totals[f"lems_{name}"])
        totals[f"lt_{name}"] = _total(side.lt[1:])
        totals[f"pp_{name}"] = _total(side.pp[1:])
    for both in ("uems", "lems", "lt", "pp"):
        totals[both] = _add_totals(totals[f"{both}_right"], totals[f"{both}_left"])
    return keys, np.stack([totals[f] for f in _TOTAL_FIELDS]).astype(np.int16), bad


def _frame(df: pd.DataFrame, keys: Any, totals: Any, bad: Bool) -> pd.DataFrame:
    """The result frame of ``df`` from its codes: worksheet notation, rejections explained."""
    n = len(df)
    out: dict[str, Any] = {}
    if "id" in df.columns:
        out["id"] = df["id"].to_numpy(dtype=object)
    else:
        numbers = pa.array(np.arange(n, dtype=np.int64) + _position(df)).cast(pa.string())
        out["id"] = numbers.to_numpy(zero_copy_only=False)  # 4x numpy's astype(str)
    for i, field in enumerate(_KEYED_FIELDS):
        out[field] = _render_keys(keys[i], _NOTATION[field])
    for i, field in enumerate(_TOTAL_FIELDS):
        out[field] = pd.Categorical.from_codes(totals[i], categories=_TOTAL_CATEGORIES)
    no_error = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([""]))
    out["error_field"] = no_error
    out["error"] = no_error.copy()
    frame = pd.DataFrame(out, index=df.index, columns=list(BATCH_FIELDS))
    if bad.any():
        rows = np.nonzero(bad)[0]
        fields, reasons = _rejections(df, rows)
        for field, values in (
            *((f, [""] * len(rows)) for f in RESULT_FIELDS[1:]),
            ("error_field", fields),
            ("error", reasons),
        ):
            column = frame[field]
            new = [v for v in dict.fromkeys(values) if v not in column.cat.categories]
            if new:
                column = column.cat.add_categories(new)
            column.iloc[rows] = values
            frame[field] = column
    return frame


_TOTAL_FIELDS = RESULT_FIELDS[12:]
_TOTAL_CATEGORIES = pd.Index(_TOTAL_TEXT)
_KEYED_FIELDS = RESULT_FIELDS[1:12]
_LEVELS = (_LEVEL_NAMES[: INT_COL + 1], _LEVEL_ORDER)
_ZPP = (_LEVEL_NAMES, _ZPP_ORDER)
_NOTATION: dict[str, _Notation] = {
    "sensory_right": _Notation(*_LEVELS),
    "sensory_left": _Notation(*_LEVELS),
    "motor_right": _Notation(*_LEVELS),
    "motor_left": _Notation(*_LEVELS),
    "nli": _Notation(*_LEVELS),
    "ais": _Notation(["A", "B", "C", "D", "E"], list(range(5))),
    "complete": _Notation(["C", "I"], [0, 1]),
    "zpp_sensory_right": _Notation(*_ZPP),
    "zpp_sensory_left": _Notation(*_ZPP),
    "zpp_motor_right": _Notation(*_ZPP),
    "zpp_motor_left": _Notation(*_ZPP),
}


def _general_keys(right: _Side, left: _Side, vac: Any, dap: Any) -> Any:
    """Every result, by the level-by-level steps (any exam: NT, flags, non-key muscles): the
    compiled walk of :mod:`cordtrial.isncsci.batch_jit` where Numba is available, else numpy."""
    kernel = _compiled("general_keys") if len(vac) >= JIT_MIN_ROWS else None
    if kernel is not None:
        return kernel(right, left, vac, dap)
    return _general_keys_numpy(right, left, vac, dap)


#: Fewest exams worth the compiled code: below it numpy takes a few milliseconds, less than
#: loading (or, on first use, compiling) the kernel.
JIT_MIN_ROWS = 2048
_JIT: dict[str, Any] = {}


def _compiled(name: str) -> Callable[..., Any] | None:
    """A function of :mod:`cordtrial.isncsci.batch_jit`, or ``None`` where Numba is not
    installed or ``CORDTRIAL_JIT=0`` is set (then numpy does the same work, slower)."""
    if "module" not in _JIT:
        module: ModuleType | None = None
        if os.environ.get("CORDTRIAL_JIT", "1") != "0":
            try:
                module = importlib.import_module("cordtrial.isncsci.batch_jit")
            except ImportError:  # pragma: no cover - Numba is a dependency; this is the fallback
                module = None
        _JIT["module"] = module
    module = _JIT["module"]
    return None if module is None else getattr(module, name)


def _general_keys_numpy(right: _Side, left: _Side, vac: Any, dap: Any) -> Any:
    """Every result by the level-by-level steps in numpy: each step over all exams at once."""
    n = len(vac)
    motor_right = _motor_level(right, vac, n)
    motor_left = _motor_level(left, vac, n)
    nli = _nli(right, left, n)
    completeness = _completeness(right, left, vac, dap)
    ais = _ais(right, left, vac, dap, completeness, motor_right, motor_left, nli)
    complete = _Result(n)
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


# --- the closed forms for exams without NT or flags ----------------------------------------------
#
# Without NT or flags every result has exactly one value and every step stops where it finds its
# level, so each result is "the first level whose step stops": one look over a matrix instead of a
# walk. These forms are an optimization of the steps above, held equal to them (and to the one-exam
# engine) by tests/isncsci/test_batch.py.

_PLAIN_CODE = np.array([c % 3 == 0 and c // 3 < NT_GRADE for c in range(N_CODES)], dtype=bool)
_PLAIN_BYTES = _byte_table(_PLAIN_CODE)


def _is_clean(side: _Side) -> Bool:
    """Exams whose cells on this side are all plain grades: no NT, no flag."""
    return (
        _all_levels(_translate(_PLAIN_BYTES, side.motor))
        & _all_levels(_translate(_PLAIN_BYTES, side.lt))
        & _all_levels(_translate(_PLAIN_BYTES, side.pp))
    )


def _all_levels(matrix: Any) -> Bool:
    return np.asarray(matrix.all(axis=0))


def _first_stop(stops: Any, default: Any) -> Any:
    return np.where(stops.any(axis=0), stops.argmax(axis=0), default)


def _bit(code: Any) -> Any:
    return np.left_shift(np.uint64(1), code.astype(np.uint64))


# Codes of plain grades are grade * 3: compare codes with these.
_S2, _M3, _M5 = 2 * 3, 3 * 3, 5 * 3


def _clean_side(codes: tuple[Any, Any, Any], vac: Any) -> tuple[Ints, Ints, Any]:
    """Sensory level, motor level (level indices, 29 = INT) and 'sensory normal' of one side."""
    motor, lt, pp = codes
    normal = (lt == _S2) & (pp == _S2)
    sensory = _first_stop(~normal[1:], INT_COL)
    stops = np.empty((29, motor.shape[1]), dtype=bool)
    for level in range(29):
        lv = Level(level)
        if lv is Level.S4_5:
            stops[level] = True
        elif lv in (Level.C4, Level.L1):
            stops[level] = motor[KEY_INDEX[Level(level + 1)]] < _M3
        elif lv in (Level.T1, Level.S1):
            first = Level.C5 if lv is Level.T1 else Level.L2
            stops[level] = ~normal[first : level + 2].all(axis=0) | (motor[KEY_INDEX[lv]] != _M5)
        elif lv.is_key_muscle:
            i = KEY_INDEX[lv]
            stops[level] = (motor[i] != _M5) | (motor[i + 1] < _M3)
        else:
            stops[level] = ~normal[level + 1]
    motor_level = stops.argmax(axis=0)
    reached_s45 = motor_level == Level.S4_5
    motor_level = np.where(reached_s45, np.where(vac == 1, int(Level.S3), INT_COL), motor_level)
    return sensory, motor_level, normal


def _clean_keys(right: _Side, left: _Side, vac: Any, dap: Any) -> Any:
    """Every result of exams without NT or flags, in closed form."""
    sides = []
    for side in (right, left):
        codes = (side.motor, side.lt, side.pp)
        sides.append((codes, *_clean_side(codes, vac)))
    (r_grades, r_sensory, r_motor, r_normal), (l_grades, l_sensory, l_motor, l_normal) = sides
    k = len(vac)

    # NLI: the first level at which either side's sensation, or a key muscle, stops being normal
    nli_stops = np.zeros((29, k), dtype=bool)
    nli_stops[:28] = ~r_normal[1:] | ~l_normal[1:]
    for grades in (r_grades[0], l_grades[0]):
        nli_stops[Level.C4] |= grades[0] < _M3
        nli_stops[Level.L1] |= grades[5] < _M3
        for i, lv in enumerate(KEY_MUSCLES):
            below = grades[i] if lv in (Level.T1, Level.S1) else grades[i + 1]
            nli_stops[lv] |= (grades[i] != _M5) | (below < _M3)
    nli_stops[Level.S4_5] = True
    nli = nli_stops.argmax(axis=0)
    nli = np.where(nli == Level.S4_5, INT_COL, nli)

    sacral = [r_grades[1][28], r_grades[2][28], l_grades[1][28], l_grades[2][28]]
    sacral_zero = (sacral[0] == 0) & (sacral[1] == 0) & (sacral[2] == 0) & (sacral[3] == 0)
    complete = (vac == 1) & (dap == 1) & sacral_zero

    # AIS
    sensory_spared = (dap != 1) | ~sacral_zero
    found = []
    for grades, side, motor_level in ((r_grades, right, r_motor), (l_grades, left, l_motor)):
        function = (grades[0] > 0) | (side.nkm[None, :] == np.array(KEY_MUSCLES)[:, None])
        from_start = np.zeros((11, k), dtype=bool)
        from_start[:10] = np.logical_or.accumulate(function[::-1], axis=0)[::-1]
        found.append(
            np.take_along_axis(from_start, _START_MORE_THAN_THREE[motor_level][None], 0)[0]
        )
    motor_below = found[0] | found[1]
    start = _START_BELOW[nli]
    strong_per = (r_grades[0] >= _M3).astype(np.int16) + (l_grades[0] >= _M3)
    strong_from = np.zeros((11, k), dtype=np.int16)
    strong_from[:10] = np.cumsum(strong_per[::-1], axis=0)[::-1]
    strong = np.take_along_axis(strong_from, start[None], 0)[0]
    half = 10 - start
    e_only = (nli == INT_COL) & (vac == 0)
    grade = np.select(
        [
            e_only,
            complete,
            sensory_spared & (vac != 0) & ~found[0] & ~found[1],
            (nli != INT_COL) & (strong >= half),
            (vac != 1) | (sensory_spared & motor_below),
        ],
        [4, 0, 1, 3, 2],
        default=1,
    )
    is_c = grade == 2

    # zones of partial preservation
    zpp = []
    for grades in (r_grades, l_grades):
        applies = (dap == 1) & (grades[1][28] == 0) & (grades[2][28] == 0)
        some = (grades[1][1:28] > 0) | (grades[2][1:28] > 0)
        lowest = np.where(some.any(axis=0), 27 - some[::-1].argmax(axis=0), int(Level.C1))
        zpp.append(np.where(applies, lowest, NA_COL))
    for grades, side, motor_level in ((r_grades, right, r_motor), (l_grades, left, l_motor)):
        sacral_level = (motor_level == Level.S2) | (motor_level == Level.S3)
        bottom = np.where(sacral_level, motor_level, int(Level.S1))
        key_levels = np.array(KEY_MUSCLES)[:, None]
        in_window = (key_levels >= motor_level[None]) & (key_levels <= bottom[None])
        functional = in_window & (grades[0] > 0)
        any_f = functional.any(axis=0)
        lowest_key = np.array(KEY_MUSCLES)[9 - functional[::-1].argmax(axis=0)]
        candidate = np.where(any_f, lowest_key, motor_level)
        nkm = np.where((side.nkm >= 0) & (side.nkm <= bottom), side.nkm, -1)
        overridden = is_c & (nkm >= 0) & (nkm - candidate > 3)
        zpp.append(np.where(vac == 0, NA_COL, np.where(overridden, nkm, candidate)))

    return np.stack(
        [
            _bit(r_sensory),
            _bit(l_sensory),
            _bit(r_motor),
            _bit(l_motor),
            _bit(nli),
            _bit(grade),
            _bit(np.where(complete, 0, 1)),
            _bit(zpp[0]),
            _bit(zpp[1]),
            _bit(zpp[2]),
            _bit(zpp[3]),
        ]
    )
