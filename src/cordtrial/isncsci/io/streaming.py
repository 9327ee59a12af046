"""Exam files of any size, classified chunk by chunk with bounded memory.

:func:`classify_file` is what ``cordtrial isncsci classify INPUT -o OUTPUT`` runs: it reads the
input a chunk of rows at a time (:func:`open_exams`), classifies each chunk with the vectorized
:func:`~cordtrial.isncsci.batch.classify_frame` (or another *engine*), and appends the result
records and rejected rows to their files as it goes, in input order. It is a pipeline of
threads, so that both cores of a small machine have work: a thread reads ahead, the local engine
(:func:`classify_chunks`) classifies several chunks at once in threads of its own, and the
caller's thread writes; memory holds a few chunks whatever the size of the input. Reading
follows :func:`~cordtrial.isncsci.io.formats.read_frame` exactly -- every value as text, empty
cells missing, the same messages for unreadable files -- so a file streamed and the same file
read whole give the same results:

* Parquet: by row groups (``ParquetFile.iter_batches``), only the ``id`` and exam columns; the
  number of exams is known from the file's metadata;
* CSV: parsed by Arrow's streaming reader; where the file holds a quote character the standard
  :mod:`csv` module (what ``read_frame`` uses) checks the same rows in step, and from a row Arrow
  cannot read (a truncated line, a line with too many cells, text that is not UTF-8) on, the
  :mod:`csv` module reads alone, so that short rows and error messages are exactly
  ``read_frame``'s;
* JSON Lines: line by line;
* JSON (one array) is read whole, then handed on in chunks.

A file with *several* defects reports the first one met in file order (``read_frame`` reads all
before it reports, and names a UTF-8 error before a CSV one). For JSON Lines the dialect is
detected from the columns of the first chunk.

The results carry the engine that made them: :data:`~cordtrial.isncsci.ENGINE_VERSION` and
:data:`~cordtrial.isncsci.ISNCSCI_REVISION` in a Parquet output's key-value metadata
(:data:`PARQUET_METADATA_KEYS`), and for every format a sidecar ``OUTPUT.meta.json``
(:func:`meta_path`) with the run's details. A run that fails leaves no partial output: the files
are written under temporary names and renamed at the end.

Errors::

    ValueError
     └── IsncsciError
          └── FileFormatError            an output that cannot be written (names the file)
               └── UnreadableInputError  an input that cannot be read (also in mid-stream)
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import json
import os
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from cordtrial import __version__
from cordtrial.isncsci.classification import (
    ENGINE_VERSION,
    ISNCSCI_REVISION,
    RESULT_FIELDS,
    classify,
)
from cordtrial.isncsci.errors import InvalidExamError
from cordtrial.isncsci.exam import Exam
from cordtrial.isncsci.fields import field_label
from cordtrial.isncsci.io.formats import (
    _CANONICAL_COLUMNS,
    _READERS,
    DIALECTS,
    ERROR_FIELDS,
    Dialect,
    FileFormatError,
    TableWriter,
    UnreadableInputError,
    _absent,
    _arrow_text,
    _check_columns_of,
    _input_format,
    _open_input,
    _parquet_error,
    _records,
    _renamed,
    _resolve_dialect,
    _text,
    errors_path,
    format_of,
)

__all__ = [
    "CLASSIFY_THREADS",
    "DEFAULT_CHUNK_ROWS",
    "PARQUET_METADATA_KEYS",
    "READ_AHEAD_THREAD",
    "ClassifiedChunk",
    "ClassifyRun",
    "Engine",
    "EngineStamp",
    "ExamChunks",
    "StreamProgress",
    "classify_chunks",
    "classify_file",
    "classify_stream",
    "classify_table",
    "engine_stamp",
    "meta_path",
    "open_exams",
    "split_results",
]

#: Exams per chunk unless told otherwise: big enough for numpy to pay off, about 50 MB of cells.
DEFAULT_CHUNK_ROWS = 65_536
#: Name prefix of the threads :func:`classify_chunks` classifies in.
CLASSIFY_THREADS = "cordtrial-classify"
#: Name of the thread reading ahead in :func:`classify_file`.
READ_AHEAD_THREAD = "cordtrial-read-ahead"
#: Parquet key-value metadata of a results file: key -> what it holds.
PARQUET_METADATA_KEYS: dict[str, str] = {
    "cordtrial.engine_version": ENGINE_VERSION,
    "cordtrial.isncsci_revision": ISNCSCI_REVISION,
    "cordtrial.version": __version__,
}
_CSV_BLOCK_BYTES = 4 << 20
_NEEDED = frozenset({"id", *_CANONICAL_COLUMNS})


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamProgress:
    """How far a stream has come: exams read, and bytes where the total is known in bytes."""

    exams: int
    total_exams: int | None
    bytes_read: int | None
    total_bytes: int | None


class _Source(Protocol):
    columns: list[str]
    total_exams: int | None
    total_bytes: int | None

    def position(self) -> int | None: ...

    def chunks(self, rows: int, dialect: Dialect) -> Iterator[Any]: ...

    def close(self) -> None: ...


class ExamChunks:
    """The exams of a file, chunk by chunk: what :func:`open_exams` returns.

    Iterate over it (once) for frames of at most ``chunk_rows`` exams, in file order. Each frame
    has a :class:`pandas.RangeIndex` that continues the previous one (the first exam is 0), the
    ``id`` column when the file has one, and every canonical exam column (empty where the file
    lacks it); other columns are not read. Values are text, missing cells missing, exactly as
    :func:`~cordtrial.isncsci.io.formats.read_frame` reads them; CSV and Parquet chunks hold
    Arrow-backed strings (``pd.ArrowDtype(pa.string())``), JSON and JSON Lines chunks ``str`` /
    ``None`` objects. Iterating raises :class:`UnreadableInputError` where the file turns out
    to be unreadable in mid-stream.

    Attributes
    ----------
    path, format, dialect, chunk_rows:
        The file, its extension, its column dialect (detected or as given), rows per chunk.
    total_exams:
        The number of exams when known before reading (Parquet, JSON), else ``None``.
    total_bytes:
        The file's size, where progress is measured in bytes (CSV, JSON Lines), else ``None``.
    exams_read:
        Exams handed out so far.
    """

    def __init__(self, path: Path, source: _Source, dialect: Dialect, chunk_rows: int):
        self.path = path
        self.format = path.suffix.lower()
        self.dialect: Dialect = dialect
        self.chunk_rows = chunk_rows
        self.total_exams = source.total_exams
        self.total_bytes = source.total_bytes
        self.exams_read = 0
        self._source = source
        self._started = False
        self._dtypes: _Dtypes = {}

    def progress(self) -> StreamProgress:
        """Exams read so far, and bytes where the total is known in bytes."""
        position = self._source.position() if self.total_bytes is not None else None
        return StreamProgress(self.exams_read, self.total_exams, position, self.total_bytes)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        if self._started:
            raise RuntimeError("the chunks of an ExamChunks can be read only once")
        self._started = True
        mapping: list[tuple[str, str]] | None = None
        for part in self._source.chunks(self.chunk_rows, self.dialect):
            if isinstance(part, pd.DataFrame):
                frame = part
            else:
                if mapping is None:
                    names = _renamed(self.path, self._source.columns, self.dialect)
                    mapping = [
                        (old, new)
                        for old, new in zip(self._source.columns, names, strict=True)
                        if new in _NEEDED
                    ]
                frame = _arrow_frame(part, mapping, self._dtypes)
            frame.index = pd.RangeIndex(self.exams_read, self.exams_read + len(frame))
            self.exams_read += len(frame)
            yield frame

    def close(self) -> None:
        """Close the file."""
        self._source.close()

    def __enter__(self) -> ExamChunks:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_exams(
    path: str | Path, dialect: Dialect | None = None, *, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> ExamChunks:
    """Open an exam file for reading chunk by chunk (see :class:`ExamChunks`).

    The file's header or schema is read and checked here, so that a missing, empty or
    unreadable file, or one without exam columns, is refused before anything is classified.

    Parameters
    ----------
    path:
        A ``.csv``, ``.json``, ``.jsonl`` or ``.parquet`` file.
    dialect:
        ``"canonical"`` or ``"praxis"``; detected from the column names when ``None``.
    chunk_rows:
        Exams per chunk (at least 1).

    Raises
    ------
    UnreadableInputError
        As :func:`~cordtrial.isncsci.io.formats.read_frame` would raise it.
    """
    if dialect is not None and dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
    source_path = Path(path)
    suffix = _input_format(source_path)
    with _open_input(source_path) as file:  # missing, a folder, unreadable: refused here
        _refuse_blank(source_path, file)
    source: _Source
    if suffix == ".parquet":
        source = _ParquetSource(source_path)
    elif suffix == ".csv":
        source = _CsvSource(source_path)
    elif suffix == ".jsonl":
        source = _JsonLinesSource(source_path, dialect, chunk_rows)
    else:
        source = _JsonSource(source_path)
    try:
        _check_columns_of(source_path, source.columns)
        resolved = _resolve_dialect(source_path, source.columns, dialect)
        _renamed(source_path, source.columns, resolved)
    except BaseException:
        source.close()
        raise
    return ExamChunks(source_path, source, resolved, chunk_rows)


def _refuse_blank(path: Path, file: IO[bytes]) -> None:
    """``read_frame``'s "file is empty": nothing but white space (read until something else)."""
    try:
        while block := file.read(1 << 16):
            if block.strip():
                return
    except OSError as err:
        raise UnreadableInputError(path, f"cannot be read ({err.strerror})") from None
    raise UnreadableInputError(path, "file is empty")


