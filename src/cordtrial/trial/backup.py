"""Backup and restore of the trial store: a consistent snapshot, restored whole.

Backup
------
* **SQLite**: SQLite's online backup API (``sqlite3.Connection.backup``) copies the database,
  committed write-ahead log included, page by page into a new SQLite file while writers carry on:
  the copy is the database as of one moment. The backup is itself a SQLite database.
* **PostgreSQL**: a logical dump, read in one ``REPEATABLE READ READ ONLY`` transaction (one
  snapshot of every table), gzip-compressed (format 2): a header line (JSON: format, format
  version, migration revision, time, rows per table, the session settings the rows were written
  under), then for each table a JSON line naming it, its columns and its row count, the table's
  rows exactly as PostgreSQL's ``COPY ... TO STDOUT`` writes them (text format: a line per row,
  tab-separated, ``\\N`` for NULL; moments in UTC, ISO dates, floats that read back exactly),
  and COPY's end-of-data line ``\\.``. The server only writes its columns' text (no per-row
  JSON); the client takes the rows from libpq's buffer in blocks of a megabyte
  (:func:`cordtrial.trial.pgcopy.copy_out`) and a second thread compresses them (gzip level 1
  through ISA-L, ``isal``'s ``igzip_threaded``) while the next block is read: memory holds a few
  blocks at most. The row counts are COPY's own (nothing counts the rows first): the header and
  table lines are gzip members stored uncompressed, written with a placeholder of the same length
  and rewritten in place once the rows are copied (the lines end in spaces). The file is
  portable: it restores into PostgreSQL (``COPY ... FROM STDIN`` of the same lines) or SQLite (the
  lines parsed, :mod:`cordtrial.trial.pgcopy`). Dumps of format 1 (one JSON array per row, as
  written before format 2) restore as before.

Either kind is written to ``FILE.partial``, synced to the disk and renamed
(:func:`cordtrial.trial.files.durable_replace`); a store at any migration revision is backed up.

Restore
-------
:func:`restore` reads either kind of backup into the database at a URL. It refuses a database
that holds any row unless ``force`` is given (then the schema is dropped by the migrations'
downgrades first). It migrates the empty database to the backup's revision, inserts every row
with its id in foreign-key order (audit rows included, exactly as stored, so the hash chain is the
same), sets PostgreSQL's id sequences past the restored ids, migrates to the latest revision,
and returns the audit trail's verification (:func:`cordtrial.trial.audit.verify_audit`).
Rows stream from the backup into the target one table at a time, in batches (``COPY ... FROM
STDIN`` into PostgreSQL; a format-2 dump's lines go to it as they are): memory does not grow with
the size of the store. From a format-2 dump into PostgreSQL, a large table's secondary indexes
are dropped in the restore's transaction and built again after its rows
(:data:`_DEFER_INDEXES_ROWS`).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import psycopg
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from isal import igzip, igzip_threaded
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
from cordtrial.trial.files import (
    create_private_file,
    durable_replace,
    open_private,
    private_directory,
)
from cordtrial.trial.models import Base
from cordtrial.trial.pgcopy import (
    COPY_SETTINGS,
    END_OF_DATA,
    copy_in,
    copy_out,
    row_decoder,
    set_copy_settings,
)
from cordtrial.trial.settings import normalize_database_url
from cordtrial.trial.types import UtcDateTime

__all__ = [
    "DUMP_FORMAT",
    "DUMP_FORMAT_VERSION",
    "BackupError",
    "BackupInfo",
    "backup",
    "backup_kind",
    "read_info",
    "restore",
]

#: The ``format`` of a logical dump's header line.
DUMP_FORMAT = "cordtrial-dump"
#: The version of the dump format written: 2, each table as PostgreSQL's COPY text. 1 (read, no
#: longer written): one JSON array per row.
DUMP_FORMAT_VERSION = 2
_READ_VERSIONS = (1, 2)
_SQLITE_MAGIC = b"SQLite format 3\x00"
_GZIP_MAGIC = b"\x1f\x8b"
_INSERT_ROWS = 1000
#: gzip level of a dump: 1 compresses several times faster than 9, for a somewhat larger file.
_GZIP_LEVEL = 1
#: Bytes of COPY text handed to the compressor (or to COPY FROM) at a time.
_COPY_BLOCK = 1 << 20
#: Bytes the compressing thread takes at a time.
_GZIP_BLOCK = 1 << 20
#: PostgreSQL restore: a table with at least this many rows is loaded without its secondary
#: indexes, which are built again once its rows are in (one sort each, as pg_restore does, instead
#: of an index insertion per row per index).
_DEFER_INDEXES_ROWS = 20_000
#: ``maintenance_work_mem`` while the restore builds those indexes (``SET LOCAL``).
_INDEX_BUILD_MEMORY = "256MB"


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


def _no_schema(url: str) -> str:
    shown = make_url(normalize_database_url(url)).render_as_string(hide_password=True)
    return f"the trial store {shown} has no schema (create it with `cordtrial db upgrade`)"


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
    path = _sqlite_path(url)
    if path is None:
        return _postgres_backup(url, output)
    if current_revision(url) is None:
        raise BackupError(_no_schema(url))
    private_directory(output.parent)
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)  # left by a backup that was killed
    create_private_file(partial, exclusive=True)
    with sqlite3.connect(path) as source, sqlite3.connect(partial) as target:
        source.backup(target)
    target.close()
    source.close()
    durable_replace(partial, output)
    return read_info(output)


def _postgres_backup(url: str, output: Path) -> BackupInfo:
    """A format-2 dump, written to ``output``'s ``.partial`` file, synced to the disk and renamed
    when complete (:func:`~cordtrial.trial.files.durable_replace`); the partial file is removed
    when the dump fails."""
    engine = make_engine(url, isolation_level="REPEATABLE READ")
    partial = output.with_name(output.name + ".partial")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            # read in the dump's snapshot, as every row is
            revision = MigrationContext.configure(connection).get_current_revision()
            if revision is None:
                raise BackupError(_no_schema(url))
            private_directory(output.parent)
            try:
                with open_private(partial, "wb") as stream:
                    info = _dump(connection, revision, stream)
                durable_replace(partial, output)
            except BaseException:
                partial.unlink(missing_ok=True)
                if _driver_connection(connection).broken:  # nothing left to roll back
                    connection.invalidate()
                raise
            return info
    finally:
        engine.dispose()


def _decode(table: Table, column: str, value: Any) -> Any:
    if value is None:
        return None
    kind = table.c[column].type
    if isinstance(kind, UtcDateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    return value


def _driver_connection(connection: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a PostgreSQL connection of SQLAlchemy."""
    raw = connection.connection.dbapi_connection
    if not isinstance(raw, psycopg.Connection):
        raise BackupError(f"a PostgreSQL connection through psycopg was expected, not {raw!r}")
    return raw


