"""The ISNCSCI worksheet as the pages show it: its cells in entry order, and the check of what was
typed -- every invalid value (with the engine's message), the cells not recorded, the flagged
values that need a reason, and the classification once the exam is complete.

The layout follows the ISNCSCI 2019 worksheet (ASIA/ISCoS, revised 2019): right side motor, light
touch and pin prick columns, the levels C2-S4_5 in the middle, left side light touch, pin prick
and motor; VAC and DAP, the lowest non-key muscle with motor function per side, comments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from cordtrial.isncsci import KEY_MUSCLES, SENSORY_LEVELS, Classification, Exam, Level, classify
from cordtrial.isncsci.errors import InvalidExamError
from cordtrial.isncsci.exam import EXAM_COLUMNS, NKM_LEVELS
from cordtrial.isncsci.explain import Explanation
from cordtrial.isncsci.fields import check_cells, field_label
from cordtrial.trial.errors import human_value

__all__ = [
    "ALL_COLUMNS",
    "GRID_COLUMNS",
    "KEY_MUSCLE_NAMES",
    "NKM_GROUPS",
    "NON_KEY_MUSCLE_FUNCTIONS",
    "RESULT_LABELS",
    "GridCell",
    "GridColumn",
    "NkmGroup",
    "WorksheetCheck",
    "cell_label",
    "check_worksheet",
    "flag_reason_field",
    "read_worksheet",
]

Kind = Literal["motor", "lt", "pp"]
SideCode = Literal["r", "l"]

#: The key muscle of each motor level, as printed on the ISNCSCI 2019 worksheet.
KEY_MUSCLE_NAMES: dict[Level, str] = {
    Level.C5: "Elbow flexors",
    Level.C6: "Wrist extensors",
    Level.C7: "Elbow extensors",
    Level.C8: "Finger flexors",
    Level.T1: "Finger abductors",
    Level.L2: "Hip flexors",
    Level.L3: "Knee extensors",
    Level.L4: "Ankle dorsiflexors",
    Level.L5: "Long toe extensors",
    Level.S1: "Ankle plantar flexors",
}

#: The non-key muscle functions of the ISNCSCI 2019 worksheet, by root level (worksheet page 2,
#: "Non Key Muscle Functions (optional): may be used to assign a motor level to differentiate
#: AIS B vs. C"; International Standards for Neurological Classification of Spinal Cord Injury,
#: ASIA/ISCoS, revised 2019).
NON_KEY_MUSCLE_FUNCTIONS: dict[Level, tuple[str, ...]] = {
    Level.C5: (
        "Shoulder flexion", "Shoulder extension", "Shoulder abduction", "Shoulder adduction",
        "Shoulder internal rotation", "Shoulder external rotation", "Elbow supination",
    ),
    Level.C6: ("Elbow pronation", "Wrist flexion"),
    Level.C7: (
        "Finger flexion at the proximal joint", "Finger extension",
        "Thumb flexion, extension and abduction in the plane of the thumb",
    ),
    Level.C8: (
        "Finger flexion at the MCP joint", "Thumb opposition",
        "Thumb adduction and abduction perpendicular to the palm",
    ),
    Level.T1: ("Abduction of the index finger",),
    Level.L2: ("Hip adduction",),
    Level.L3: ("Hip external rotation",),
    Level.L4: (
        "Hip extension, abduction and internal rotation", "Knee flexion",
        "Ankle inversion and eversion", "Toe MP and IP extension",
    ),
    Level.L5: ("Hallux and toe DIP and PIP flexion and abduction",),
    Level.S1: ("Hallux adduction",),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class NkmGroup:
    """One root level of the lowest-non-key-muscle selector and the functions it stands for."""

    level: Level
    functions: tuple[str, ...]

    @property
    def label(self) -> str:
        """The group's heading (``C5``; ``T7 (trunk)`` where the worksheet lists no function)."""
        return self.level.name if self.functions else f"{self.level.name} (trunk)"

    @property
    def options(self) -> tuple[str, ...]:
        """The option texts: each function with its level, or the level alone."""
        if not self.functions:
            return (f"{self.level.name}: motor function at {self.level.name}",)
        return tuple(f"{self.level.name}: {name}" for name in self.functions)


