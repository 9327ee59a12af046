"""The classification of one exam, in the standard's order.

>>> from cordtrial.isncsci import Exam, classify
>>> classify(exam).ais  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cordtrial.isncsci.exam import Exam
from cordtrial.isncsci.impairment import determine_ais, determine_completeness
from cordtrial.isncsci.levels import determine_motor_level, determine_nli, determine_sensory_level
from cordtrial.isncsci.outcome import Grade, LevelValue, Possible, ZppValue, render
from cordtrial.isncsci.totals import Totals, calculate_totals
from cordtrial.isncsci.zpp import determine_motor_zpp, determine_sensory_zpp

if TYPE_CHECKING:
    from cordtrial.isncsci.explain import Explanation

__all__ = ["ENGINE_VERSION", "ISNCSCI_REVISION", "RESULT_FIELDS", "Classification", "classify"]

#: The revision of the International Standards this engine implements.
ISNCSCI_REVISION = "2019"
#: Version of the classification rules; bumped whenever a result can change.
ENGINE_VERSION = "1.1.0"

#: The classification result record (DESIGN.md): CLI output, ``classify_frame`` and API columns.
RESULT_FIELDS: tuple[str, ...] = (
    "id",
    "sensory_right",
    "sensory_left",
    "motor_right",
    "motor_left",
    "nli",
    "ais",
    "complete",
    "zpp_sensory_right",
    "zpp_sensory_left",
    "zpp_motor_right",
    "zpp_motor_left",
    "uems_right",
    "uems_left",
    "lems_right",
    "lems_left",
    "motor_right_total",
    "motor_left_total",
    "uems",
    "lems",
    "lt_right",
    "lt_left",
    "pp_right",
    "pp_left",
    "lt",
    "pp",
)


def _total(value: int | None) -> str:
    return "ND" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Classification:
    """Every result of the ISNCSCI classification of one exam, as typed possible values."""

    exam: Exam
    sensory_right: Possible[LevelValue]
    sensory_left: Possible[LevelValue]
    motor_right: Possible[LevelValue]
    motor_left: Possible[LevelValue]
    nli: Possible[LevelValue]
    complete: Possible[str]
    ais: Possible[Grade]
    zpp_sensory_right: Possible[ZppValue]
    zpp_sensory_left: Possible[ZppValue]
    zpp_motor_right: Possible[ZppValue]
    zpp_motor_left: Possible[ZppValue]
    totals: Totals

    def to_record(self) -> dict[str, str]:
        """The result record in worksheet notation (every field of RESULT_FIELDS but ``id``)."""
        t = self.totals
        return {
            "sensory_right": render(self.sensory_right),
            "sensory_left": render(self.sensory_left),
            "motor_right": render(self.motor_right),
            "motor_left": render(self.motor_left),
            "nli": render(self.nli),
            "ais": render(self.ais),
            "complete": render(self.complete),
            "zpp_sensory_right": render(self.zpp_sensory_right),
            "zpp_sensory_left": render(self.zpp_sensory_left),
            "zpp_motor_right": render(self.zpp_motor_right),
            "zpp_motor_left": render(self.zpp_motor_left),
            "uems_right": _total(t.right.uems),
            "uems_left": _total(t.left.uems),
            "lems_right": _total(t.right.lems),
            "lems_left": _total(t.left.lems),
            "motor_right_total": _total(t.right.motor),
            "motor_left_total": _total(t.left.motor),
            "uems": _total(t.uems),
            "lems": _total(t.lems),
            "lt_right": _total(t.right.lt),
            "lt_left": _total(t.left.lt),
            "pp_right": _total(t.right.pp),
            "pp_left": _total(t.left.pp),
            "lt": _total(t.lt),
            "pp": _total(t.pp),
        }

    def explain(self) -> Explanation:
        """The reasons behind each result, in the words of the worksheet."""
        from cordtrial.isncsci.explain import explain

        return explain(self)


def classify(exam: Exam) -> Classification:
    """Classify an exam per ISNCSCI 2019.

    Steps, in the standard's order: sensory levels, motor levels, NLI, completeness, AIS, zones of
    partial preservation; totals alongside.
    """
    sensory_right = determine_sensory_level(exam.right)
    sensory_left = determine_sensory_level(exam.left)
    motor_right = determine_motor_level(exam.right, exam.vac)
    motor_left = determine_motor_level(exam.left, exam.vac)
    nli = determine_nli(exam)
    complete = determine_completeness(exam)
    ais = determine_ais(exam, complete, motor_right, motor_left, nli)
    return Classification(
        exam=exam,
        sensory_right=sensory_right,
        sensory_left=sensory_left,
        motor_right=motor_right,
        motor_left=motor_left,
        nli=nli,
        complete=complete,
        ais=ais,
        zpp_sensory_right=determine_sensory_zpp(exam.right, exam.dap),
        zpp_sensory_left=determine_sensory_zpp(exam.left, exam.dap),
        zpp_motor_right=determine_motor_zpp(exam.right, exam.vac, ais, motor_right),
        zpp_motor_left=determine_motor_zpp(exam.left, exam.vac, ais, motor_left),
        totals=calculate_totals(exam),
    )
