"""Results as worksheet notation: packed possible values to text, totals to text."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd

from cordtrial.isncsci.batch.codes import GRADE_OF, N_COLS, NA_COL, Ints, byte_table, translate
from cordtrial.isncsci.batch.compiled import compiled, compiled_for
from cordtrial.isncsci.exam import Level

# --- rendering ---------------------------------------------------------------------------------


LEVEL_NAMES = [lv.name for lv in Level] + ["INT", "NA"]
LEVEL_ORDER = list(range(N_COLS))
ZPP_ORDER = [NA_COL, *range(29)]


class Notation:
    """Worksheet text of packed results, remembered: a registry's results repeat a few thousand
    distinct values, so each is written once, and a result column is a Categorical over every
    text this notation has written so far: its codes are the keys' places in that list (one
    vectorized look-up), its categories one shared index, text rendered only by the writers."""

    #: Most texts remembered per notation (a bound on memory for pathological inputs).
    LIMIT = 200_000

    def __init__(self, names: list[str], order: list[int]):
        self.names, self.order = names, order
        # the remembered keys, their texts, and the Categorical dtype over those texts
        self._known: tuple[pd.Index, list[str], Any] = (
            pd.Index(np.empty(0, np.uint64)),
            [],
            pd.CategoricalDtype(pd.Index([], dtype=str)),
        )
        self._lock = threading.Lock()
        # the remembered keys as a compiled look-up, with the dtype and index it was made of
        self._table: tuple[Any, Any, pd.Index] | None = None

    def text(self, key: int) -> str:
        first = self.order[0] if self.order[0] != 0 else None  # listed first out of turn (NA)
        here = key & 0xFFFFFFFF
        parts = []
        if first is not None and here >> first & 1:
            parts.append(self.names[first] + ("*" if key >> (32 + first) & 1 else ""))
            here &= ~(1 << first)
        while here:
            low = here & -here
            c = low.bit_length() - 1
            parts.append(self.names[c] + ("*" if key >> (32 + c) & 1 else ""))
            here ^= low
        return ",".join(parts)

    def categorical(self, codes: Any, uniques: Any) -> Any:
        """The Categorical of a factorized column of keys (``codes`` into ``uniques``)."""
        index, known, dtype = self._known
        where = index.get_indexer(pd.Index(uniques)) if len(index) else np.full(len(uniques), -1)
        missing = np.nonzero(where < 0)[0]
        if len(missing):
            new = {k: self.text(k) for k in uniques[missing].tolist()}
            with self._lock:  # another thread may have added some meanwhile
                index, known, dtype = self._known
                fresh = np.array(list(new), dtype=np.uint64)
                if len(index):
                    fresh = fresh[index.get_indexer(pd.Index(fresh)) < 0]
                if len(known) + len(fresh) <= self.LIMIT:
                    known = known + [new[k] for k in fresh.tolist()]
                    index = index.append(pd.Index(fresh))
                    dtype = pd.CategoricalDtype(pd.Index(known, dtype=str))
                    self._known = (index, known, dtype)
            where = index.get_indexer(pd.Index(uniques))
            if (where < 0).any():  # more distinct results than LIMIT: this column's own texts
                texts = [
                    known[i] if i >= 0 else new[k]
                    for i, k in zip(where.tolist(), uniques.tolist(), strict=True)
                ]
                return pd.Categorical.from_codes(codes, categories=pd.Index(texts))
        places = where.astype(np.int32)[codes]
        return pd.Categorical.from_codes(places, dtype=dtype, validate=False)

    def places(self, keys: Any) -> Any:
        """The Categorical of a column of keys that are all remembered already, by a compiled
        look-up (``jit.key_places``) instead of a factorization; ``None`` where one is new, or
        the column too small for the compiled code."""
        make, look_up = compiled_for("key_table", len(keys)), compiled("key_places")
        index, _, dtype = self._known
        if make is None or look_up is None or not len(index):
            return None
        table = self._table
        if table is None or table[2] is not index:  # none yet, or texts added since
            table = (make(index.to_numpy()), dtype, index)
            self._table = table
        places = look_up(table[0], keys)
        if places is None:
            return None
        return pd.Categorical.from_codes(places, dtype=table[1], validate=False)


def render_keys(keys: Any, notation: Notation) -> Any:
    """A column of packed results as a Categorical of their worksheet notation."""
    known = notation.places(keys)
    if known is not None:
        return known
    codes, uniques = pd.factorize(keys)
    return notation.categorical(codes, uniques)


TOTAL_TEXT = [str(i) for i in range(113)] + ["ND"]
ND = 113
_ND16 = np.int16(ND)  # totals stay int16


GRADE_OR_ND = np.array([g if g >= 0 else 64 for g in GRADE_OF], dtype=np.int16)
_GRADE_OR_ND_BYTES = byte_table(GRADE_OR_ND)


def total(cells: Any) -> Ints:
    """The total of each exam's ``cells`` (rows, n), ``ND`` where one is NT: a cell's grade, NT
    counted 64 (more than 28 cells of grade 2 can reach)."""
    kernel = compiled_for("row_sums", cells.shape[1])
    if kernel is not None:
        total = kernel(GRADE_OR_ND, cells)
    else:
        total = translate(_GRADE_OR_ND_BYTES, cells).sum(axis=0, dtype=np.int16)
    return np.where(total >= 64, _ND16, total)


def add_totals(a: Ints, b: Ints) -> Ints:
    return np.where((a == ND) | (b == ND), _ND16, a + b)
