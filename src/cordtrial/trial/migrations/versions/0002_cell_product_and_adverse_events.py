"""Cell product (iPSC lines, specifications, lots, release tests, administrations, custody
events -- append-only) and adverse events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL: one trigger function refuses UPDATE, DELETE and TRUNCATE on append-only tables
# (used again by the audit trail's revision).
REFUSE_FUNCTION = """
CREATE FUNCTION cordtrial_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def append_only(table: str) -> None:
    """Refuse UPDATE and DELETE (and on PostgreSQL TRUNCATE) on ``table`` in the database."""
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


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _record(name: str, *columns: sa.schema.SchemaItem) -> None:
    op.create_table(
        name,
        *columns,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _index(table: str, column: str) -> None:
    op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def upgrade() -> None:
    _record(
        "ipsc_line",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.UniqueConstraint("name", name=op.f("uq_ipsc_line_name")),
    )
    _record(
        "product_specification",
        sa.Column("spec_version", sa.String(length=32), nullable=False),
        sa.Column("limits", _json(), nullable=False),
        sa.UniqueConstraint("spec_version", name=op.f("uq_product_specification_spec_version")),
    )
    _record(
        "lot",
        sa.Column("ipsc_line_id", sa.Integer(), nullable=False),
        sa.Column("specification_id", sa.Integer(), nullable=False),
        sa.Column("lot_number", sa.String(length=64), nullable=False),
        sa.Column("manufactured_on", sa.Date(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision_reasons", _json(), nullable=False),
        _fk("lot", "ipsc_line_id", "ipsc_line"),
        _fk("lot", "specification_id", "product_specification"),
        sa.UniqueConstraint("lot_number", name=op.f("uq_lot_lot_number")),
    )
    _index("lot", "ipsc_line_id")
    _record(
        "release_test",
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("test", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("finding", sa.String(length=32), nullable=True),
        sa.Column("tested_on", sa.Date(), nullable=False),
        sa.Column("tested_by", sa.String(length=100), nullable=False),
        _fk("release_test", "lot_id", "lot"),
    )
    _index("release_test", "lot_id")
    _record(
        "administration",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("dose_cells", sa.Integer(), nullable=False),
        sa.Column("volume_ml", sa.Float(), nullable=False),
        sa.Column("injection_site", sa.String(length=200), nullable=False),
        sa.Column("administered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("identity_checked_by", sa.String(length=100), nullable=False),
        _fk("administration", "participant_id", "participant"),
        _fk("administration", "lot_id", "lot"),
    )
    _index("administration", "participant_id")
    _index("administration", "lot_id")
    _record(
        "custody_event",
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        _fk("custody_event", "lot_id", "lot"),
    )
    _index("custody_event", "lot_id")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE_FUNCTION)
    append_only("custody_event")
    _record(
        "adverse_event",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=48), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("resolution_date", sa.Date(), nullable=True),
        sa.Column("awareness_date", sa.Date(), nullable=False),
        sa.Column("ctcae_grade", sa.Integer(), nullable=False),
        sa.Column("serious_criteria", _json(), nullable=False),
        sa.Column("related_to_cells", sa.String(length=16), nullable=False),
        sa.Column("related_to_procedure", sa.String(length=16), nullable=False),
        sa.Column("related_to_immunosuppression", sa.String(length=16), nullable=False),
        sa.Column("expectedness", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("expedited_report_required", sa.Boolean(), nullable=False),
        sa.Column("expedited_report_due", sa.Date(), nullable=True),
        _fk("adverse_event", "participant_id", "participant"),
    )
    _index("adverse_event", "participant_id")


def downgrade() -> None:
    for table in (
        "adverse_event",
        "custody_event",
        "administration",
        "release_test",
        "lot",
        "product_specification",
        "ipsc_line",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION cordtrial_refuse_change()")