#: Per column: the last Arrow dictionary read and the Categorical dtype over its values.
_Dtypes = dict[str, tuple[Any, Any]]


def _arrow_frame(
    table: Any, mapping: list[tuple[str, str]], dtypes: _Dtypes | None = None
) -> pd.DataFrame:
    """A frame of Arrow-backed text columns under canonical names, absent exam columns empty;
    dictionary columns as Categoricals, whose dtypes are kept in ``dtypes`` from chunk to chunk
    (a file's row groups mostly repeat a column's dictionary)."""
    n = table.num_rows
    data: dict[str, Any] = {}
    for old, new in mapping:
        column = table.column(old)
        kind = column.type
        if pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type):
            data[new] = _categorical(column, new, {} if dtypes is None else dtypes)
        else:
            data[new] = pd.arrays.ArrowExtensionArray(_arrow_text(column.combine_chunks()))
    for name in _absent(data):
        data[name] = pd.arrays.ArrowExtensionArray(pa.nulls(n, pa.string()))
    return pd.DataFrame(data, index=pd.RangeIndex(n), copy=False)


def _categorical(column: Any, name: str, dtypes: _Dtypes) -> Any:
    """A dictionary-encoded text column as a pandas Categorical (classify_frame codes each
    distinct value once), or as Arrow strings where its dictionary does not fit one."""
    if column.num_chunks == 1:
        array = column.chunk(0)
    else:
        array = column.unify_dictionaries().combine_chunks()
    indices = array.indices
    codes = indices.fill_null(-1) if indices.null_count else indices
    dictionary = array.dictionary
    known = dtypes.get(name)
    if known is None or not known[0].equals(dictionary):
        try:
            categories = pd.Index(dictionary.to_numpy(zero_copy_only=False), dtype=object)
            known = (dictionary, pd.CategoricalDtype(categories))
        except ValueError:  # a null or a repeated value in the dictionary
            return pd.arrays.ArrowExtensionArray(_arrow_text(array))
        dtypes[name] = known
    dtype = known[1]
    width = np.int8 if len(dictionary) < 128 else np.int16 if len(dictionary) < 32768 else np.int32
    return pd.Categorical.from_codes(codes.to_numpy().astype(width), dtype=dtype, validate=False)


