"""Sensory levels, motor levels and the neurological level of injury (ISNCSCI 2019, steps 1-3).

* Sensory level: the most caudal dermatome with normal (2) light touch and pin prick, all
  dermatomes above also normal.
* Motor level: the lowest key muscle graded at least 3, all key muscles above it normal (5). Where
  there is no key muscle to test (C1-C4, T2-L1, S2-S4_5) the motor level is taken as the sensory
  level, provided the testable motor function above is normal.
* NLI: the most caudal segment with normal sensory function and antigravity motor function on both
  sides, with normal function above (the most rostral of the four levels).

``NT`` opens a range: each level at which a ``NT`` could be the first abnormal value is a possible
result. Flag handling (``*`` considered not normal, ``**`` considered normal, results that rest on
them marked ``*``) follows the conventions of the ISNCSCI algorithm published by the Praxis Spinal
Cord Institute, verified against it by differential tests (docs/isncsci-rules.md).
"""

from __future__ import annotations

import itertools

from cordtrial.isncsci.categories import (
    is_considered_normal,
    is_graded_considered_normal,
    is_low,
    is_low_normal,
    is_low_not_normal,
    is_mid,
    is_nt,
    is_sensory_abnormal,
    is_sensory_normal,
)
from cordtrial.isncsci.exam import BELOW, KEY_MUSCLES, LEVELS, Exam, ExamSide, Level
from cordtrial.isncsci.outcome import Candidate, LevelValue, Possible, Step
from cordtrial.isncsci.values import Binary, Cell, Flag

__all__ = [
    "before_key_muscles_step",
    "determine_motor_level",
    "determine_nli",
    "determine_sensory_level",
    "end_of_key_muscles_decision",
    "end_of_key_muscles_step",
    "motor_step",
    "sensory_cells_step",
    "sensory_step",
]

_FIRST_KEY = {Level.T1: Level.C5, Level.S1: Level.L2}
_NEXT_MUSCLE = dict(itertools.pairwise(KEY_MUSCLES))


def sensory_step(side: ExamSide, below: Level, relied: bool) -> Step:
    """Decide whether sensory function stays normal from one level to the next, ``below``."""
    return sensory_cells_step(side.lt(below), side.pp(below), relied)


def sensory_cells_step(lt: Cell, pp: Cell, relied: bool) -> Step:
    """:func:`sensory_step` from the light touch and pin prick of the dermatome below."""
    if is_sensory_normal(lt) and is_sensory_normal(pp):
        return Step(True, False, False, relied)
    if is_sensory_abnormal(lt) or is_sensory_abnormal(pp):
        return Step(False, True, relied, relied)
    if is_nt(lt, Flag.NOT_NORMAL) or is_nt(pp, Flag.NOT_NORMAL):
        return Step(False, True, True, True)
    if is_nt(lt) or is_nt(pp):
        other_normal_flag = is_graded_considered_normal(lt) or is_graded_considered_normal(pp)
        return Step(True, True, relied, relied or other_normal_flag)
    # what remains is normal or "consider normal" (**) on both: go on, relying on the flag
    return Step(True, False, False, True)


def determine_sensory_level(side: ExamSide) -> Possible[LevelValue]:
    """Sensory level of one side; ``INT`` when every dermatome down to S4_5 is normal."""
    out: list[Candidate[LevelValue]] = []
    relied = False
    for level in LEVELS:
        if level is Level.S4_5:
            out.append(Candidate("INT", relied))
            break
        step = sensory_step(side, BELOW[level], relied)
        relied = relied or step.relied
        if step.here:
            out.append(Candidate(level, step.starred))
        if not step.proceed:
            break
    return tuple(out)


def motor_step(muscle: Cell, below: Cell, relied: bool) -> Step:
    """Step from a key muscle that can be the motor level to the next key muscle ``below``."""
    maybe_normal = is_considered_normal(muscle, 5) or is_nt(muscle)
    surely_normal = is_considered_normal(muscle, 5)
    below_may_be_weak = (
        is_low(below) or is_low_not_normal(below) or is_nt(below) or is_nt(below, Flag.NOT_NORMAL)
    )
    proceed = maybe_normal and not is_low(below)
    here = not (surely_normal and not below_may_be_weak)
    flagged_weak = is_low_not_normal(muscle) or is_nt(muscle, Flag.NOT_NORMAL)
    starred = flagged_weak or (
        is_low_normal(muscle)
        and (is_low_not_normal(below) or is_nt(below) or is_nt(below, Flag.NOT_NORMAL))
    )
    if flagged_weak:
        now_relied = True
    elif muscle.flag is Flag.NORMAL:
        now_relied = relied or not is_low(below)
    else:
        now_relied = relied or (muscle.grade == 5 and is_low_normal(below))
    return Step(proceed, here, starred or relied, now_relied)


def before_key_muscles_step(first_muscle: Cell, relied: bool) -> Step:
    """Step from C4 to C5 or from L1 to L2, where the motor level meets the key muscles."""
    here = (
        is_low(first_muscle)
        or is_low_not_normal(first_muscle)
        or is_nt(first_muscle)
        or is_nt(first_muscle, Flag.NOT_NORMAL)
    )
    return Step(not is_low(first_muscle), here, relied, relied or is_low_normal(first_muscle))


