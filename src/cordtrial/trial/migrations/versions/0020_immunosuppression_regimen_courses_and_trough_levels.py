"""Immunosuppression (issue 15): the protocol's regimen per drug (dose, route, start, taper,
planned stop, trough target ranges by period), each participant's course with its dose changes,
interruptions and stop, and trough levels flagged against the target in force. New tables only:
nothing stored before changes.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _record(table: str) -> list[Any]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _of_course(table: str) -> list[Any]:
    return [
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"],
            name=op.f(f"fk_{table}_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["immunosuppression_course.id"],
            name=op.f(f"fk_{table}_course_id_immunosuppression_course"),
        ),
    ]  # fmt: skip


_PER_COURSE = ("immunosuppression_dose_change", "immunosuppression_interruption", "trough_level")


def upgrade() -> None:
    op.create_table(
        "immunosuppression_regimen",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("drug", sa.String(length=32), nullable=False),
        sa.Column("dose", sa.Float(), nullable=False),
        sa.Column("dose_unit", sa.String(length=16), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("start_day", sa.Integer(), nullable=False),
        sa.Column("planned_stop_day", sa.Integer(), nullable=True),
        sa.Column("taper", _json(), nullable=False),
        sa.Column("targets", _json(), nullable=False),
        sa.Column("target_unit", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        *_record("immunosuppression_regimen"),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trial.id"], name=op.f("fk_immunosuppression_regimen_trial_id_trial")
        ),
        sa.UniqueConstraint(
            "trial_id", "drug", name=op.f("uq_immunosuppression_regimen_trial_id_drug")
        ),
    )
    op.create_index(
        op.f("ix_immunosuppression_regimen_trial_id"), "immunosuppression_regimen", ["trial_id"]
    )
    op.create_table(
        "immunosuppression_course",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("regimen_id", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("start_dose", sa.Float(), nullable=False),
        sa.Column("dose_unit", sa.String(length=16), nullable=False),
        sa.Column("stopped_on", sa.Date(), nullable=True),
        sa.Column("stop_reason", sa.String(length=32), nullable=True),
        sa.Column("stop_note", sa.Text(), nullable=True),
        *_record("immunosuppression_course"),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"],
            name=op.f("fk_immunosuppression_course_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["regimen_id"], ["immunosuppression_regimen.id"],
            name=op.f("fk_immunosuppression_course_regimen_id_immunosuppression_regimen"),
        ),
        sa.UniqueConstraint(
            "participant_id", "regimen_id",
            name=op.f("uq_immunosuppression_course_participant_id_regimen_id"),
        ),
    )  # fmt: skip
    op.create_index(
        op.f("ix_immunosuppression_course_participant_id"),
        "immunosuppression_course",
        ["participant_id"],
    )
    op.create_table(
        "immunosuppression_dose_change",
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("dose", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        *_of_course("immunosuppression_dose_change"),
        *_record("immunosuppression_dose_change"),
    )
    op.create_table(
        "immunosuppression_interruption",
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        *_of_course("immunosuppression_interruption"),
        *_record("immunosuppression_interruption"),
    )
    op.create_table(
        "trough_level",
        sa.Column("sampled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hours_since_dose", sa.Float(), nullable=False),
        sa.Column("entered_value", sa.Float(), nullable=False),
        sa.Column("entered_unit", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("target_low", sa.Float(), nullable=True),
        sa.Column("target_high", sa.Float(), nullable=True),
        sa.Column("flag", sa.String(length=16), nullable=False),
        *_of_course("trough_level"),
        *_record("trough_level"),
    )
    for table in _PER_COURSE:
        op.create_index(op.f(f"ix_{table}_participant_id"), table, ["participant_id"])
        op.create_index(op.f(f"ix_{table}_course_id"), table, ["course_id"])
    op.create_index(op.f("ix_trough_level_flag"), "trough_level", ["flag"])


def downgrade() -> None:
    op.drop_index(op.f("ix_trough_level_flag"), table_name="trough_level")
    for table in reversed(_PER_COURSE):
        op.drop_index(op.f(f"ix_{table}_course_id"), table_name=table)
        op.drop_index(op.f(f"ix_{table}_participant_id"), table_name=table)
        op.drop_table(table)
    op.drop_index(
        op.f("ix_immunosuppression_course_participant_id"), table_name="immunosuppression_course"
    )
    op.drop_table("immunosuppression_course")
    op.drop_index(
        op.f("ix_immunosuppression_regimen_trial_id"), table_name="immunosuppression_regimen"
    )
    op.drop_table("immunosuppression_regimen")