def _dump(connection: Connection, revision: str, stream: IO[bytes]) -> BackupInfo:
    """Format 2: the header line, then per table a line naming it and its columns, its rows as
    PostgreSQL's ``COPY ... TO STDOUT`` text, and the end-of-data line ``\\.``.

    The row counts in the header and table lines are those COPY reports; nothing counts the rows
    beforehand. Each of those lines is a gzip member of its own, stored uncompressed, written
    first with a placeholder of the same length (the largest count) and overwritten in place
    once its rows are copied; a table's rows are a member compressed at level 1 (ISA-L, in a
    second thread). Readers see one gzip stream; the lines end in spaces up to their length.
    """
    raw = _driver_connection(connection)
    with raw.cursor() as cursor:
        set_copy_settings(cursor)
    present = _postgres_columns(connection)
    present.pop("alembic_version", None)  # the revision is in the header
    unknown: list[str] = []
    for name, held in sorted(present.items()):
        known = Base.metadata.tables.get(name)
        if known is None:
            unknown.append(name)
        else:
            unknown += [f"{name}.{column}" for column in sorted(held) if column not in known.c]
    if unknown:  # a store made by a later cordtrial: a dump would leave these out
        raise BackupError(
            f"the store holds {', '.join(unknown)}, which this cordtrial does not know: back it "
            "up with the cordtrial version that migrated it (or with pg_dump)"
        )
    tables = [
        (table, [c.name for c in table.columns if c.name in present[table.name]])
        for table in Base.metadata.sorted_tables
        if table.name in present
    ]
    created_at = datetime.now(UTC).isoformat()

    def header(counts: dict[str, int]) -> dict[str, Any]:
        return {
            "format": DUMP_FORMAT,
            "format_version": DUMP_FORMAT_VERSION,
            "row_format": "postgresql copy text",
            "copy_settings": COPY_SETTINGS,
            "revision": revision,
            "cordtrial_version": __version__,
            "created_at": created_at,
            "tables": counts,
        }

    placeholders = {table.name: _MAX_ROWS for table, _ in tables}
    slots = [_Slot(stream, header(placeholders))]
    counts: dict[str, int] = {}
    for table, columns in tables:
        head = {"table": table.name, "columns": columns, "rows": _MAX_ROWS}
        slot = _Slot(stream, head)
        listed = ", ".join(f'"{name}"' for name in columns)
        rows = _CompressedMember(stream)
        try:
            counts[table.name] = copy_out(
                raw, f'COPY "{table.name}" ({listed}) TO STDOUT', rows.write, _COPY_BLOCK
            )
        finally:  # also on failure: the compressing thread ends
            rows.close()
        stream.write(_stored_member(END_OF_DATA))
        slot.fill(head | {"rows": counts[table.name]})
        slots.append(slot)
    slots[0].fill(header(counts))
    stream.flush()
    for slot in slots:
        slot.write_at(stream)
    return BackupInfo("postgresql dump", revision, counts)