#: The selector's groups, C5 to S1: the worksheet's functions at key-muscle root levels, and the
#: thoracic levels and L1 (older worksheets and expert cases record motor function there).
NKM_GROUPS: tuple[NkmGroup, ...] = tuple(
    NkmGroup(level, NON_KEY_MUSCLE_FUNCTIONS.get(level, ())) for level in NKM_LEVELS
)

_SIDE_WORD: dict[SideCode, str] = {"r": "Right", "l": "Left"}
_KIND_WORD: dict[Kind, str] = {"motor": "motor", "lt": "light touch", "pp": "pin prick"}


@dataclass(frozen=True, slots=True)
class GridColumn:
    """One column of the worksheet: a side and a kind of finding, and its place on screen."""

    side: SideCode
    kind: Kind
    position: int  # 1-based grid column

    @property
    def title(self) -> str:
        """The column heading (``Right motor``)."""
        return f"{_SIDE_WORD[self.side]} {_KIND_WORD[self.kind]}"

    @property
    def short(self) -> str:
        """The heading as on the worksheet (``MOTOR``, ``LT``, ``PP``)."""
        return {"motor": "Motor", "lt": "LT", "pp": "PP"}[self.kind]

    @property
    def key(self) -> str:
        """``r_motor``, ``l_pp``: the id of the column."""
        return f"{self.side}_{self.kind}"

    @property
    def levels(self) -> tuple[Level, ...]:
        """The levels of the column, top to bottom."""
        return KEY_MUSCLES if self.kind == "motor" else SENSORY_LEVELS

    def cells(self) -> list[GridCell]:
        """The column's cells, top to bottom."""
        return [GridCell(self, level) for level in self.levels]


@dataclass(frozen=True, slots=True)
class GridCell:
    """One input of the worksheet grid."""

    column: GridColumn
    level: Level

    @property
    def name(self) -> str:
        """The canonical column of the cell (``r_c5_motor``)."""
        return f"{self.column.side}_{self.level.column}_{self.column.kind}"

    @property
    def row(self) -> int:
        """The grid row of the level (C2 is row 1)."""
        return SENSORY_LEVELS.index(self.level) + 1

    @property
    def label(self) -> str:
        """What a screen reader says (``Right C5 motor, elbow flexors``)."""
        return cell_label(self.name)


#: The six columns in worksheet order, which is also the keyboard entry (Tab) order.
GRID_COLUMNS: tuple[GridColumn, ...] = (
    GridColumn("r", "motor", 1),
    GridColumn("r", "lt", 2),
    GridColumn("r", "pp", 3),
    GridColumn("l", "lt", 5),
    GridColumn("l", "pp", 6),
    GridColumn("l", "motor", 7),
)
#: Every field of the worksheet: the cells, VAC, DAP and the lowest non-key muscles.
ALL_COLUMNS: tuple[str, ...] = (*EXAM_COLUMNS, "r_nkm", "l_nkm")

#: Labels of the result record's fields, as the worksheet names them.
RESULT_LABELS: dict[str, str] = {
    "sensory_right": "Sensory level, right",
    "sensory_left": "Sensory level, left",
    "motor_right": "Motor level, right",
    "motor_left": "Motor level, left",
    "nli": "Neurological level of injury (NLI)",
    "complete": "Complete (C) or incomplete (I)",
    "ais": "ASIA Impairment Scale (AIS)",
    "zpp_sensory_right": "ZPP sensory, right",
    "zpp_sensory_left": "ZPP sensory, left",
    "zpp_motor_right": "ZPP motor, right",
    "zpp_motor_left": "ZPP motor, left",
    "uems_right": "UEMS right",
    "uems_left": "UEMS left",
    "uems": "UEMS total (max 50)",
    "lems_right": "LEMS right",
    "lems_left": "LEMS left",
    "lems": "LEMS total (max 50)",
    "motor_right_total": "Motor total, right",
    "motor_left_total": "Motor total, left",
    "lt_right": "Light touch, right",
    "lt_left": "Light touch, left",
    "lt": "Light touch total (max 112)",
    "pp_right": "Pin prick, right",
    "pp_left": "Pin prick, left",
    "pp": "Pin prick total (max 112)",
}


