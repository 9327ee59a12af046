"""Neutralizing spreadsheet formulas in CSV cells (OWASP "CSV injection").

A spreadsheet program that opens a CSV file runs a text cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula. Every CSV file cordtrial writes (exports,
classifier results, error files) passes its text cells through :func:`neutralize_csv_cell`,
which prefixes such a cell with a single quote, as OWASP recommends
(https://owasp.org/www-community/attacks/CSV_Injection). Numbers stay numbers: a cell that is
an ``int``/``float``, or a text that is a plain decimal number such as ``-3`` or ``+1.5e3``, is
written unchanged.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FORMULA_PREFIXES", "neutralize_csv_cell", "neutralize_csv_frame", "neutralize_csv_row"]

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP)."""

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralize_csv_cell(value: Any) -> Any:
    """Return ``value`` safe to write in a CSV cell.

    Text starting with a formula prefix gets a leading ``'``; anything else (numbers, ``None``,
    plain numeric text like ``-3``) is returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        if _PLAIN_NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


def neutralize_csv_row(values: list[Any] | tuple[Any, ...]) -> list[Any]:
    """Apply :func:`neutralize_csv_cell` to every cell of one row."""
    return [neutralize_csv_cell(v) for v in values]


def neutralize_csv_frame(frame: Any) -> Any:
    """Return a copy of a pandas DataFrame whose text columns are neutralized.

    Numeric, boolean and datetime columns are left as they are; object and string columns go
    through :func:`neutralize_csv_cell` cell by cell.
    """
    import pandas as pd

    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            out[name] = column.map(neutralize_csv_cell, na_action="ignore")
    return out
