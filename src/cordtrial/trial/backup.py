"""Backup and restore of the trial store: a consistent snapshot, restored whole.

Backup
------
* **SQLite**: SQLite's online backup API (``sqlite3.Connection.backup``) copies the database,
  committed write-ahead log included, page by page into a new SQLite file while writers carry on:
  the copy is the database as of one moment. The backup is itself a SQLite database.
* **PostgreSQL**: a logical dump, read in one ``REPEATABLE READ READ ONLY`` transaction (one
  snapshot of every table), written as gzip-compressed JSON Lines: a header line (format,
  migration revision, time, rows per table), then for each table a line naming it and its columns
  and one JSON array per row, in primary-key order. Dates are ISO 8601 text, moments ISO 8601 in
  UTC, JSON documents as they are. The server writes the rows' JSON itself, up to 5,000 rows to
  a query joined into one value (not one message per row); two more connections on the same
  exported snapshot (``pg_export_snapshot``, as ``pg_dump -j`` does) read a table's key ranges
  in parallel, a few blocks ahead of the writer, which compresses meanwhile (gzip through ISA-L,
  ``isal``, about four times faster than ``zlib`` at the same level): memory holds a few blocks
  at most. The file is portable: it restores into PostgreSQL or SQLite.

Restore
-------
:func:`restore` reads either kind of backup into the database at a URL. It refuses a database
that holds any row unless ``force`` is given (then the schema is dropped by the migrations'
downgrades first). It migrates the empty database to the backup's revision, inserts every row
with its id in foreign-key order (audit rows included, exactly as stored, so the hash chain is the
same), sets PostgreSQL's id sequences past the restored ids, migrates to the latest revision,
and returns the audit trail's verification (:func:`cordtrial.trial.audit.verify_audit`).
Rows stream from the backup into the target one table at a time, in batches (``COPY ... FROM
STDIN`` into PostgreSQL): memory does not grow with the size of the store.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from queue import Queue
from typing import IO, Any

from alembic.script import ScriptDirectory
from isal import igzip
from psycopg.types.json import Jsonb
from sqlalchemy import (
    JSON,
    Connection,
    Date,
    Engine,
    MetaData,
    Table,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url

from cordtrial import __version__
from cordtrial.trial.audit import AuditReport, verify_audit
from cordtrial.trial.database import (
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    make_session_factory,
    upgrade,
)
from cordtrial.trial.errors import BackupError
from cordtrial.trial.files import create_private_file, open_private, private_directory
from cordtrial.trial.models import Base
from cordtrial.trial.settings import normalize_database_url
from cordtrial.trial.types import UtcDateTime

__all__ = [
    "DUMP_FORMAT",
    "BackupError",
    "BackupInfo",
    "backup",
    "backup_kind",
    "read_info",
    "restore",
]

#: The ``format`` of a logical dump's header line.
DUMP_FORMAT = "cordtrial-dump"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_GZIP_MAGIC = b"\x1f\x8b"
_INSERT_ROWS = 1000
#: gzip level of a dump: 1 compresses several times faster than 9, for a somewhat larger file.
_GZIP_LEVEL = 1
#: Rows of a table one query of a dump reads (about 1.3 MB of JSON for audit rows).
_DUMP_CHUNK_ROWS = 5000
#: Connections reading a dump's snapshot in parallel (each a server process building JSON).
_DUMP_READERS = 2
#: A table is read in key ranges when its ids span at most this many times its row count.
_DUMP_SPARSE = 4


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """What a backup holds: its kind, migration revision and rows per table."""

    kind: str
    revision: str | None
    tables: dict[str, int]

    @property
    def rows(self) -> int:
        """Rows in all tables."""
        return sum(self.tables.values())


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(normalize_database_url(url))
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(parsed.database).expanduser()


def _counts(connection: Connection) -> dict[str, int]:
    present = set(inspect(connection).get_table_names())
    return {
        t.name: connection.scalar(select(func.count()).select_from(t)) or 0
        for t in Base.metadata.sorted_tables
        if t.name in present
    }


def backup(url: str, output: str | Path) -> BackupInfo:
    """Write a consistent snapshot of the database at ``url`` to ``output`` (a new file).

    Raises
    ------
    BackupError
        When ``output`` exists or the database has never been migrated.
    """
    output = Path(output)
    if output.exists():
        raise BackupError(f"{output}: exists; choose a new file (a backup never overwrites)")
    revision = current_revision(url)
    if revision is None:
        raise BackupError("the database has no schema (run `cordtrial db upgrade` first)")
    private_directory(output.parent)
    path = _sqlite_path(url)
    if path is not None:
        partial = output.with_name(output.name + ".partial")
        partial.unlink(missing_ok=True)  # left by a backup that was killed
        create_private_file(partial, exclusive=True)
        with sqlite3.connect(path) as source, sqlite3.connect(partial) as target:
            source.backup(target)
        target.close()
        source.close()
        partial.replace(output)
        return read_info(output)
    engine = make_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            partial = output.with_name(output.name + ".partial")
            # isal's igzip is untyped; it returns a gzip.GzipFile-like binary stream
            with (
                open_private(partial, "wb") as raw,
                igzip.open(raw, "wb", compresslevel=_GZIP_LEVEL) as stream,  # type: ignore[no-untyped-call]
            ):
                info = _dump(connection, revision, stream)
            partial.replace(output)
            return info
    finally:
        engine.dispose()


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _decode(table: Table, column: str, value: Any) -> Any:
    if value is None:
        return None
    kind = table.c[column].type
    if isinstance(kind, UtcDateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    return value


def _dump(connection: Connection, revision: str, stream: IO[bytes]) -> BackupInfo:
    counts = _counts(connection)
    header = {
        "format": DUMP_FORMAT,
        "format_version": 1,
        "revision": revision,
        "cordtrial_version": __version__,
        "created_at": datetime.now(UTC).isoformat(),
        "tables": counts,
    }
    stream.write((json.dumps(header) + "\n").encode())
    # The readers' connections see exactly this transaction's snapshot.
    snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
    tables = [t for t in Base.metadata.sorted_tables if t.name in counts]
    with _SnapshotReaders(connection.engine, snapshot, _DUMP_READERS) as readers:
        for block in readers.blocks(tables):
            stream.write(block)
    return BackupInfo("postgresql dump", revision, counts)


class _SnapshotReaders:
    """Connections reading one exported snapshot in parallel, in blocks of rows' JSON.

    Each block is the JSON of up to ``_DUMP_CHUNK_ROWS`` rows of a table, built by the server and
    joined into one ``bytea`` by one query (not one message per row). A table whose integer
    primary key is dense enough is cut into key ranges of ``_DUMP_CHUNK_ROWS`` ids, read by the
    connections in parallel, a few blocks ahead of the writer (which compresses meanwhile);
    blocks come back in key order. Any other table is read block after block, each starting
    after the last key of the one before (keyset paging).
    """

    def __init__(self, engine: Engine, snapshot: str, readers: int):
        self._connections: list[Any] = []
        self._free: Queue[Any] = Queue()
        self._pool = ThreadPoolExecutor(readers, thread_name_prefix="cordtrial-dump-reader")
        try:
            for _ in range(readers):
                raw = engine.raw_connection()
                self._connections.append(raw)
                cursor = raw.dbapi_connection.cursor()  # type: ignore[union-attr]
                # the engine's REPEATABLE READ transaction begins with this first statement
                cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                cursor.execute("SET TRANSACTION READ ONLY")
                # moments as ISO 8601 in UTC, as the rows' JSON is written by the server
                cursor.execute("SET LOCAL TIME ZONE 'UTC'")
                self._free.put(cursor)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> _SnapshotReaders:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for raw in self._connections:
            raw.rollback()
            raw.close()

    def _one(self, query: str, parameters: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        cursor = self._free.get()
        try:
            row: tuple[Any, ...] = cursor.execute(query, parameters, binary=True).fetchone()
            return row
        finally:
            self._free.put(cursor)

    def blocks(self, tables: list[Table]) -> Iterator[bytes]:
        """The dump's lines after the header, in blocks: per table, its line of columns, then
        its rows' JSON lines in primary-key order."""
        for table in tables:
            columns = [c.name for c in table.columns]
            yield (json.dumps({"table": table.name, "columns": columns}) + "\n").encode()
            if len(table.primary_key.columns) != 1:
                raise BackupError(f"table {table.name}: a dump needs a one-column primary key")
            key = next(iter(table.primary_key.columns))
            listed = ", ".join(f'"{name}"' for name in columns)
            rows = (
                f'SELECT json_build_array({listed})::text AS j, "{key.name}" AS k '
                f'FROM "{table.name}"'
            )
            aggregate = "SELECT convert_to(string_agg(j, E'\\n' ORDER BY k), 'UTF8'), max(k) FROM"
            low, high, count = self._one(
                f'SELECT min("{key.name}"), max("{key.name}"), count(*) FROM "{table.name}"'
            )
            dense = isinstance(low, int) and high - low < _DUMP_SPARSE * count + _DUMP_CHUNK_ROWS
            if dense:
                ranged = (
                    f'{aggregate} ({rows} WHERE "{key.name}" >= %s AND "{key.name}" < %s) AS chunk'
                )
                starts = range(low, high + 1, _DUMP_CHUNK_ROWS)
                yield from self._in_parallel(
                    (ranged, (start, start + _DUMP_CHUNK_ROWS)) for start in starts
                )
                continue
            last: Any = None
            while count:
                after = "" if last is None else f' WHERE "{key.name}" > %s'
                query = (
                    f'{aggregate} ({rows}{after} ORDER BY "{key.name}" '
                    f"LIMIT {_DUMP_CHUNK_ROWS}) AS chunk"
                )
                block, last = self._one(query, () if last is None else (last,))
                if block is None:
                    break
                yield bytes(block) + b"\n"

    def _in_parallel(self, queries: Iterator[tuple[str, tuple[Any, ...]]]) -> Iterator[bytes]:
        window = 2 * len(self._connections)
        pending: deque[Future[tuple[Any, ...]]] = deque()
        for query, parameters in queries:
            pending.append(self._pool.submit(self._one, query, parameters))
            if len(pending) >= window:
                yield from _block(pending.popleft())
        while pending:
            yield from _block(pending.popleft())


