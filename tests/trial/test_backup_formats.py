"""Issue 17, the PostgreSQL dump: format 2 (each table as PostgreSQL's COPY text) restores every
stored value exactly, row by row, into PostgreSQL and into SQLite; dumps of format 1 (a JSON array
per row) still restore; damaged, truncated and unknown dumps are refused. The COPY text parser on
its own: the escapes and NULL of PostgreSQL's documentation ("COPY", Text Format)."""

from __future__ import annotations

import gzip
import importlib
import json
import subprocess
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, func, insert, select
from sqlalchemy.engine import make_url

from builders import acting_as
from cordtrial.trial.backup import BackupError, backup, read_info, restore
from cordtrial.trial.database import make_engine, make_session_factory, upgrade
from cordtrial.trial.demo import seed_demo
from cordtrial.trial.models import ArchivedReport, AuditEntry, Base, Participant, Trial
from cordtrial.trial.pgcopy import copy_out, decode_line, row_decoder, unescape
from cordtrial.trial.services.participants import update_participant

from .dump_format_1 import write_dump_format_1

TODAY = date(2026, 11, 25)
#: Text that COPY's escaping, a JSON encoder or a line-based reader could get wrong: COPY's own
#: NULL and end-of-data spelled out, every escaped control character, quotes, non-ASCII.
TRICKY = (
    "back\\slash \\N \\. tab\there new\nline cr\r bs\b ff\f vt\v \"quoted\" 'single' "
    "é ∑ \U0001f600 end\\"
)


def _odd_reports(url: str) -> None:
    """Rows of ``archived_report`` (not audited, so the trail still verifies) whose values test
    every kind of column: text with escapes, a large text, empty text apart from NULL, the text
    ``\\N``, extreme floats, moments with and without fractions, dates, JSON documents."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            trial_id = connection.scalar(select(Trial.id).limit(1))
            base = {"trial_id": trial_id, "kind": "dsmb", "status": "done", "progress": 100}
            connection.execute(
                insert(ArchivedReport.__table__),
                [
                    base | {
                        "stage": TRICKY[:200], "data_version": "\\.", "requested_by": "",
                        "requested_at": datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC),
                        "updated_at": datetime(1999, 12, 31, 23, 59, 59,
                                               tzinfo=timezone(timedelta(hours=5, minutes=30))),
                        "finished_at": datetime(2026, 6, 30, 23, 59, 59, 1, tzinfo=UTC),
                        "snapshot_hash": None, "data_cut": date(1900, 1, 1),
                        "versions": {"é\t": TRICKY, "n": [1, 2.5, None, True, False],
                                     "nested": {"\\": "\n", "": ""}},
                        "pdf_file": None, "html_file": "", "pdf_sha256": "\\N",
                        "pdf_bytes": -(2**31), "seconds": 1 / 3, "peak_rss_mib": 5e-324,
                        "error": TRICKY * 4000,  # about 300 KB in one value
                    },
                    base | {
                        "stage": "", "data_version": "\\N", "requested_by": "\t",
                        "requested_at": datetime(2026, 1, 2, tzinfo=UTC),
                        "updated_at": datetime(2026, 1, 2, tzinfo=UTC),
                        "finished_at": None, "snapshot_hash": "", "data_cut": None,
                        "versions": ["\\N", "", None, 1e300], "pdf_file": "\\",
                        "html_file": None, "pdf_sha256": None, "pdf_bytes": None,
                        "seconds": float("inf"), "peak_rss_mib": -1.7976931348623157e308,
                        "error": None,
                    },
                ],
            )  # fmt: skip
    finally:
        engine.dispose()


def _store(url: str) -> None:
    """The demo trial (every kind of record, through the use cases), a correction whose reason
    is :data:`TRICKY` (audited text), and the odd report rows."""
    engine = make_engine(url)
    try:
        seed_demo(make_session_factory(engine), today=TODAY)
        with make_session_factory(engine)() as session:
            participant = session.scalars(select(Participant).limit(1)).one()
            update_participant(
                session, user=acting_as("monitor"), participant_id=participant.id,
                reason=TRICKY, age_at_injury=(participant.age_at_injury or 30) + 1,
            )  # fmt: skip
    finally:
        engine.dispose()
    _odd_reports(url)


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, as SQLAlchemy reads them."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _assert_same_rows(source: str, target: str) -> None:
    expected, got = _rows(source), _rows(target)
    assert sum(map(len, expected.values())) > 1000  # the demo: something to compare
    for name, rows in expected.items():
        assert len(got[name]) == len(rows), name
        for before, after in zip(rows, got[name], strict=True):
            assert after == before, f"{name}: {before!r} restored as {after!r}"


@pytest.fixture(scope="module")
def postgres_store(request: pytest.FixtureRequest) -> str:
    """A PostgreSQL store holding :func:`_store`'s data (the tests only read it)."""
    databases = request.getfixturevalue("pg_databases")
    url: str = databases.url(databases.create(template=databases.template))
    request.addfinalizer(lambda: databases.drop(url.rsplit("/", 1)[-1]))
    _store(url)
    return url


