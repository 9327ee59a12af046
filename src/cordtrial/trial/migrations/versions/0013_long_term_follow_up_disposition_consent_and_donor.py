"""Long-term follow-up (issue 14): long-term visits with their contact mode, participants'
disposition history and contact attempts, consent form versions and signatures, and the donor
of an iPSC line (for a look-back from a donor to every recipient).

Existing visits are in person and of the main study; existing lines have no donor recorded.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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


def downgrade() -> None:
    for table in ("consent_signature", "consent_version", "contact_attempt", "disposition_change"):
        op.drop_table(table)
    op.drop_index(op.f("ix_ipsc_line_donor_id"), table_name="ipsc_line")
    # plain DROP COLUMN, as 0010 and 0012 do (a batch copy would fail its foreign keys)
    op.execute("ALTER TABLE ipsc_line DROP COLUMN donor_id")
    op.execute("ALTER TABLE visit_definition DROP COLUMN long_term")
    op.execute("ALTER TABLE visit_definition DROP COLUMN contact_mode")
