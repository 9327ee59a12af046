"""Frame columns to cell codes: Arrow string buffers, categoricals and objects alike."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]

from cordtrial.isncsci.batch.arrays import SideArrays
from cordtrial.isncsci.batch.codes import (
    COLUMN_TABLES,
    INVALID,
    MISSING,
    MOTOR_CODES,
    MOTOR_LUT,
    N_CODES,
    NORMAL_SENSORY_CODE,
    SENSORY_CODES,
    SENSORY_LUT,
    Bool,
    translate,
)
from cordtrial.isncsci.batch.compiled import compiled_for
from cordtrial.isncsci.errors import InvalidExamError
from cordtrial.isncsci.exam import KEY_MUSCLES, SENSORY_LEVELS, parse_nkm


def arrow_strings(series: pd.Series[Any]) -> Any:
    """The column as Arrow strings, whatever it came as: an Arrow string column as it is, an
    object column of text (what ``read_frame(path, arrow=False)``, ``pd.read_csv(dtype=object)``
    and frames built from Python records give) converted once -- coding Arrow's buffers is many
    times faster than hashing Python strings; ``None`` for categoricals (coded by their few
    categories) and columns holding non-text values."""
    array = series.array
    arrow = getattr(array, "_pa_array", None)
    if arrow is not None:
        kind = arrow.type
        return arrow if pa.types.is_string(kind) or pa.types.is_large_string(kind) else None
    if series.dtype != object:
        return None
    values = series.to_numpy(dtype=object)
    joined = _joined_strings(values)
    if joined is not None:
        return pa.chunked_array([joined])
    try:
        return pa.chunked_array([pa.array(values, type=pa.string(), from_pandas=True)])
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # integers and text mixed: code value by value
        return None


#: Joins the cells of an object column (:func:`_joined_strings`); a cell holding it is refused.
_SEPARATOR = "\x1f"


def _joined_strings(values: Any) -> Any:
    """An object array of ``str`` as an Arrow string array, by one ``str.join`` of its cells.

    ``str.join`` copies each cell's characters in one C loop: three to five times faster than
    ``pa.array`` converting cell by cell. The joined text's separators give each cell's bounds.
    ``None`` where a cell is not a ``str`` (``None``, NaN, a number), holds the separator, or
    cannot be written as UTF-8: ``pa.array`` then converts the column as before."""
    n = len(values)
    try:
        data = np.frombuffer(_SEPARATOR.join(values).encode("utf-8"), dtype=np.uint8)
    except (TypeError, UnicodeEncodeError):
        return None
    if len(data) >= 2**31 - n:  # int32 offsets
        return None
    separator = ord(_SEPARATOR)
    is_separator = data == separator
    ends = np.flatnonzero(is_separator)
    if len(ends) != max(n - 1, 0):  # a cell holds the separator
        return None
    offsets = np.empty(n + 1, dtype=np.int32)
    offsets[0] = 0
    # cell i ends at its separator, less the i separators before it once they are removed
    offsets[1:n] = ends - np.arange(n - 1, dtype=np.int32)
    offsets[n] = len(data) - (n - 1) if n else 0
    text = data[~is_separator] if len(ends) else data
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text))


def with_arrow_strings(df: pd.DataFrame) -> pd.DataFrame:
    """A frame whose every column is ``object`` text, with every column as Arrow strings,
    converted in one pass row by row; any other frame as it is.

    A frame built from Python records (``pd.DataFrame(list_of_dicts, dtype=object)``) holds each
    cell as a ``str`` object of its own, made row by row: visiting them column by column misses
    the processor's caches at nearly every cell, row by row it does not (measured: about four
    times less CPU time for the conversion). Where a cell is not a ``str`` (``None``, NaN, a
    number) or holds the separator, the frame is returned as it is and its columns are converted
    one by one (:func:`arrow_strings`). So is a frame whose equal cells share one ``str`` object
    (``pd.read_csv(dtype=object)``, the ``csv`` module's one-character cells): column by column
    is then as cheap, and converting row by row would only add work."""
    n, m = df.shape
    if not n or not m or not all(dtype is np.dtype(object) for dtype in df.dtypes):
        return df
    sample = df.iloc[:1000, m // 2].tolist()  # a cell column, in the canonical order
    if len({id(value) for value in sample}) <= len(sample) // 2:  # objects shared
        return df
    joined = _joined_strings(df.to_numpy(dtype=object).ravel())  # row-major: the records' order
    if joined is None:
        return df
    columns = {
        j: pd.arrays.ArrowStringArray(
            pa.chunked_array([joined.take(pa.array(np.arange(j, n * m, m, dtype=np.int64)))])
        )
        for j in range(m)
    }
    out = pd.DataFrame(columns, index=df.index, copy=False)
    out.columns = df.columns
    return out


def _encode(
    series: pd.Series[Any], table: dict[str, int], lut: tuple[Any, Any], arrow: Any = None
) -> Any:
    """Cell codes of a column; ``MISSING`` for empty cells, ``INVALID`` for anything else."""
    array = series.array
    if isinstance(array, pd.Categorical):
        # a dictionary-encoded column (Parquet, registries): code the few categories only
        codes, uniques = array.codes, array.categories
    else:
        if arrow is not None:
            result = encode_arrow(arrow.combine_chunks(), lut)
            odd = np.nonzero(result == INVALID)[0]
            if len(odd):
                # the byte coder knows exact spellings only; the parser also trims spaces
                result[odd] = [_code_of(v, table) for v in series.iloc[odd].tolist()]
            return result
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([_code_of(v, table) for v in uniques] + [MISSING], dtype=np.int8)
    return np.take(mapped, codes)


def _code_of(value: object, table: dict[str, int]) -> int:
    if isinstance(value, str):
        text = value.strip()
        return table.get(text, INVALID) if text else MISSING
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, int | np.integer):
        return table.get(str(int(value)), INVALID)
    if isinstance(value, float | np.floating):
        if value != value:
            return MISSING
        return table.get(str(int(value)), INVALID) if float(value).is_integer() else INVALID
    return INVALID


def encode_arrow(arrow: Any, lut: tuple[Any, Any]) -> Any:
    """Codes straight from Arrow's string buffers: one-character cells (most of them) by one
    look-up of their byte; longer ones (``NT``, flagged values) by a key over their bytes."""
    byte_index, codes = lut
    n = len(arrow)
    buffers = arrow.buffers()
    offset_type = np.int64 if pa.types.is_large_string(arrow.type) else np.int32
    offsets: Any = np.frombuffer(buffers[1], dtype=offset_type)[arrow.offset : arrow.offset + n + 1]
    data: Any = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else None
    coder = compiled_for("code_strings", n)
    if coder is not None and data is not None:
        result = coder(offsets, data, lut)
        if arrow.null_count:
            result[~np.asarray(arrow.is_valid())] = MISSING
        return result
    start = offsets[:-1]
    length = np.diff(offsets)
    if data is None or len(data) == 0:
        result = np.full(n, MISSING, dtype=np.int8)
    else:
        first = np.take(data, start, mode="clip")
        result = np.take(codes[10**4 + byte_index * 1000], first)
        long_rows = np.nonzero(length != 1)[0]
        if len(long_rows):
            padded = np.concatenate([data, np.zeros(4, dtype=np.uint8)])
            s, ln = start[long_rows].astype(np.int64), length[long_rows].astype(np.int64)
            key = np.minimum(ln, 4) * 10**4
            for pos in range(4):
                index = byte_index[padded[s + pos]]
                key += np.where(ln > pos, index, 0) * 10 ** (3 - pos)
            long_codes = np.where(ln > 4, INVALID, codes[key]).astype(np.int8)
            long_codes[ln == 0] = MISSING
            result[long_rows] = long_codes
    if arrow.null_count:
        result[~np.asarray(arrow.is_valid())] = MISSING
    return result


# --- the frame ---------------------------------------------------------------------------------


def binary_codes(series: pd.Series[Any]) -> Any:
    table = {"Yes": 0, "No": 1, "NT": 2}
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array(
        [table.get(v, INVALID) if isinstance(v, str) else INVALID for v in uniques] + [MISSING],
        dtype=np.int8,
    )
    return mapped[codes]


def _nkm_codes(series: pd.Series[Any]) -> Any:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = []
    for value in uniques:  # the engine's own parser decides what a non-key muscle level is
        try:
            level = parse_nkm("nkm", value)
        except InvalidExamError:
            mapped.append(-9)
        else:
            mapped.append(-1 if level is None else int(level))
    return np.array([*mapped, -1], dtype=np.int64)[codes]


def column_of(df: pd.DataFrame, name: str) -> pd.Series[Any]:
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def _one_byte_cells(arrow: Any) -> Any:
    """The bytes of an Arrow string column whose every cell is one character, else ``None``.

    Most registry cells are one digit: their bytes, in row order, are the column's data buffer,
    and many such columns are coded by a single look-up (:func:`_encode_matrix`)."""
    if arrow is None or arrow.null_count:
        return None
    # pd.read_csv's Arrow strings come in several chunks: one copy of a column's bytes
    chunk = arrow.chunk(0) if arrow.num_chunks == 1 else arrow.combine_chunks()
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        return None
    n = len(chunk)
    buffers = chunk.buffers()
    if buffers[2] is None:
        return None
    offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets: Any = np.frombuffer(buffers[1], dtype=offset_type)[chunk.offset : chunk.offset + n + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    if end - start != n or not (np.diff(offsets) == 1).all():
        return None
    return np.frombuffer(buffers[2], dtype=np.uint8)[start:end]


def _encode_matrix(
    columns: list[pd.Series[Any]], table: dict[str, int], lut: tuple[Any, Any], n: int
) -> Any:
    """Codes of several cell columns as one (columns, n) matrix: one-character Arrow columns by
    one look-up over all their bytes at once, any other column by :func:`_encode`."""
    byte_index, codes = lut
    one_char = np.asarray(codes[10**4 + byte_index * 1000], dtype=np.int8).view(np.uint8).tobytes()
    result = np.empty((len(columns), n), dtype=np.int8)
    fast_rows, fast_bytes = [], []
    for row, series in enumerate(columns):
        arrow = arrow_strings(series)
        cells = _one_byte_cells(arrow)
        if cells is None:
            result[row] = _encode(series, table, lut, arrow)
        else:
            fast_rows.append(row)
            fast_bytes.append(cells)
    if fast_rows:
        result[fast_rows] = translate(one_char, np.stack(fast_bytes)).view(np.int8)
    return result


def side_arrays(df: pd.DataFrame, prefix: str) -> tuple[SideArrays, Bool]:
    n = len(df)
    motor = _encode_matrix(
        [column_of(df, f"{prefix}_{lv.column}_motor") for lv in KEY_MUSCLES],
        MOTOR_CODES,
        MOTOR_LUT,
        n,
    )
    sensory = _encode_matrix(
        [
            column_of(df, f"{prefix}_{lv.column}_{kind}")
            for kind in ("lt", "pp")
            for lv in SENSORY_LEVELS
        ],
        SENSORY_CODES,
        SENSORY_LUT,
        n,
    )
    lt = np.full((29, n), NORMAL_SENSORY_CODE, dtype=np.int8)
    pp = np.full((29, n), NORMAL_SENSORY_CODE, dtype=np.int8)
    levels = [int(lv) for lv in SENSORY_LEVELS]
    lt[levels] = sensory[: len(levels)]
    pp[levels] = sensory[len(levels) :]
    column = f"{prefix}_nkm"
    nkm = _nkm_codes(df[column]) if column in df.columns else np.full(n, -1, dtype=np.int64)
    bad = (motor < 0).any(axis=0) | (lt < 0).any(axis=0) | (pp < 0).any(axis=0) | (nkm < -1)
    side = SideArrays(motor, lt, pp, nkm)
    if bad.any():
        blank_rejected(side, bad)
    return side, bad


def blank_rejected(side: SideArrays, bad: Bool) -> None:
    """Rejected exams' cells made normal, in place: they are classified as normal exams, and
    their results blanked afterwards."""
    side.motor[:, bad] = 15
    side.lt[:, bad] = NORMAL_SENSORY_CODE
    side.pp[:, bad] = NORMAL_SENSORY_CODE
    side.nkm[bad] = -1


# --- every cell column in one compiled pass ------------------------------------------------------

#: Rows of :func:`cell_codes`' matrix per side: 10 key muscles, then light touch and pin prick
#: at each of the 29 levels (row C1 stays normal: it has no column).
_SIDE_ROWS = len(KEY_MUSCLES) + 2 * 29


def _cell_columns() -> list[tuple[str, int, int]]:
    """(column, row of the (2 * _SIDE_ROWS, n) matrix, 0 motor / 1 sensory look-up)."""
    out = []
    for side, prefix in enumerate(("r", "l")):
        base = side * _SIDE_ROWS
        out += [(f"{prefix}_{lv.column}_motor", base + i, 0) for i, lv in enumerate(KEY_MUSCLES)]
        for k, kind in enumerate(("lt", "pp")):
            first = base + len(KEY_MUSCLES) + k * 29
            out += [(f"{prefix}_{lv.column}_{kind}", first + int(lv), 1) for lv in SENSORY_LEVELS]
    return out


_CELL_COLUMNS = _cell_columns()
_NO_COLUMN_ROWS = sorted(set(range(2 * _SIDE_ROWS)) - {row for _, row, _ in _CELL_COLUMNS})
#: The coder's odd-exam bits (``COLUMN_TABLES[3]``) indexed by a code as uint8 (MISSING = 254).
_ODD_BITS = np.zeros(256, dtype=np.uint8)
_ODD_BITS[[*range(N_CODES), 256 + MISSING, 256 + INVALID]] = COLUMN_TABLES[3][
    [*range(2, N_CODES + 2), 0, 1]
]


def _buffers(arrow: Any) -> tuple[Any, Any] | None:
    """Offsets (int32 or int64) and data of an Arrow string column, read-only, one chunk;
    ``None`` for anything the compiled coder does not take (nulls, no data buffer)."""
    if arrow is None or arrow.null_count:
        return None
    chunk = arrow.chunk(0) if arrow.num_chunks == 1 else arrow.combine_chunks()
    large = pa.types.is_large_string(chunk.type)
    if not (large or pa.types.is_string(chunk.type)):
        return None
    buffers = chunk.buffers()
    if buffers[2] is None:
        return None
    n = len(chunk)
    offset_type = np.int64 if large else np.int32
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[chunk.offset : chunk.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8)
    offsets.flags.writeable = data.flags.writeable = False  # one type for the compiled coder
    return offsets, data


def cell_codes(df: pd.DataFrame) -> tuple[SideArrays, SideArrays, Any] | None:
    """Both sides' cell codes, every Arrow string column coded by one compiled call, and each
    exam's bits: 1 if it holds a cell that is not a plain grade (NT, flag, empty, unknown: not
    for the closed forms), 2 if one is empty or was not known to the look-up (a rejected exam, or
    a spelling the parser accepts: check again). ``None`` where the compiled coder is not
    available or the frame too small for it (then :func:`side_arrays` codes column by column).
    Rejected rows are not blanked."""
    n = len(df)
    coder = compiled_for("code_columns", n)
    if coder is None:
        return None
    matrix = np.empty((2 * _SIDE_ROWS, n), dtype=np.int8)
    matrix[_NO_COLUMN_ROWS] = NORMAL_SENSORY_CODE  # level C1 has no sensory column: normal
    odd = np.zeros(n, dtype=np.uint8)
    fast, slow = [], []
    for name, row, lut in _CELL_COLUMNS:
        series = column_of(df, name)
        arrow = arrow_strings(series)
        buffers = _buffers(arrow)
        if buffers is None:
            slow.append((series, row, lut, arrow))
        else:
            fast.append((series, (*buffers, row, lut)))
    fast.sort(key=lambda column: column[1][0].dtype.itemsize)  # one call per offset type
    invalid = []
    for itemsize in sorted({c[0].dtype.itemsize for _, c in fast}):
        group = [c for _, c in fast if c[0].dtype.itemsize == itemsize]
        invalid += coder(group, matrix, odd, COLUMN_TABLES).tolist()
    for (series, (_, _, row, lut)), count in zip(fast, invalid, strict=True):
        if count:  # the look-up knows exact spellings only; the parser also trims spaces
            table = MOTOR_CODES if lut == 0 else SENSORY_CODES
            rows = np.nonzero(matrix[row] == INVALID)[0]
            matrix[row, rows] = [_code_of(v, table) for v in series.iloc[rows].tolist()]
    for series, row, lut, arrow in slow:
        table, look_up = (MOTOR_CODES, MOTOR_LUT) if lut == 0 else (SENSORY_CODES, SENSORY_LUT)
        matrix[row] = _encode(series, table, look_up, arrow)
        odd |= _ODD_BITS[matrix[row].view(np.uint8)]
    sides = []
    for side, prefix in enumerate(("r", "l")):
        base = side * _SIDE_ROWS
        first = base + len(KEY_MUSCLES)
        column = f"{prefix}_nkm"
        nkm = _nkm_codes(df[column]) if column in df.columns else np.full(n, -1, dtype=np.int64)
        lt, pp = matrix[first : first + 29], matrix[first + 29 : first + 58]
        sides.append(SideArrays(matrix[base:first], lt, pp, nkm))
    return sides[0], sides[1], odd
