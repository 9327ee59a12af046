"""PostgreSQL's ``COPY`` text format: tables streamed out of PostgreSQL as they are, read back.

The dump that :mod:`cordtrial.trial.backup` writes of a PostgreSQL store (format 2) holds each
table as the server's own ``COPY ... TO STDOUT`` output, so the server does no more than write
its columns' text, and a restore into PostgreSQL hands the same lines to ``COPY ... FROM STDIN``.
A restore into SQLite parses them here.

The text format (PostgreSQL documentation, ``COPY``, "Text Format"): one line per row, columns
separated by a tab, SQL NULL written ``\\N``. Inside a value a backslash, backspace, form feed,
newline, carriage return, tab and vertical tab are written ``\\\\``, ``\\b``, ``\\f``, ``\\n``,
``\\r``, ``\\t``, ``\\v``; on input a backslash followed by one to three octal digits, or by ``x``
and one or two hex digits, is that byte, and a backslash before any other character is that
character. ``\\.`` alone on a line ends the data. Each value is its type's output text under the
session settings :data:`COPY_SETTINGS` (moments in UTC, ISO dates, floats that read back exactly,
``bytea`` in hex, UTF-8).
"""

from __future__ import annotations

import json
import re
import select
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import pq
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Time,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from cordtrial.trial.errors import BackupError

if TYPE_CHECKING:
    from psycopg.pq.abc import PGconn, PGresult

__all__ = [
    "COPY_SETTINGS",
    "END_OF_DATA",
    "NULL",
    "copy_in",
    "copy_out",
    "decode_line",
    "row_decoder",
    "set_copy_settings",
    "unescape",
]

#: Session settings under which the values' text is written and read (``SET LOCAL``).
COPY_SETTINGS: dict[str, str] = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    # 3: the shortest text that reads back exactly (PostgreSQL 12+), 17 digits before that
    "extra_float_digits": "3",
    "bytea_output": "hex",
    "client_encoding": "UTF8",
    # a table's rows from its first page on, not from where another scan of it is (as pg_dump)
    "synchronize_seqscans": "off",
}
#: The line that ends a table's rows.
END_OF_DATA = b"\\.\n"
#: SQL NULL in the text format.
NULL = b"\\N"

_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))", re.DOTALL)
_CONTROL = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def set_copy_settings(cursor: psycopg.Cursor[Any]) -> None:
    """Apply :data:`COPY_SETTINGS` to the current transaction (one statement)."""
    settings = ", ".join(
        f"set_config('{name}', '{value}', true)" for name, value in COPY_SETTINGS.items()
    )
    cursor.execute(f"SELECT {settings}")


def _unescaped(match: re.Match[bytes]) -> bytes:
    octal, hexadecimal, other = match.groups()
    if octal is not None:
        return bytes([int(octal, 8) & 0xFF])
    if hexadecimal is not None:
        return bytes([int(hexadecimal, 16)])
    return _CONTROL.get(other, other)


def unescape(field: bytes) -> bytes:
    """One column's bytes with the text format's backslash sequences undone."""
    return _ESCAPE.sub(_unescaped, field) if b"\\" in field else field


def _boolean(text: str) -> bool:
    if text == "t":
        return True
    if text == "f":
        return False
    raise ValueError(f"{text!r} is not a COPY boolean (t or f)")


def _bytea(text: str) -> bytes:
    if not text.startswith("\\x"):
        raise ValueError("bytea is not in hex output (bytea_output = 'hex')")
    return bytes.fromhex(text[2:])


def _decoder(kind: TypeEngine[Any]) -> Callable[[str], Any]:
    """The function from a column's text to the value SQLAlchemy binds for the column."""
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    checks: list[tuple[type[TypeEngine[Any]], Callable[[str], Any]]] = [
        (JSON, json.loads),
        (Boolean, _boolean),
        (DateTime, datetime.fromisoformat),  # before Date: "2026-01-02 03:04:05.5+00"
        (Date, date.fromisoformat),
        (Time, time.fromisoformat),
        (Float, float),  # before Numeric (a Float is a Numeric); reads Infinity and NaN
        (Numeric, Decimal),
        (Integer, int),
        (LargeBinary, _bytea),
        (String, str),  # Text, Enum, Unicode
    ]
    for category, decode in checks:
        if isinstance(kind, category):
            return decode
    raise BackupError(f"a column of type {kind} cannot be read from COPY text")


def row_decoder(table: Table, columns: list[str]) -> Callable[[bytes], list[Any]]:
    """A function from one line of ``table``'s COPY text (``columns`` in that order, newline
    included or not) to the row's values, ready to bind into ``table``."""
    decoders = [_decoder(table.c[name].type) for name in columns]

    def decode(line: bytes) -> list[Any]:
        return decode_line(line, decoders)

    return decode


