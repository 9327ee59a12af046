"""Laboratory results (issue 15): each site's reference ranges per analyte, and results as
entered and in the protocol's unit, graded by CTCAE v5.0 (rules.labs), linked to the adverse
event they were reported as. New tables only: nothing stored before changes.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _record() -> list[sa.Column[int]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "lab_reference_range",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("analyte", sa.String(length=32), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("lln", sa.Float(), nullable=True),
        sa.Column("uln", sa.Float(), nullable=True),
        *_record(),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_lab_reference_range_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_reference_range")),
        sa.UniqueConstraint(
            "site_id", "analyte", "sex", name=op.f("uq_lab_reference_range_site_id_analyte_sex")
        ),
    )
    op.create_index(op.f("ix_lab_reference_range_site_id"), "lab_reference_range", ["site_id"])
    op.create_table(
        "lab_result",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("collected_on", sa.Date(), nullable=False),
        sa.Column("analyte", sa.String(length=32), nullable=False),
        sa.Column("entered_value", sa.Float(), nullable=False),
        sa.Column("entered_unit", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("lln", sa.Float(), nullable=True),
        sa.Column("uln", sa.Float(), nullable=True),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("ctcae_grade", sa.Integer(), nullable=False),
        sa.Column("ctcae_term", sa.String(length=64), nullable=True),
        sa.Column("grade_basis", sa.Text(), nullable=False),
        sa.Column("adverse_event_id", sa.Integer(), nullable=True),
        *_record(),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"],
            name=op.f("fk_lab_result_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"], ["adverse_event.id"],
            name=op.f("fk_lab_result_adverse_event_id_adverse_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_result")),
    )  # fmt: skip
    op.create_index(op.f("ix_lab_result_participant_id"), "lab_result", ["participant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_lab_result_participant_id"), table_name="lab_result")
    op.drop_table("lab_result")
    op.drop_index(op.f("ix_lab_reference_range_site_id"), table_name="lab_reference_range")
    op.drop_table("lab_reference_range")
