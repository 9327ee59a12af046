"""The writer of PostgreSQL dump format 1, kept to test that ``restore`` still reads the dumps
cordtrial wrote before format 2.

Format 1 (``cordtrial.trial.backup`` until format 2 replaced it, last at commit dcf34a7): gzip
JSON Lines, a header line (format, format_version 1, revision, cordtrial_version, created_at,
rows per table), then per table a line naming it and its columns and one JSON array per row in
primary-key order, written by the server's ``json_build_array`` with the session's time zone UTC
(moments ``2026-01-02T03:04:05.5+00:00``, JSON documents as themselves). The code of then read
key ranges over two connections on one exported snapshot; here one connection reads it all. On
the demo store this writer's file and dcf34a7's ``backup`` were compared after decompression:
the same bytes, but for the header's ``created_at``.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, inspect, select

from cordtrial.trial.database import make_engine
from cordtrial.trial.models import Base


def write_dump_format_1(url: str, output: Path) -> dict[str, int]:
    """Write the PostgreSQL store at ``url`` to ``output`` as a format-1 dump; returns the rows
    per table."""
    engine = make_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            connection.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
            present = set(inspect(connection).get_table_names())
            tables = [t for t in Base.metadata.sorted_tables if t.name in present]
            counts = {
                t.name: connection.scalar(select(func.count()).select_from(t)) or 0 for t in tables
            }
            revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            header = {
                "format": "cordtrial-dump",
                "format_version": 1,
                "revision": revision.scalar_one(),
                "cordtrial_version": "0.1.0",
                "created_at": datetime.now(UTC).isoformat(),
                "tables": counts,
            }
            with gzip.open(output, "wb", compresslevel=1) as stream:
                stream.write((json.dumps(header) + "\n").encode())
                for table in tables:
                    columns = [c.name for c in table.columns]
                    line = json.dumps({"table": table.name, "columns": columns})
                    stream.write((line + "\n").encode())
                    key = next(iter(table.primary_key.columns)).name
                    listed = ", ".join(f'"{c}"' for c in columns)
                    rows = connection.exec_driver_sql(
                        f'SELECT json_build_array({listed})::text FROM "{table.name}" '
                        f'ORDER BY "{key}"'
                    )
                    for (row,) in rows:
                        stream.write(row.encode() + b"\n")
            return counts
    finally:
        engine.dispose()
