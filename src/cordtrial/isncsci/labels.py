"""The words people read for an exam's fields: :func:`field_label` (``r_c6_motor`` ->
``Right C6 motor``), used in the engine's error messages, pages, PDFs and error files.

A module of its own, importing nothing of the engine, because :mod:`cordtrial.isncsci.errors`
(which every other engine module imports) words its messages with it.
"""

from __future__ import annotations

import re

__all__ = ["field_label"]

_SIDE = {"r": "Right", "l": "Left"}
_KIND = {"motor": "motor", "lt": "light touch", "pp": "pin prick"}
_OTHER = {
    "vac": "Voluntary anal contraction (VAC)",
    "dap": "Deep anal pressure (DAP)",
    "r_nkm": "Right lowest non-key muscle with motor function",
    "l_nkm": "Left lowest non-key muscle with motor function",
}
# The ISNCSCI levels C1..S4_5 as column parts (the names of cordtrial.isncsci.exam.Level, which
# imports the errors; tests/isncsci/test_fields.py checks that the two agree).
_LEVEL = re.compile(r"c[1-8]|t(?:[1-9]|1[0-2])|l[1-5]|s[1-3]|s4_5")


def field_label(column: str) -> str:
    """The words for a canonical column: ``Right C6 motor``, ``Left S4-5 pin prick``,
    ``Voluntary anal contraction (VAC)``; any other name is returned as it is."""
    if column in _OTHER:
        return _OTHER[column]
    side, _, rest = column.partition("_")
    level, _, kind = rest.rpartition("_")
    if side not in _SIDE or kind not in _KIND or not _LEVEL.fullmatch(level):
        return column
    return f"{_SIDE[side]} {level.upper().replace('_', '-')} {_KIND[kind]}"
