"""The steps of the level walks as look-up tables over cell codes, derived from the engine.

Each step of :mod:`cordtrial.isncsci.levels` decides, from the cells at one level, whether the
walk goes on (*proceed*), whether this level is a possible result (*here*), whether that value
rests on a flagged cell (*starred*) and whether the walk now relies on a flag (*relied*). Here
the engine's own step functions (``sensory_cells_step``, ``motor_step``,
``before_key_muscles_step``, ``end_of_key_muscles_decision``) are called once for every
combination of cell codes and their answers packed into tables (bits 1 proceed, 2 here,
4 starred, 8 relied); the numpy and compiled walks then take a step as one look-up. No rule is
written twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from cordtrial.isncsci import levels
from cordtrial.isncsci.batch.arrays import SideArrays
from cordtrial.isncsci.batch.codes import CELLS, N_CODES, Bool
from cordtrial.isncsci.exam import LEVELS, Level
from cordtrial.isncsci.impairment import first_key_muscle_from
from cordtrial.isncsci.outcome import Step as EngineStep

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

# --- the one-exam engine's step functions, evaluated on every combination of cell codes ---------


def _evaluate(step: Callable[..., EngineStep], arity: int, flags: int = 0) -> Any:
    """Evaluate one of the one-exam engine's step functions once on every combination of
    ``arity`` cells (in code order), ``flags`` other booleans and ``relied``: the batch then takes
    each step as one look-up (index in C order of the arguments), bits 1 proceed, 2 here,
    4 starred, 8 relied."""
    axes = [CELLS] * arity + [(False, True)] * (flags + 1)
    packed = [
        int(s.proceed) | int(s.here) << 1 | int(s.starred) << 2 | int(s.relied) << 3
        for s in (step(*args) for args in itertools.product(*axes))
    ]
    return np.array(packed, dtype=np.uint8)


#: levels.sensory_cells_step(lt, pp, relied)
SENSORY_STEP_TABLE = _evaluate(levels.sensory_cells_step, 2)
#: levels.motor_step(muscle, below, relied)
MOTOR_STEP_TABLE = _evaluate(levels.motor_step, 2)
#: levels.before_key_muscles_step(first_muscle, relied)
BEFORE_KEY_STEP_TABLE = _evaluate(levels.before_key_muscles_step, 1)
#: levels.end_of_key_muscles_decision(muscle, proceed_sensory, any_here, any_relied, relied)
END_OF_KEY_STEP_TABLE = _evaluate(levels.end_of_key_muscles_decision, 1, flags=3)


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
    m = side.muscle(last).astype(np.int32)
    index = (((m * 2 + proceed_s) * 2 + any_here) * 2 + any_relied) * 2 + relied
    return _unpack(np.take(END_OF_KEY_STEP_TABLE, index))
