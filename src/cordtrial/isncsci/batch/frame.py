"""``classify_frame``: a frame of exams in, a frame of results out, rows in the same order.

Exams without NT or flags take the closed forms (:mod:`~cordtrial.isncsci.batch.closed_form`);
the others the level-by-level walk, compiled (:mod:`~cordtrial.isncsci.batch.jit`) or in numpy
(:mod:`~cordtrial.isncsci.batch.walk`). Rows that are not valid exams are never dropped: their
result fields are empty and ``error`` / ``error_field`` say why (the one-exam parser's message).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]

from cordtrial.isncsci.batch.closed_form import clean_keys, is_clean
from cordtrial.isncsci.batch.codes import INT_COL, Bool, Ints
from cordtrial.isncsci.batch.compiled import compiled_for
from cordtrial.isncsci.batch.encode import (
    binary_codes,
    blank_rejected,
    cell_codes,
    column_of,
    side_arrays,
    with_arrow_strings,
)
from cordtrial.isncsci.batch.notation import (
    GRADE_OR_ND,
    LEVEL_NAMES,
    LEVEL_ORDER,
    ND,
    TOTAL_TEXT,
    ZPP_ORDER,
    Notation,
    add_totals,
    render_keys,
    total,
)
from cordtrial.isncsci.batch.walk import general_keys_numpy
from cordtrial.isncsci.classification import RESULT_FIELDS
from cordtrial.isncsci.errors import InvalidExamError
from cordtrial.isncsci.exam import Exam

__all__ = ["BATCH_FIELDS", "classify_frame"]

#: Columns of ``classify_frame``'s result: the result record, then the rejection reason.
BATCH_FIELDS: tuple[str, ...] = (*RESULT_FIELDS, "error_field", "error")


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _rejections(df: pd.DataFrame, rows: Ints) -> tuple[list[str], list[str]]:
    """The one-exam parser's reason for each rejected row (the same words as ``classify``)."""
    fields, reasons = [], []
    subset = df.iloc[rows].astype(object)
    for record in subset.to_dict("records"):
        values = {
            str(k): None if v is pd.NA or v is None or v != v else v for k, v in record.items()
        }
        try:
            Exam.from_flat(values)
        except InvalidExamError as err:
            fields.append(err.field)
            reasons.append(str(err))
        else:  # pragma: no cover - the coder and the parser disagree: a bug, say so
            fields.append("")
            reasons.append("rejected by the batch coder but accepted by the parser")
    return fields, reasons


#: Rows classified together; big enough to amortize numpy's per-call cost, small enough for cache.
CHUNK_ROWS = 65_536
#: Fewest rows worth a thread of their own.
MIN_THREAD_ROWS = 16_384


