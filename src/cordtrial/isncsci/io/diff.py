"""Re-classification diff: which exams' results changed between two runs, field by field.

After an engine update (or a correction of the exams) a data manager classifies again and needs
to know what moved: :func:`diff_results` matches the exams of two results files by ``id`` and
lists every field of the result record whose value differs, plus the exams found in only one of
the files. ``cordtrial isncsci diff OLD NEW`` is a thin shell over it; the engine version behind
each file comes from :func:`cordtrial.isncsci.io.streaming.engine_stamp`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cordtrial.isncsci.classification import RESULT_FIELDS
from cordtrial.isncsci.io.formats import UnreadableInputError, read_table

__all__ = ["CHANGES", "DIFF_FIELDS", "ResultsDiff", "diff_results", "read_results"]

#: Columns of the diff table.
DIFF_FIELDS: tuple[str, ...] = ("id", "change", "field", "old", "new")
#: Values of its ``change`` column: a field changed; an exam only in the old / the new results.
CHANGES: tuple[str, ...] = ("changed", "old_only", "new_only")
_COMPARED = RESULT_FIELDS[1:]
_SHOWN = 5  # ids named in a message before "and N more"


@dataclass(frozen=True)
class ResultsDiff:
    """The differences between two sets of result records.

    Attributes
    ----------
    changes:
        Columns :data:`DIFF_FIELDS`. First one row per changed field (``change`` is
        ``"changed"``; exams in the old file's order, fields in the result record's order), then
        one row per exam only in the old results (``"old_only"``), then per exam only in the new
        (``"new_only"``); ``field``, ``old`` and ``new`` are empty in those.
    compared:
        Exams in both.
    changed:
        Exams in both with at least one field changed.
    old_only, new_only:
        Exams in only one of them.
    fields:
        For each field that changed, in the record's order: how many exams it changed in.
    """

    changes: pd.DataFrame
    compared: int
    changed: int
    old_only: int
    new_only: int
    fields: dict[str, int]

    @property
    def identical(self) -> bool:
        """Whether both hold the same exams with the same results."""
        return not (self.changed or self.old_only or self.new_only)


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a results file (``.csv``, ``.json``, ``.jsonl``, ``.parquet``) for :func:`diff_results`.

    Returns
    -------
    pandas.DataFrame
        The columns ``RESULT_FIELDS`` (others dropped), values as text, missing ones ``""``.

    Raises
    ------
    UnreadableInputError
        The file cannot be read, lacks a column of the result record, or has exams without an
        ``id`` or ids that appear more than once (naming them and their rows).
    """
    table = read_table(path)
    missing = [name for name in RESULT_FIELDS if name not in table.columns]
    if missing:
        raise UnreadableInputError(
            path, f"not a results file: no column {_listed([repr(m) for m in missing])}"
        )
    results = table[list(RESULT_FIELDS)].fillna("").astype(object)
    ids = results["id"]
    blank = np.flatnonzero((ids.str.strip() == "").to_numpy(dtype=bool))
    if len(blank):
        rows = [str(i + 1) for i in blank]
        raise UnreadableInputError(path, f"{len(blank)} exams without an id: rows {_listed(rows)}")
    repeated = ids[ids.duplicated(keep=False)]
    if len(repeated):
        groups = repeated.groupby(repeated, sort=False).groups
        named = [
            f"{value!r} (rows {', '.join(str(int(i) + 1) for i in index)})"
            for value, index in groups.items()
        ]
        raise UnreadableInputError(path, f"duplicate ids: {_listed(named)}")
    return results


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown if len(items) <= _SHOWN else f"{shown} and {len(items) - _SHOWN} more"


def diff_results(old: pd.DataFrame, new: pd.DataFrame) -> ResultsDiff:
    """Compare two sets of result records exam by exam, matched by ``id``.

    Parameters
    ----------
    old, new:
        Result records as :func:`read_results` gives them: columns ``RESULT_FIELDS``, unique
        ids, values as text.

    Returns
    -------
    ResultsDiff
        Every field whose value differs, and the exams in only one of them.
    """
    old_by_id = old.set_index("id")
    new_by_id = new.set_index("id")
    in_new = old_by_id.index.isin(new_by_id.index)
    common = old_by_id.index[in_new]
    before = old_by_id.loc[common, list(_COMPARED)].to_numpy(dtype=object)
    after = new_by_id.loc[common, list(_COMPARED)].to_numpy(dtype=object)
    differs: Any = before != after
    rows, columns = np.nonzero(differs)
    names = np.array(_COMPARED, dtype=object)
    parts = [
        pd.DataFrame(
            {
                "id": common[rows].to_numpy(dtype=object),
                "change": "changed",
                "field": names[columns],
                "old": before[rows, columns],
                "new": after[rows, columns],
            },
            columns=list(DIFF_FIELDS),
        ),
        _absent_exams(old_by_id.index[~in_new], "old_only"),
        _absent_exams(new_by_id.index[~new_by_id.index.isin(old_by_id.index)], "new_only"),
    ]
    changes = pd.concat(parts, ignore_index=True).astype(object)
    counts = differs.sum(axis=0)
    return ResultsDiff(
        changes=changes,
        compared=len(common),
        changed=int(differs.any(axis=1).sum()),
        old_only=len(parts[1]),
        new_only=len(parts[2]),
        fields={name: int(n) for name, n in zip(_COMPARED, counts, strict=True) if n},
    )


def _absent_exams(ids: pd.Index[Any], change: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ids.to_numpy(dtype=object),
            "change": change,
            "field": "",
            "old": "",
            "new": "",
        },
        columns=list(DIFF_FIELDS),
    )
