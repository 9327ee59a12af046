"""Completeness and the ASIA Impairment Scale grade (ISNCSCI 2019, steps 4-5).

* Complete (C): no sacral sparing -- no light touch or pin prick at S4-5, no deep anal pressure
  (DAP) and no voluntary anal contraction (VAC). Otherwise incomplete (I).
* AIS A: complete.
* AIS B: sensory incomplete, motor complete: sacral sensory sparing, no VAC, and no motor function
  more than three levels below the motor level on either side.
* AIS C / D: motor incomplete -- VAC, or sacral sensory sparing with motor function (key or
  non-key muscle) more than three levels below the motor level on a side. C when fewer than half of
  the key muscles below the NLI have grade 3 or more, D when at least half do.
* AIS E: normal sensory and motor function in all segments (NLI intact), with VAC.

Where NT leaves a grade open every possible grade is given; a grade that rests on a value flagged
as not due to SCI is marked ``*``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cordtrial.isncsci.categories import (
    is_absent,
    is_flagged_low,
    is_low_not_normal,
    is_strong,
    is_weak,
    is_zero_considered_normal,
    is_zero_flagged,
    may_be_absent,
)
from cordtrial.isncsci.exam import KEY_MUSCLES, Exam, ExamSide, Level
from cordtrial.isncsci.levels import determine_nli
from cordtrial.isncsci.outcome import Candidate, Grade, LevelValue, Possible, level_of
from cordtrial.isncsci.values import Cell, Flag

__all__ = [
    "Completeness",
    "determine_ais",
    "determine_completeness",
    "first_key_muscle_from",
    "key_muscles_below",
]

Completeness = Candidate[str]


def _sacral_sensory(exam: Exam) -> tuple[Cell, Cell, Cell, Cell]:
    return (
        exam.right.light_touch[Level.S4_5],
        exam.right.pin_prick[Level.S4_5],
        exam.left.light_touch[Level.S4_5],
        exam.left.pin_prick[Level.S4_5],
    )


def determine_completeness(exam: Exam) -> Possible[str]:
    """Complete (``C``) or incomplete (``I``) from sacral sparing: S4-5 LT/PP, DAP and VAC."""
    sacral = _sacral_sensory(exam)
    if exam.vac == "No" and exam.dap == "No":
        if all(is_absent(c) for c in sacral):
            return (Candidate("C"),)
        if all(c.grade == 0 and c.flag is not Flag.NORMAL for c in sacral):
            return (Candidate("C", True), Candidate("I", True))
        if all(c.grade == 0 and c.flag is not Flag.NOT_NORMAL for c in sacral):
            return (Candidate("I", True),)
    if exam.vac != "Yes" and exam.dap != "Yes" and all(may_be_absent(c) for c in sacral):
        return (Candidate("C"), Candidate("I"))
    return (Candidate("I"),)


def first_key_muscle_from(level: Level | int) -> int:
    """Index into :data:`KEY_MUSCLES` of the first key muscle at or below ``level``."""
    if level <= Level.C4:
        return 0
    if level <= Level.T1:
        return level - Level.C5
    if level <= Level.L1:
        return 5
    if level <= Level.S1:
        return 5 + level - Level.L2
    return len(KEY_MUSCLES)


def key_muscles_below(value: LevelValue) -> tuple[Level, ...]:
    """Key muscles caudal to a level (none below S1 or for ``INT``)."""
    return KEY_MUSCLES[first_key_muscle_from(level_of(value) + 1) :]


def _more_than_three_below(side: ExamSide, value: LevelValue) -> tuple[Level, ...]:
    """Muscles more than three levels below a motor level, in level order: the key muscles, and
    the lowest non-key muscle with motor function when it is not at a key-muscle level (T2-L1)."""
    start = Level.S4_5 if value == "INT" else min(level_of(value) + 4, Level.S4_5 + 1)
    muscles = KEY_MUSCLES[first_key_muscle_from(start) :]
    nkm = side.nkm
    if nkm is not None and not nkm.is_key_muscle and nkm >= start:
        return tuple(sorted((*muscles, nkm)))
    return muscles


@dataclass(frozen=True, slots=True)
class _Verdict:
    possible: bool
    starred: bool = False


def _sensory_preserved(exam: Exam) -> _Verdict:
    sacral = _sacral_sensory(exam)
    possible = exam.dap != "No" or not all(is_absent(c) for c in sacral)
    starred = (
        exam.dap == "No"
        and not all(is_absent(c) for c in sacral)
        and all(c.grade == 0 for c in sacral)
    )
    return _Verdict(possible, starred)


def _can_have_no_motor_below(side: ExamSide, motor_level: Possible[LevelValue]) -> _Verdict:
    starred = False
    for candidate in motor_level:
        none_found = True
        for muscle in _more_than_three_below(side, candidate.value):
            if not muscle.is_key_muscle:  # the recorded non-key muscle has motor function
                none_found = False
                break
            cell = side.motor[muscle]
            if is_zero_flagged(cell):
                starred = True
            if not may_be_absent(cell) or muscle is side.nkm:
                none_found = False
                break
        if none_found:
            return _Verdict(True, starred)
    return _Verdict(False)


def _can_have_motor_below(side: ExamSide, motor_level: Possible[LevelValue]) -> _Verdict:
    starred = False
    for candidate in motor_level:
        for muscle in _more_than_three_below(side, candidate.value):
            if not muscle.is_key_muscle:  # the recorded non-key muscle has motor function
                return _Verdict(True, starred)
            cell = side.motor[muscle]
            if is_zero_considered_normal(cell):
                starred = True
            if not is_absent(cell) or muscle is side.nkm:
                return _Verdict(True, starred)
    return _Verdict(starred, starred)


def _can_be_motor_incomplete(
    exam: Exam, motor_right: Possible[LevelValue], motor_left: Possible[LevelValue]
) -> _Verdict:
    if exam.vac != "No":
        return _Verdict(True)
    if not _sensory_preserved(exam).possible:
        return _Verdict(False)
    right = _can_have_motor_below(exam.right, motor_right)
    left = _can_have_motor_below(exam.left, motor_left)
    if right.possible or left.possible:
        return _Verdict(True, right.starred or left.starred)
    return _Verdict(False)


def _sides_muscles(exam: Exam, muscles: tuple[Level, ...]) -> list[Cell]:
    return [side.motor[m] for m in muscles for side in (exam.left, exam.right)]


def _fewer_than_half_at_least_3(exam: Exam, nli: Possible[LevelValue]) -> _Verdict:
    for candidate in nli:
        cells = _sides_muscles(exam, key_muscles_below(candidate.value))
        half = len(cells) // 2
        weak = sum(1 for c in cells if is_weak(c))
        flagged_weak = sum(1 for c in cells if is_low_not_normal(c))
        if weak > half:
            return _Verdict(True)
        if weak + flagged_weak > half:
            return _Verdict(True, True)
    return _Verdict(False)


def _at_least_half_at_least_3(exam: Exam, nli: Possible[LevelValue]) -> _Verdict:
    verdict = _Verdict(False)
    for candidate in nli:
        if candidate.value == "INT":
            break
        cells = _sides_muscles(exam, key_muscles_below(candidate.value))
        half = len(cells) // 2
        if half == 0:
            return _Verdict(True)
        strong = sum(1 for c in cells if is_strong(c))
        flagged = sum(1 for c in cells if is_flagged_low(c))
        if strong - flagged >= half:
            return _Verdict(True)
        if strong >= half:
            verdict = _Verdict(True, verdict.starred or strong - flagged < half)
    return verdict


def without_flags(exam: Exam) -> Exam:
    """The exam with every ``*``/``**`` flag removed (the values taken at face value)."""

    def strip(side: ExamSide) -> ExamSide:
        return ExamSide(
            motor={k: Cell(v.grade) for k, v in side.motor.items()},
            light_touch={k: Cell(v.grade) for k, v in side.light_touch.items()},
            pin_prick={k: Cell(v.grade) for k, v in side.pin_prick.items()},
            nkm=side.nkm,
        )

    return Exam(right=strip(exam.right), left=strip(exam.left), vac=exam.vac, dap=exam.dap)


def determine_ais(
    exam: Exam,
    completeness: Possible[str],
    motor_right: Possible[LevelValue],
    motor_left: Possible[LevelValue],
    nli: Possible[LevelValue],
) -> Possible[Grade]:
    """ASIA Impairment Scale grade(s), A to E."""
    if len(nli) == 1 and nli[0].value == "INT" and exam.vac == "Yes":
        return (Candidate("E", nli[0].starred),)
    grades: list[Candidate[Grade]] = []
    if any(c.value == "C" for c in completeness):
        grades.append(Candidate("A", any(c.starred for c in completeness)))
    sensory = _sensory_preserved(exam)
    right = _can_have_no_motor_below(exam.right, motor_right)
    left = _can_have_no_motor_below(exam.left, motor_left)
    if sensory.possible and exam.vac != "Yes" and right.possible and left.possible:
        motor_starred = exam.vac == "No" and (right.starred or left.starred)
        grades.append(Candidate("B", sensory.starred or motor_starred))
    incomplete = _can_be_motor_incomplete(exam, motor_right, motor_left)
    if incomplete.possible:
        c = _fewer_than_half_at_least_3(exam, nli)
        if c.possible:
            plain = without_flags(exam)
            c_plain = _fewer_than_half_at_least_3(plain, determine_nli(plain))
            grades.append(Candidate("C", c.starred or incomplete.starred or not c_plain.possible))
        d = _at_least_half_at_least_3(exam, nli)
        if d.possible:
            grades.append(Candidate("D", d.starred or incomplete.starred))
    if exam.vac != "No":
        intact = [c for c in nli if c.value == "INT"]
        if intact:
            grades.append(Candidate("E", any(c.starred for c in intact)))
    return tuple(grades)
