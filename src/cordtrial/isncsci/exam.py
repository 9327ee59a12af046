"""The ISNCSCI exam: levels, key muscles, one side of the worksheet, the whole exam.

Levels run C1 (index 0) to S4_5 (index 28), the order of the worksheet; the ten key muscles are
the motor levels C5-T1 and L2-S1 (ISNCSCI 2019, key muscles). C1 has no dermatome on the worksheet
and is taken as normal.

The canonical flat columns are ``{side}_{level}_{kind}`` (``r_c5_motor``, ``l_s4_5_pp``), ``vac``,
``dap``, ``r_nkm`` and ``l_nkm`` (see DESIGN.md).
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from cordtrial.isncsci.errors import InvalidExamError
from cordtrial.isncsci.values import Binary, Cell, parse_binary, parse_motor, parse_sensory

__all__ = [
    "BINARY_COLUMNS",
    "EXAM_COLUMNS",
    "KEY_MUSCLES",
    "NKM_ALLOWED",
    "NKM_COLUMNS",
    "NKM_LEVELS",
    "SENSORY_LEVELS",
    "Exam",
    "ExamSide",
    "Level",
    "Side",
]

Side = Literal["right", "left"]


class Level(enum.IntEnum):
    """A neurological level, C1 to S4_5, in worksheet order."""

    C1 = 0
    C2 = 1
    C3 = 2
    C4 = 3
    C5 = 4
    C6 = 5
    C7 = 6
    C8 = 7
    T1 = 8
    T2 = 9
    T3 = 10
    T4 = 11
    T5 = 12
    T6 = 13
    T7 = 14
    T8 = 15
    T9 = 16
    T10 = 17
    T11 = 18
    T12 = 19
    L1 = 20
    L2 = 21
    L3 = 22
    L4 = 23
    L5 = 24
    S1 = 25
    S2 = 26
    S3 = 27
    S4_5 = 28

    @property
    def column(self) -> str:
        """The lower-case name used in column names (``c5``, ``s4_5``)."""
        return self.name.lower()

    @property
    def is_key_muscle(self) -> bool:
        """True for the ten key-muscle levels C5-T1 and L2-S1."""
        return self in _KEY_MUSCLE_SET

    def __str__(self) -> str:
        return self.name


#: Every level, C1 to S4_5 (a tuple: iterating it is cheaper than iterating the enum).
LEVELS: tuple[Level, ...] = tuple(Level)
#: The level just below each level (none below S4_5).
BELOW: dict[Level, Level] = dict(itertools.pairwise(LEVELS))
#: Levels with a dermatome on the worksheet (C2-S4_5).
SENSORY_LEVELS: tuple[Level, ...] = tuple(level for level in Level if level is not Level.C1)
#: The ten key muscles, by the level they stand for (C5-T1, L2-S1).
KEY_MUSCLES: tuple[Level, ...] = (
    Level.C5, Level.C6, Level.C7, Level.C8, Level.T1,
    Level.L2, Level.L3, Level.L4, Level.L5, Level.S1,
)  # fmt: skip
_KEY_MUSCLE_SET = frozenset(KEY_MUSCLES)
_SIDE_PREFIX: dict[Side, str] = {"right": "r", "left": "l"}

#: Levels at which a lowest non-key muscle with motor function may be recorded: C5 to S1. The 2019
#: worksheet lists non-key muscle functions at the key-muscle root levels (C5-T1, L2-S1); older
#: worksheet exports and expert-curated cases also record thoracic levels and L1.
NKM_LEVELS: tuple[Level, ...] = tuple(lv for lv in Level if Level.C5 <= lv <= Level.S1)
NKM_ALLOWED = "a level from C5 to S1 (C5-C8, T1-T12, L1-L5 or S1), or empty"


def _side_columns(prefix: str) -> list[str]:
    cols = [f"{prefix}_{lv.column}_motor" for lv in KEY_MUSCLES]
    cols += [f"{prefix}_{lv.column}_lt" for lv in SENSORY_LEVELS]
    cols += [f"{prefix}_{lv.column}_pp" for lv in SENSORY_LEVELS]
    return cols


#: Every required cell column, right side first, then VAC and DAP.
EXAM_COLUMNS: tuple[str, ...] = (*_side_columns("r"), *_side_columns("l"), "vac", "dap")
BINARY_COLUMNS: tuple[str, ...] = ("vac", "dap")
#: Optional columns: lowest non-key muscle with motor function, per side.
NKM_COLUMNS: tuple[str, ...] = ("r_nkm", "l_nkm")


@dataclass(frozen=True, slots=True)
class ExamSide:
    """One side of the worksheet.

    Attributes
    ----------
    motor:
        Key-muscle grades by level (C5-T1, L2-S1).
    light_touch, pin_prick:
        Sensory grades by level (C2-S4_5).
    nkm:
        Lowest non-key muscle with motor function (a level from C5 to S1, :data:`NKM_LEVELS`),
        or ``None``.
    """

    motor: Mapping[Level, Cell]
    light_touch: Mapping[Level, Cell]
    pin_prick: Mapping[Level, Cell]
    nkm: Level | None = None

    def lt(self, level: Level) -> Cell:
        """Light touch at ``level``; C1 counts as normal (2)."""
        return _NORMAL_SENSORY if level is Level.C1 else self.light_touch[level]

    def pp(self, level: Level) -> Cell:
        """Pin prick at ``level``; C1 counts as normal (2)."""
        return _NORMAL_SENSORY if level is Level.C1 else self.pin_prick[level]


_NORMAL_SENSORY = Cell(2)


@dataclass(frozen=True, slots=True)
class Exam:
    """A whole ISNCSCI exam: both sides, VAC and DAP."""

    right: ExamSide
    left: ExamSide
    vac: Binary
    dap: Binary

    def side(self, side: Side) -> ExamSide:
        """The right or the left side."""
        return self.right if side == "right" else self.left

    @classmethod
    def from_flat(cls, values: Mapping[str, object]) -> Exam:
        """Build an exam from canonical flat columns.

        Raises
        ------
        InvalidExamError
            For the first missing or invalid value, naming its column.
        """
        sides = {name: _side_from_flat(values, prefix) for name, prefix in _SIDE_PREFIX.items()}
        return cls(
            right=sides["right"],
            left=sides["left"],
            vac=parse_binary("vac", values.get("vac")),
            dap=parse_binary("dap", values.get("dap")),
        )

    def to_flat(self) -> dict[str, str]:
        """The exam as canonical flat columns (``r_nkm``/``l_nkm`` empty when absent)."""
        out: dict[str, str] = {}
        for name, prefix in _SIDE_PREFIX.items():
            side = self.side(name)
            for lv in KEY_MUSCLES:
                out[f"{prefix}_{lv.column}_motor"] = str(side.motor[lv])
            for lv in SENSORY_LEVELS:
                out[f"{prefix}_{lv.column}_lt"] = str(side.light_touch[lv])
            for lv in SENSORY_LEVELS:
                out[f"{prefix}_{lv.column}_pp"] = str(side.pin_prick[lv])
        out["vac"] = self.vac
        out["dap"] = self.dap
        out["r_nkm"] = "" if self.right.nkm is None else self.right.nkm.name
        out["l_nkm"] = "" if self.left.nkm is None else self.left.nkm.name
        return out


def parse_nkm(field: str, raw: object) -> Level | None:
    """Parse a lowest non-key muscle: a level name from C5 to S1 (any case) or empty."""
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    if not isinstance(raw, str):
        raise InvalidExamError(field, raw, NKM_ALLOWED, problem="is not a level from C5 to S1")
    text = raw.strip().upper()
    if not text:
        return None
    level = Level.__members__.get(text)
    if level is None or not Level.C5 <= level <= Level.S1:
        raise InvalidExamError(field, raw, NKM_ALLOWED, problem="is not a level from C5 to S1")
    return level


def _side_from_flat(values: Mapping[str, object], prefix: str) -> ExamSide:
    motor = {}
    for lv in KEY_MUSCLES:
        col = f"{prefix}_{lv.column}_motor"
        motor[lv] = parse_motor(col, values.get(col))
    lt = {}
    for lv in SENSORY_LEVELS:
        col = f"{prefix}_{lv.column}_lt"
        lt[lv] = parse_sensory(col, values.get(col))
    pp = {}
    for lv in SENSORY_LEVELS:
        col = f"{prefix}_{lv.column}_pp"
        pp[lv] = parse_sensory(col, values.get(col))
    nkm = parse_nkm(f"{prefix}_nkm", values.get(f"{prefix}_nkm"))
    return ExamSide(motor=motor, light_touch=lt, pin_prick=pp, nkm=nkm)
