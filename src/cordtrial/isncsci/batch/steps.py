"""The steps of the level walks as look-up tables over cell codes.

Each step of :mod:`cordtrial.isncsci.levels` decides, from the cells at one level, whether the
walk goes on (*proceed*), whether this level is a possible result (*here*), whether that value
rests on a flagged cell (*starred*) and whether the walk now relies on a flag (*relied*). Here
each step is evaluated once for every combination of cell codes and packed into a table
(bits 1 proceed, 2 here, 4 starred, 8 relied); the walks then take a step as one look-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cordtrial.isncsci.batch.arrays import SideArrays
from cordtrial.isncsci.batch.codes import (
    FLAG_NORMAL,
    GRADE5,
    GRADED_NORMAL_FLAG,
    LOW,
    LOW_NORMAL,
    LOW_NOT_NORMAL,
    MID,
    N_CODES,
    NORMAL5,
    NT_PLAIN,
    NT_STAR,
    SENS_ABNORMAL,
    SENS_NORMAL,
    Bool,
)
from cordtrial.isncsci.exam import LEVELS, Level
from cordtrial.isncsci.impairment import first_key_muscle_from

#: Per result column (a level C1-S4_5, then INT): the first level more than three levels below it
#: (29, past S4_5, when there is none), where the AIS B/C rule starts looking for motor function.
FIRST_LEVEL_MORE_THAN_THREE_BELOW = np.array(
    [min(column + 4, len(LEVELS)) for column in range(len(LEVELS) + 1)], dtype=np.int64
)
START_BELOW = np.array(
    [first_key_muscle_from(lv + 1) for lv in range(29)] + [first_key_muscle_from(29)],
    dtype=np.int64,
)


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


SENSORY_STEP_TABLE = _compile(_sensory_formula, 2)
MOTOR_STEP_TABLE = _compile(_motor_formula, 2)
BEFORE_KEY_STEP_TABLE = _compile(_before_key_formula, 1)


def _unpack(bits: Any) -> Step:
    return (
        (bits & 1).astype(bool),
        (bits & 2).astype(bool),
        (bits & 4).astype(bool),
        (bits & 8).astype(bool),
    )


def sensory_step(side: SideArrays, below: int, relied: Bool) -> Step:
    return _unpack(np.take(SENSORY_STEP_TABLE, side.pair[below].astype(np.int32) * 2 + relied))


def motor_step(m: Any, b: Any, relied: Bool) -> Step:
    index = (m.astype(np.int32) * N_CODES + b) * 2 + relied
    return _unpack(np.take(MOTOR_STEP_TABLE, index))


def before_key_step(first: Any, relied: Bool) -> Step:
    return _unpack(np.take(BEFORE_KEY_STEP_TABLE, first.astype(np.int32) * 2 + relied))


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


def end_of_key_step(side: SideArrays, last: Level, relied: Bool) -> Step:
    first = Level.C5 if last is Level.T1 else Level.L2
    n = len(relied)
    proceed_s, any_here, any_relied = np.ones(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    never = np.zeros(n, bool)
    for level in range(first - 1, last + 1):
        p, h, _, r = sensory_step(side, level + 1, never)
        proceed_s &= p
        any_here |= h
        any_relied |= r
    return _end_of_key_formula(side.muscle(last), proceed_s, any_here, any_relied, relied)


END_OF_KEY_STEP_TABLE = _compile(_end_of_key_formula, 1, flags=3)
