"""ISNCSCI 2019 classification engine.

Pure functions on frozen dataclasses: no files, clock, environment, logging or database. The
engine imports only the standard library; the batch and file helpers (``read_frame``,
``classify_frame``) load pandas/numpy when first used, and ``classify_dask`` (the optional
``dask`` extra, :mod:`cordtrial.isncsci.io.distributed`) loads Dask when first used.

Glossary (names used everywhere in cordtrial, in snake_case):

* ``nli`` -- neurological level of injury: the most caudal level with normal sensory and motor
  function on both sides.
* ``ais`` -- ASIA Impairment Scale grade, A (complete) to E (normal).
* ``zpp`` -- zone of partial preservation: the most caudal level with some sensory or motor
  function, in injuries where it applies.
* ``uems`` / ``lems`` -- upper / lower extremity motor score (C5-T1 / L2-S1 key muscles).
* ``lt`` / ``pp`` -- light touch / pin prick sensory scores.
* ``vac`` -- voluntary anal contraction; ``dap`` -- deep anal pressure.
* ``nkm`` -- lowest non-key muscle with motor function.
* ``NT`` not testable; ``INT`` intact; ``NA`` not applicable; ``ND`` not determinable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cordtrial.isncsci.classification import (
    ENGINE_VERSION,
    ISNCSCI_REVISION,
    RESULT_FIELDS,
    Classification,
    classify,
)
from cordtrial.isncsci.errors import InvalidExamError, IsncsciError
from cordtrial.isncsci.exam import EXAM_COLUMNS, KEY_MUSCLES, SENSORY_LEVELS, Exam, ExamSide, Level
from cordtrial.isncsci.fields import check_cells, field_label
from cordtrial.isncsci.values import Cell, Flag

if TYPE_CHECKING:
    from cordtrial.isncsci.batch import classify_frame
    from cordtrial.isncsci.io.distributed import classify_dask
    from cordtrial.isncsci.io.formats import read_frame

__all__ = [
    "ENGINE_VERSION",
    "EXAM_COLUMNS",
    "ISNCSCI_REVISION",
    "KEY_MUSCLES",
    "RESULT_FIELDS",
    "SENSORY_LEVELS",
    "Cell",
    "Classification",
    "Exam",
    "ExamSide",
    "Flag",
    "InvalidExamError",
    "IsncsciError",
    "Level",
    "check_cells",
    "classify",
    "classify_dask",
    "classify_frame",
    "field_label",
    "read_frame",
]


def __getattr__(name: str) -> Any:
    # read_frame and classify_frame need pandas/numpy: load them only when asked, so the engine
    # itself stays standard-library only.
    if name == "read_frame":
        from cordtrial.isncsci.io.formats import read_frame

        return read_frame
    if name == "classify_frame":
        from cordtrial.isncsci.batch import classify_frame

        return classify_frame
    if name == "classify_dask":
        from cordtrial.isncsci.io.distributed import classify_dask

        return classify_dask
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