# --- format 2 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", [64, 1 << 20], ids=["small-blocks", "megabyte-blocks"])
def test_format_2_dump_restores_every_row_of_every_table_exactly(
    block: int,
    postgres_store: str,
    empty_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Into PostgreSQL (COPY FROM of the same lines) and into SQLite (the lines parsed)."""
    monkeypatch.setattr(importlib.import_module("cordtrial.trial.backup"), "_COPY_BLOCK", block)
    output = tmp_path / "store.dump"
    info = backup(postgres_store, output)
    with gzip.open(output, "rb") as stream:
        header = json.loads(stream.readline())
        body = stream.read()
    assert (header["format_version"], header["row_format"]) == (2, "postgresql copy text")
    assert b"json_build_array" not in body and body.count(b"\n\\.\n") == len(info.tables)
    restored, report = restore(empty_database_url, output)
    assert report.ok, str(report)
    assert restored.tables == info.tables
    _assert_same_rows(postgres_store, empty_database_url)
    assert _tricky_reasons(postgres_store) == _tricky_reasons(empty_database_url) > 0


def _indexes(url: str) -> set[tuple[str, str]]:
    """Every index of the store's schema, with its definition (PostgreSQL)."""
    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(False)) as c:
        rows = c.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        ).fetchall()
    return {(name, definition) for name, definition in rows}


