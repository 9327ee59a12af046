"""Many exams as arrays of cell codes, and many results as bit matrices."""

from __future__ import annotations

from typing import Any

import numpy as np

from cordtrial.isncsci.batch.codes import KEY_INDEX, N_CODES, N_COLS, STRIP, Bool
from cordtrial.isncsci.exam import Level

# --- the exams as arrays -----------------------------------------------------------------------


class SideArrays:
    """One side of many exams, level-major: motor (10, n), light touch and pin prick (29, n)
    with row C1 normal, nkm (n,) as a level index or -1."""

    def __init__(self, motor: Any, lt: Any, pp: Any, nkm: Any):
        self.motor, self.lt, self.pp, self.nkm = motor, lt, pp, nkm
        self._pair: Any = None

    @property
    def pair(self) -> Any:
        """Light touch and pin prick of each dermatome as one code (for the step look-ups)."""
        if self._pair is None:
            self._pair = self.lt.astype(np.int16) * N_CODES + self.pp
        return self._pair

    def take(self, rows: Any) -> SideArrays:
        """The exams of ``rows``."""
        if len(rows) == self.motor.shape[1]:
            return self
        return SideArrays(self.motor[:, rows], self.lt[:, rows], self.pp[:, rows], self.nkm[rows])

    def stripped(self, rows: Any) -> SideArrays:
        """The exams of ``rows`` with every flag removed (values at face value)."""
        return SideArrays(
            np.take(STRIP, self.motor[:, rows]),
            np.take(STRIP, self.lt[:, rows]),
            np.take(STRIP, self.pp[:, rows]),
            self.nkm[rows],
        )

    def muscle(self, level: Level) -> Any:
        return self.motor[KEY_INDEX[level]]


class Possibles:
    """Possible values of one result for many exams: here/starred per column (N_COLS, n)."""

    def __init__(self, n: int):
        self.here = np.zeros((N_COLS, n), dtype=bool)
        self.starred = np.zeros((N_COLS, n), dtype=bool)
        # the same, packed: bit c of ``key`` = here[c], bit 32 + c = starred[c]
        self.key = np.zeros(n, dtype=np.uint64)

    def union_where(self, rows: Bool, other: Possibles) -> Possibles:
        """These values, and on ``rows`` also ``other``'s (as ``zpp.union_of_ranges``: a value
        stays starred only where every range holding it stars it)."""
        out = Possibles(len(rows))
        here = self.here | (other.here & rows)
        starred = here & (self.starred | ~self.here) & (other.starred | ~other.here | ~rows)
        for column in range(N_COLS):
            out.add(column, here[column], starred[column])
        return out

    def add(self, column: int, where: Bool, starred: Bool) -> None:
        star = where & starred
        self.here[column] |= where
        self.starred[column] |= star
        self.key |= np.left_shift(where, np.uint64(column), dtype=np.uint64)
        self.key |= np.left_shift(star, np.uint64(32 + column), dtype=np.uint64)
