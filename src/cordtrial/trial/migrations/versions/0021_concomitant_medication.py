"""Concomitant medication (issue 15): a participant's medications besides the investigational
product (dose, route, frequency, indication, start and stop, ATC code) and the review status of
one known to change the immunosuppressant's level (rules.medications). A new table only: nothing
stored before changes.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "concomitant_medication",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("atc_code", sa.String(length=7), nullable=True),
        sa.Column("dose", sa.Float(), nullable=True),
        sa.Column("dose_unit", sa.String(length=20), nullable=True),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("frequency", sa.String(length=60), nullable=False),
        sa.Column("indication", sa.String(length=200), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("stop_date", sa.Date(), nullable=True),
        sa.Column("interaction_review", sa.String(length=16), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"],
            name=op.f("fk_concomitant_medication_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concomitant_medication")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_concomitant_medication_participant_id"),
        "concomitant_medication",
        ["participant_id"],
    )
    op.create_index(
        op.f("ix_concomitant_medication_interaction_review"),
        "concomitant_medication",
        ["interaction_review"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_concomitant_medication_interaction_review"), table_name="concomitant_medication"
    )
    op.drop_index(
        op.f("ix_concomitant_medication_participant_id"), table_name="concomitant_medication"
    )
    op.drop_table("concomitant_medication")
