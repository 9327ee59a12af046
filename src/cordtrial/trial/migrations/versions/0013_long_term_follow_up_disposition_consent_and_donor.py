"""Long-term follow-up (issue 14): long-term visits with their contact mode, participants'
disposition history and contact attempts, consent form versions and signatures, and the donor
of an iPSC line (for a look-back from a donor to every recipient).

Existing visits are in person and of the main study; existing lines have no donor recorded.
The trail gains one ``baseline`` row per new field of each existing record (actor
``migration 0013``: ``contact_mode`` empty, ``long_term`` false, ``donor_id`` empty), as
revision 0010 did, so that ``audit verify`` finds every stored field in the trail. The
disposition changes, contact attempts and consent signatures are append-only in the database too
(the triggers of revision 0010). Downgrading keeps the baseline rows (the database refuses to
delete audit rows).

Revision ID: 0013
Revises: 0012
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

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ACTOR = "migration 0013"
BASELINE_REASON = "revision 0013 added this field; records stored before it have its default"
_PG_LOCK_KEY = 0x636F7264  # the key the audit trail's writers lock (cordtrial.trial.audit)
#: The fields this revision adds to existing tables, with the value existing rows get.
NEW_FIELDS: dict[str, dict[str, Any]] = {
    "visit_definition": {"contact_mode": None, "long_term": False},
    "ipsc_line": {"donor_id": None},
}
APPEND_ONLY = ("disposition_change", "contact_attempt", "consent_signature")

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
    """Append a baseline row (the value existing rows get) for each new field of each existing
    record, as revision 0010 does."""
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
            for field, value in fields.items():
                seq += 1
                row: dict[str, Any] = {
                    "seq": seq, "at": at, "actor": ACTOR, "action": BASELINE, "entity": name,
                    "entity_id": str(int(record_id)), "field": field, "old_value": None,
                    "new_value": to_text(value), "reason": BASELINE_REASON,
                    "prev_hash": prev_hash,
                }  # fmt: skip
                row["row_hash"] = prev_hash = entry_hash(**row)
                rows.append(row)
    if rows:
        connection.execute(sa.insert(_audit), rows)


def _refuse_changes(table: str) -> None:
    # The append-only triggers of revisions 0002, 0005 and 0010 (same PostgreSQL function).
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


def _record_columns() -> list[sa.Column[int]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def _participant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["participant_id"], ["participant.id"], name=op.f(f"fk_{table}_participant_id_participant")
    )


def upgrade() -> None:
    op.add_column("visit_definition", sa.Column("contact_mode", sa.String(16), nullable=True))
    op.add_column(
        "visit_definition",
        sa.Column("long_term", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("ipsc_line", sa.Column("donor_id", sa.String(64), nullable=True))
    op.create_index(op.f("ix_ipsc_line_donor_id"), "ipsc_line", ["donor_id"], unique=False)
    op.create_table(
        "disposition_change",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data_use_allowed", sa.Boolean(), nullable=True),
        sa.Column("recontact_allowed", sa.Boolean(), nullable=True),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("death_cause", sa.Text(), nullable=True),
        sa.Column("autopsy_asked", sa.Boolean(), nullable=True),
        sa.Column("autopsy_done", sa.Boolean(), nullable=True),
        sa.Column("death_related_to_product", sa.String(16), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        *_record_columns(),
        _participant_fk("disposition_change"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposition_change")),
    )
    op.create_table(
        "contact_attempt",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("attempted_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        *_record_columns(),
        _participant_fk("contact_attempt"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_attempt")),
    )
    op.create_table(
        "consent_version",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("form_version", sa.String(32), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("items", _json(), nullable=False),
        sa.Column("reconsent_required", sa.Boolean(), nullable=False),
        sa.Column("applies_to", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        *_record_columns(),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trial.id"], name=op.f("fk_consent_version_trial_id_trial")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_version")),
        sa.UniqueConstraint(
            "trial_id", "form_version", name=op.f("uq_consent_version_trial_id_form_version")
        ),
    )
    op.create_table(
        "consent_signature",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("consent_version_id", sa.Integer(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("items", _json(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        *_record_columns(),
        _participant_fk("consent_signature"),
        sa.ForeignKeyConstraint(
            ["consent_version_id"],
            ["consent_version.id"],
            name=op.f("fk_consent_signature_consent_version_id_consent_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_signature")),
    )
    for table, column in (
        ("disposition_change", "participant_id"),
        ("contact_attempt", "participant_id"),
        ("consent_version", "trial_id"),
        ("consent_signature", "participant_id"),
        ("consent_signature", "consent_version_id"),
    ):
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)
    for table in APPEND_ONLY:
        _refuse_changes(table)
    _baseline()


def downgrade() -> None:
    for table in ("consent_signature", "consent_version", "contact_attempt", "disposition_change"):
        op.drop_table(table)
    op.drop_index(op.f("ix_ipsc_line_donor_id"), table_name="ipsc_line")
    # plain DROP COLUMN, as 0010 and 0012 do (a batch copy would fail its foreign keys)
    op.execute("ALTER TABLE ipsc_line DROP COLUMN donor_id")
    op.execute("ALTER TABLE visit_definition DROP COLUMN long_term")
    op.execute("ALTER TABLE visit_definition DROP COLUMN contact_mode")