@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_large_tables_load_without_secondary_indexes_and_get_them_back(
    postgres_store: str,
    empty_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A table above the threshold (here: every table with a row) is loaded with only its
    constraints' indexes, the others built after its rows; the restored store ends with exactly
    the indexes of the store it was dumped from. A restore that fails midway drops nothing."""
    module = importlib.import_module("cordtrial.trial.backup")
    monkeypatch.setattr(module, "_DEFER_INDEXES_ROWS", 1)
    dropped: dict[str, list[str]] = {}
    drop = module._drop_secondary_indexes

    def spy(connection: Any, table: str) -> list[str]:
        dropped[table] = drop(connection, table)
        return dropped[table]

    monkeypatch.setattr(module, "_drop_secondary_indexes", spy)
    output = tmp_path / "store.dump"
    backup(postgres_store, output)
    _, report = restore(empty_database_url, output)
    assert report.ok, str(report)
    deferred = {name.split(" ON ")[0].removeprefix("CREATE INDEX ") for d in dropped.values()
                for name in d}  # fmt: skip
    assert {"ix_audit_entry_record", "ix_audit_entry_actor", "ix_audit_entry_at"} <= deferred
    assert not any("pk_" in name or "uq_" in name for name in deferred)  # constraints stay
    assert _indexes(empty_database_url) == _indexes(postgres_store)
    _assert_same_rows(postgres_store, empty_database_url)
    # damaged in the audit table, after its indexes were dropped: nothing is dropped in the end
    with gzip.open(output, "rb") as stream:
        lines = stream.read().splitlines(keepends=True)
    audit = lines.index(next(line for line in lines if line.startswith(b'{"table": "audit_entry"')))
    del lines[audit + 1]
    _rewrite(output, lines)
    dropped.clear()
    with pytest.raises(BackupError, match=r"audit_entry holds \d+ rows, the dump declares"):
        restore(empty_database_url, output, force=True)
    assert dropped["audit_entry"]
    assert {name for name, _ in _indexes(empty_database_url)} >= {
        "ix_audit_entry_record", "ix_audit_entry_actor", "ix_audit_entry_at",
    }  # fmt: skip


def test_format_2_row_counts_are_the_rows_copied(
    postgres_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header's and each table line's counts are the rows that follow, and the rows the
    store holds; no statement counts them beforehand (COPY's own count is used). Each JSON line
    is a gzip member of its own (rewritten in place once its count is known): gzip and zcat read
    the file as one stream."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        output = tmp_path / "store.dump"
        info = backup(postgres_store, output)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert statements and not [s for s in statements if "count(" in s.lower()]
    engine = make_engine(postgres_store)
    try:
        with engine.connect() as connection:
            held = {
                table.name: connection.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()
    assert info.tables == held and held["audit_entry"] > 100
    with gzip.open(output, "rb") as stream:
        lines = stream.read().splitlines(keepends=True)
    assert json.loads(lines[0])["tables"] == held
    declared: dict[str, int] = {}
    rows: dict[str, int] = {}
    current = ""
    for line in lines[1:]:
        if line.startswith(b'{"table"'):
            head = json.loads(line)
            current, declared[head["table"]] = head["table"], head["rows"]
            rows[current] = 0
        elif line != b"\\.\n":
            rows[current] += 1
    assert declared == rows == held
    unzipped = subprocess.run(["zcat", str(output)], capture_output=True, check=True).stdout
    assert unzipped.splitlines(keepends=True) == lines
    # the header, per table its line and end line, and its rows when it has any (the magic
    # bytes may also occur inside compressed data, hence at least)
    members = output.read_bytes().count(b"\x1f\x8b\x08")
    assert members >= 1 + 2 * len(held) + sum(1 for n in held.values() if n)


def test_failed_dump_leaves_no_file(database_url: str, tmp_path: Path) -> None:
    """A store without a schema: refused, naming the store, and neither the backup nor its
    partial file is left behind."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE alembic_version")
    finally:
        engine.dispose()
    output = tmp_path / "store.dump"
    with pytest.raises(BackupError, match="has no schema"):
        backup(database_url, output)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("store.")) == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_dump_refuses_tables_and_columns_it_does_not_know(
    database_url: str, tmp_path: Path
) -> None:
    """A store migrated by a later cordtrial (a table or column this model lacks): the dump
    would leave them out, so it is refused, naming them; no file is left."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE trial ADD COLUMN sponsor_code text")
            connection.exec_driver_sql("CREATE TABLE later_feature (id integer PRIMARY KEY)")
    finally:
        engine.dispose()
    output = tmp_path / "store.dump"
    with pytest.raises(BackupError, match=r"later_feature, trial\.sponsor_code, which this"):
        backup(database_url, output)
    assert list(tmp_path.iterdir()) == []


def test_dump_of_a_store_at_an_older_revision_restores_at_the_latest(
    pg_databases: Any, tmp_path: Path
) -> None:
    """The backup to take before an upgrade: a PostgreSQL store at revision 0020 (without the
    tables 0021 adds) is dumped as it is, and the restored copy is migrated to the latest."""
    source, target = pg_databases.create(), pg_databases.create()
    try:
        upgrade(pg_databases.url(source), "0020")
        output = tmp_path / "before-upgrade.dump"
        info = backup(pg_databases.url(source), output)
        assert info.revision == "0020" and "concomitant_medication" not in info.tables
        restored, report = restore(pg_databases.url(target), output)
        assert report.ok and restored.revision == "0020"
        engine = make_engine(pg_databases.url(target))
        try:
            with engine.connect() as connection:
                revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                assert revision.scalar() == "0021"
        finally:
            engine.dispose()
    finally:
        pg_databases.drop(source)
        pg_databases.drop(target)


def test_dump_whose_server_goes_away_midway_leaves_no_file_and_no_thread(
    postgres_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dump's server process is ended (``pg_terminate_backend``, as a restart or an
    administrator would) in the middle of a table's COPY, with blocks of 256 bytes so that the
    compressing thread runs: the backup fails with a BackupError naming the COPY (no driver
    exception reaches the command), the partial file is removed, and the compressing thread has
    ended (one left waiting would keep the process alive)."""
    module = importlib.import_module("cordtrial.trial.backup")
    monkeypatch.setattr(module, "_COPY_BLOCK", 256)
    killer = psycopg.connect(make_url(postgres_store).set(drivername="postgresql")
                             .render_as_string(hide_password=False), autocommit=True)  # fmt: skip
    blocks = {"seen": 0, "ended": 0}
    take = module._CompressedMember.write

    def take_then_end_the_server(self: Any, block: bytes) -> None:
        take(self, block)
        blocks["seen"] += 1
        if blocks["seen"] == 3:  # inside copy_out: the COPY is running
            ended = killer.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            ).fetchone()
            blocks["ended"] = ended[0] if ended else 0

    monkeypatch.setattr(module._CompressedMember, "write", take_then_end_the_server)
    threads = threading.active_count()
    try:
        with pytest.raises(BackupError, match=r'PostgreSQL stopped .COPY "'):
            backup(postgres_store, tmp_path / "store.dump")
    finally:
        killer.close()
    assert blocks["ended"] == 1
    assert list(tmp_path.iterdir()) == []
    assert threading.active_count() == threads


