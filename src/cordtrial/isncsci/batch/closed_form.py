"""The closed forms for exams without NT or flags.

Without NT or flags every result has exactly one value and every step stops where it finds its
level, so each result is "the first level whose step stops": one look over a matrix instead of a
walk. These forms are an optimization of the walk (:mod:`cordtrial.isncsci.batch.walk`), held
equal to it and to the one-exam engine by tests/isncsci/test_batch.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cordtrial.isncsci.batch.arrays import SideArrays
from cordtrial.isncsci.batch.codes import (
    INT_COL,
    KEY_INDEX,
    N_CODES,
    NA_COL,
    NT_GRADE,
    Bool,
    Ints,
    byte_table,
    translate,
)
from cordtrial.isncsci.batch.steps import FIRST_LEVEL_MORE_THAN_THREE_BELOW, START_BELOW
from cordtrial.isncsci.exam import KEY_MUSCLES, LEVELS, Level

_KEY_ROWS = [int(lv) for lv in KEY_MUSCLES]
_LEVEL_ROWS = np.arange(len(LEVELS))[:, None]

# --- the closed forms for exams without NT or flags ----------------------------------------------
#
# Without NT or flags every result has exactly one value and every step stops where it finds its
# level, so each result is "the first level whose step stops": one look over a matrix instead of a
# walk. These forms are an optimization of the steps above, held equal to them (and to the one-exam
# engine) by tests/isncsci/test_batch.py.

_PLAIN_CODE = np.array([c % 3 == 0 and c // 3 < NT_GRADE for c in range(N_CODES)], dtype=bool)
_PLAIN_BYTES = byte_table(_PLAIN_CODE)


def is_clean(side: SideArrays) -> Bool:
    """Exams whose cells on this side are all plain grades: no NT, no flag."""
    return (
        _all_levels(translate(_PLAIN_BYTES, side.motor))
        & _all_levels(translate(_PLAIN_BYTES, side.lt))
        & _all_levels(translate(_PLAIN_BYTES, side.pp))
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


def clean_keys(right: SideArrays, left: SideArrays, vac: Any, dap: Any) -> Any:
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
        # motor function per level: a key muscle graded above 0, or the lowest non-key muscle
        function = np.zeros((len(LEVELS) + 1, k), dtype=bool)
        function[_KEY_ROWS] = grades[0] > 0
        function[: len(LEVELS)] |= side.nkm[None, :] == _LEVEL_ROWS
        from_start = np.logical_or.accumulate(function[::-1], axis=0)[::-1]
        first = FIRST_LEVEL_MORE_THAN_THREE_BELOW[motor_level]
        found.append(np.take_along_axis(from_start, first[None], 0)[0])
    motor_below = found[0] | found[1]
    start = START_BELOW[nli]
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