def _rebatch(tables: Iterable[Any], rows: int) -> Iterator[Any]:
    """Tables of exactly ``rows`` rows (the last one fewer) from tables of any length."""
    pending: list[Any] = []
    count = 0
    for table in tables:
        if not table.num_rows:
            continue
        pending.append(table)
        count += table.num_rows
        while count >= rows:
            whole = pa.concat_tables(pending)
            yield whole.slice(0, rows)
            pending = [whole.slice(rows)]
            count -= rows
    if count:
        yield pa.concat_tables(pending)


class _ParquetSource:
    def __init__(self, path: Path):
        self.path = path
        self.total_bytes: int | None = None
        self._file = _open_input(path)
        try:
            self._parquet = pq.ParquetFile(self._file)
        except (pa.ArrowException, OSError) as err:
            self._file.close()
            raise _parquet_error(path, err) from None
        self.columns: list[str] = [str(name) for name in self._parquet.schema_arrow.names]
        self.total_exams: int | None = int(self._parquet.metadata.num_rows)

    def position(self) -> int | None:
        return None

    def chunks(self, rows: int, dialect: Dialect) -> Iterator[Any]:
        names = _renamed(self.path, self.columns, dialect)
        needed = [old for old, new in zip(self.columns, names, strict=True) if new in _NEEDED]
        schema = self._parquet.schema_arrow
        # exam cells hold a handful of distinct values: read them as dictionaries (faster)
        cells = [
            old
            for old, new in zip(self.columns, names, strict=True)
            if new in _CANONICAL_COLUMNS and pa.types.is_string(schema.field(old).type)
        ]
        try:
            # pre_buffer=False: with Arrow's read-ahead cache, iter_batches keeps every row
            # group's buffers until the end of the file (the resident size grew with the input)
            parquet = pq.ParquetFile(self._file, read_dictionary=cells, pre_buffer=False)
            batches = parquet.iter_batches(batch_size=rows, columns=needed)
            yield from _rebatch((pa.Table.from_batches([batch]) for batch in batches), rows)
        except (pa.ArrowException, OSError) as err:
            raise _parquet_error(self.path, err) from None

    def close(self) -> None:
        self._file.close()


