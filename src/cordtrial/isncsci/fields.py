"""The exam's fields for people, and one check of a partly filled exam.

* :func:`field_label` -- the words for a canonical column (``r_c6_motor`` -> ``Right C6 motor``;
  defined in :mod:`cordtrial.isncsci.labels`), shown in messages, pages, PDFs and error files;
* :func:`check_cells` -- every invalid recorded value of an exam being filled in, not only the
  first: the one validator the store, the worksheet and the file readers share. A cell not yet
  recorded (absent, ``None`` or blank) is not an error here; :meth:`Exam.from_flat` requires every
  cell.
"""

from __future__ import annotations

from collections.abc import Mapping

from cordtrial.isncsci.errors import InvalidExamError
from cordtrial.isncsci.exam import EXAM_COLUMNS, NKM_COLUMNS, parse_nkm
from cordtrial.isncsci.labels import field_label
from cordtrial.isncsci.values import parse_binary, parse_motor, parse_sensory

__all__ = ["CELL_COLUMNS", "check_cells", "field_label"]

#: Every cell column of an exam, in worksheet order: the required cells, then the non-key muscles.
CELL_COLUMNS: tuple[str, ...] = (*EXAM_COLUMNS, *NKM_COLUMNS)


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN: an empty cell read by pandas
        return True
    return isinstance(value, str) and not value.strip()


def check_cells(values: Mapping[str, object]) -> list[InvalidExamError]:
    """Every invalid recorded value of a (partly filled) exam, in worksheet order.

    Parameters
    ----------
    values:
        Canonical columns to values as entered; absent, ``None`` or blank cells are not recorded
        yet and not checked. Other columns are ignored.

    Returns
    -------
    list of InvalidExamError
        One error per invalid cell (field, value, allowed), empty when every recorded value is
        one the engine accepts.
    """
    errors: list[InvalidExamError] = []
    for column in CELL_COLUMNS:
        value = values.get(column)
        if _blank(value):
            continue
        try:
            if column.endswith("_motor"):
                parse_motor(column, value)
            elif column.endswith(("_lt", "_pp")):
                parse_sensory(column, value)
            elif column in NKM_COLUMNS:
                parse_nkm(column, value)
            else:
                parse_binary(column, value)
        except InvalidExamError as err:
            errors.append(err)
    return errors
