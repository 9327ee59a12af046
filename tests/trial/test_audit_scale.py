"""Issue 17, the audit trail at scale: indexes that the history, actor, time and entity-list
queries use (read from the databases' own query plans), the verifier's record-by-record replay
across a ``rekey``, and the PostgreSQL dump's COPY rows handed on in blocks of any size."""

from __future__ import annotations

import gzip
import importlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import REKEY, audit_head, entry_hash, record_fields, verify_audit
from cordtrial.trial.backup import backup, restore
from cordtrial.trial.database import make_engine, make_session_factory
from cordtrial.trial.models import AuditEntry, Participant
from cordtrial.trial.services.participants import update_participant
from cordtrial.trial.services.reads import list_audit, list_audit_entities

# --- indexes ---------------------------------------------------------------------------------


def _statements(engine: Engine, session: Session, read: Any) -> list[tuple[str, Any]]:
    """The SQL statements (with parameters) that ``read()`` sends to the database."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        read()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return [(s, p) for s, p in seen if "audit_entry" in s]


def _plan(session: Session, statement: str, parameters: Any) -> str:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # On a handful of rows a sequential scan always wins; what matters is that the index
        # serves the query once the trail is long.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
    else:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


def _changed(session: Session, participant: Participant) -> None:
    update_participant(
        session, user=acting_as("monitor"), participant_id=participant.id, reason="source check",
        age_at_injury=35,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("history", "ix_audit_entry_record"),
        ("actor", "ix_audit_entry_actor"),
        ("entities", "ix_audit_entry_record"),
    ],
)
def test_audit_reads_use_the_trail_indexes(
    engine: Engine, session: Session, participant: Participant, name: str, index: str
) -> None:
    """Before issue 17 a record's history and the audit page's entity list read every row."""
    _changed(session, participant)
    reads = {
        "history": lambda: list_audit(session, entity="participant", entity_id=str(participant.id)),
        "actor": lambda: list_audit(session, actor="monitor"),
        "entities": lambda: list_audit_entities(session),
    }
    statements = _statements(engine, session, reads[name])
    main = [s for s in statements if "rekey" not in str(s[1])]
    assert main, statements
    plan = _plan(session, *main[-1])
    assert index in plan, plan
    session.rollback()


def test_audit_filters_and_entities_answer_like_a_full_scan(
    session: Session, participant: Participant
) -> None:
    _changed(session, participant)
    every = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    assert list_audit_entities(session) == sorted({e.entity for e in every})
    by_monitor = list_audit(session, actor="monitor", limit=10_000)
    assert [e.seq for e in by_monitor] == [e.seq for e in every if e.actor == "monitor"]
    assert by_monitor and all(e.field in {"age_at_injury", "version"} for e in by_monitor)
    moment = by_monitor[0].at
    later = list_audit(session, since=moment, limit=10_000)
    assert [e.seq for e in later] == [e.seq for e in every if e.at >= moment]
    earlier = list_audit(session, until=moment, limit=10_000)
    assert [e.seq for e in earlier] == [e.seq for e in every if e.at < moment]
    assert list_audit(session, since=moment + timedelta(days=1)) == []


def test_entity_list_of_an_empty_trail_is_empty(session: Session) -> None:
    assert list_audit_entities(session) == []


# --- the verifier across a rekey -------------------------------------------------------------


def _append(engine: Engine, session: Session, rows: list[dict[str, Any]]) -> None:
    """Append rows to the chain as a migration does (hashes computed, nothing else touched)."""
    seq, prev = audit_head(session)
    session.rollback()
    at = datetime.now(UTC)
    chained = []
    for values in rows:
        seq += 1
        row = {"seq": seq, "at": at, "actor": "migration test", "reason": "test"} | values
        row["prev_hash"] = prev
        row["row_hash"] = prev = entry_hash(**row)
        chained.append(row)
    with engine.begin() as connection:
        connection.execute(AuditEntry.__table__.insert(), chained)


def _history_under(record: dict[str, str], entity_id: str) -> list[dict[str, Any]]:
    return [
        {"action": "create", "entity": "participant", "entity_id": entity_id, "field": field,
         "old_value": None, "new_value": value}
        for field, value in record.items()
    ]  # fmt: skip


def _rekey(right: str, recorded: str) -> dict[str, Any]:
    return {"action": REKEY, "entity": "participant", "entity_id": right, "field": "id",
            "old_value": json.dumps(recorded), "new_value": json.dumps(int(right))}  # fmt: skip


def _stored(session: Session, participant: Participant) -> dict[str, str]:
    table = Participant.__table__
    row = session.execute(select(table).where(table.c.id == participant.id)).mappings().one()
    return record_fields(Participant, row)


@pytest.mark.audit_tampered
def test_rekey_replaces_a_records_history_with_the_one_recorded_under_its_old_id(
    engine: Engine, session: Session, participant: Participant
) -> None:
    """As in migration 0008: a history recorded under ``"N.0"`` and a ``rekey`` to ``N``.
    Replayed alone, record N's own rows would verify; the rekey makes the rows recorded under
    ``N.0`` its history, so a field they disagree on is reported."""
    key = str(participant.id)
    wrong = _stored(session, participant) | {"age_at_injury": "99"}
    _append(engine, session, [*_history_under(wrong, f"{key}.0"), _rekey(key, f"{key}.0")])
    problems = verify_audit(session).problems
    assert [str(p) for p in problems] == [
        f"unaudited: participant {key} age_at_injury: stored 34, the trail says 99"
    ]


def test_rekey_of_a_full_history_verifies(
    engine: Engine, session: Session, participant: Participant
) -> None:
    key = str(participant.id)
    history = _history_under(_stored(session, participant), f"{key}.0")
    _append(engine, session, [*history, _rekey(key, f"{key}.0")])
    report = verify_audit(session)
    assert report.ok, str(report)


@pytest.mark.audit_tampered
def test_rekey_to_an_id_no_record_has_moves_the_history_away(
    engine: Engine, session: Session, participant: Participant
) -> None:
    key = str(participant.id)
    _append(engine, session, [_rekey("999", key)])
    problems = [str(p) for p in verify_audit(session).problems]
    assert problems == [
        f"unaudited: participant {key} exists but has no audit entry",
        "unaudited: participant 999 is gone but the trail never deleted it",
    ]


# --- the PostgreSQL dump ---------------------------------------------------------------------

#: Text a JSON encoder, COPY or a line-based reader could get wrong.
TRICKY = 'back\\slash \\n tab\there new\nline cr\r bs\b "quoted" é ∑ \U0001f600'


@pytest.mark.parametrize("block", [1, 1 << 20], ids=["a-row-a-block", "megabyte-blocks"])
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_dump_read_in_many_blocks_restores_every_value_exactly(
    block: int,
    session: Session,
    participant: Participant,
    database_url: str,
    empty_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dump whose COPY rows are handed on a row at a time (or a megabyte) restores row for
    row: the audit chain's hashes, recomputed from the restored text, match."""
    for age in (35, 36, 37, 38):
        update_participant(
            session, user=acting_as("monitor"), participant_id=participant.id,
            reason=f"{TRICKY} {age}", age_at_injury=age,
        )  # fmt: skip
    head = verify_audit(session)
    reasons = session.scalars(select(AuditEntry.reason).order_by(AuditEntry.seq)).all()
    session.close()
    module = importlib.import_module("cordtrial.trial.backup")
    monkeypatch.setattr(module, "_COPY_BLOCK", block)
    output = tmp_path / "store.dump"
    info = backup(database_url, output)
    assert info.tables["audit_entry"] == head.entries > 3 * 5
    with gzip.open(output, "rb") as stream:
        lines = stream.read().split(b"\n")[:-1]
    # the header; per table its line, its rows and the end-of-data line
    assert len(lines) == 1 + 2 * len(info.tables) + info.rows
    restored, report = restore(empty_database_url, output)
    assert report.ok, str(report)
    assert (report.entries, report.head_hash) == (head.entries, head.head_hash)
    assert restored.tables == info.tables
    engine = make_engine(empty_database_url)
    try:
        with make_session_factory(engine)() as target:
            got = target.scalars(select(AuditEntry.reason).order_by(AuditEntry.seq)).all()
    finally:
        engine.dispose()
    assert got == reasons
    assert sum(TRICKY in (r or "") for r in got) >= 4  # each correction, in one row or more
