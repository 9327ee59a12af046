"""Exam files: dialects (canonical, praxis), nested JSON, and CSV / JSON / JSON Lines / Parquet.

This module sits beside the pure engine, not inside it: it touches files and uses pandas and
pyarrow. It turns files into a :class:`pandas.DataFrame` of *canonical* flat columns (DESIGN.md)
and back, and writes tables of result records, whole or chunk by chunk (:class:`TableWriter`).
Reading a file chunk by chunk, with the same semantics, is :mod:`cordtrial.isncsci.io.streaming`.

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

Every CSV file written here (results, OUTPUT.errors.csv, exams) has its text cells neutralized
against spreadsheet formulas (:mod:`cordtrial.isncsci.io.csv_safety`): a cell starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``; numbers stay numbers.

Errors::

    ValueError
     └── IsncsciError                  (cordtrial.isncsci.errors)
          └── FileFormatError          a file that cannot be read or written as exams
               └── UnreadableInputError  an input file: missing, empty, truncated, no exam columns
                                         (for a results file: no ``id`` column, duplicate ids)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Literal, get_args

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from cordtrial.isncsci.errors import IsncsciError
from cordtrial.isncsci.exam import EXAM_COLUMNS, KEY_MUSCLES, NKM_COLUMNS, SENSORY_LEVELS
from cordtrial.isncsci.io.csv_safety import neutralize_csv_row

__all__ = [
    "DIALECTS",
    "ERROR_FIELDS",
    "EXTENSIONS",
    "PRAXIS_COLUMNS",
    "Dialect",
    "FileFormatError",
    "TableWriter",
    "UnreadableInputError",
    "canonical_to_praxis",
    "detect_dialect",
    "errors_path",
    "flat_to_nested",
    "format_of",
    "nested_to_flat",
    "praxis_to_canonical",
    "read_frame",
    "read_table",
    "write_frame",
    "write_results",
]

Dialect = Literal["canonical", "praxis"]
DIALECTS: tuple[Dialect, ...] = get_args(Dialect)
#: File extensions read and written, each naming its format.
EXTENSIONS: tuple[str, ...] = (".csv", ".json", ".jsonl", ".parquet")
#: Columns of the rejected-rows table (``OUTPUT.errors.csv``; see
#: :func:`cordtrial.isncsci.io.streaming.classify_table`).
#: Columns of an errors file: the rejected row, its id, the field (column name) and its label in
#: words (``Right C6 motor``), the value as given and the engine's reason.
ERROR_FIELDS: tuple[str, ...] = ("row", "id", "field", "label", "value", "reason")

_CANONICAL_COLUMNS: tuple[str, ...] = (*EXAM_COLUMNS, *NKM_COLUMNS)
#: Compression of the Parquet files written (results chunk by chunk: see :class:`TableWriter`).
PARQUET_COMPRESSION = "snappy"
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


def read_frame(
    path: str | Path, dialect: Dialect | None = None, *, arrow: bool = True
) -> pd.DataFrame:
    """Read exams from a file into a frame of canonical columns.

    Parameters
    ----------
    path:
        A ``.csv``, ``.json``, ``.jsonl`` or ``.parquet`` file.
    dialect:
        ``"canonical"`` or ``"praxis"``; detected from the column names when ``None``.
    arrow:
        ``True`` (the default): every column as Arrow-backed strings (``string[pyarrow]``,
        missing cells ``<NA>``), what ``classify_frame`` codes fastest (docs/benchmarks.md); a
        Parquet file's columns stay in Arrow's memory. ``False``: ``object`` columns of ``str``,
        missing cells ``None`` (the default before engine release 1.1.0), for code that reads
        cells as Python values one by one.

    Returns
    -------
    pandas.DataFrame
        One row per exam, in file order, with a default index. Exam columns carry canonical
        names; every canonical exam column is present (added empty where the file lacks it), the
        file's other columns pass through in place. Values are text: Arrow strings, missing
        cells ``<NA>`` -- or ``str`` (object dtype), missing cells ``None``, with ``arrow=False``.

    Raises
    ------
    UnreadableInputError
        The file is missing, empty, not valid for its format, or holds no exam columns.
    """
    if dialect is not None and dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    suffix = _input_format(path)
    data = _read_input(path)
    if suffix == ".parquet":
        table = _parquet_table(path, data)
        names = _canonical_names(path, table.column_names, dialect)
        texts = {
            name: _arrow_text(table.column(i).combine_chunks()) for i, name in enumerate(names)
        }
        if arrow:
            return _with_absent_arrow(texts, table.num_rows)
        columns = {name: text.to_numpy(zero_copy_only=False) for name, text in texts.items()}
        return _with_absent(columns, table.num_rows)
    try:
        columns_, rows = _READERS[suffix](data)
    except ValueError as err:
        raise UnreadableInputError(path, str(err)) from None
    frame = _canonical_frame(path, columns_, rows, dialect)
    return frame.astype(_ARROW_STRINGS) if arrow else frame


#: The dtype of the columns of ``read_frame(..., arrow=True)``.
_ARROW_STRINGS: Final = "string[pyarrow]"


def read_table(path: str | Path) -> pd.DataFrame:
    """Read any table (result records, rejected rows) from a file, every value as text.

    The same formats and text rules as :func:`read_frame`, without its exam columns: the columns
    are the file's, in its order; values ``str`` (object dtype), missing cells ``None``.

    Raises
    ------
    UnreadableInputError
        The file is missing, empty or not valid for its format.
    """
    suffix = _input_format(path)
    data = _read_input(path)
    if suffix == ".parquet":
        table = _parquet_table(path, data)
        _check_columns_of(path, table.column_names)
        columns = {
            str(name): _arrow_text(table.column(i).combine_chunks()).to_numpy(zero_copy_only=False)
            for i, name in enumerate(table.column_names)
        }
        return pd.DataFrame(columns, columns=list(columns), dtype=object)
    try:
        names, rows = _READERS[suffix](data)
    except ValueError as err:
        raise UnreadableInputError(path, str(err)) from None
    table_rows = [[_text(row.get(name)) for name in names] for row in rows]
    return pd.DataFrame(table_rows, columns=names, dtype=object)


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


def write_results(
    results: pd.DataFrame, path: str | Path, *, metadata: Mapping[str, str] | None = None
) -> None:
    """Write classification result records (or any table) to a file, every value as text.

    The extension chooses the format (``.csv``, ``.json``, ``.jsonl``, ``.parquet``); the
    columns are written in the frame's order. ``metadata`` goes into a Parquet file's key-value
    metadata (other formats have none). The same as one :meth:`TableWriter.write`.

    Raises
    ------
    FileFormatError
        For an unknown extension.
    """
    with TableWriter(path, [str(c) for c in results.columns], metadata=metadata) as writer:
        writer.write(results)


class TableWriter:
    """Write a table to a file chunk by chunk, every value as text; memory holds one chunk.

    CSV: the header line once, then the rows of each chunk. JSON Lines: one object per line.
    JSON: one array of objects, opened at the first row and closed by :meth:`close`, laid out as
    ``json.dump(..., indent=1)`` would. Parquet: one row group per chunk, every column a string,
    ``metadata`` as the file's key-value metadata; a categorical column (``classify_frame``'s
    results) is handed to Parquet as its codes and its categories (an Arrow dictionary array,
    the categories' text made once while they stay the same): Parquet's dictionary encoding
    then writes the codes as they are, with no text made or hashed per row. The file holds
    plain strings all the same (no Arrow schema is stored: a reader gets ``string`` columns).
    Missing values are empty CSV cells, JSON ``null`` or Parquet nulls. Use it as a context
    manager, or call :meth:`close`.

    Parameters
    ----------
    path:
        The file to write (replaced if it exists).
    columns:
        The columns, in order; each chunk must hold them (others are not written).
    metadata:
        Key-value metadata for a Parquet file.
    format:
        ``".csv"``, ``".json"``, ``".jsonl"`` or ``".parquet"``; by ``path``'s extension when
        ``None`` (so a temporary file may carry any name).
    unique:
        Columns whose values are (nearly) all distinct, such as ids: Parquet writes them without
        trying a dictionary first.

    Raises
    ------
    FileFormatError
        For an unknown format.
    OSError
        When the file cannot be created or written.
    """

    def __init__(
        self,
        path: str | Path,
        columns: Sequence[str],
        *,
        metadata: Mapping[str, str] | None = None,
        format: str | None = None,
        unique: Sequence[str] = (),
    ):
        self.path = Path(path)
        self.columns = [str(c) for c in columns]
        self.format = format_of(path) if format is None else format_of(f"table{format}")
        #: Rows written so far.
        self.rows = 0
        self._parquet: Any = None
        self._sink: Any = None
        self._metadata = dict(metadata or {})
        self._unique = {str(c) for c in unique}
        #: per column: the categories last written and their text as an Arrow array
        self._dictionaries: dict[str, tuple[Any, Any]] = {}
        self._text: IO[str] | None = None
        if self.format == ".parquet":
            # the writer itself waits for the first chunk (its columns' Arrow types)
            self._sink = pa.OSFile(str(self.path), "wb")
        else:
            self._text = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by close()
            if self.format == ".csv":
                csv.writer(self._text).writerow(self.columns)

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of ``frame`` (its columns ``columns``, values as :func:`read_frame`
        would read them back: text, or anything :func:`_text` turns into text)."""
        if not len(frame):
            return
        if self._sink is not None:
            self._write_parquet(frame)
        else:
            arrays = [_text_array(frame[c]) for c in self.columns]
            assert self._text is not None
            values: list[list[str | None]] = [a.to_pylist() for a in arrays]
            rows = zip(*values, strict=True)
            if self.format == ".csv":
                csv.writer(self._text).writerows(neutralize_csv_row(row) for row in rows)
            elif self.format == ".jsonl":
                self._text.writelines(
                    json.dumps(dict(zip(self.columns, row, strict=True)), ensure_ascii=False) + "\n"
                    for row in rows
                )
            else:
                for number, row in enumerate(rows, start=self.rows):
                    record = dict(zip(self.columns, row, strict=True))
                    text = json.dumps(record, ensure_ascii=False, indent=1).replace("\n", "\n ")
                    self._text.write(("[\n " if number == 0 else ",\n ") + text)
        self.rows += len(frame)

    def close(self) -> None:
        """Finish the file (close the JSON array, write the Parquet footer)."""
        if self._sink is not None:
            try:
                if self._parquet is None:  # no rows: the columns as strings
                    self._open_parquet([pa.field(c, pa.string()) for c in self.columns])
                self._parquet.close()
            finally:
                self._parquet = None
                self._sink.close()
                self._sink = None
        if self._text is not None:
            if self.format == ".json":
                self._text.write("\n]\n" if self.rows else "[]\n")
            self._text.close()
            self._text = None

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        arrays = [self._parquet_array(c, frame[c]) for c in self.columns]
        if self._parquet is None:
            fields = zip(self.columns, arrays, strict=True)
            self._open_parquet([pa.field(c, a.type) for c, a in fields])
        schema = self._parquet.schema
        for i, wanted in enumerate(schema.types):
            if arrays[i].type != wanted:  # a column that came otherwise in the first chunk
                if pa.types.is_dictionary(wanted):
                    arrays[i] = arrays[i].dictionary_encode().cast(wanted)
                else:
                    arrays[i] = arrays[i].dictionary_decode()
        self._parquet.write_table(pa.Table.from_arrays(arrays, schema=schema))

    def _open_parquet(self, fields: list[Any]) -> None:
        # Statistics (min and max text) of a categorical column cost Arrow a pass over its codes
        # and their text per chunk -- half the writing time of classify_frame's results -- and
        # say little of a column of levels or grades: they are kept for the other columns.
        coded = {f.name for f in fields if pa.types.is_dictionary(f.type)}
        self._parquet = pq.ParquetWriter(
            self._sink,
            pa.schema(fields),
            store_schema=False,  # read back as strings, whatever Arrow type they were written from
            compression=PARQUET_COMPRESSION,
            use_dictionary=[f.name for f in fields if f.name not in self._unique],
            write_statistics=[f.name for f in fields if f.name not in coded],
        )
        if self._metadata:
            self._parquet.add_key_value_metadata(self._metadata)

    def _parquet_array(self, name: str, series: pd.Series[Any]) -> Any:
        """A column as Arrow strings, or a categorical as a dictionary array of text."""
        if not isinstance(series.dtype, pd.CategoricalDtype):
            return _text_array(series)
        categories = series.cat.categories
        known = self._dictionaries.get(name)
        if known is None or not (known[0] is categories or known[0].equals(categories)):
            # classify_frame's chunks share their categories until a new text appears
            known = (categories, _texts_of(categories))
            self._dictionaries[name] = known
        codes = series.cat.codes.to_numpy()
        missing = codes < 0
        indices = pa.array(codes.astype(np.int32), mask=missing if missing.any() else None)
        return pa.DictionaryArray.from_arrays(indices, known[1])

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


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


# --- reading --------------------------------------------------------------------------------------

_Rows = tuple[list[str], list[dict[str, Any]]]


def _read_csv(data: bytes) -> _Rows:
    text = _decode(data)
    try:
        lines = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as err:
        raise ValueError(f"not valid CSV: {err} (truncated or unbalanced quotes?)") from None
    lines = [line for line in lines if line]  # blank lines hold no exam
    if not lines:  # a byte-order mark alone
        raise ValueError("file is empty")
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


_READERS: dict[str, Callable[[bytes], _Rows]] = {
    ".csv": _read_csv,
    ".json": _read_json,
    ".jsonl": _read_jsonl,
}


def _input_format(path: str | Path) -> str:
    """The format of an input file by its extension; refused as unreadable when unknown."""
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise UnreadableInputError(
            path, f"unknown file extension {Path(path).suffix!r} (use {', '.join(EXTENSIONS)})"
        )
    return suffix


def _open_input(path: str | Path) -> IO[bytes]:
    """An input file opened for reading bytes; refused as unreadable when it cannot be."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise UnreadableInputError(path, "file not found") from None
    except IsADirectoryError:
        raise UnreadableInputError(path, "is a directory, not a file") from None
    except OSError as err:
        raise UnreadableInputError(path, f"cannot be read ({err.strerror})") from None


def _read_input(path: str | Path) -> bytes:
    with _open_input(path) as file:
        try:
            data = file.read()
        except OSError as err:
            raise UnreadableInputError(path, f"cannot be read ({err.strerror})") from None
    if not data.strip():
        raise UnreadableInputError(path, "file is empty")
    return data


def _parquet_table(path: str | Path, data: bytes) -> Any:
    try:
        return pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as err:
        raise _parquet_error(path, err) from None


def _parquet_error(path: str | Path, error: Exception) -> UnreadableInputError:
    # Arrow names its own reader ("Could not open Parquet input source '<Buffer>': ...")
    problem = re.sub(r"^Could not open Parquet input source '[^']*': ", "", str(error))
    return UnreadableInputError(path, f"not a valid Parquet file: {problem}")


def _arrow_text(array: Any) -> Any:
    """An Arrow array as a string array, value by value as :func:`_text` gives it (nulls stay).

    Strings pass as they are; integers and booleans are cast; any other type is turned to text
    once per distinct value.
    """
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return array
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string())
    if pa.types.is_integer(kind):
        return pc.cast(array, pa.string())
    if pa.types.is_boolean(kind):
        return pc.if_else(array, "true", "false")
    try:
        encoded = array.dictionary_encode()
    except pa.ArrowNotImplementedError:  # nested types: no hashing, value by value
        return pa.array([_text(v) for v in array.to_pylist()], type=pa.string())
    texts = pa.array([_text(v) for v in encoded.dictionary.to_pylist()], type=pa.string())
    return texts.take(encoded.indices)


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


def _check_columns_of(path: str | Path, columns: Sequence[str]) -> None:
    try:
        _check_columns(columns)
    except ValueError as err:
        raise UnreadableInputError(path, str(err)) from None


def _records(values: list[Any], unit: str, first: int = 1) -> _Rows:
    """Flat records of JSON values, numbered from ``first`` in messages."""
    columns: dict[str, None] = {}
    rows: list[dict[str, Any]] = []
    for number, value in enumerate(values, start=first):
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


def _resolve_dialect(path: str | Path, columns: Sequence[str], dialect: Dialect | None) -> Dialect:
    """The dialect of a file with ``columns``: detected, or checked when forced."""
    if dialect is None:
        try:
            return detect_dialect(columns)
        except ValueError as err:
            raise UnreadableInputError(path, str(err)) from None
    if dialect == "canonical" and not set(columns) & PRAXIS_COLUMNS.keys():
        raise UnreadableInputError(path, "no canonical exam columns found (such as 'r_c5_motor')")
    if dialect == "praxis" and not set(columns) & _FROM_PRAXIS.keys():
        raise UnreadableInputError(path, "no praxis exam columns found (such as 'c5RightMotor')")
    return dialect


def _renamed(path: str | Path, columns: Sequence[str], dialect: Dialect) -> list[str]:
    """``columns`` under their canonical names (other columns unchanged)."""
    rename = praxis_to_canonical if dialect == "praxis" else str
    names = [rename(c) for c in columns]
    if len(set(names)) != len(names):
        raise UnreadableInputError(path, "two columns map to the same canonical column")
    return names


def _canonical_names(
    path: str | Path, columns: Sequence[str], dialect: Dialect | None
) -> list[str]:
    _check_columns_of(path, columns)
    return _renamed(path, columns, _resolve_dialect(path, columns, dialect))


def _absent(names: Iterable[str]) -> list[str]:
    """The canonical exam columns that are not among ``names``."""
    present = set(names)
    return [c for c in _CANONICAL_COLUMNS if c not in present]


def _with_absent(columns: dict[str, Any], rows: int) -> pd.DataFrame:
    """A frame of ``columns`` (object arrays), then the absent canonical exam columns, empty."""
    for name in _absent(columns):
        columns[name] = np.full(rows, None, dtype=object)
    return pd.DataFrame(columns, columns=list(columns), dtype=object)


def _with_absent_arrow(columns: dict[str, Any], rows: int) -> pd.DataFrame:
    """:func:`_with_absent` with Arrow string columns (``_ARROW_STRINGS``)."""
    for name in _absent(columns):
        columns[name] = pa.nulls(rows, pa.string())
    return pd.DataFrame(
        {name: pd.array(text, dtype=_ARROW_STRINGS) for name, text in columns.items()},
        columns=list(columns),
    )


def _canonical_frame(
    path: str | Path, columns: list[str], rows: list[dict[str, Any]], dialect: Dialect | None
) -> pd.DataFrame:
    names = _renamed(path, columns, _resolve_dialect(path, columns, dialect))
    absent = _absent(names)
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


def _texts_of(values: pd.Index[Any]) -> Any:
    """The text of each value of an index (a categorical's categories), as Arrow strings."""
    try:  # categories of text (classify_frame's results): straight to Arrow
        return pa.array(values.to_numpy(dtype=object), type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_text(c) for c in values], type=pa.string())


def _text_array(series: pd.Series[Any]) -> Any:
    """A column as an Arrow string array, value by value as :func:`_text` gives it."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = _texts_of(series.cat.categories)
        codes = pa.array(series.cat.codes.to_numpy(), mask=series.cat.codes.to_numpy() < 0)
        return categories.take(codes)
    arrow = getattr(series.array, "_pa_array", None)
    if arrow is not None:
        return _arrow_text(arrow.combine_chunks())
    try:  # text and missing values (the common case) go straight to Arrow
        return pa.array(series.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_text(v) for v in series.tolist()], type=pa.string())


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
            rows = (["" if r[c] is None else r[c] for c in columns] for r in records)
            writer.writerows(neutralize_csv_row(row) for row in rows)
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