#: The largest row count a dump's header and table lines hold room for.
_MAX_ROWS = 10**18 - 1


def _stored_member(data: bytes) -> bytes:
    """``data`` as a gzip member stored uncompressed: its length depends on the data's alone."""
    return gzip.compress(data, compresslevel=0, mtime=0)


class _CompressedMember:
    """A table's rows as one gzip member (level :data:`_GZIP_LEVEL`, ISA-L) appended to
    ``stream``: compressed here when they come as one block (most tables), else by a second
    thread (``igzip_threaded``, the GIL released) while the next blocks are read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.pending: bytes | None = None
        self.threaded: IO[bytes] | None = None

    def write(self, block: bytes) -> None:
        """Take the next block of rows."""
        if self.threaded is not None:
            self.threaded.write(block)
        elif self.pending is None:
            self.pending = block
        else:
            # igzip_threaded is untyped: an io.BufferedWriter that leaves ``stream`` open
            self.threaded = igzip_threaded.open(  # type: ignore[no-untyped-call]
                self.stream, "wb", compresslevel=_GZIP_LEVEL, threads=1, block_size=_GZIP_BLOCK
            )
            self.threaded.write(self.pending)
            self.threaded.write(block)
            self.pending = None

    def close(self) -> None:
        """Write what is left (nothing for no rows) and end the member."""
        if self.threaded is not None:
            self.threaded.close()
        elif self.pending is not None:
            self.stream.write(igzip.compress(self.pending, _GZIP_LEVEL))


class _Slot:
    """A JSON line of a dump written now with placeholder values and rewritten in place later
    (:meth:`fill`, then :meth:`write_at`), padded with spaces to the placeholder's length."""

    def __init__(self, stream: IO[bytes], placeholder: dict[str, Any]) -> None:
        self.offset = stream.tell()
        self.width = len(json.dumps(placeholder))
        self.member = _stored_member(json.dumps(placeholder).encode() + b"\n")
        stream.write(self.member)

    def fill(self, value: dict[str, Any]) -> None:
        """The line's final value (no longer than the placeholder)."""
        line = json.dumps(value)
        if len(line) > self.width:
            raise BackupError(f"a dump line outgrew its room: {line[:80]!r}")
        member = _stored_member(line.ljust(self.width).encode() + b"\n")
        if len(member) != len(self.member):  # a stored member's length is its data's
            raise BackupError("a dump line's gzip member changed length")
        self.member = member

    def write_at(self, stream: IO[bytes]) -> None:
        """Overwrite the placeholder in the (flushed) file."""
        os.pwrite(stream.fileno(), self.member, self.offset)


def _postgres_columns(connection: Connection) -> dict[str, set[str]]:
    """The columns of each table in the connection's schema (one query of the catalog)."""
    rows = connection.exec_driver_sql(
        "SELECT c.relname, a.attname FROM pg_catalog.pg_attribute a "
        "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') "
        "AND a.attnum > 0 AND NOT a.attisdropped"
    )
    present: dict[str, set[str]] = {}
    for table, column in rows:
        present.setdefault(table, set()).add(column)
    return present


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
    if header.get("format_version") not in _READ_VERSIONS:
        raise BackupError(
            f"{path}: a dump of format version {header.get('format_version')}, which this "
            f"cordtrial does not read (it reads versions "
            f"{', '.join(map(str, _READ_VERSIONS))}): restore it with the version that wrote it"
        )
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
        if backup_kind(source) == "dump" and _dump_header(source)["format_version"] == 2:
            _restore_copy_dump(engine, source, info)
        elif backup_kind(source) == "dump":
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
                _set_sequence(connection, table)
                continue
            _insert(connection, table, columns, rows)


