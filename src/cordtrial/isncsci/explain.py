"""The reasons behind each result, in the words a clinician uses on the worksheet.

Every :class:`Reason` names the result field it explains (``ais``, ``motor_right``...) and the
result itself, in worksheet notation, so a reader -- and a test -- can hold the reason against
the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cordtrial.isncsci.exam import KEY_MUSCLES, LEVELS, Exam, ExamSide, Level, Side
from cordtrial.isncsci.fields import field_label
from cordtrial.isncsci.impairment import key_muscles_below
from cordtrial.isncsci.outcome import Candidate, LevelValue, Possible, level_of, render
from cordtrial.isncsci.values import Cell

if TYPE_CHECKING:  # classification.py imports this module when asked to explain
    from cordtrial.isncsci.classification import Classification

__all__ = ["Explanation", "Reason", "explain"]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one result came out as it did."""

    field: str
    result: str
    text: str

    def __str__(self) -> str:
        return f"{self.text}"


@dataclass(frozen=True, slots=True)
class Explanation:
    """The reasons behind a classification, one per result field, in worksheet order."""

    reasons: tuple[Reason, ...]

    def __str__(self) -> str:
        return "\n".join(str(r) for r in self.reasons)

    def for_field(self, field: str) -> Reason:
        """The reason for one result field (``ais``, ``nli``, ``zpp_motor_left``...)."""
        for reason in self.reasons:
            if reason.field == field:
                return reason
        raise KeyError(field)


_SIDE_WORD: dict[Side, str] = {"right": "right", "left": "left"}


def _flag_note(possible: Possible[object]) -> str:
    if any(c.starred for c in possible):
        return "; * marks a result that rests on a value flagged as impairment not due to SCI"
    return ""


def _range_note(possible: Possible[object]) -> str:
    if len(possible) > 1:
        return f"; not testable (NT) values leave {len(possible)} possibilities open"
    return ""


def _first_sensory_problem(side: ExamSide) -> tuple[Level, Cell, Cell] | None:
    for level in LEVELS:
        if level is Level.C1:
            continue
        lt, pp = side.lt(level), side.pp(level)
        if not (lt.grade == 2 and pp.grade == 2):
            return level, lt, pp
    return None


def _explain_sensory(c: Classification, side: Side) -> Reason:
    field = f"sensory_{side}"
    possible: Possible[LevelValue] = getattr(c, field)
    result = render(possible)
    problem = _first_sensory_problem(c.exam.side(side))
    if problem is None:
        text = "light touch and pin prick normal (2) in every dermatome C2-S4_5"
    else:
        level, lt, pp = problem
        text = (
            f"the most caudal dermatome with normal light touch and pin prick, all above normal; "
            f"{level} is the first not normal: light touch {lt}, pin prick {pp}"
        )
    text = f"Sensory level {_SIDE_WORD[side]} {result}: {text}"
    return Reason(field, result, text + _range_note(possible) + _flag_note(possible))


def _explain_motor(c: Classification, side: Side) -> Reason:
    field = f"motor_{side}"
    possible: Possible[LevelValue] = getattr(c, field)
    result = render(possible)
    exam_side = c.exam.side(side)
    parts = []
    for candidate in possible:
        value = candidate.value
        if value == "INT":
            parts.append("INT: all key muscles normal (5), sensation normal, VAC present")
        elif value.is_key_muscle:
            grade = exam_side.motor[value]
            parts.append(
                f"{value}: key muscle graded {grade} (antigravity or better, or not testable), "
                "every key muscle above it normal"
            )
        elif value in (Level.S2, Level.S3) or value in (Level.C1, Level.C2, Level.C3, Level.C4):
            parts.append(
                f"{value}: no key muscle to test at {value}, so the motor level is taken from "
                "the sensory level"
                + ("; without VAC it cannot reach S4-5" if value is Level.S3 else "")
            )
        else:
            parts.append(
                f"{value}: no key muscle between T2 and L1, so the motor level is taken from "
                "the sensory level (upper-limb key muscles all normal)"
            )
    if len(parts) == 1:
        parts[0] = parts[0].split(": ", 1)[1]
    text = f"Motor level {_SIDE_WORD[side]} {result}: " + "; ".join(parts)
    return Reason(field, result, text + _flag_note(possible))


def _explain_nli(c: Classification) -> Reason:
    result = render(c.nli)
    text = (
        f"NLI {result}: the most caudal level with normal sensation and antigravity key muscles "
        f"on both sides, all above normal (sensory R {render(c.sensory_right)}, "
        f"L {render(c.sensory_left)}; motor R {render(c.motor_right)}, L {render(c.motor_left)})"
    )
    return Reason("nli", result, text + _range_note(c.nli) + _flag_note(c.nli))


