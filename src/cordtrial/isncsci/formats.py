"""Exam files: dialects (canonical, praxis), nested JSON, and CSV / JSON / JSON Lines / Parquet.

This module sits beside the pure engine, not inside it: it touches files and uses pandas and
pyarrow. It turns files into a :class:`pandas.DataFrame` of *canonical* flat columns (DESIGN.md)
and back, and classifies such a frame row by row for the CLI.

Formats, chosen by the file's extension:

* ``.csv`` -- one exam per line after a header line (UTF-8, a byte-order mark is allowed);
* ``.json`` -- a JSON array of exams, or a single exam object;
* ``.jsonl`` -- JSON Lines, one exam object per line;
* ``.parquet`` -- one exam per row.

An exam in a JSON or JSON Lines file is either a flat record (canonical or praxis column names)
or a *nested* exam as the reference npm package ``isncsci`` takes it::

    {"id": "P01", "right": {"motor": {"C5": "5", ...}, "lightTouch": {"C2": "2", ...},
     "pinPrick": {...}, "lowestNonKeyMuscleWithMotorFunction": "C8"},
     "left": {...}, "voluntaryAnalContraction": "No", "deepAnalPressure": "Yes"}

Dialects of flat column names: ``canonical`` (``r_c5_motor``, ``l_s4_5_pp``, ``vac``, ``dap``,
``r_nkm``) and ``praxis`` (``c5RightMotor``, ``s4_5LeftPrick``, ``analContraction``,
``analSensation``, ``rightLowestNonKeyMuscleWithMotorFunction``). :func:`read_frame` detects the
dialect from the column names unless told.

Every value is read as text: missing cells (an empty CSV cell, JSON ``null``, a Parquet null) are
``None`` -- never 0 -- and the engine rejects them; JSON or Parquet numbers become their text
(``5`` -> ``"5"``, ``5.0`` -> ``"5"``), booleans ``"true"``/``"false"`` (which no cell accepts).
Columns that are not exam columns (``id``, ``participant``, ``visit``, dates ...) pass through.

Errors::

    ValueError
     └── IsncsciError                  (cordtrial.isncsci.errors)
          └── FileFormatError          a file that cannot be read or written as exams
               └── UnreadableInputError  an input file: missing, empty, truncated, no exam columns
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast, get_args

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from cordtrial.isncsci.classification import RESULT_FIELDS, classify
from cordtrial.isncsci.errors import InvalidExamError, IsncsciError
from cordtrial.isncsci.exam import EXAM_COLUMNS, KEY_MUSCLES, NKM_COLUMNS, SENSORY_LEVELS, Exam

__all__ = [
    "DIALECTS",
    "ERROR_FIELDS",
    "EXTENSIONS",
    "PRAXIS_COLUMNS",
    "Dialect",
    "FileFormatError",
    "UnreadableInputError",
    "canonical_to_praxis",
    "classify_rows",
    "detect_dialect",
    "errors_path",
    "flat_to_nested",
    "format_of",
    "nested_to_flat",
    "praxis_to_canonical",
    "read_frame",
    "write_frame",
    "write_results",
]

Dialect = Literal["canonical", "praxis"]
DIALECTS: tuple[Dialect, ...] = get_args(Dialect)
#: File extensions read and written, each naming its format.
EXTENSIONS: tuple[str, ...] = (".csv", ".json", ".jsonl", ".parquet")
#: Columns of the rejected-rows table returned by :func:`classify_rows`.
ERROR_FIELDS: tuple[str, ...] = ("row", "id", "field", "value", "reason")

_CANONICAL_COLUMNS: tuple[str, ...] = (*EXAM_COLUMNS, *NKM_COLUMNS)
_SIDES: tuple[tuple[str, str, str], ...] = (("r", "right", "Right"), ("l", "left", "Left"))
_KINDS: tuple[tuple[str, str, str], ...] = (
    ("motor", "Motor", "motor"),
    ("lt", "Touch", "lightTouch"),
    ("pp", "Prick", "pinPrick"),
)
_NESTED_BINARY: dict[str, str] = {"voluntaryAnalContraction": "vac", "deepAnalPressure": "dap"}
_NESTED_NKM = "lowestNonKeyMuscleWithMotorFunction"


def _praxis_columns() -> dict[str, str]:
    names: dict[str, str] = {}
    for prefix, _, praxis_side in _SIDES:
        for kind, praxis_kind, _ in _KINDS:
            levels = KEY_MUSCLES if kind == "motor" else SENSORY_LEVELS
            for level in levels:
                names[f"{prefix}_{level.column}_{kind}"] = (
                    f"{level.column}{praxis_side}{praxis_kind}"
                )
    names["vac"] = "analContraction"
    names["dap"] = "analSensation"
    names["r_nkm"] = "rightLowestNonKeyMuscleWithMotorFunction"
    names["l_nkm"] = "leftLowestNonKeyMuscleWithMotorFunction"
    return names


#: Canonical column name -> praxis column name, for every exam column.
PRAXIS_COLUMNS: dict[str, str] = _praxis_columns()
_FROM_PRAXIS: dict[str, str] = {praxis: canonical for canonical, praxis in PRAXIS_COLUMNS.items()}


class FileFormatError(IsncsciError):
    """A file cordtrial cannot read or write as exams.

    Attributes
    ----------
    path:
        The file, as given.
    problem:
        What is wrong, in a few words (``file not found``, ``not valid JSON: ...``).
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.problem))


