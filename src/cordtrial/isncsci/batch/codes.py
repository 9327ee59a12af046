"""Cell codes: every legal worksheet cell as a small integer, and the tables over them.

A cell is coded ``grade * 3 + flag`` (grade 6 for NT; flag 0 none, 1 ``*``, 2 ``**``): 21 codes.
Each value category of the one-exam engine (:mod:`cordtrial.isncsci.categories`) becomes a
boolean table indexed by code, computed by calling the engine's own predicate on every code's
:class:`~cordtrial.isncsci.values.Cell`. The spellings each code is written as come from the
engine's parsers (:func:`~cordtrial.isncsci.values.parse_motor`, ``parse_sensory``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cordtrial.isncsci import categories as cat
from cordtrial.isncsci.errors import InvalidExamError
from cordtrial.isncsci.exam import KEY_MUSCLES
from cordtrial.isncsci.values import Cell, Flag, parse_motor, parse_sensory

Bool = np.ndarray[Any, np.dtype[np.bool_]]
Ints = np.ndarray[Any, np.dtype[np.int64]]

NT_GRADE = 6
N_CODES = 21
INT_COL = 29
NA_COL = 30
N_COLS = 31
MISSING = -2
INVALID = -1
_FLAGS = (Flag.NONE, Flag.NOT_NORMAL, Flag.NORMAL)
CELLS = [Cell(None if g == NT_GRADE else g, f) for g in range(7) for f in _FLAGS]


def _table(predicate: Callable[[Cell], bool]) -> Bool:
    """A predicate of the one-exam engine, as a look-up table over cell codes."""
    return np.array([predicate(c) for c in CELLS], dtype=bool)


def byte_table(values: Any) -> bytes:
    """A look-up of up to 256 small values (index = a code's byte) for :func:`translate`."""
    table = np.zeros(256, dtype=np.uint8)
    table[: len(values)] = np.asarray(values).astype(np.uint8)
    return table.tobytes()


def translate(table: bytes, codes: Any) -> Any:
    """``table[codes]`` for a matrix of one-byte codes, by ``bytes.translate``: several times
    faster than ``np.take``, which first widens every index to 64 bits."""
    out = np.frombuffer(np.ascontiguousarray(codes).tobytes().translate(table), dtype=np.uint8)
    return out.reshape(codes.shape)


# value categories: each a predicate of cordtrial.isncsci.categories, evaluated on every code
SENS_NORMAL = _table(cat.is_sensory_normal)
SENS_ABNORMAL = _table(cat.is_sensory_abnormal)
GRADED_NORMAL_FLAG = _table(cat.is_graded_considered_normal)
NT_PLAIN = _table(cat.is_nt)
NT_STAR = _table(lambda c: cat.is_nt(c, Flag.NOT_NORMAL))
LOW = _table(cat.is_low)
LOW_NOT_NORMAL = _table(cat.is_low_not_normal)
LOW_NORMAL = _table(cat.is_low_normal)
MID = _table(cat.is_mid)
NORMAL5 = _table(lambda c: cat.is_considered_normal(c, 5))
NORMAL2 = _table(lambda c: cat.is_considered_normal(c, 2))
FLAG_NORMAL = _table(lambda c: c.flag is Flag.NORMAL)
GRADE5 = _table(lambda c: c.grade == 5)
STARRED = _table(lambda c: c.starred)
MAY_BE_ABSENT = _table(cat.may_be_absent)
ZERO = _table(cat.is_absent)
ZERO_FLAGGED = _table(cat.is_zero_flagged)
ZERO_NORMAL_FLAG = _table(cat.is_zero_considered_normal)
WEAK = _table(cat.is_weak)
FLAGGED_WEAK = _table(cat.is_low_not_normal)
STRONG = _table(cat.is_strong)
FLAGGED_LOW = _table(cat.is_flagged_low)
GRADED_STARRED = _table(cat.is_graded_flagged)
ZPP_FUNCTION = _table(cat.has_zpp_function)
ZPP_MAYBE = _table(cat.may_have_zpp_function)
GRADE_OF = np.array([c.grade if c.grade is not None else -1 for c in CELLS], dtype=np.int64)
STRIP = np.array([(code // 3) * 3 for code in range(N_CODES)], dtype=np.int8)

NORMAL_SENSORY_CODE = 2 * 3
KEY_INDEX = {lv: i for i, lv in enumerate(KEY_MUSCLES)}

# --- encoding cells ----------------------------------------------------------------------------


def _code_table(parse: Callable[[str, object], Cell]) -> dict[str, int]:
    table = {}
    for code, cell in enumerate(CELLS):
        text = str(cell)
        try:
            if parse("", text) == cell:
                table[text] = code
        except InvalidExamError:
            pass
    return table


MOTOR_CODES = _code_table(parse_motor)
SENSORY_CODES = _code_table(parse_sensory)


def _byte_lut(table: dict[str, int]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Look-up of a code from up to four bytes: alphabet index per byte, then a dense key."""
    alphabet = {ch: i + 1 for i, ch in enumerate("012345NT*")}
    byte_index = np.zeros(256, dtype=np.int64)
    for ch, i in alphabet.items():
        byte_index[ord(ch)] = i
    lut = np.full(5 * 10**4, INVALID, dtype=np.int8)
    for text, code in table.items():
        key = len(text) * 10**4
        for pos, ch in enumerate(text):
            key += alphabet[ch] * 10 ** (3 - pos)
        lut[key] = code
    return byte_index, lut


MOTOR_LUT = _byte_lut(MOTOR_CODES)
SENSORY_LUT = _byte_lut(SENSORY_CODES)


def _column_tables() -> tuple[Any, Any, Any, Any]:
    """The look-ups of the compiled column coder (``jit.code_columns``), row 0 motor, row 1
    sensory: the code of each one-byte cell, the alphabet index of each byte, the code of each
    key of up to four bytes, and (at ``code + 2``) bit 1 where a code is not a plain grade, bit 2
    where it is ``MISSING`` or ``INVALID``."""
    (motor_index, motor), (sensory_index, sensory) = MOTOR_LUT, SENSORY_LUT
    if not (motor_index == sensory_index).all():  # pragma: no cover - one alphabet
        raise AssertionError("the motor and sensory look-ups must share one alphabet")
    lut_codes = np.stack([motor, sensory])
    one_char = np.ascontiguousarray(lut_codes[:, 10**4 + motor_index * 1000])
    not_plain = np.full(N_CODES + 2, 3, dtype=np.uint8)
    for code in range(N_CODES):
        not_plain[code + 2] = not (code % 3 == 0 and code // 3 < NT_GRADE)
    return one_char, motor_index, lut_codes, not_plain


COLUMN_TABLES = _column_tables()