def _tricky_reasons(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            query = select(func.count()).where(AuditEntry.reason == TRICKY)
            return connection.scalar(query) or 0
    finally:
        engine.dispose()


def _dump_tables(path: Path) -> dict[str, list[bytes]]:
    """Each table's COPY lines in a format-2 dump, sorted (the dump keeps the server's order)."""
    tables: dict[str, list[bytes]] = {}
    current: list[bytes] = []
    with gzip.open(path, "rb") as stream:
        stream.readline()
        for line in stream:
            if line.startswith(b'{"table"'):
                current = tables.setdefault(json.loads(line)["table"], [])
            elif line != b"\\.\n":
                current.append(line)
    return {name: sorted(lines) for name, lines in tables.items()}


def test_format_2_dump_of_the_restored_store_is_the_same_dump(
    postgres_store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Dump, restore into PostgreSQL, dump again: every table's rows are the same bytes."""
    first, second = tmp_path / "first.dump", tmp_path / "second.dump"
    backup(postgres_store, first)
    databases = request.getfixturevalue("pg_databases")
    name = databases.create()
    try:
        restore(databases.url(name), first)
        backup(databases.url(name), second)
    finally:
        databases.drop(name)
    before, after = _dump_tables(first), _dump_tables(second)
    assert sum(map(len, before.values())) > 1000
    assert before == after


# --- format 1 ------------------------------------------------------------------------------------


def test_format_1_dump_still_restores_every_row_of_every_table_exactly(
    postgres_store: str, empty_database_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "format1.dump"
    counts = write_dump_format_1(postgres_store, output)
    info = read_info(output)
    assert info.tables == counts
    restored, report = restore(empty_database_url, output)
    assert report.ok, str(report)
    assert restored.tables == counts
    _assert_same_rows(postgres_store, empty_database_url)


# --- refused dumps -------------------------------------------------------------------------------


def _small_dump(database_url: str, tmp_path: Path) -> tuple[Path, list[bytes]]:
    output = tmp_path / "small.dump"
    backup(database_url, output)
    with gzip.open(output, "rb") as stream:
        return output, stream.read().splitlines(keepends=True)


def _rewrite(path: Path, lines: list[bytes]) -> None:
    path.unlink()
    with gzip.open(path, "wb") as stream:
        stream.writelines(lines)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_dump_missing_a_row_is_refused_as_damaged(
    database_url: str, participant: Participant, empty_database_url: str, tmp_path: Path
) -> None:
    output, lines = _small_dump(database_url, tmp_path)
    audit = lines.index(next(line for line in lines if line.startswith(b'{"table": "audit_entry"')))
    del lines[audit + 1]
    _rewrite(output, lines)
    with pytest.raises(BackupError, match=r"audit_entry holds \d+ rows, the dump declares"):
        restore(empty_database_url, output)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_dump_cut_short_is_refused_as_truncated(
    database_url: str, participant: Participant, empty_database_url: str, tmp_path: Path
) -> None:
    output, lines = _small_dump(database_url, tmp_path)
    participant_line = next(i for i, line in enumerate(lines) if b'"table": "participant"' in line)
    _rewrite(output, lines[: participant_line + 2])  # the table's line and its first row
    with pytest.raises(BackupError, match="ends inside table participant"):
        restore(empty_database_url, output)
    _rewrite(output, lines[:participant_line])  # whole tables, but not all of them
    with pytest.raises(BackupError, match="ends before table"):
        restore(empty_database_url, output, force=True)


def test_dump_of_an_unknown_format_version_is_refused(
    empty_database_url: str, tmp_path: Path
) -> None:
    """A dump written by a newer cordtrial in a format this one cannot read."""
    output = tmp_path / "future.dump"
    header = {"format": "cordtrial-dump", "format_version": 3, "revision": "0001", "tables": {}}
    with gzip.open(output, "wt", encoding="utf-8") as stream:
        stream.write(json.dumps(header) + "\n")
    with pytest.raises(BackupError, match=r"format version 3, .* reads versions 1, 2\)"):
        restore(empty_database_url, output)


# --- the COPY text format ------------------------------------------------------------------------


def test_unescape_undoes_every_escape_of_the_text_format() -> None:
    """PostgreSQL documentation, COPY, "Text Format": the backslash sequences, octal and hex
    bytes, and a backslash before any other character standing for that character."""
    assert unescape(rb"a\\b\tc\nd\re\bf\fg\vh") == b"a\\b\tc\nd\re\bf\fg\vh"
    assert unescape(rb"\101\x42\x4a\7\q\.") == b"ABJ\x07q."
    assert unescape(b"\\303\\251") == "é".encode()
    assert unescape(b"no escapes") == b"no escapes"


def test_decode_line_tells_null_empty_and_the_text_backslash_n_apart() -> None:
    line = b"\\N\t\t\\\\N\t\\\\.\n"
    assert decode_line(line, [str, str, str, str]) == [None, "", "\\N", "\\."]


def test_decode_line_refuses_a_line_of_the_wrong_width() -> None:
    with pytest.raises(BackupError, match="3 columns, expected 2"):
        decode_line(b"1\t2\t3\n", [int, int])


def test_row_decoder_reads_each_column_type_of_an_archived_report() -> None:
    table = ArchivedReport.__table__
    columns = ["id", "requested_at", "data_cut", "versions", "seconds", "stage", "pdf_bytes"]
    decode = row_decoder(table, columns)  # type: ignore[arg-type]
    line = b'7\t2026-01-02 03:04:05.5+00\t1900-01-01\t{"a": [1, null]}\tInfinity\tx\\ty\t\\N\n'
    assert decode(line) == [
        7, datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC), date(1900, 1, 1),
        {"a": [1, None]}, float("inf"), "x\ty", None,
    ]  # fmt: skip


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_copy_out_of_a_missing_table_names_the_statement(database_url: str) -> None:
    upgrade(database_url)
    libpq_url = make_url(database_url).set(drivername="postgresql")
    with (
        psycopg.connect(libpq_url.render_as_string(hide_password=False)) as connection,
        pytest.raises(BackupError, match='COPY "no_such_table"'),
    ):
        copy_out(connection, 'COPY "no_such_table" TO STDOUT', lambda block: None)
