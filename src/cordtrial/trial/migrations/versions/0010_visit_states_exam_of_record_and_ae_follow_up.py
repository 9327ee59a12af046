"""Visit states and adverse-event follow-up: what a visit requires, a missed visit's reason, the
visit's exam of record (and why an exam was repeated), an adverse event's narrative, the
submission of its expedited report, and follow-up reports.

Every new column is nullable and left empty on existing rows, where empty means what the code
did before (a visit requires the ISNCSCI exam; the latest exam of a visit is its exam of record;
no narrative, nothing submitted). The trail gains one ``baseline`` row per new field of each
existing record (actor ``migration 0010``), as revision 0008 did for the row version, so that
``audit verify`` finds every stored field in the trail. Downgrading keeps those rows (the
database refuses to delete audit rows).

Revision ID: 0010
Revises: 0009 (the integrator chains 0009 in between)
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cordtrial.trial.audit import BASELINE, entry_hash, to_text
from cordtrial.trial.types import UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ACTOR = "migration 0010"
BASELINE_REASON = "revision 0010 added this field; it is empty on records stored before it"
_PG_LOCK_KEY = 0x636F7264  # the key the audit trail's writers lock (cordtrial.trial.audit)
#: The fields this revision adds to existing tables.
NEW_FIELDS = {
    "visit_definition": ("requires",),
    "visit": ("missed_reason",),
    "isncsci_exam": ("of_record", "repeat_reason"),
    "adverse_event": (
        "narrative", "expedited_submitted_on", "expedited_authority", "expedited_reference",
    ),
}  # fmt: skip

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


def _baseline() -> None:
    """Append a baseline row (empty value) for each new field of each existing record."""
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    head = connection.execute(
        sa.select(_audit.c.seq, _audit.c.row_hash).order_by(_audit.c.seq.desc()).limit(1)
    ).first()
    if head is None:
        return
    seq, prev_hash = head.seq, head.row_hash
    at = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for name, fields in NEW_FIELDS.items():
        table = sa.table(name, sa.column("id", sa.Integer()))
        for (record_id,) in connection.execute(sa.select(table.c.id).order_by(table.c.id)):
            for field in fields:
                seq += 1
                row: dict[str, Any] = {
                    "seq": seq, "at": at, "actor": ACTOR, "action": BASELINE, "entity": name,
                    "entity_id": str(int(record_id)), "field": field, "old_value": None,
                    "new_value": to_text(None), "reason": BASELINE_REASON, "prev_hash": prev_hash,
                }  # fmt: skip
                row["row_hash"] = prev_hash = entry_hash(**row)
                rows.append(row)
    if rows:
        connection.execute(sa.insert(_audit), rows)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _refuse_changes(table: str) -> None:
    # The append-only triggers of revisions 0002 and 0005 (same PostgreSQL function).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION cordtrial_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION cordtrial_refuse_change()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )


def upgrade() -> None:
    op.add_column("visit_definition", sa.Column("requires", _json(), nullable=True))
    op.add_column("visit", sa.Column("missed_reason", sa.Text(), nullable=True))
    op.add_column("isncsci_exam", sa.Column("of_record", sa.Boolean(), nullable=True))
    op.add_column("isncsci_exam", sa.Column("repeat_reason", sa.Text(), nullable=True))
    op.add_column("adverse_event", sa.Column("narrative", sa.Text(), nullable=True))
    op.add_column("adverse_event", sa.Column("expedited_submitted_on", sa.Date(), nullable=True))
    op.add_column(
        "adverse_event", sa.Column("expedited_authority", sa.String(length=100), nullable=True)
    )
    op.add_column(
        "adverse_event", sa.Column("expedited_reference", sa.String(length=100), nullable=True)
    )
    op.create_table(
        "adverse_event_follow_up",
        sa.Column("adverse_event_id", sa.Integer(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"],
            ["adverse_event.id"],
            name=op.f("fk_adverse_event_follow_up_adverse_event_id_adverse_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_event_follow_up")),
    )
    op.create_index(
        op.f("ix_adverse_event_follow_up_adverse_event_id"),
        "adverse_event_follow_up",
        ["adverse_event_id"],
        unique=False,
    )
    _refuse_changes("adverse_event_follow_up")
    _baseline()


def downgrade() -> None:
    op.drop_index(
        op.f("ix_adverse_event_follow_up_adverse_event_id"), table_name="adverse_event_follow_up"
    )
    op.drop_table("adverse_event_follow_up")
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of a table that others refer
    # to would fail its foreign keys once rows exist.
    for table, column in (
        ("adverse_event", "expedited_reference"),
        ("adverse_event", "expedited_authority"),
        ("adverse_event", "expedited_submitted_on"),
        ("adverse_event", "narrative"),
        ("isncsci_exam", "repeat_reason"),
        ("isncsci_exam", "of_record"),
        ("visit", "missed_reason"),
        ("visit_definition", "requires"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