class _CsvRecords:
    """The records of a CSV file as ``read_frame`` reads them: the :mod:`csv` module (strict),
    blank records skipped, a short record padded with missing cells, a long one refused."""

    def __init__(self, path: Path):
        self.path = path
        self._raw = _open_input(path)
        self.size = os.fstat(self._raw.fileno()).st_size
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", newline="")
        self._reader = csv.reader(self._text, strict=True)
        #: Records read, the header included: the ``line`` of ``read_frame``'s messages.
        self.number = 0
        self.header: list[str] = []
        try:
            header = self.next()
            if header is None:  # only a byte-order mark
                raise UnreadableInputError(path, "file is empty")
        except BaseException:
            self.close()
            raise
        self.header = header

    def next(self) -> list[str] | None:
        """The next non-blank record, or ``None`` at the end of the file."""
        try:
            for record in self._reader:
                if not record:
                    continue
                self.number += 1
                if self.header and len(record) > len(self.header):
                    raise UnreadableInputError(
                        self.path,
                        f"line {self.number} has {len(record)} cells "
                        f"but the header has {len(self.header)}",
                    )
                return record
        except csv.Error as err:
            raise UnreadableInputError(
                self.path, f"not valid CSV: {err} (truncated or unbalanced quotes?)"
            ) from None
        except UnicodeDecodeError:
            offset = _utf8_error_offset(self.path)
            raise UnreadableInputError(
                self.path, f"not UTF-8 text (at byte offset {offset})"
            ) from None
        return None

    def skip(self, count: int) -> None:
        """Read ``count`` records (checking them) without keeping them."""
        for _ in range(count):
            if self.next() is None:
                raise UnreadableInputError(self.path, "ends before the rows already read")

    def table(self, rows: int) -> Any:
        """The next ``rows`` records (fewer at the end) as a table of text, or ``None``."""
        records: list[list[str]] = []
        while len(records) < rows and (record := self.next()) is not None:
            records.append(record)
        if not records:
            return None
        width = len(self.header)
        padded = (r if len(r) == width else r + [""] * (width - len(r)) for r in records)
        columns = zip(*padded, strict=True)
        arrays = []
        for cells in columns:
            array = pa.array(cells, type=pa.string())
            arrays.append(pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array))
        return pa.Table.from_arrays(arrays, names=self.header)

    def position(self) -> int:
        return int(self._raw.tell())

    def close(self) -> None:
        self._text.close()