def _block(future: Future[tuple[Any, ...]]) -> Iterator[bytes]:
    block, _ = future.result()
    if block is not None:
        yield bytes(block) + b"\n"


def backup_kind(path: str | Path) -> str:
    """``sqlite`` or ``dump``, from the file's first bytes."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(16)
    except OSError as exc:
        raise BackupError(f"{path}: {exc.strerror or exc}") from exc
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(_GZIP_MAGIC):
        return "dump"
    raise BackupError(f"{path}: not a cordtrial backup (neither SQLite nor a gzip dump)")


def read_info(path: str | Path) -> BackupInfo:
    """The kind, revision and row counts of a backup file, without restoring it."""
    if backup_kind(path) == "dump":
        header = _dump_header(path)
        return BackupInfo("postgresql dump", header["revision"], dict(header["tables"]))
    engine = make_engine(f"sqlite:///{Path(path).resolve()}")
    try:
        with engine.connect() as connection:
            revision = connection.exec_driver_sql(
                "SELECT version_num FROM alembic_version"
            ).scalar()
            return BackupInfo("sqlite", revision, _counts(connection))
    except Exception as exc:
        raise BackupError(f"{path}: not a readable cordtrial SQLite backup ({exc})") from exc
    finally:
        engine.dispose()


def _dump_header(path: str | Path) -> dict[str, Any]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            header = json.loads(stream.readline())
    except (OSError, ValueError, EOFError) as exc:
        raise BackupError(f"{path}: not a readable cordtrial dump ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != DUMP_FORMAT:
        raise BackupError(f"{path}: not a cordtrial dump (no {DUMP_FORMAT} header)")
    return header


def _dump_tables(path: str | Path) -> Iterator[tuple[Table, list[str], Iterator[list[Any]]]]:
    """Each table of a dump with its columns and decoded rows, read as they are consumed (the
    rows of one table must be consumed before the next table is asked for)."""
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        stream.readline()
        pending = stream.readline()
        while pending.startswith("{"):
            head = json.loads(pending)
            table, columns = Base.metadata.tables[head["table"]], list(head["columns"])
            pending = ""

            def rows(table: Table = table, columns: list[str] = columns) -> Iterator[list[Any]]:
                nonlocal pending
                for line in stream:
                    if line.startswith("{"):
                        pending = line
                        return
                    values = json.loads(line)
                    yield [_decode(table, c, v) for c, v in zip(columns, values, strict=True)]

            table_rows = rows()
            yield table, columns, table_rows
            for _ in table_rows:  # whatever the consumer left unread
                pass


def _sqlite_tables(engine: Engine) -> Iterator[tuple[Table, list[str], Iterator[list[Any]]]]:
    with engine.connect() as connection:
        present = {
            name: {c["name"] for c in inspect(connection).get_columns(name)}
            for name in inspect(connection).get_table_names()
        }
        for table in Base.metadata.sorted_tables:
            if table.name not in present:
                continue
            columns = [c for c in table.columns if c.name in present[table.name]]
            query = select(*columns).order_by(*table.primary_key.columns)
            result = connection.execute(query)
            yield table, [c.name for c in columns], (list(row) for row in result)


def _has_rows(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
            metadata = MetaData()
            metadata.reflect(connection, only=sorted(tables))
            return any(
                connection.scalar(select(func.count()).select_from(t))
                for t in metadata.sorted_tables
            )
    finally:
        engine.dispose()


def restore(url: str, source: str | Path, *, force: bool = False) -> tuple[BackupInfo, AuditReport]:
    """Restore the backup ``source`` into the database at ``url``.

    Parameters
    ----------
    url : str
        The target database (SQLite or PostgreSQL; either kind of backup restores into either).
    source : path
        A backup written by :func:`backup`.
    force : bool
        Replace a database that holds data (its schema is dropped first).

    Returns
    -------
    (BackupInfo, AuditReport)
        What was restored, and the verification of the restored audit trail.

    Raises
    ------
    BackupError
        For a file that is not a backup, or a target that holds data without ``force``.
    """
    info = read_info(source)
    if info.revision is None:
        raise BackupError(f"{source}: the backup has no migration revision")
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if info.revision not in known:
        raise BackupError(
            f"{source}: made at migration revision {info.revision}, which this cordtrial does not "
            f"know (it is at {head_revision()}): restore it with the version that wrote it"
        )
    if _has_rows(url):
        if not force:
            raise BackupError(
                "the target database is not empty; restore into an empty one, or pass --force "
                "to replace everything in it"
            )
        if current_revision(url) is None:
            raise BackupError("the target holds tables but no cordtrial schema: not replacing it")
        downgrade(url, "base")
    elif current_revision(url) is not None:
        downgrade(url, "base")
    upgrade(url, info.revision)
    engine = make_engine(url)
    try:
        if backup_kind(source) == "dump":
            _copy(engine, _dump_tables(source))
        else:
            with tempfile.TemporaryDirectory() as scratch:
                # Read a copy: opening the backup in WAL mode would write beside it.
                copy = Path(scratch) / "backup.db"
                shutil.copyfile(source, copy)
                source_engine = make_engine(f"sqlite:///{copy}")
                try:
                    _copy(engine, _sqlite_tables(source_engine))
                finally:
                    source_engine.dispose()
    finally:
        engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            report = verify_audit(session)
    finally:
        engine.dispose()
    return info, report


def _copy(engine: Engine, tables: Iterator[tuple[Table, list[str], Iterator[list[Any]]]]) -> None:
    with engine.begin() as connection:
        for table, columns, rows in tables:
            if connection.dialect.name == "postgresql":
                _copy_in(connection, table, columns, rows)
                if "id" in table.c:
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
                            f"(SELECT MAX(id) FROM {table.name}) IS NOT NULL)"
                        )
                    )
                continue
            batch: list[dict[str, Any]] = []
            for row in rows:
                batch.append(dict(zip(columns, row, strict=True)))
                if len(batch) >= _INSERT_ROWS:
                    connection.execute(insert(table), batch)
                    batch = []
            if batch:
                connection.execute(insert(table), batch)


def _copy_in(
    connection: Connection, table: Table, columns: list[str], rows: Iterator[list[Any]]
) -> None:
    """Rows into a PostgreSQL table through ``COPY ... FROM STDIN`` (psycopg adapts the values;
    JSON documents are passed as JSONB)."""
    documents = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    listed = ", ".join(f'"{c}"' for c in columns)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f'COPY "{table.name}" ({listed}) FROM STDIN') as copy:
            for row in rows:
                for i in documents:
                    if row[i] is not None:
                        row[i] = Jsonb(row[i])
                copy.write_row(row)
    finally:
        cursor.close()
