"""The value categories: one named predicate each, the same for the engine and the batch tables."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cordtrial.isncsci import categories as cat
from cordtrial.isncsci import levels
from cordtrial.isncsci.batch import codes, steps
from cordtrial.isncsci.exam import SENSORY_LEVELS, ExamSide, Level
from cordtrial.isncsci.values import Cell, parse_motor

MOTOR_TEXTS = ("0", "1", "2", "3", "4", "5", "0*", "2*", "3*", "0**", "4**", "NT", "NT*", "NT**")


def _true_for(predicate: object) -> set[str]:
    return {text for text in MOTOR_TEXTS if predicate(parse_motor("x", text))}  # type: ignore[operator]


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [
        (cat.may_be_absent, {"0", "0*", "NT", "NT*"}),
        (cat.is_absent, {"0"}),
        (cat.is_weak, {"0", "1", "2", "NT", "NT*"}),
        (cat.is_low_not_normal, {"0*", "2*"}),
        (cat.is_zero_flagged, {"0*", "0**"}),
        (cat.has_zpp_function, {"1", "2", "3", "4", "5", "2*", "3*", "0**", "4**", "NT**"}),
        (cat.may_have_zpp_function, {"0*", "NT", "NT*", "NT**"}),
    ],
)
def test_category_holds_exactly_the_values_the_rules_name(
    predicate: object, expected: set[str]
) -> None:
    """docs/isncsci-rules.md: e.g. 'may be absent' is 0, NT, 0* and NT* (never ** values)."""
    assert _true_for(predicate) == expected


def test_every_public_predicate_is_a_batch_table_by_its_own_values() -> None:
    """Each table of batch/codes.py is the category evaluated on every code's cell."""
    for table, predicate in (
        (codes.MAY_BE_ABSENT, cat.may_be_absent),
        (codes.WEAK, cat.is_weak),
        (codes.STRONG, cat.is_strong),
        (codes.ZPP_FUNCTION, cat.has_zpp_function),
        (codes.SENS_ABNORMAL, cat.is_sensory_abnormal),
    ):
        assert table.tolist() == [predicate(c) for c in codes.CELLS]


def _side(lt: Cell, pp: Cell, below: Level) -> ExamSide:
    normal = Cell(2)
    return ExamSide(
        motor={},
        light_touch={lv: lt if lv is below else normal for lv in SENSORY_LEVELS},
        pin_prick={lv: pp if lv is below else normal for lv in SENSORY_LEVELS},
    )


def test_sensory_step_table_is_the_engines_sensory_step_on_every_pair() -> None:
    """The batch's sensory table, indexed (lt, pp, relied), answers as levels.sensory_step does
    on a side holding those cells: the walk's steps are the engine's, not a restatement."""
    sensory = [c for c in codes.CELLS if c.grade is None or c.grade <= 2]
    for lt, pp, relied in itertools.product(sensory, sensory, (False, True)):
        step = levels.sensory_step(_side(lt, pp, Level.T5), Level.T5, relied)
        index = (codes.CELLS.index(lt) * codes.N_CODES + codes.CELLS.index(pp)) * 2 + relied
        bits = int(steps.SENSORY_STEP_TABLE[index])
        assert (bits & 1, bits >> 1 & 1, bits >> 2 & 1, bits >> 3 & 1) == tuple(map(int, step))


def test_step_tables_are_not_restated_in_the_batch() -> None:
    """steps.py reads no value-category table: it only evaluates the engine's step functions."""
    names = set(vars(steps))
    assert not names & {"LOW", "NT_PLAIN", "SENS_NORMAL", "NORMAL5"}
    assert steps.MOTOR_STEP_TABLE.dtype == np.uint8
    assert len(steps.END_OF_KEY_STEP_TABLE) == codes.N_CODES * 2**4