def _utf8_error_offset(path: Path) -> int:
    """Where ``read_frame`` places a UTF-8 error: the byte offset after any byte-order mark."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as file:
        if file.read(3) != codecs.BOM_UTF8:
            file.seek(0)
        while True:
            block = file.read(1 << 20)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as err:
                return offset - pending + err.start
            if not block:
                return offset
            offset += len(block)


def _contains(path: Path, byte: bytes) -> bool:
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            if byte in block:
                return True
    return False


class _CsvSource:
    def __init__(self, path: Path):
        self.path = path
        self._records = _CsvRecords(path)
        self.columns = self._records.header
        self.total_exams: int | None = None
        self.total_bytes: int | None = self._records.size
        self._arrow_file: Any = None
        # bytes of the records handed out, estimated from their cells (Arrow reads far ahead)
        self._consumed = len(",".join(self.columns)) + 1
        try:
            # Without a quote character Arrow and the csv module cannot part ways on a record.
            self._quoted = _contains(path, b'"')
        except BaseException:
            self.close()
            raise

    def position(self) -> int | None:
        return min(self._consumed, self._records.size)

    def chunks(self, rows: int, dialect: Dialect) -> Iterator[Any]:
        for table in _rebatch(self._tables(), rows):
            # a cell's text and its comma (or the line's end); quotes are not counted
            cells = sum(pc.sum(pc.binary_length(column)).as_py() or 0 for column in table.columns)
            self._consumed += cells + table.num_rows * table.num_columns
            yield table
        self._consumed = self._records.size

    def _tables(self) -> Iterator[Any]:
        delivered = 0
        try:
            reader = self._arrow_reader()
            if reader is not None:
                for batch in reader:
                    if self._quoted:
                        self._records.skip(batch.num_rows)  # the csv module checks each record
                    delivered += batch.num_rows
                    yield pa.Table.from_batches([batch])
                if not self._quoted:
                    return
        except pa.ArrowException:
            # from here on the csv module reads alone: short rows, read_frame's messages
            if not self._quoted:
                self._records.skip(delivered)
        finally:
            if self._arrow_file is not None:
                self._arrow_file.close()
                self._arrow_file = None
        while (table := self._records.table(_CSV_BLOCK_BYTES // 256)) is not None:
            yield table

    def _arrow_reader(self) -> Any:
        self._arrow_file = pa.OSFile(str(self.path))
        reader = pa_csv.open_csv(
            self._arrow_file,
            read_options=pa_csv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(newlines_in_values=self._quoted),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in self.columns},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        if [str(name) for name in reader.schema.names] != self.columns:
            return None  # a header Arrow reads otherwise: the csv module reads the file
        return reader

    def close(self) -> None:
        if self._arrow_file is not None:
            self._arrow_file.close()
        self._records.close()


class _JsonLinesSource:
    def __init__(self, path: Path, dialect: Dialect | None, rows: int):
        self.path = path
        self._file = _open_input(path)
        self._forced = dialect
        self.total_exams: int | None = None
        self.total_bytes: int | None = os.fstat(self._file.fileno()).st_size
        self._line = 0  # lines read, blank ones included (numbers in messages)
        self._offset = 0  # bytes read after any byte-order mark (offsets in messages)
        try:
            if self._file.read(3) != codecs.BOM_UTF8:
                self._file.seek(0)
            first = self._next_values(rows)  # the first chunk's columns decide the dialect
            self._pending = self._flat(first, 1)
        except BaseException:
            self._file.close()
            raise
        self._values = len(first)  # exams read (numbers in "is not an object" messages)
        self.columns = self._pending[0]

    def position(self) -> int | None:
        return int(self._file.tell())

    def _flat(self, values: list[Any], first: int) -> tuple[list[str], list[dict[str, Any]]]:
        try:
            return _records(values, "line", first)
        except ValueError as err:  # not an object, a bad nested exam
            raise UnreadableInputError(self.path, str(err)) from None

    def _next_values(self, count: int) -> list[Any]:
        values: list[Any] = []
        while len(values) < count and (raw := self._file.readline()):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise UnreadableInputError(
                    self.path, f"not UTF-8 text (at byte offset {self._offset + err.start})"
                ) from None
            self._offset += len(raw)
            for line in text.splitlines():  # as read_frame splits: at \r, \u2028 ... too
                self._line += 1
                if not line.strip():
                    continue
                try:
                    values.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise UnreadableInputError(
                        self.path, f"line {self._line} is not valid JSON: {err} (truncated?)"
                    ) from None
        return values

    def chunks(self, rows: int, dialect: Dialect) -> Iterator[Any]:
        seen = set(self.columns)
        columns, records = self._pending
        self._pending = ([], [])
        while records:
            yield _object_frame(self.path, columns, records, dialect)
            values = self._next_values(rows)
            columns, records = self._flat(values, self._values + 1)
            self._values += len(values)
            if self._forced is None and not seen.issuperset(columns):
                seen.update(columns)  # read_frame refuses columns of both dialects
                _resolve_dialect(self.path, sorted(seen), None)

    def close(self) -> None:
        self._file.close()


class _JsonSource:
    def __init__(self, path: Path):
        self.path = path
        with _open_input(path) as file:
            data = file.read()
        try:
            self.columns, self._rows = _READERS[".json"](data)
        except ValueError as err:
            raise UnreadableInputError(path, str(err)) from None
        self.total_exams: int | None = len(self._rows)
        self.total_bytes: int | None = None

    def position(self) -> int | None:
        return None

    def chunks(self, rows: int, dialect: Dialect) -> Iterator[Any]:
        for start in range(0, len(self._rows), rows):
            yield _object_frame(self.path, self.columns, self._rows[start : start + rows], dialect)

    def close(self) -> None:
        self._rows = []


def _object_frame(
    path: Path, columns: list[str], rows: list[dict[str, Any]], dialect: Dialect
) -> pd.DataFrame:
    """``read_frame``'s frame of some records, only the ``id`` and exam columns."""
    names = _renamed(path, columns, dialect)
    kept = [(old, new) for old, new in zip(columns, names, strict=True) if new in _NEEDED]
    absent = _absent(new for _, new in kept)
    table = [[_text(row.get(old)) for old, _ in kept] + [None] * len(absent) for row in rows]
    return pd.DataFrame(table, columns=[*(new for _, new in kept), *absent], dtype=object)


# --- classifying -----------------------------------------------------------------------------

#: An engine: canonical chunks in, each chunk with its ``classify_frame`` result out, in order.
Engine = Callable[[Iterable[pd.DataFrame]], Iterator[tuple[pd.DataFrame, pd.DataFrame]]]


def classify_chunks(
    chunks: Iterable[pd.DataFrame], workers: int | None = None
) -> Generator[tuple[pd.DataFrame, pd.DataFrame], None, None]:
    """The local engine: each chunk with its :func:`~cordtrial.isncsci.batch.classify_frame`,
    several chunks classified at once in threads of their own, handed out in order.

    Each chunk is classified by ``classify_frame(chunk, workers=1)`` in a pool of ``workers``
    threads (the compiled walk and Arrow leave the GIL, so they run on as many cores); at most
    ``workers + 1`` chunks are in the pool at once, so that the threads stay busy while the
    caller writes the chunk handed out, and memory stays bounded whatever the length of the
    stream. Chunks come out in the order they went in. An error classifying a chunk, or reading
    the next one, is raised where that chunk would have come; the threads end with the
    iterator (when it is exhausted, closed, or fails), after finishing the chunks they hold.

    Parameters
    ----------
    chunks:
        Frames of exams, canonical columns.
    workers:
        Threads classifying; default one per core (``os.cpu_count()``).
    """
    from cordtrial.isncsci.batch import classify_frame

    count = workers if workers is not None else (os.cpu_count() or 1)
    if count < 1:
        raise ValueError(f"workers: {count!r} is not a number of threads (1 or more)")
    pending: deque[tuple[pd.DataFrame, Future[pd.DataFrame]]] = deque()
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix=CLASSIFY_THREADS) as pool:
        try:
            for chunk in chunks:
                pending.append((chunk, pool.submit(classify_frame, chunk, workers=1)))
                if len(pending) > count:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        finally:
            for _, future in pending:  # stopped early or failed: drop what has not started
                future.cancel()