def _insert(
    connection: Connection, table: Table, columns: list[str], rows: Iterator[list[Any]]
) -> int:
    """Rows into a table in batches of ``_INSERT_ROWS`` (SQLAlchemy binds each value); returns
    the number of rows."""
    count = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) >= _INSERT_ROWS:
            connection.execute(insert(table), batch)
            count += len(batch)
            batch = []
    if batch:
        connection.execute(insert(table), batch)
        count += len(batch)
    return count


def _drop_secondary_indexes(connection: Connection, table: str) -> list[str]:
    """PostgreSQL: drop the indexes of ``table`` that back no constraint (primary key, unique)
    and return their definitions (``pg_indexes.indexdef``), to be run again after the load. The
    drop is part of the restore's transaction: a failed restore leaves them as they were."""
    rows = connection.execute(
        text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = current_schema() AND i.tablename = :table "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conrelid = to_regclass(quote_ident(:table)) "
            "AND c.conname = i.indexname) ORDER BY i.indexname"
        ),
        {"table": table},
    ).all()
    if rows:
        connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{_INDEX_BUILD_MEMORY}'")
    for name, _ in rows:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return [definition for _, definition in rows]


def _set_sequence(connection: Connection, table: Table) -> None:
    """PostgreSQL: the table's id sequence past its highest restored id."""
    if "id" in table.c:
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
                f"(SELECT MAX(id) FROM {table.name}) IS NOT NULL)"
            )
        )


def _copy_sections(
    stream: IO[bytes], source: str | Path
) -> Iterator[tuple[Table, list[str], int, Iterator[bytes]]]:
    """Each table of a format-2 dump (after its header line): the table, its columns, its
    declared row count and its COPY text lines, read as they are consumed (the lines of one
    table must be consumed before the next table is asked for)."""
    while head_line := stream.readline():
        try:
            head = json.loads(head_line)
            table = Base.metadata.tables[head["table"]]
            columns, rows = [str(c) for c in head["columns"]], int(head["rows"])
        except (ValueError, KeyError, TypeError) as exc:
            message = f"{source}: not a table's line in a dump: {head_line[:80]!r}"
            raise BackupError(message) from exc
        unknown = [c for c in columns if c not in table.c]
        if unknown:
            raise BackupError(f"{source}: table {table.name} has no columns {', '.join(unknown)}")

        def lines(table: Table = table) -> Iterator[bytes]:
            for line in stream:
                if line == END_OF_DATA:
                    return
                yield line
            raise BackupError(f"{source}: the dump ends inside table {table.name} (truncated)")

        table_lines = lines()
        yield table, columns, rows, table_lines
        for _ in table_lines:  # whatever the consumer left unread
            pass


def _restore_copy_dump(engine: Engine, source: str | Path, info: BackupInfo) -> None:
    """A format-2 dump into the database: into PostgreSQL its lines as they are through ``COPY
    ... FROM STDIN``, into SQLite parsed (:func:`cordtrial.trial.pgcopy.row_decoder`) and
    inserted in batches. A table with fewer or more rows than its line declares is refused."""
    # igzip_threaded (untyped) decompresses in a second thread while the rows are inserted
    with (
        igzip_threaded.open(source, "rb", threads=1) as stream,  # type: ignore[no-untyped-call]
        engine.begin() as connection,
    ):
        stream.readline()
        raw = _driver_connection(connection) if connection.dialect.name == "postgresql" else None
        if raw is not None:
            with raw.cursor() as cursor:
                set_copy_settings(cursor)
        seen = set()
        for table, columns, declared, lines in _copy_sections(stream, source):
            if raw is not None:
                listed = ", ".join(f'"{c}"' for c in columns)
                statement = f'COPY "{table.name}" ({listed}) FROM STDIN'
                deferred = (
                    _drop_secondary_indexes(connection, table.name)
                    if declared >= _DEFER_INDEXES_ROWS
                    else []
                )
                count = copy_in(raw, statement, lines, _COPY_BLOCK)
                for definition in deferred:  # built again in the same transaction
                    connection.exec_driver_sql(definition)
                _set_sequence(connection, table)
            else:
                decode = row_decoder(table, columns)
                count = _insert(connection, table, columns, (decode(line) for line in lines))
            if count != declared or count != info.tables.get(table.name):
                raise BackupError(
                    f"{source}: table {table.name} holds {count} rows, the dump declares "
                    f"{declared} (damaged)"
                )
            seen.add(table.name)
        missing = set(info.tables) - seen
        if missing:
            raise BackupError(
                f"{source}: the dump ends before table(s) {', '.join(sorted(missing))} (truncated)"
            )


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