def decode_line(line: bytes, decoders: list[Callable[[str], Any]]) -> list[Any]:
    """The values of one COPY text line, each column's text passed through its decoder."""
    fields = line.rstrip(b"\n").split(b"\t")
    if len(fields) != len(decoders):
        raise BackupError(f"a COPY line has {len(fields)} columns, expected {len(decoders)}")
    return [
        None if field == NULL else decode(unescape(field).decode("utf-8"))
        for field, decode in zip(fields, decoders, strict=True)
    ]


def _wait_readable(pgconn: PGconn) -> None:
    select.select([pgconn.socket], [], [])  # releases the GIL while the server works
    pgconn.consume_input()


def _result(pgconn: PGconn) -> PGresult | None:
    while pgconn.is_busy():
        _wait_readable(pgconn)
    return pgconn.get_result()


def _failure(result: PGresult | None) -> str:
    if result is None:
        return "no answer from the server"
    return (result.error_message or b"").decode("utf-8", "replace").strip() or str(result.status)


def copy_out(
    connection: psycopg.Connection[Any],
    statement: str,
    write: Callable[[bytes], object],
    block: int = 1 << 20,
) -> int:
    """Run ``COPY ... TO STDOUT`` and pass its rows to ``write`` in blocks of about ``block``
    bytes (whole lines); returns the number of rows (checked against the count COPY reports).

    libpq hands a COPY over one row at a time; psycopg's ``Copy`` object spends a generator and
    a wait per row, several times what the server spends writing it. Here the rows are taken
    from libpq's buffer directly (``PGconn.get_copy_data``) and joined, and the process waits on
    the socket only when the buffer is empty. The transaction must not be used by anyone else
    meanwhile; psycopg sees the connection idle in its transaction afterwards, as before.
    """
    try:
        return _copy_out(connection, statement, write, block)
    except psycopg.Error as exc:  # the connection lost (a server restarted, a backend ended)
        raise BackupError(f"PostgreSQL stopped {statement!r}: {exc}") from exc


def _copy_out(
    connection: psycopg.Connection[Any],
    statement: str,
    write: Callable[[bytes], object],
    block: int = 1 << 20,
) -> int:
    """:func:`copy_out`, errors of the connection raised as they come."""
    pgconn = connection.pgconn
    pgconn.send_query(statement.encode())
    while pgconn.flush():
        select.select([], [pgconn.socket], [])
    result = _result(pgconn)
    if result is None or result.status != pq.ExecStatus.COPY_OUT:
        message = _failure(result)
        while _result(pgconn) is not None:
            pass
        raise BackupError(f"PostgreSQL refused {statement!r}: {message}")
    rows = 0
    lines: list[bytes] = []
    size = 0
    get_copy_data = pgconn.get_copy_data
    while True:
        length, data = get_copy_data(1)
        if length > 0:
            # bytes, not the memoryview: thousands of live memoryviews (objects the garbage
            # collector tracks) set off full collections, three times the loop's own cost
            lines.append(bytes(data))
            size += length
            if size >= block:
                write(b"".join(lines))
                rows += len(lines)
                lines.clear()
                size = 0
        elif length == 0:
            _wait_readable(pgconn)
        else:
            break
    if lines:
        write(b"".join(lines))
        rows += len(lines)
    result = _result(pgconn)
    failed = result is None or result.status != pq.ExecStatus.COMMAND_OK
    message = _failure(result) if failed else ""
    while _result(pgconn) is not None:
        pass
    if failed:
        raise BackupError(f"PostgreSQL stopped {statement!r}: {message}")
    reported = result.command_tuples if result is not None else None
    if reported != rows:  # COPY's own count ("COPY n"): only a broken connection gets here
        raise BackupError(f"{statement!r}: {rows} rows received, the server sent {reported}")
    return rows


def copy_in(
    connection: psycopg.Connection[Any],
    statement: str,
    lines: Iterable[bytes],
    block: int = 1 << 20,
) -> int:
    """Run ``COPY ... FROM STDIN`` with ``lines`` (COPY text, newline included) sent in blocks
    of about ``block`` bytes; returns the number of rows."""
    rows = 0
    batch: list[bytes] = []
    size = 0
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for line in lines:
            batch.append(line)
            size += len(line)
            if size >= block:
                copy.write(b"".join(batch))
                rows += len(batch)
                batch.clear()
                size = 0
        if batch:
            copy.write(b"".join(batch))
            rows += len(batch)
    return rows
