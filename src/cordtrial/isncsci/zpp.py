"""Zones of partial preservation (ISNCSCI 2019, step 6).

The ZPP is the most caudal segment with some sensory (sensory ZPP) or motor (motor ZPP) function
below the sensory / motor level on each side. Since the 2019 revision it is recorded whenever it
applies, in incomplete injuries too:

* sensory ZPP: applies when DAP is absent and S4-5 has no light touch or pin prick on that side
  (``NA`` otherwise, and listed as a possibility when DAP or S4-5 was not testable);
* motor ZPP: applies when VAC is absent (``NA`` with VAC present). In AIS C the lowest non-key
  muscle with motor function, when more than three levels below a level, is recorded instead of it.

Flag and NT handling follows the reference algorithm's conventions (docs/isncsci-rules.md).
"""

from __future__ import annotations

import re

from cordtrial.isncsci.categories import (
    has_zpp_function,
    is_absent,
    is_considered_normal,
    is_zero_flagged,
    may_be_absent,
    may_have_zpp_function,
)
from cordtrial.isncsci.exam import LEVELS, ExamSide, Level
from cordtrial.isncsci.outcome import Candidate, Grade, LevelValue, Possible, ZppValue
from cordtrial.isncsci.values import Binary

__all__ = ["determine_motor_zpp", "determine_sensory_zpp", "union_of_ranges"]


def _sensory_zpp_step(side: ExamSide, level: Level, relied: bool) -> tuple[bool, bool, bool, bool]:
    """(go on upwards, level is a possible ZPP, starred, relied) for one dermatome."""
    lt, pp = side.lt(level), side.pp(level)
    if is_absent(lt) and is_absent(pp):
        return True, False, False, relied
    if not may_be_absent(lt) or not may_be_absent(pp):
        return False, True, relied, relied
    if lt.grade is None or pp.grade is None:
        return True, True, relied, relied
    return True, True, True, True


def determine_sensory_zpp(side: ExamSide, dap: Binary) -> Possible[ZppValue]:
    """Sensory ZPP of one side: the lowest dermatome with some sensation, searched upwards."""
    s45_lt, s45_pp = side.light_touch[Level.S4_5], side.pin_prick[Level.S4_5]
    if dap == "Yes" or not (may_be_absent(s45_lt) and may_be_absent(s45_pp)):
        return (Candidate("NA"),)
    out: list[Candidate[ZppValue]] = []
    sacral_open = not (is_absent(s45_lt) and is_absent(s45_pp))
    if dap == "NT" or sacral_open:
        out.append(Candidate("NA"))
    found: list[Candidate[ZppValue]] = []
    relied = False
    for level in reversed(LEVELS):
        if level is Level.S4_5:
            continue
        if level is Level.C1:
            found.append(Candidate(Level.C1))
            break
        go_on, here, starred, now_relied = _sensory_zpp_step(side, level, relied)
        relied = relied or now_relied
        if here:
            found.append(Candidate(level, starred))
        if not go_on:
            break
    return tuple(out + found[::-1])


_DIGIT_FLAGGED = re.compile(r"\d\*")


def _has_flag(side: ExamSide, level: Level) -> bool:
    cells = [side.lt(level), side.pp(level)]
    if level.is_key_muscle:
        cells.append(side.motor[level])
    return any(c.starred for c in cells)


def _is_consecutive_normal(side: ExamSide, level: Level) -> bool:
    if not level.is_key_muscle:
        return False
    return (
        is_considered_normal(side.lt(level), 2)
        and is_considered_normal(side.pp(level), 2)
        and is_considered_normal(side.motor[level], 5)
    )


def determine_motor_zpp(
    side: ExamSide, vac: Binary, ais: Possible[Grade], motor_level: Possible[LevelValue]
) -> Possible[ZppValue]:
    """Motor ZPP of one side: the lowest level with motor function, searched upwards from the
    bottom of the motor level's range, levels without key muscles taken from the motor level.

    In AIS C the lowest non-key muscle replaces the levels more than three above it. Where NT
    leaves AIS open between C and another grade, both readings are possible, and the range holds
    the values of both (the reference algorithm gives only the AIS C reading: it under-reports,
    docs/isncsci-rules.md)."""
    if vac == "Yes":
        return (Candidate("NA"),)
    c_possible = any(g.value == "C" for g in ais)
    if side.nkm is None or not c_possible:
        return _motor_zpp(side, vac, False, motor_level)
    with_nkm = _motor_zpp(side, vac, True, motor_level)
    if all(g.value == "C" for g in ais):
        return with_nkm
    return union_of_ranges(with_nkm, _motor_zpp(side, vac, False, motor_level))


def union_of_ranges(a: Possible[ZppValue], b: Possible[ZppValue]) -> Possible[ZppValue]:
    """Every value of two ZPP ranges, ``NA`` first, then levels in order; a value is starred when
    every range that holds it stars it (reached only through a flagged value)."""
    starred: dict[ZppValue, bool] = {}
    for candidate in (*a, *b):
        starred[candidate.value] = starred.get(candidate.value, True) and candidate.starred
    order = sorted(starred, key=lambda v: -1 if v == "NA" else int(v))
    return tuple(Candidate(v, starred[v]) for v in order)


def _motor_zpp(
    side: ExamSide, vac: Binary, consider_nkm: bool, motor_level: Possible[LevelValue]
) -> Possible[ZppValue]:
    zpp: list[Candidate[ZppValue]] = [Candidate("NA")] if vac == "NT" else []
    levels = [c.value for c in motor_level]
    top = Level.S4_5 if levels[0] == "INT" else levels[0]
    lowest = levels[-1]
    reaches_sacral = any(v in (Level.S2, Level.S3, "INT") for v in levels)
    bottom = (Level.S3 if lowest == "INT" else lowest) if reaches_sacral else Level.S1
    assert isinstance(top, Level) and isinstance(bottom, Level)
    below_top = (lv for lv in LEVELS if top < lv <= bottom)
    last_normal = next(
        (Level(lv - 1) for lv in below_top if not _is_consecutive_normal(side, lv)), bottom
    )
    nkm = side.nkm if side.nkm is not None and side.nkm <= bottom else None

    def starred(level: Level) -> bool:
        first_flagged = next((lv for lv in LEVELS if lv <= bottom and _has_flag(side, lv)), None)
        if first_flagged is None:
            return False
        if level.is_key_muscle:
            cell = side.motor[level]
            return is_zero_flagged(cell)
        if _DIGIT_FLAGGED.search(f"{side.lt(level)} {side.pp(level)}"):
            return True
        return first_flagged <= level <= last_normal

    def overridden(level: Level) -> bool:
        return consider_nkm and nkm is not None and nkm - level > 3

    found: list[Candidate[ZppValue]] = []
    add_nkm = nkm_added = False
    for level in reversed(LEVELS):
        if level > bottom:
            continue
        if level < top:
            break
        if level.is_key_muscle:
            cell = side.motor[level]
            function = has_zpp_function(cell)
            maybe = may_have_zpp_function(cell)
            if function or maybe:
                if overridden(level):
                    add_nkm = True
                else:
                    found.append(Candidate(level, starred(level)))
                    nkm_added = nkm_added or level is nkm
                if function:
                    break
        elif level in levels:
            if overridden(level):
                add_nkm = True
            else:
                found.append(Candidate(level, starred(level)))
                nkm_added = nkm_added or level is nkm
    if add_nkm and not nkm_added and nkm is not None:
        found.append(Candidate(nkm))
    found.sort(key=lambda c: c.value)
    return tuple(zpp + found)