def end_of_key_muscles_step(side: ExamSide, last: Level, relied: bool) -> Step:
    """Step from T1 or S1, the last key muscle of a limb, on to the dermatomes below.

    Going below the limb needs the dermatomes of the limb's segments and the next one normal.
    """
    proceed_sensory, any_here, any_relied = True, False, False
    for level in LEVELS[_FIRST_KEY[last] - 1 : last + 1]:
        s = sensory_step(side, BELOW[level], False)
        proceed_sensory = proceed_sensory and s.proceed
        any_here = any_here or s.here
        any_relied = any_relied or s.relied
    return end_of_key_muscles_decision(
        side.motor[last], proceed_sensory, any_here, any_relied, relied
    )


def end_of_key_muscles_decision(
    muscle: Cell, proceed_sensory: bool, any_here: bool, any_relied: bool, relied: bool
) -> Step:
    """:func:`end_of_key_muscles_step` from the last key muscle and what the limb's dermatomes
    allow: all normal so far (``proceed_sensory``), any a possible level (``any_here``), any
    relying on a flag (``any_relied``)."""
    flagged_weak = is_low_not_normal(muscle) or is_nt(muscle, Flag.NOT_NORMAL)
    proceed = proceed_sensory and not (flagged_weak or is_mid(muscle))
    surely_normal = is_considered_normal(muscle, 5)
    here = is_nt(muscle) or not (surely_normal and proceed_sensory and not any_here)
    starred = flagged_weak or (is_low_normal(muscle) and (any_here or not proceed_sensory))
    now_relied = (
        relied
        or flagged_weak
        or is_low_normal(muscle)
        or (muscle.flag is Flag.NORMAL and proceed_sensory)
        or (
            (muscle.grade == 5 or is_nt(muscle)) and proceed_sensory and any_relied and not any_here
        )
    )
    return Step(proceed, here, starred or relied, now_relied)


def _motor_level_step(side: ExamSide, level: Level, relied: bool) -> Step:
    if level in (Level.C4, Level.L1):
        return before_key_muscles_step(side.motor[BELOW[level]], relied)
    if level in (Level.T1, Level.S1):
        return end_of_key_muscles_step(side, level, relied)
    if level.is_key_muscle:
        return motor_step(side.motor[level], side.motor[_NEXT_MUSCLE[level]], relied)
    return sensory_step(side, BELOW[level], relied)


def determine_motor_level(side: ExamSide, vac: Binary) -> Possible[LevelValue]:
    """Motor level of one side.

    Below S1 there is no key muscle; the motor level follows the sensory level down to S3, and
    reaches S4_5 (``INT``) only with voluntary anal contraction (VAC ``Yes``; ``NT`` leaves both
    S3 and ``INT`` open).
    """
    out: list[Candidate[LevelValue]] = []
    relied = False
    for level in LEVELS:
        if level is Level.S4_5:
            has_s3 = any(c.value is Level.S3 for c in out)
            if vac == "No":
                if not has_s3:
                    out.append(Candidate(Level.S3, relied))
            else:
                if vac == "NT" and not has_s3:
                    out.append(Candidate(Level.S3, relied))
                out.append(Candidate("INT", relied))
            break
        step = _motor_level_step(side, level, relied)
        relied = relied or step.relied
        if step.here:
            out.append(Candidate(level, step.starred))
        if not step.proceed:
            break
    return tuple(out)


def _both_sides_sensory(exam: Exam, level: Level, relied: bool) -> Step:
    right = sensory_step(exam.right, BELOW[level], relied)
    left = sensory_step(exam.left, BELOW[level], relied)
    return Step(
        right.proceed and left.proceed,
        right.here or left.here,
        relied or (right.here and left.here and right.starred and left.starred),
        relied or right.relied or left.relied,
    )


def _nli_motor_step(side: ExamSide, level: Level, relied: bool) -> Step:
    if level in (Level.C4, Level.L1):
        return before_key_muscles_step(side.motor[BELOW[level]], relied)
    below = _NEXT_MUSCLE.get(level, level) if level not in (Level.T1, Level.S1) else level
    return motor_step(side.motor[level], side.motor[below], relied)


def determine_nli(exam: Exam) -> Possible[LevelValue]:
    """Neurological level of injury: sensory and motor function considered on both sides."""
    out: list[Candidate[LevelValue]] = []
    relied = False
    for level in LEVELS:
        if level is Level.S4_5:
            out.append(Candidate("INT", relied))
            break
        sensory = _both_sides_sensory(exam, level, relied)
        step = sensory
        if Level.C4 <= level <= Level.T1 or Level.L1 <= level <= Level.S1:
            right = _nli_motor_step(exam.right, level, relied)
            left = _nli_motor_step(exam.left, level, relied)
            here = right.here or left.here or sensory.here
            starred = relied or (right.here and left.here and (right.starred or left.starred))
            if not sensory.proceed:
                step = Step(False, here, starred, sensory.relied)
            else:
                step = Step(
                    right.proceed and left.proceed,
                    here,
                    starred,
                    relied or sensory.relied or right.relied or left.relied,
                )
        relied = relied or step.relied
        if step.here:
            out.append(Candidate(level, step.starred))
        if not step.proceed:
            break
    return tuple(out)
