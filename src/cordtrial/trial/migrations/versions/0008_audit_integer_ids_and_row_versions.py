"""Audit trail: repair ids recorded as decimals ("1.0") and begin auditing the row version.

Two defects of trails written before this revision (issue 12), repaired by *appending* rows to the
chain -- no row is changed or deleted, so every hash and every anchor kept elsewhere stays valid:

* On SQLite before 3.41, ``INSERT ... RETURNING id`` took the affinity of the table's first
  column; on ``ten_metre_walk`` and ``six_minute_walk`` (first column FLOAT) the trail recorded
  ``entity_id="1.0"``. For each such record one ``rekey`` row is appended: ``entity_id`` is the
  right id, ``old_value`` the id as it was recorded. The verifier's replay moves the record's
  history to its right id, and reading a record's history follows the rekey.
* The row ``version`` was not audited. For each record the trail holds, one ``baseline`` row
  records the version stored at migration time; from then on the use cases audit every version
  change like any other field.

The rows are written by the actor ``migration 0008`` with a reason that says why. Downgrading
keeps them: the database refuses to delete audit rows (and the code before this revision does
not know these two actions, so its verifier would report them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from alembic import op

from cordtrial.trial.audit import BASELINE, REKEY, entry_hash, to_text
from cordtrial.trial.types import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR = "migration 0008"
REKEY_REASON = (
    "the record's id was recorded as a decimal by a SQLite defect (RETURNING took the type of "
    "the table's first column); this row gives its integer id"
)
BASELINE_REASON = (
    "the audit trail covers the row version from revision 0008 on; this row records the "
    "version stored when the coverage began"
)
_PG_LOCK_KEY = 0x636F7264  # the key the audit trail's writers lock (cordtrial.trial.audit)
_BATCH = 5000

_audit = sa.table(
    "audit_entry",
    sa.column("seq", sa.Integer()),
    sa.column("at", UtcDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("entity", sa.String()),
    sa.column("entity_id", sa.String()),
    sa.column("field", sa.String()),
    sa.column("old_value", sa.Text()),
    sa.column("new_value", sa.Text()),
    sa.column("reason", sa.Text()),
    sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()),
)


def _integer_id(recorded: str) -> str | None:
    """The id as decimal digits when ``recorded`` is an integral number written otherwise."""
    try:
        number = Decimal(recorded)
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    fixed = str(int(number))
    return fixed if fixed != recorded else None


def _changes(connection: sa.Connection) -> Iterator[tuple[str, str, str, str, str | None, str]]:
    """(action, entity, entity_id, field, old_value, new_value) of every row to append."""
    last = (
        sa.select(_audit.c.entity, _audit.c.entity_id, sa.func.max(_audit.c.seq).label("seq"))
        .group_by(_audit.c.entity, _audit.c.entity_id)
        .subquery()
    )
    latest = connection.execute(
        sa.select(_audit.c.entity, _audit.c.entity_id, _audit.c.action)
        .join(last, _audit.c.seq == last.c.seq)
        .order_by(_audit.c.entity, _audit.c.seq)
    ).all()
    with_version = {
        (entity, entity_id)
        for entity, entity_id in connection.execute(
            sa.select(_audit.c.entity, _audit.c.entity_id)
            .where(_audit.c.field == "version")
            .distinct()
        )
    }
    live: set[tuple[str, str]] = set()
    for entity, recorded, action in latest:
        fixed = _integer_id(recorded)
        if fixed is not None:
            yield (REKEY, entity, fixed, "entity_id", to_text(recorded), to_text(fixed))
        if action != "delete":
            live.add((entity, fixed or recorded))
    inspector = sa.inspect(connection)
    for name in sorted({entity for entity, _ in live}):
        if not inspector.has_table(name):
            continue
        columns = {c["name"] for c in inspector.get_columns(name)}
        if not {"id", "version"} <= columns:
            continue
        table = sa.table(name, sa.column("id", sa.Integer()), sa.column("version", sa.Integer()))
        for record_id, version in connection.execute(
            sa.select(table.c.id, table.c.version).order_by(table.c.id)
        ):
            key = (name, str(int(record_id)))
            if key in live and key not in with_version:
                yield (BASELINE, name, key[1], "version", None, to_text(int(version)))


def upgrade() -> None:
    # Reading a record's history looks up the (rare) rekey rows.
    op.create_index(op.f("ix_audit_entry_action"), "audit_entry", ["action"])
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    head = connection.execute(
        sa.select(_audit.c.seq, _audit.c.row_hash).order_by(_audit.c.seq.desc()).limit(1)
    ).first()
    if head is None:
        return  # an empty trail: nothing to repair
    seq, prev_hash = head.seq, head.row_hash
    at = datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    for action, entity, entity_id, field, old, new in list(_changes(connection)):
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "at": at,
            "actor": ACTOR,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "field": field,
            "old_value": old,
            "new_value": new,
            "reason": REKEY_REASON if action == REKEY else BASELINE_REASON,
            "prev_hash": prev_hash,
        }
        row["row_hash"] = prev_hash = entry_hash(**row)
        batch.append(row)
        if len(batch) >= _BATCH:
            connection.execute(sa.insert(_audit), batch)
            batch = []
    if batch:
        connection.execute(sa.insert(_audit), batch)


def downgrade() -> None:
    """Drop the index; the appended rows stay (see the module docstring)."""
    op.drop_index(op.f("ix_audit_entry_action"), table_name="audit_entry")