@dataclass(frozen=True)
class ClassifiedChunk:
    """The result records and the rejected rows of one chunk of exams.

    Attributes
    ----------
    results:
        One result record per valid exam, in order, columns exactly ``RESULT_FIELDS``.
    errors:
        One line per rejected exam, columns ``ERROR_FIELDS`` (``row`` counted over the whole
        input, from 1).
    exams:
        Exams in the chunk (``len(results) + len(errors)``).
    """

    results: pd.DataFrame
    errors: pd.DataFrame
    exams: int


def split_results(exams: pd.DataFrame, batch: pd.DataFrame, first_row: int = 1) -> ClassifiedChunk:
    """Split a ``classify_frame`` result into result records and rejected rows.

    Parameters
    ----------
    exams:
        The exams classified (canonical columns).
    batch:
        ``classify_frame(exams)``: columns ``BATCH_FIELDS``, same rows.
    first_row:
        The ``row`` of the first exam among all exams of the input (1 for a whole input).

    Notes
    -----
    A rejected row's ``field``, ``value`` and ``reason`` are the one-exam parser's
    (:meth:`~cordtrial.isncsci.Exam.from_flat`) on the row's cells as text -- what
    ``classify_frame`` reports, also where cells are Arrow-backed. Should ``classify_frame``
    reject an exam the parser accepts, the one-exam :func:`~cordtrial.isncsci.classify`
    classifies it: results never hang on a gap of the vectorized coder.
    """
    error = batch["error"]
    if isinstance(error.dtype, pd.CategoricalDtype):  # compared on its codes
        rejected = (error != "").to_numpy(dtype=bool, copy=True)
    else:
        rejected = (error.astype(object) != "").to_numpy(dtype=bool, copy=True)
    positions = np.flatnonzero(rejected)
    errors: list[tuple[int, str, str, str, str, str]] = []
    recovered: dict[int, dict[str, str]] = {}
    if len(positions):
        rows = exams.iloc[positions]
        names = [str(c) for c in rows.columns]
        cells = [rows[c].to_numpy(dtype=object) for c in rows.columns]
        ids = batch["id"].iloc[positions].tolist()
        for i, (position, exam_id) in enumerate(zip(positions, ids, strict=True)):
            values = {name: _text(column[i]) for name, column in zip(names, cells, strict=True)}
            try:
                exam = Exam.from_flat(values)
            except InvalidExamError as err:
                row = int(position) + first_row
                value = _text(err.value) or ""
                label = field_label(err.field)
                errors.append((row, _text(exam_id) or "", err.field, label, value, str(err)))
            else:
                recovered[int(position)] = classify(exam).to_record()
    if recovered:
        rejected[list(recovered)] = False
        results = batch.loc[~rejected, list(RESULT_FIELDS)].astype(object)
        kept = np.flatnonzero(~rejected)
        places = {str(name): i for i, name in enumerate(results.columns)}
        for recovered_at, record in recovered.items():
            row = int(np.searchsorted(kept, recovered_at))
            for name, value in record.items():
                results.iat[row, places[name]] = value
    elif rejected.any():
        results = batch.loc[~rejected, list(RESULT_FIELDS)]
    else:
        results = batch[list(RESULT_FIELDS)]
    results = results.assign(id=_id_texts(results["id"], exams, ~rejected))
    error_frame = pd.DataFrame(errors, columns=list(ERROR_FIELDS), dtype=object)
    error_frame["row"] = error_frame["row"].astype("int64")
    return ClassifiedChunk(results, error_frame, len(exams))