class UnreadableInputError(FileFormatError):
    """An input file that cannot be read as exams (missing, empty, truncated, no exam columns)."""


def canonical_to_praxis(column: str) -> str:
    """The praxis name of a canonical column (``r_c5_motor`` -> ``c5RightMotor``).

    Names that are not exam columns (``id``, ``visit``) are returned unchanged.
    """
    return PRAXIS_COLUMNS.get(column, column)


def praxis_to_canonical(column: str) -> str:
    """The canonical name of a praxis column (``s4_5LeftPrick`` -> ``l_s4_5_pp``).

    Names that are not exam columns (``id``, ``visit``) are returned unchanged.
    """
    return _FROM_PRAXIS.get(column, column)


def detect_dialect(columns: Iterable[str]) -> Dialect:
    """The dialect of a set of column names.

    Raises
    ------
    ValueError
        When no exam column of either dialect is present, or columns of both are.
    """
    names = set(columns)
    canonical = names & PRAXIS_COLUMNS.keys()
    praxis = names & _FROM_PRAXIS.keys()
    if canonical and praxis:
        raise ValueError(
            f"columns of both dialects found (e.g. {min(canonical)!r} and {min(praxis)!r}); "
            "choose one with dialect='canonical' or dialect='praxis'"
        )
    if canonical:
        return "canonical"
    if praxis:
        return "praxis"
    raise ValueError(
        "no exam columns found (expected canonical names such as 'r_c5_motor' "
        "or praxis names such as 'c5RightMotor')"
    )


def nested_to_flat(exam: Mapping[str, Any]) -> dict[str, Any]:
    """A nested exam (the reference package's ``Exam``) as canonical flat columns.

    Keys other than ``right``, ``left``, ``voluntaryAnalContraction`` and ``deepAnalPressure``
    (``id``, ``visit`` ...) are kept as they are. Values are not checked here; the engine does that.

    Raises
    ------
    ValueError
        When a side or a group of cells is not an object, or holds a key that is not a level of it.
    """
    flat: dict[str, Any] = {}
    for key, value in exam.items():
        if key in ("right", "left"):
            continue
        flat[_NESTED_BINARY.get(key, key)] = value
    for prefix, side, _ in _SIDES:
        if side not in exam:
            continue
        cells = exam[side]
        if not isinstance(cells, Mapping):
            raise ValueError(f"'{side}' is not an object")
        for key, group in cells.items():
            if key == _NESTED_NKM:
                flat[f"{prefix}_nkm"] = group
                continue
            kind = next((k for k, _, nested in _KINDS if nested == key), None)
            if kind is None:
                raise ValueError(f"'{side}.{key}' is not part of an exam side")
            if not isinstance(group, Mapping):
                raise ValueError(f"'{side}.{key}' is not an object")
            for level, value in group.items():
                column = f"{prefix}_{str(level).lower()}_{kind}"
                if column not in PRAXIS_COLUMNS:
                    raise ValueError(f"'{side}.{key}.{level}' is not a level of {key}")
                flat[column] = value
    return flat


