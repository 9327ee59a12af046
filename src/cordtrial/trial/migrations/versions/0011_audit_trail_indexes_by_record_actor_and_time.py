"""Audit trail indexes: by record (entity, id), by actor and by time (issue 17).

At hundreds of participants the trail holds about a million rows. A record's history, the list
of audited entities and the filters of the audit page were full scans of it; the verifier's
reconciliation reads each record's rows by (entity, id) too. Indexes only: no row is written or
changed, so the hash chain and every anchor kept elsewhere are untouched.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_audit_entry_record": ["entity", "entity_id", "seq"],
    "ix_audit_entry_actor": ["actor", "seq"],
    "ix_audit_entry_at": ["at"],
}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.create_index(name, "audit_entry", columns, unique=False)


def downgrade() -> None:
    for name in reversed(_INDEXES):
        op.drop_index(name, table_name="audit_entry")