def _sacral_findings(exam: Exam) -> list[str]:
    found = []
    if exam.vac == "Yes":
        found.append("VAC present")
    if exam.dap == "Yes":
        found.append("DAP present")
    for side in ("right", "left"):
        s = exam.side(side)
        for name, cell in (
            ("light touch", s.light_touch[Level.S4_5]),
            ("pin prick", s.pin_prick[Level.S4_5]),
        ):
            if cell.grade is not None and cell.grade > 0:
                found.append(f"S4-5 {name} {cell} on the {side}")
    return found


def _unknown_sacral(exam: Exam) -> list[str]:
    unknown = []
    if exam.vac == "NT":
        unknown.append("VAC")
    if exam.dap == "NT":
        unknown.append("DAP")
    for side in ("right", "left"):
        s = exam.side(side)
        for name, cell in (
            ("light touch", s.light_touch[Level.S4_5]),
            ("pin prick", s.pin_prick[Level.S4_5]),
        ):
            if cell.grade is None or cell.starred:
                unknown.append(f"S4-5 {name} on the {side} ({cell})")
    return unknown


def _explain_completeness(c: Classification) -> Reason:
    result = render(c.complete)
    values = {cand.value for cand in c.complete}
    if values == {"C"}:
        text = (
            "complete: no sacral sparing (S4-5 light touch and pin prick 0 on both sides, "
            "no DAP, no VAC)"
        )
    elif values == {"I"} and not any(cand.starred for cand in c.complete):
        text = "incomplete: sacral sparing (" + ", ".join(_sacral_findings(c.exam)) + ")"
    else:
        text = "sacral sparing cannot be decided: " + ", ".join(_unknown_sacral(c.exam))
    return Reason("complete", result, f"Injury {result}: {text}")


def _weak_count(exam: Exam, nli: LevelValue) -> tuple[int, int]:
    muscles = key_muscles_below(nli)
    cells = [side.motor[m] for m in muscles for side in (exam.right, exam.left)]
    strong = sum(1 for cell in cells if cell.grade is not None and cell.grade >= 3)
    return strong, len(cells)


def _motor_below(side: ExamSide, motor_level: Possible[LevelValue]) -> str | None:
    for candidate in motor_level:
        start = level_of(candidate.value) + 4
        for muscle in sorted({*KEY_MUSCLES, *([] if side.nkm is None else [side.nkm])}):
            if muscle < start:
                continue
            if not muscle.is_key_muscle:
                return f"non-key muscle function at {muscle}"
            cell = side.motor[muscle]
            if cell.grade is not None and cell.grade > 0:
                return f"key muscle {muscle} graded {cell}"
            if side.nkm is muscle:
                return f"non-key muscle function at {muscle}"
    return None


def _explain_grade(c: Classification, grade: Candidate[str]) -> str:
    exam = c.exam
    if grade.value == "A":
        return "complete (no sacral sparing)"
    if grade.value == "E":
        return "sensation and key muscles normal in every segment, VAC present"
    sparing = ", ".join(_sacral_findings(exam)) or "sacral sparing possible: " + ", ".join(
        _unknown_sacral(exam)
    )
    if grade.value == "B":
        return (
            f"sensory incomplete ({sparing}), no VAC, and no motor function more than three "
            "levels below the motor level on either side"
        )
    if exam.vac == "Yes":
        why_motor = "VAC present"
    else:
        below = [
            f"on the {name}: {found}"
            for name, side, ml in (
                ("right", exam.right, c.motor_right),
                ("left", exam.left, c.motor_left),
            )
            if (found := _motor_below(side, ml)) is not None
        ]
        why_motor = (
            "motor function more than three levels below the motor level " + "; ".join(below)
            if below
            else "motor function below the motor level cannot be ruled out (NT)"
        )
    nli = next((cand.value for cand in c.nli if cand.value != "INT"), None)
    if nli is None:
        return f"incomplete ({sparing}); motor incomplete: {why_motor}"
    strong, total = _weak_count(exam, nli)
    half = "fewer than half" if grade.value == "C" else "at least half"
    return (
        f"incomplete ({sparing}); motor incomplete: {why_motor}; {half} of the key "
        f"muscles below the NLI ({nli}) have grade 3 or more: {strong} of {total}"
    )


def _explain_ais(c: Classification) -> Reason:
    result = render(c.ais)
    if len(c.ais) == 1:
        text = f"AIS {result}: {_explain_grade(c, c.ais[0])}"
    else:
        parts = [f"{g.value} if {_explain_grade(c, g)}" for g in c.ais]
        text = f"AIS {result}: not testable (NT) values leave {len(c.ais)} grades possible -- "
        text += "; or ".join(parts)
    return Reason("ais", result, text + _flag_note(c.ais))


def _explain_sensory_zpp(c: Classification, side: Side) -> Reason:
    field = f"zpp_sensory_{side}"
    possible = getattr(c, field)
    result = render(possible)
    if result == "NA":
        why = (
            "not applicable: DAP present"
            if c.exam.dap == "Yes"
            else "not applicable: S4-5 sensation preserved on this side"
        )
    else:
        why = (
            "the most caudal dermatome with some light touch or pin prick below the sensory "
            "level, DAP and S4-5 sensation absent on this side"
        )
        if possible[0].value == "NA":
            why += "; NA is possible because DAP or S4-5 sensation was not testable"
    text = f"Sensory ZPP {side} {result}: {why}"
    return Reason(field, result, text + _flag_note(possible))