def classify_frame(df: pd.DataFrame, workers: int | None = None) -> pd.DataFrame:
    """Classify every exam of a frame of canonical flat columns (vectorized ``classify``).

    Parameters
    ----------
    df:
        One exam per row, canonical columns (DESIGN.md); values as text (``"5"``, ``"NT*"``) or
        integers. An ``id`` column is passed through; without one, ``id`` is the row's 1-based
        position.

    Returns
    -------
    pandas.DataFrame
        :data:`BATCH_FIELDS`: the result record of each row, same order and index, then
        ``error_field`` and ``error`` (empty for a classified exam). A row that is not a valid
        exam keeps its place, with empty results and the reason it was rejected. Result columns
        are categorical (a registry repeats a few hundred distinct values); a keyed result's
        categories are every value that field has taken in this process, so a column may list
        categories none of its rows holds.
    workers:
        Threads classifying chunks at once (numpy releases the GIL); default: one per core
        (``os.cpu_count()``). A frame of fewer than ``2 * MIN_THREAD_ROWS`` rows is classified
        in one chunk; a larger one in chunks of at most :data:`CHUNK_ROWS` rows, at least one
        per worker, of equal size. Pass ``workers=1`` where the caller already runs one
        classification per core (Dask workers, a process pool).
    """
    n = len(df)
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"workers: {workers!r} is not a number of threads (1 or more)")
    count = -(-n // CHUNK_ROWS)
    if n >= 2 * MIN_THREAD_ROWS:
        count = max(count, min(workers, n // MIN_THREAD_ROWS))
    if count <= 1:
        return _classify_chunk(df)
    size = -(-n // count)
    chunks = [df.iloc[i : i + size] for i in range(0, n, size)]
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(_classify_codes, chunks))
    else:
        parts = [_classify_codes(chunk) for chunk in chunks]
    keys, totals, bad = (np.concatenate(p, axis=-1) for p in zip(*parts, strict=True))
    return _frame(df, keys, totals, bad)


def _position(df: pd.DataFrame) -> int:
    """1-based position of the first row when the frame is a slice of a RangeIndex frame."""
    index = df.index
    if isinstance(index, pd.RangeIndex) and len(index) and index.step == 1:
        return int(index.start) + 1
    return 1


def _classify_chunk(df: pd.DataFrame) -> pd.DataFrame:
    return _frame(df, *_classify_codes(df))


def _classify_codes(df: pd.DataFrame) -> tuple[Any, Any, Bool]:
    """The results of a frame's rows as codes: packed possible values of the keyed fields
    (11, n), totals as indices into ``TOTAL_TEXT`` (14, n), and the rejected rows.

    From ``JIT_MIN_ROWS`` exams on, every exam (with or without NT and flags) is classified by
    one compiled pass (``jit.classify_exams``: the walk and the totals); below it, or without
    Numba, exams without NT or flags take the closed forms and the others the numpy walk."""
    n = len(df)
    df = with_arrow_strings(df)  # a frame of Python records: converted row by row, once
    vac = binary_codes(column_of(df, "vac"))
    dap = binary_codes(column_of(df, "dap"))
    coded = cell_codes(df)  # every column in one compiled pass
    odd = None
    if coded is None:
        right, r_bad = side_arrays(df, "r")
        left, l_bad = side_arrays(df, "l")
        bad = r_bad | l_bad | (vac < 0) | (dap < 0)
    else:
        right, left, odd = coded
        bad = (right.nkm < -1) | (left.nkm < -1) | (vac < 0) | (dap < 0)
        rows = np.nonzero(odd & 2)[0]  # an empty or unknown cell: rejected unless re-coded
        if len(rows):
            for side in (right, left):
                for cells in (side.motor, side.lt, side.pp):
                    bad[rows] |= (cells[:, rows] < 0).any(axis=0)
        if bad.any():
            for side in (right, left):
                blank_rejected(side, bad)
    # rejected rows are classified as normal exams, then blanked
    vac = np.where(bad, 0, vac)
    dap = np.where(bad, 0, dap)

    kernel = compiled_for("classify_exams", n)
    if kernel is not None:  # every exam, its walk and its totals, in one compiled pass
        keys, totals = kernel(right, left, vac, dap, GRADE_OR_ND, ND)
        return keys, totals, bad
    plain = is_clean(right) & is_clean(left) if odd is None else (odd == 0) | bad
    clean = plain & (vac != 2) & (dap != 2)
    keys = np.zeros((len(_KEYED_FIELDS), n), dtype=np.uint64)
    for rows, path in ((np.nonzero(clean)[0], clean_keys), (np.nonzero(~clean)[0], None)):
        path = path or general_keys_numpy
        if len(rows) == n:
            keys = path(right, left, vac, dap)
        elif len(rows):
            keys[:, rows] = path(right.take(rows), left.take(rows), vac[rows], dap[rows])

    totals_of: dict[str, Ints] = {}
    for name, side in (("right", right), ("left", left)):
        totals_of[f"uems_{name}"] = total(side.motor[:5])
        totals_of[f"lems_{name}"] = total(side.motor[5:])
        totals_of[f"motor_{name}_total"] = add_totals(
            totals_of[f"uems_{name}"], totals_of[f"lems_{name}"]
        )
        totals_of[f"lt_{name}"] = total(side.lt[1:])
        totals_of[f"pp_{name}"] = total(side.pp[1:])
    for both in ("uems", "lems", "lt", "pp"):
        totals_of[both] = add_totals(totals_of[f"{both}_right"], totals_of[f"{both}_left"])
    return keys, np.stack([totals_of[f] for f in _TOTAL_FIELDS]).astype(np.int16), bad


def _frame(df: pd.DataFrame, keys: Any, totals: Any, bad: Bool) -> pd.DataFrame:
    """The result frame of ``df`` from its codes: worksheet notation, rejections explained."""
    n = len(df)
    out: dict[str, Any] = {}
    if "id" in df.columns:
        out["id"] = df["id"].to_numpy(dtype=object)
    else:
        numbers = pa.array(np.arange(n, dtype=np.int64) + _position(df)).cast(pa.string())
        out["id"] = numbers.to_numpy(zero_copy_only=False)  # 4x numpy's astype(str)
    for i, field in enumerate(_KEYED_FIELDS):
        out[field] = render_keys(keys[i], _NOTATION[field])
    for i, field in enumerate(_TOTAL_FIELDS):
        out[field] = pd.Categorical.from_codes(totals[i], categories=_TOTAL_CATEGORIES)
    no_error = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([""]))
    out["error_field"] = no_error
    out["error"] = no_error.copy()
    frame = pd.DataFrame(out, index=df.index, columns=list(BATCH_FIELDS))
    if bad.any():
        rows = np.nonzero(bad)[0]
        fields, reasons = _rejections(df, rows)
        for field, values in (
            *((f, [""] * len(rows)) for f in RESULT_FIELDS[1:]),
            ("error_field", fields),
            ("error", reasons),
        ):
            column = frame[field]
            new = [v for v in dict.fromkeys(values) if v not in column.cat.categories]
            if new:
                column = column.cat.add_categories(new)
            column.iloc[rows] = values
            frame[field] = column
    return frame


_TOTAL_FIELDS = RESULT_FIELDS[12:]
_TOTAL_CATEGORIES = pd.Index(TOTAL_TEXT)
_KEYED_FIELDS = RESULT_FIELDS[1:12]
_LEVELS = (LEVEL_NAMES[: INT_COL + 1], LEVEL_ORDER)
_ZPP = (LEVEL_NAMES, ZPP_ORDER)
_NOTATION: dict[str, Notation] = {
    "sensory_right": Notation(*_LEVELS),
    "sensory_left": Notation(*_LEVELS),
    "motor_right": Notation(*_LEVELS),
    "motor_left": Notation(*_LEVELS),
    "nli": Notation(*_LEVELS),
    "ais": Notation(["A", "B", "C", "D", "E"], list(range(5))),
    "complete": Notation(["C", "I"], [0, 1]),
    "zpp_sensory_right": Notation(*_ZPP),
    "zpp_sensory_left": Notation(*_ZPP),
    "zpp_motor_right": Notation(*_ZPP),
    "zpp_motor_left": Notation(*_ZPP),
}