def flat_to_nested(record: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical flat columns as a nested exam (the reference package's ``Exam``).

    Other columns come first, as they are; a missing or empty ``r_nkm``/``l_nkm`` is left out.
    """
    nested: dict[str, Any] = {k: v for k, v in record.items() if k not in PRAXIS_COLUMNS}
    for prefix, side, _ in _SIDES:
        groups: dict[str, Any] = {}
        for kind, _, key in _KINDS:
            levels = KEY_MUSCLES if kind == "motor" else SENSORY_LEVELS
            groups[key] = {lv.name: record.get(f"{prefix}_{lv.column}_{kind}") for lv in levels}
        nkm = record.get(f"{prefix}_nkm")
        if nkm is not None and nkm != "":
            groups[_NESTED_NKM] = nkm
        nested[side] = groups
    nested["voluntaryAnalContraction"] = record.get("vac")
    nested["deepAnalPressure"] = record.get("dap")
    return nested


def read_frame(path: str | Path, dialect: Dialect | None = None) -> pd.DataFrame:
    """Read exams from a file into a frame of canonical columns.

    Parameters
    ----------
    path:
        A ``.csv``, ``.json``, ``.jsonl`` or ``.parquet`` file.
    dialect:
        ``"canonical"`` or ``"praxis"``; detected from the column names when ``None``.

    Returns
    -------
    pandas.DataFrame
        One row per exam, in file order, with a default index. Exam columns carry canonical
        names; every canonical exam column is present (added empty where the file lacks it), the
        file's other columns pass through in place. Values are ``str`` (object dtype), missing
        cells ``None``.

    Raises
    ------
    UnreadableInputError
        The file is missing, empty, not valid for its format, or holds no exam columns.
    """
    source = Path(path)
    if dialect is not None and dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    reader = _READERS.get(source.suffix.lower())
    if reader is None:
        raise UnreadableInputError(
            path, f"unknown file extension {source.suffix!r} (use {', '.join(EXTENSIONS)})"
        )
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise UnreadableInputError(path, "file not found") from None
    except IsADirectoryError:
        raise UnreadableInputError(path, "is a directory, not a file") from None
    except OSError as err:
        raise UnreadableInputError(path, f"cannot be read ({err.strerror})") from None
    if not data.strip():
        raise UnreadableInputError(path, "file is empty")
    try:
        columns, rows = reader(data)
    except ValueError as err:
        raise UnreadableInputError(path, str(err)) from None
    return _canonical_frame(path, columns, rows, dialect)


def write_frame(
    frame: pd.DataFrame,
    path: str | Path,
    dialect: Dialect = "canonical",
    *,
    nested: bool = False,
) -> None:
    """Write exams (a frame of canonical columns, as :func:`read_frame` gives) to a file.

    Parameters
    ----------
    frame:
        Exams in canonical columns; other columns are written as they are.
    path:
        The file; its extension chooses the format (``.csv``, ``.json``, ``.jsonl``, ``.parquet``).
    dialect:
        Column names to write: ``"canonical"`` or ``"praxis"``.
    nested:
        Write nested exams (the reference package's ``Exam``) instead of flat records; only for
        ``.json`` and ``.jsonl``.

    Raises
    ------
    FileFormatError
        For an unknown extension, or ``nested`` with a format that has no nesting.
    """
    suffix = format_of(path)
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    records = _text_records(frame)
    if nested:
        if suffix not in (".json", ".jsonl"):
            raise FileFormatError(path, "nested exams can be written only as .json or .jsonl")
        _write_json_values(path, [flat_to_nested(r) for r in records], lines=suffix == ".jsonl")
        return
    columns = [str(c) for c in frame.columns]
    if dialect == "praxis":
        columns = [canonical_to_praxis(c) for c in columns]
        records = [{canonical_to_praxis(k): v for k, v in r.items()} for r in records]
    _write_table(path, suffix, columns, records)


def write_results(results: pd.DataFrame, path: str | Path) -> None:
    """Write classification result records (or any table) to a file, every value as text.

    The extension chooses the format (``.csv``, ``.json``, ``.jsonl``, ``.parquet``); the
    columns are written in the frame's order.

    Raises
    ------
    FileFormatError
        For an unknown extension.
    """
    suffix = format_of(path)
    _write_table(path, suffix, [str(c) for c in results.columns], _text_records(results))


def format_of(path: str | Path) -> str:
    """The format of ``path`` by its extension (``".csv"`` ...).

    Raises
    ------
    FileFormatError
        For an extension that is not one of ``EXTENSIONS``.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise FileFormatError(
            path, f"unknown file extension {Path(path).suffix!r} (use {', '.join(EXTENSIONS)})"
        )
    return suffix


def errors_path(output: str | Path) -> Path:
    """Where the rejected rows of ``output`` go: ``out.csv`` -> ``out.errors.csv``."""
    out = Path(output)
    return out.with_name(f"{out.stem}.errors.csv")


def classify_rows(
    frame: pd.DataFrame,
    on_row: Callable[[], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Classify each row of a frame of canonical columns, one exam at a time.

    Parameters
    ----------
    frame:
        Exams as :func:`read_frame` gives them.
    on_row:
        Called once after each row (for a progress bar).

    Returns
    -------
    results:
        One result record per valid exam, in row order, with columns exactly ``RESULT_FIELDS``.
        ``id`` is the row's ``id`` column, or its row number when the frame has no ``id``.
    errors:
        One line per rejected exam, columns ``ERROR_FIELDS``: ``row`` is the 1-based position of
        the exam among the data rows (the first exam is row 1; in a CSV file it stands on line
        ``row + 1``, after the header), ``id`` as above, ``field``, ``value`` (as given, empty
        when missing) and ``reason`` (the engine's message).
    """
    has_id = "id" in frame.columns
    results: list[dict[str, str]] = []
    errors: list[dict[str, object]] = []
    rows = cast(list[dict[str, object]], frame.to_dict("records"))
    for number, row in enumerate(rows, start=1):
        exam_id = _text(row.get("id")) if has_id else str(number)
        try:
            record = classify(Exam.from_flat(row)).to_record()
        except InvalidExamError as err:
            errors.append(
                {
                    "row": number,
                    "id": exam_id or "",
                    "field": err.field,
                    "value": _text(err.value) or "",
                    "reason": str(err),
                }
            )
        else:
            results.append({"id": exam_id or "", **record})
        if on_row is not None:
            on_row()
    result_frame = pd.DataFrame(results, columns=list(RESULT_FIELDS), dtype=object)
    error_frame = pd.DataFrame(errors, columns=list(ERROR_FIELDS), dtype=object)
    error_frame["row"] = error_frame["row"].astype("int64")
    return result_frame, error_frame


# --- reading --------------------------------------------------------------------------------------

_Rows = tuple[list[str], list[dict[str, Any]]]


def _read_csv(data: bytes) -> _Rows:
    text = _decode(data)
    try:
        lines = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as err:
        raise ValueError(f"not valid CSV: {err} (truncated or unbalanced quotes?)") from None
    lines = [line for line in lines if line]  # blank lines hold no exam
    header, body = lines[0], lines[1:]
    _check_columns(header)
    rows: list[dict[str, Any]] = []
    for number, cells in enumerate(body, start=2):
        if len(cells) > len(header):
            raise ValueError(
                f"line {number} has {len(cells)} cells but the header has {len(header)}"
            )
        # A short line (a truncated file) keeps its row; the missing cells are rejected later.
        rows.append({name: cell or None for name, cell in zip(header, cells, strict=False)})
    return header, rows


def _read_json(data: bytes) -> _Rows:
    text = _decode(data)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON: {err} (truncated?)") from None
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("expected a JSON array of exams or a single exam object")
    return _records(value, "exam")


def _read_jsonl(data: bytes) -> _Rows:
    values: list[Any] = []
    for number, line in enumerate(_decode(data).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise ValueError(f"line {number} is not valid JSON: {err} (truncated?)") from None
    return _records(values, "line")


def _read_parquet(data: bytes) -> _Rows:
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as err:
        raise ValueError(f"not a valid Parquet file: {err}") from None
    columns = [str(name) for name in table.column_names]
    _check_columns(columns)
    return columns, table.to_pylist()


_READERS: dict[str, Callable[[bytes], _Rows]] = {
    ".csv": _read_csv,
    ".json": _read_json,
    ".jsonl": _read_jsonl,
    ".parquet": _read_parquet,
}


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 text (at byte offset {err.start})") from None


def _check_columns(columns: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise ValueError(f"column {name!r} appears more than once")
        seen.add(name)


def _records(values: list[Any], unit: str) -> _Rows:
    columns: dict[str, None] = {}
    rows: list[dict[str, Any]] = []
    for number, value in enumerate(values, start=1):
        if not isinstance(value, Mapping):
            raise ValueError(f"{unit} {number} is not an object")
        if "right" in value or "left" in value:
            try:
                value = nested_to_flat(value)
            except ValueError as err:
                raise ValueError(f"{unit} {number}: {err}") from None
        rows.append(dict(value))
        columns.update(dict.fromkeys(value))
    return list(columns), rows


def _canonical_frame(
    path: str | Path, columns: list[str], rows: list[dict[str, Any]], dialect: Dialect | None
) -> pd.DataFrame:
    if dialect is None:
        try:
            dialect = detect_dialect(columns)
        except ValueError as err:
            raise UnreadableInputError(path, str(err)) from None
    elif dialect == "canonical" and not set(columns) & PRAXIS_COLUMNS.keys():
        raise UnreadableInputError(path, "no canonical exam columns found (such as 'r_c5_motor')")
    elif dialect == "praxis" and not set(columns) & _FROM_PRAXIS.keys():
        raise UnreadableInputError(path, "no praxis exam columns found (such as 'c5RightMotor')")
    rename = praxis_to_canonical if dialect == "praxis" else str
    names = [rename(c) for c in columns]
    if len(set(names)) != len(names):
        raise UnreadableInputError(path, "two columns map to the same canonical column")
    present = set(names)
    absent = [c for c in _CANONICAL_COLUMNS if c not in present]
    fill: list[str | None] = [None] * len(absent)
    table = [[_text(row.get(column)) for column in columns] + fill for row in rows]
    return pd.DataFrame(table, columns=[*names, *absent], dtype=object)


def _text(value: object) -> str | None:
    """A cell as text; ``None`` for a missing one (``None``, NaN, pandas' NA)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return _text(item())
    return str(value)


# --- writing --------------------------------------------------------------------------------------


def _text_records(frame: pd.DataFrame) -> list[dict[str, str | None]]:
    return [
        {str(column): _text(value) for column, value in row.items()}
        for row in frame.to_dict("records")
    ]


def _write_table(
    path: str | Path, suffix: str, columns: list[str], records: list[dict[str, str | None]]
) -> None:
    if suffix == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(columns)
            writer.writerows([["" if r[c] is None else r[c] for c in columns] for r in records])
    elif suffix in (".json", ".jsonl"):
        _write_json_values(path, records, lines=suffix == ".jsonl")
    else:
        arrays = {c: pa.array([r[c] for r in records], type=pa.string()) for c in columns}
        pq.write_table(pa.table(arrays), path)


def _write_json_values(path: str | Path, values: Sequence[object], *, lines: bool) -> None:
    with open(path, "w", encoding="utf-8") as out:
        if lines:
            out.writelines(json.dumps(v, ensure_ascii=False) + "\n" for v in values)
        else:
            json.dump(list(values), out, ensure_ascii=False, indent=1)
            out.write("\n")
