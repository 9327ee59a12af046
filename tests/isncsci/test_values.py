"""Cell values: every legal value parses, everything else is refused with field, value, allowed."""

from __future__ import annotations

import pytest

from cordtrial.isncsci import Cell, Exam, Flag, InvalidExamError, Level
from cordtrial.isncsci.values import parse_binary, parse_motor, parse_sensory

LEGAL_MOTOR = [str(g) for g in range(6)] + ["NT"]
LEGAL_MOTOR += [f"{v}{f}" for v in ["0", "1", "2", "3", "4", "NT"] for f in ("*", "**")]
LEGAL_SENSORY = ["0", "1", "2", "NT"] + [f"{v}{f}" for v in ["0", "1", "NT"] for f in ("*", "**")]


@pytest.mark.parametrize("text", LEGAL_MOTOR)
def test_motor_value_round_trips_when_legal(text: str) -> None:
    assert str(parse_motor("r_c5_motor", text)) == text


@pytest.mark.parametrize("text", LEGAL_SENSORY)
def test_sensory_value_round_trips_when_legal(text: str) -> None:
    assert str(parse_sensory("l_t4_pp", text)) == text


def test_flags_parse_to_their_meaning() -> None:
    assert parse_motor("f", "3*") == Cell(3, Flag.NOT_NORMAL)
    assert parse_motor("f", "NT**") == Cell(None, Flag.NORMAL)
    assert parse_sensory("f", "1") == Cell(1, Flag.NONE)


def test_integer_and_integral_float_accepted_as_grades() -> None:
    assert parse_motor("f", 4) == Cell(4)
    assert parse_sensory("f", 2.0) == Cell(2)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("6", "is not a motor grade"),
        ("-1", "is not a motor grade"),
        ("5*", "flags a normal grade (5)"),
        ("3***", "is not a motor grade"),
        ("nt", "is not a motor grade"),
        ("3 *", "is not a motor grade"),
        ("three", "is not a motor grade"),
        (2.5, "is not allowed"),
        (True, "is not allowed"),
        (["5"], "is not allowed"),
    ],
)
def test_motor_value_refused_with_field_value_and_allowed(raw: object, problem: str) -> None:
    with pytest.raises(InvalidExamError) as caught:
        parse_motor("r_c5_motor", raw)
    err = caught.value
    assert err.field == "r_c5_motor"
    assert err.value == raw
    assert "0-5 or NT" in err.allowed
    shown = raw if isinstance(raw, str) else str(raw)
    assert str(err).startswith(f"Right C5 motor: {shown} {problem}"), str(err)


def test_message_reads_as_the_issue_example() -> None:
    """Issue 16: people read the field label and the value as typed, not
    ``r_c6_motor: '74' is not a motor grade``; ``field`` keeps the column name."""
    with pytest.raises(
        InvalidExamError, match=r"^Right C6 motor: 74 is not a motor grade \(0-5 or NT"
    ) as caught:
        parse_motor("r_c6_motor", "74")
    assert caught.value.field == "r_c6_motor"
    assert "r_c6_motor" not in str(caught.value) and "'" not in str(caught.value)


def test_message_shows_a_blank_value_in_words() -> None:
    err = InvalidExamError("vac", "  ", "Yes, No or NT")
    assert str(err) == "Voluntary anal contraction (VAC): (blank) is not allowed (Yes, No or NT)"


@pytest.mark.parametrize("raw", ["3", "2*", "2**", "x"])
def test_sensory_value_refused_when_out_of_range(raw: str) -> None:
    with pytest.raises(InvalidExamError, match="Left S4-5 light touch"):
        parse_sensory("l_s4_5_lt", raw)


@pytest.mark.parametrize("raw", [None, "", "   ", float("nan")])
def test_missing_value_is_an_error_not_zero(raw: object) -> None:
    with pytest.raises(InvalidExamError, match="missing"):
        parse_motor("l_s1_motor", raw)


@pytest.mark.parametrize("raw", ["yes", "Y", "1", "", None])
def test_vac_refused_unless_yes_no_nt(raw: object) -> None:
    with pytest.raises(InvalidExamError) as caught:
        parse_binary("vac", raw)
    assert caught.value.field == "vac"
    assert "Yes, No or NT" in caught.value.allowed


def test_exam_missing_column_names_it(normal: dict[str, str]) -> None:
    del normal["l_t7_pp"]
    with pytest.raises(InvalidExamError, match=r"^Left T7 pin prick: is missing"):
        Exam.from_flat(normal)


@pytest.mark.parametrize("raw", ["C4", "C3", "S2", "S4_5", "X", 5])
def test_exam_nkm_refused_unless_level_c5_to_s1(normal: dict[str, str], raw: object) -> None:
    """A non-level, or a level outside C5-S1, names the field and the allowed levels."""
    normal["r_nkm"] = raw  # type: ignore[assignment]
    with pytest.raises(
        InvalidExamError,
        match=r"^Right lowest non-key muscle with motor function: .*not a level from C5 to S1",
    ) as caught:
        Exam.from_flat(normal)
    assert caught.value.field == "r_nkm"
    assert "C5 to S1" in caught.value.allowed and "T1-T12" in caught.value.allowed


@pytest.mark.parametrize("raw", ["C5", "T1", "T2", "t5", " T12 ", "L1", "L2", "S1"])
def test_exam_nkm_accepts_every_level_c5_to_s1(normal: dict[str, str], raw: str) -> None:
    """Thoracic and L1 non-key muscles (older worksheets, expert cases) are accepted too."""
    normal["l_nkm"] = raw
    assert Exam.from_flat(normal).left.nkm is Level[raw.strip().upper()]


def test_exam_to_flat_round_trips(normal: dict[str, str]) -> None:
    normal.update(r_c6_motor="3*", l_t2_lt="NT**", vac="NT", l_nkm="L3")
    assert Exam.from_flat(normal).to_flat() == normal