def _explain_motor_zpp(c: Classification, side: Side) -> Reason:
    field = f"zpp_motor_{side}"
    possible = getattr(c, field)
    result = render(possible)
    nkm = c.exam.side(side).nkm
    if result == "NA":
        why = "not applicable: VAC present"
    else:
        why = "the most caudal level with motor function below the motor level, VAC absent"
        grades = {g.value for g in c.ais}
        if nkm is not None and any(cand.value is nkm for cand in possible):
            why += f"; the lowest non-key muscle with motor function ({nkm}) counts, AIS C"
        if nkm is not None and "C" in grades and len(grades) > 1:
            why += (
                f"; AIS is open between C and {', '.join(sorted(grades - {'C'}))} (not testable: "
                f"{_not_testable(c)}), so both readings are listed: with AIS C the non-key "
                f"muscle {nkm} replaces the levels more than three above it, otherwise they count"
            )
        if possible and possible[0].value == "NA":
            why += "; NA is possible because VAC was not testable"
        opening = _nt_opening_motor_zpp(c, side)
        if len([p for p in possible if p.value != "NA"]) > 1 and opening:
            why += "; the range is open because of " + opening
    text = f"Motor ZPP {side} {result}: {why}"
    return Reason(field, result, text + _flag_note(possible))


def _not_testable(c: Classification) -> str:
    """Every not-testable cell of the exam, in worksheet order, in words (at most four)."""
    flat = c.exam.to_flat()
    words = [f"{field_label(k)} {v}" for k, v in flat.items() if v.startswith("NT")]
    if len(words) > 4:
        words = [*words[:4], f"{len(words) - 4} more"]
    return ", ".join(words)


def _nt_opening_motor_zpp(c: Classification, side: Side) -> str:
    """The not-testable cells that leave a motor ZPP open: on this side, from the top of the
    motor level's range down to S1 (the ZPP's search), and those deciding AIS (VAC, DAP, S4-5)."""
    exam_side = c.exam.side(side)
    motor = [cand.value for cand in getattr(c, f"motor_{side}")]
    top = Level.S4_5 if motor[0] == "INT" else level_of(motor[0])
    prefix = side[0]
    found = []
    for level in LEVELS:
        if level < top or level > Level.S1:
            continue
        if level.is_key_muscle and exam_side.motor[level].is_nt:
            found.append((f"{prefix}_{level.column}_motor", exam_side.motor[level]))
        if level is not Level.C1:
            for kind, cell in (("lt", exam_side.lt(level)), ("pp", exam_side.pp(level))):
                if cell.is_nt:
                    found.append((f"{prefix}_{level.column}_{kind}", cell))
    for column, s in (("r_s4_5_lt", "right"), ("r_s4_5_pp", "right"), ("l_s4_5_lt", "left"),
                      ("l_s4_5_pp", "left")):  # fmt: skip
        both = c.exam.side(s)  # type: ignore[arg-type]
        cell = both.light_touch[Level.S4_5] if column.endswith("lt") else both.pin_prick[Level.S4_5]
        if cell.is_nt:
            found.append((column, cell))
    words = [f"{field_label(column)} {cell}" for column, cell in found]
    words += [f"{field_label(b)} NT" for b in ("vac", "dap") if getattr(c.exam, b) == "NT"]
    if len(words) > 4:
        words = [*words[:4], f"{len(words) - 4} more not testable"]
    return ", ".join(words)


def _explain_totals(c: Classification) -> Reason:
    record = c.to_record()
    text = (
        f"Totals: UEMS {record['uems']} (R {record['uems_right']}, L {record['uems_left']}), "
        f"LEMS {record['lems']} (R {record['lems_right']}, L {record['lems_left']}), "
        f"light touch {record['lt']}, pin prick {record['pp']}"
    )
    if "ND" in record.values():
        text += "; ND: a total that includes a not-testable (NT) value cannot be determined"
    return Reason("totals", f"{record['uems']}/{record['lems']}", text)


def explain(c: Classification) -> Explanation:
    """The reasons behind every result of a classification."""
    reasons = [
        _explain_sensory(c, "right"),
        _explain_sensory(c, "left"),
        _explain_motor(c, "right"),
        _explain_motor(c, "left"),
        _explain_nli(c),
        _explain_completeness(c),
        _explain_ais(c),
        _explain_sensory_zpp(c, "right"),
        _explain_sensory_zpp(c, "left"),
        _explain_motor_zpp(c, "right"),
        _explain_motor_zpp(c, "left"),
        _explain_totals(c),
    ]
    return Explanation(tuple(reasons))
