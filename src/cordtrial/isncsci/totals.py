"""Motor and sensory totals (ISNCSCI 2019 worksheet, scores).

* UEMS: C5-T1 key muscles, 0-25 per side, 0-50 in all; LEMS: L2-S1 key muscles, likewise.
* Light touch and pin prick: C2-S4_5, 0-56 per side, 0-112 in all.

Totals add the grades as recorded (a flagged ``3*`` counts 3). A total that includes an ``NT``
cell cannot be determined (``ND``, ``None`` here).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cordtrial.isncsci.exam import KEY_MUSCLES, SENSORY_LEVELS, Exam, ExamSide
from cordtrial.isncsci.values import Cell

__all__ = ["SideTotals", "Totals", "calculate_totals"]


def _total(cells: Iterable[Cell]) -> int | None:
    total = 0
    for cell in cells:
        if cell.grade is None:
            return None
        total += cell.grade
    return total


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


@dataclass(frozen=True, slots=True)
class SideTotals:
    """Totals of one side; ``None`` where not determinable (ND)."""

    uems: int | None
    lems: int | None
    motor: int | None
    lt: int | None
    pp: int | None


@dataclass(frozen=True, slots=True)
class Totals:
    """Totals of both sides and their sums; ``None`` where not determinable (ND)."""

    right: SideTotals
    left: SideTotals

    @property
    def uems(self) -> int | None:
        """Upper extremity motor score, both sides (0-50)."""
        return _add(self.right.uems, self.left.uems)

    @property
    def lems(self) -> int | None:
        """Lower extremity motor score, both sides (0-50)."""
        return _add(self.right.lems, self.left.lems)

    @property
    def lt(self) -> int | None:
        """Light touch score, both sides (0-112)."""
        return _add(self.right.lt, self.left.lt)

    @property
    def pp(self) -> int | None:
        """Pin prick score, both sides (0-112)."""
        return _add(self.right.pp, self.left.pp)


def _side_totals(side: ExamSide) -> SideTotals:
    upper = _total(side.motor[m] for m in KEY_MUSCLES[:5])
    lower = _total(side.motor[m] for m in KEY_MUSCLES[5:])
    return SideTotals(
        uems=upper,
        lems=lower,
        motor=_add(upper, lower),
        lt=_total(side.light_touch[lv] for lv in SENSORY_LEVELS),
        pp=_total(side.pin_prick[lv] for lv in SENSORY_LEVELS),
    )


def calculate_totals(exam: Exam) -> Totals:
    """UEMS, LEMS, motor, light-touch and pin-prick totals of an exam."""
    return Totals(right=_side_totals(exam.right), left=_side_totals(exam.left))
