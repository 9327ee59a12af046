"""MRI surveillance: examinations (DICOM identifiers and acquisition metadata) and structured
reads by the site, two blinded central readers and an adjudicator (issue 14).

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "mri_exam",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("acquired_on", sa.Date(), nullable=False),
        sa.Column("imaging_site", sa.String(length=200), nullable=False),
        sa.Column("field_strength_t", sa.Float(), nullable=False),
        sa.Column("sequences", _json(), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_mri_exam_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mri_exam")),
        sa.UniqueConstraint("study_instance_uid", name=op.f("uq_mri_exam_study_instance_uid")),
    )
    op.create_index(
        op.f("ix_mri_exam_participant_id"), "mri_exam", ["participant_id"], unique=False
    )
    op.create_table(
        "mri_read",
        sa.Column("mri_exam_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reader", sa.String(length=64), nullable=False),
        sa.Column("assigned_by", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("impression", sa.String(length=32), nullable=True),
        sa.Column("new_mass", sa.Boolean(), nullable=True),
        sa.Column("contrast_enhancement", sa.Boolean(), nullable=True),
        sa.Column("mass_effect", sa.Boolean(), nullable=True),
        sa.Column("haemorrhage", sa.Boolean(), nullable=True),
        sa.Column("cord_compression", sa.Boolean(), nullable=True),
        sa.Column("oedema", sa.Boolean(), nullable=True),
        sa.Column("syrinx_present", sa.Boolean(), nullable=True),
        sa.Column("syrinx_length_mm", sa.Float(), nullable=True),
        sa.Column("syrinx_change", sa.String(length=16), nullable=True),
        sa.Column("graft_length_mm", sa.Float(), nullable=True),
        sa.Column("graft_volume_mm3", sa.Float(), nullable=True),
        sa.Column("basic_score", sa.Integer(), nullable=True),
        sa.Column("finding", sa.Text(), nullable=True),
        sa.Column("adverse_event_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mri_exam_id"], ["mri_exam.id"], name=op.f("fk_mri_read_mri_exam_id_mri_exam")
        ),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"],
            ["adverse_event.id"],
            name=op.f("fk_mri_read_adverse_event_id_adverse_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mri_read")),
        sa.UniqueConstraint("mri_exam_id", "reader", name=op.f("uq_mri_read_mri_exam_id_reader")),
    )
    op.create_index(op.f("ix_mri_read_mri_exam_id"), "mri_read", ["mri_exam_id"], unique=False)
    op.create_index(op.f("ix_mri_read_reader"), "mri_read", ["reader"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_mri_read_reader"), table_name="mri_read")
    op.drop_index(op.f("ix_mri_read_mri_exam_id"), table_name="mri_read")
    op.drop_table("mri_read")
    op.drop_index(op.f("ix_mri_exam_participant_id"), table_name="mri_exam")
    op.drop_table("mri_exam")
