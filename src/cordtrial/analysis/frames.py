"""Reading a data frame's values into Python quickly: the same values as iterating a column or
``DataFrame.to_dict(orient="records")``, without pandas' element-by-element walk over Arrow-backed
columns (``ArrowExtensionArray.__iter__`` converts one scalar at a time; at 500 participants
that walk was most of the time of hashing a snapshot and of building the endpoint table).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype

__all__ = ["column_values", "records"]


def _box(value: Any) -> Any:
    # what to_dict applies to object and extension columns (pandas-internal, untyped)
    from pandas.core.dtypes.cast import maybe_box_native  # type: ignore[attr-defined]

    return maybe_box_native(value)


def column_values(column: pd.Series, *, native: bool = False) -> list[Any]:
    """The values of ``column`` as ``list(column)`` gives them (Python scalars; a missing value
    as the dtype's ``na_value``), read from an Arrow-backed column in one conversion. With
    ``native``, as ``to_dict`` gives them: values of object and extension columns made native
    Python (a missing value ``None``)."""
    boxed = native and (
        column.dtype == np.dtype(object) or isinstance(column.dtype, ExtensionDtype)
    )
    arrow = getattr(column.array, "_pa_array", None)
    if arrow is not None:
        import pyarrow as pa  # type: ignore[import-untyped]

        kind = arrow.type
        if not (pa.types.is_timestamp(kind) or pa.types.is_duration(kind)):
            missing = getattr(column.dtype, "na_value", None)
            if boxed:  # the other values of to_pylist are native Python already
                missing = _box(missing)
            return [missing if v is None else v for v in arrow.to_pylist()]
    values = list(column)
    return [_box(v) for v in values] if boxed else values


def records(frame: pd.DataFrame) -> list[dict[Any, Any]]:
    """``frame.to_dict(orient="records")``: one dict per row, with the values pandas gives."""
    names = frame.columns.tolist()
    if not names:
        return [{} for _ in range(len(frame))]
    columns = [column_values(frame.iloc[:, i], native=True) for i in range(frame.shape[1])]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