def _id_texts(ids: pd.Series[Any], exams: pd.DataFrame, kept: Any) -> Any:
    """Ids as text, ``""`` where missing: the exams' own ``id`` column where it is Arrow text
    (the rows ``kept``; no Python string per row), else the result records' ``ids``."""
    arrow = getattr(exams["id"].array, "_pa_array", None) if "id" in exams.columns else None
    if arrow is not None and pa.types.is_string(arrow.type):
        if not kept.all():
            arrow = arrow.filter(pa.array(kept))
        return pd.arrays.ArrowExtensionArray(arrow.fill_null(""))
    try:
        array = pa.array(ids.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers, dates ...: as read_frame words them
        return [_text(v) or "" for v in ids.tolist()]
    return pd.arrays.ArrowExtensionArray(array.fill_null(""))


def classify_stream(
    chunks: Iterable[pd.DataFrame], engine: Engine = classify_chunks
) -> Generator[ClassifiedChunk, None, None]:
    """Classify chunks of exams in order (rows numbered across chunks); closing the iterator
    closes the engine's."""
    first_row = 1
    classified = engine(chunks)
    try:
        for exams, batch in classified:
            yield split_results(exams, batch, first_row)
            first_row += len(exams)
    finally:  # closed early, or failed: the engine's threads end now, not when collected
        close = getattr(classified, "close", None)
        if close is not None:
            close()


def classify_table(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The result records and rejected rows of a frame of exams, as the CLI writes them.

    Parameters
    ----------
    frame:
        Exams as :func:`~cordtrial.isncsci.io.formats.read_frame` gives them.

    Returns
    -------
    results:
        One result record per valid exam, in row order, columns exactly ``RESULT_FIELDS``
        (categorical, as ``classify_frame`` gives them). ``id`` is the row's ``id`` column, or its
        row number when the frame has no ``id``.
    errors:
        One line per rejected exam, columns ``ERROR_FIELDS``: ``row`` is the 1-based position of
        the exam among the data rows, ``id`` as above, ``field``, ``value`` (as given, empty when
        missing) and ``reason`` (the engine's message).
    """
    from cordtrial.isncsci.batch import classify_frame

    part = split_results(frame, classify_frame(frame))  # one frame: its own threads
    return part.results, part.errors


# --- the run and its record ------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifyRun:
    """What :func:`classify_file` did; :meth:`record` is the sidecar's content."""

    input: Path
    output: Path
    errors: Path
    meta: Path
    dialect: Dialect
    exams: int
    classified: int
    rejected: int
    chunks: int
    created: dt.datetime
    ais: dict[str, int] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The run as written to ``OUTPUT.meta.json``."""
        return {
            "cordtrial_version": __version__,
            "engine_version": ENGINE_VERSION,
            "isncsci_revision": ISNCSCI_REVISION,
            "created": self.created.isoformat(timespec="seconds"),
            "input": str(self.input),
            "dialect": self.dialect,
            "results": str(self.output),
            "errors": str(self.errors),
            "exams": self.exams,
            "classified": self.classified,
            "rejected": self.rejected,
        }


def meta_path(output: str | Path) -> Path:
    """The sidecar of a results file: ``out.csv`` -> ``out.meta.json`` (beside the errors file)."""
    out = Path(output)
    return out.with_name(f"{out.stem}.meta.json")


def classify_file(
    input: str | Path,
    output: str | Path,
    *,
    dialect: Dialect | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    engine: Engine = classify_chunks,
    on_chunk: Callable[[StreamProgress], None] | None = None,
    created: dt.datetime | None = None,
) -> ClassifyRun:
    """Classify every exam of ``input`` into ``output``, chunk by chunk (bounded memory).

    Writes the result records to ``output`` (format by its extension; Parquet with
    :data:`PARQUET_METADATA_KEYS`), the rejected rows to ``errors_path(output)`` and the run's
    record to ``meta_path(output)``. The three are written under temporary names and renamed
    when all is done; on any error they are removed and files of those names stay untouched.

    Parameters
    ----------
    input, dialect, chunk_rows:
        As :func:`open_exams` takes them.
    output:
        The results file (``.csv``, ``.json``, ``.jsonl``, ``.parquet``).
    engine:
        What classifies the chunks (:data:`Engine`); the local ``classify_frame`` by default.
    on_chunk:
        Called after each chunk with the progress so far (for a progress bar).
    created:
        The time recorded in the sidecar; now (UTC) when ``None``.

    Raises
    ------
    UnreadableInputError
        The input cannot be read (before anything is written, or in mid-stream).
    FileFormatError
        An output file cannot be written (its path and the system's reason).
    """
    created = created or dt.datetime.now(dt.UTC)
    out = Path(output)
    suffix = format_of(out)
    errors_file, meta_file = errors_path(out), meta_path(out)
    temporary = {
        target: target.with_name(f".{target.name}.{os.getpid()}.part")
        for target in (out, errors_file, meta_file)
    }
    ais: Counter[str] = Counter()
    classified = rejected = chunks = 0
    writers: list[TableWriter] = []
    with open_exams(input, dialect, chunk_rows=chunk_rows) as exams:
        ahead = _ReadAhead(exams)
        parts = classify_stream(ahead, engine)
        try:
            with _writing(out):
                results = TableWriter(
                    temporary[out],
                    RESULT_FIELDS,
                    metadata=PARQUET_METADATA_KEYS,
                    format=suffix,
                    unique=("id",),
                )
                writers.append(results)
            with _writing(errors_file):
                errors = TableWriter(temporary[errors_file], ERROR_FIELDS, format=".csv")
                writers.append(errors)
            for part in parts:
                with _writing(out):
                    results.write(part.results)
                with _writing(errors_file):
                    errors.write(part.errors)
                classified += len(part.results)
                rejected += len(part.errors)
                chunks += 1
                ais.update(_counts(part.results["ais"]))
                progress = ahead.progress_of_next()
                if on_chunk is not None:
                    on_chunk(progress)
            for writer, target in ((results, out), (errors, errors_file)):
                with _writing(target):
                    writer.close()
            run = ClassifyRun(
                input=Path(input),
                output=out,
                errors=errors_file,
                meta=meta_file,
                dialect=exams.dialect,
                exams=classified + rejected,
                classified=classified,
                rejected=rejected,
                chunks=chunks,
                created=created,
                ais={str(k): int(v) for k, v in ais.items() if v},
            )
            with _writing(meta_file):
                text = json.dumps(run.record(), indent=2, ensure_ascii=False) + "\n"
                temporary[meta_file].write_text(text, encoding="utf-8")
            for target, part_file in temporary.items():
                with _writing(target):
                    os.replace(part_file, target)
        finally:
            parts.close()  # the classifying threads end (after the chunks they hold) ...
            ahead.close()  # ... then the reading one
            for writer in writers:
                with contextlib.suppress(OSError):  # already failing: report the first error
                    writer.close()
            for part_file in temporary.values():
                part_file.unlink(missing_ok=True)
    return run


def _counts(values: pd.Series[Any]) -> dict[str, int]:
    """How often each value occurs (as text), counted on a categorical's codes, not row by row."""
    counts = values.value_counts(sort=False, dropna=False)
    return {str(value): int(count) for value, count in counts.items() if count}


class _ReadAhead:
    """The chunks of an :class:`ExamChunks`, read one chunk ahead in a thread of their own.

    Reading and decoding the next chunk (Parquet, CSV: mostly Arrow, which leaves the GIL) then
    overlaps classifying and writing the current one. The progress after each chunk is taken
    when that chunk is read (what ``exams.progress()`` would say if read in step) and handed out
    with it, in order, by :meth:`progress_of_next`. An error met while reading is raised where
    the chunk would have come; memory grows by one chunk.
    """

    _END = object()

    def __init__(self, exams: ExamChunks):
        self._exams = exams
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._progress: deque[StreamProgress] = deque()
        self._thread = threading.Thread(target=self._read, name=READ_AHEAD_THREAD, daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def _read(self) -> None:
        try:
            for frame in self._exams:
                if not self._put((frame, self._exams.progress())):
                    return
        except BaseException as error:  # raised again in the reading thread's consumer
            self._put(error)
            return
        self._put(self._END)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            frame, progress = item
            self._progress.append(progress)
            yield frame

    def progress_of_next(self) -> StreamProgress:
        """The progress after the oldest chunk handed out and not yet asked about."""
        return self._progress.popleft()

    def close(self) -> None:
        """Stop reading ahead (the file may be closed after this)."""
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def _writing(target: Path) -> Iterator[None]:
    """Report a failure to write as a :class:`FileFormatError` naming ``target``."""
    try:
        yield
    except OSError as err:
        raise FileFormatError(target, str(err.strerror or err)) from None


@dataclass(frozen=True)
class EngineStamp:
    """The engine that made a results file, as its sidecar or Parquet metadata tells."""

    engine_version: str | None
    isncsci_revision: str | None
    created: str | None = None

    def __str__(self) -> str:
        return f"engine {self.engine_version or '?'}, ISNCSCI {self.isncsci_revision or '?'}"


def engine_stamp(results: str | Path) -> EngineStamp | None:
    """The engine version and ISNCSCI revision behind a results file, if recorded.

    Looks at the sidecar ``meta_path(results)`` first, then (for Parquet) at the file's
    key-value metadata; ``None`` when neither says.
    """
    path = Path(results)
    sidecar = meta_path(path)
    try:
        record = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if isinstance(record, dict) and "engine_version" in record:
        return EngineStamp(
            _str_or_none(record.get("engine_version")),
            _str_or_none(record.get("isncsci_revision")),
            _str_or_none(record.get("created")),
        )
    if path.suffix.lower() == ".parquet":
        try:
            metadata = pq.read_schema(path).metadata or {}
        except (pa.ArrowException, OSError):
            return None
        found = {k.decode(): v.decode() for k, v in metadata.items()}
        if "cordtrial.engine_version" in found:
            return EngineStamp(
                found["cordtrial.engine_version"], found.get("cordtrial.isncsci_revision")
            )
    return None


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