def cell_label(name: str) -> str:
    """A field's name in words (``r_c5_motor`` -> ``Right C5 motor (elbow flexors)``)."""
    words = field_label(name)  # the engine's label, the same in error files
    if name.endswith("_motor"):
        level = Level[name[2:].rsplit("_", 1)[0].upper()]
        words += f" ({KEY_MUSCLE_NAMES[level].lower()})"
    return words


def flag_reason_field(name: str) -> str:
    """The form field holding the reason for a flagged value of ``name``."""
    return f"reason_{name}"


def read_worksheet(form: Mapping[str, object]) -> dict[str, str]:
    """The worksheet's fields as typed (spaces trimmed; ``""`` for an empty cell)."""
    cells: dict[str, str] = {}
    for name in ALL_COLUMNS:
        value = form.get(name)
        cells[name] = value.strip() if isinstance(value, str) else ""
    return cells


@dataclass(slots=True)
class WorksheetCheck:
    """What the worksheet holds now.

    Attributes
    ----------
    cells : dict
        Every field as typed (``""``: not recorded).
    errors : dict
        Field -> the engine's message (field, value, what is allowed), for every invalid value.
    missing : list of str
        The required cells not recorded, in worksheet order.
    flagged : list of str
        The cells holding a ``*`` or ``**`` value (each needs a reason).
    classification : Classification or None
        The engine's result, once every cell is recorded and valid.
    """

    cells: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    classification: Classification | None = None

    @property
    def record(self) -> dict[str, str] | None:
        """The result record in worksheet notation, or None."""
        return None if self.classification is None else self.classification.to_record()

    @property
    def explanation(self) -> Explanation | None:
        """The reasons behind the results, or None."""
        return None if self.classification is None else self.classification.explain()

    def missing_summary(self) -> list[str]:
        """The missing cells grouped by column (``Right motor: C5, C6``), VAC/DAP by name."""
        groups: dict[str, list[str]] = {}
        for name in self.missing:
            if name in ("vac", "dap"):
                groups.setdefault(name.upper(), [])
                continue
            side, rest = name[0], name[2:]
            level_name, kind = rest.rsplit("_", 1)
            title = f"{_SIDE_WORD['r' if side == 'r' else 'l']} {_KIND_WORD[kind]}"  # type: ignore[index]
            groups.setdefault(title, []).append(Level[level_name.upper()].name)
        return [f"{k}: {', '.join(v)}" if v else k for k, v in groups.items()]


def cell_error_text(err: InvalidExamError) -> str:
    """The engine's refusal of a cell as people read it: ``Right C6 motor: 74 is not a motor
    grade (0-5 or NT)`` (the label, the value as typed, no repr)."""
    label = field_label(err.field)
    if err.problem.startswith("is missing"):
        return f"{label}: {err.problem}; expected {err.allowed}"
    return f"{label}: {human_value(err.value)} {err.problem} ({err.allowed})"


def check_worksheet(cells: Mapping[str, str]) -> WorksheetCheck:
    """Check every field of a worksheet with the engine's validator
    (:func:`~cordtrial.isncsci.fields.check_cells`, every error) and classify it when complete.

    Empty cells are *not recorded* (which is not ``NT``); the lowest non-key muscles may stay
    empty. Each invalid value gets the engine's :class:`InvalidExamError` message in words
    (:func:`cell_error_text`).
    """
    check = WorksheetCheck(cells={name: cells.get(name, "") for name in ALL_COLUMNS})
    check.errors = {err.field: cell_error_text(err) for err in check_cells(check.cells)}
    for name, value in check.cells.items():
        if not value:
            if name in EXAM_COLUMNS:
                check.missing.append(name)
        elif name not in check.errors and value.endswith("*"):
            check.flagged.append(name)
    if not check.errors and not check.missing:
        check.classification = classify(Exam.from_flat(check.cells))
    return check
