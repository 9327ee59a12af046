"""Trials, sites, participants, eligibility, randomization, visits, ISNCSCI exams, functional
measures.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _record(name: str, *columns: sa.schema.SchemaItem) -> None:
    """A table of an audited record: its columns, then ``id`` and ``version``."""
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


def _measure(name: str, *columns: sa.schema.SchemaItem) -> None:
    _record(
        name,
        *columns,
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("assessor", sa.String(length=100), nullable=False),
        _fk(name, "participant_id", "participant"),
        _fk(name, "visit_id", "visit"),
    )
    _index(name, "participant_id")


def upgrade() -> None:
    _record(
        "trial",
        sa.Column("protocol_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("phase", sa.String(length=8), nullable=False),
        sa.Column("eligibility", _json(), nullable=False),
        sa.Column("strata_factors", _json(), nullable=False),
        sa.UniqueConstraint("protocol_id", name=op.f("uq_trial_protocol_id")),
    )
    _record(
        "arm",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ratio", sa.Integer(), nullable=False),
        _fk("arm", "trial_id", "trial"),
        sa.UniqueConstraint("trial_id", "code", name=op.f("uq_arm_trial_id_code")),
    )
    _index("arm", "trial_id")
    _record(
        "visit_definition",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("target_day", sa.Integer(), nullable=False),
        sa.Column("window_minus", sa.Integer(), nullable=False),
        sa.Column("window_plus", sa.Integer(), nullable=False),
        _fk("visit_definition", "trial_id", "trial"),
        sa.UniqueConstraint("trial_id", "name", name=op.f("uq_visit_definition_trial_id_name")),
    )
    _index("visit_definition", "trial_id")
    _record(
        "site",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _fk("site", "trial_id", "trial"),
        sa.UniqueConstraint("trial_id", "code", name=op.f("uq_site_trial_id_code")),
    )
    _index("site", "trial_id")
    _record(
        "participant",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.String(length=32), nullable=False),
        sa.Column("injury_date", sa.Date(), nullable=False),
        sa.Column("injury_level", sa.String(length=8), nullable=False),
        sa.Column("injury_mechanism", sa.String(length=32), nullable=False),
        sa.Column("age_at_injury", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("transplant_date", sa.Date(), nullable=True),
        sa.Column("arm_id", sa.Integer(), nullable=True),
        _fk("participant", "trial_id", "trial"),
        _fk("participant", "site_id", "site"),
        _fk("participant", "arm_id", "arm"),
        sa.UniqueConstraint("trial_id", "study_id", name=op.f("uq_participant_trial_id_study_id")),
    )
    for column in ("trial_id", "site_id", "arm_id"):
        _index("participant", column)
    _record(
        "allocation_list",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("block_sizes", _json(), nullable=False),
        sa.Column("strata", _json(), nullable=False),
        sa.Column("seed_sha256", sa.String(length=64), nullable=False),
        _fk("allocation_list", "trial_id", "trial"),
    )
    _index("allocation_list", "trial_id")
    _record(
        "allocation_slot",
        sa.Column("allocation_list_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("block", sa.Integer(), nullable=False),
        sa.Column("arm_code", sa.String(length=32), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        _fk("allocation_slot", "allocation_list_id", "allocation_list"),
        _fk("allocation_slot", "participant_id", "participant"),
        sa.UniqueConstraint(
            "allocation_list_id",
            "stratum",
            "position",
            name=op.f("uq_allocation_slot_allocation_list_id_stratum_position"),
        ),
        sa.UniqueConstraint("participant_id", name=op.f("uq_allocation_slot_participant_id")),
    )
    _index("allocation_slot", "allocation_list_id")
    _record(
        "visit",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("visit_definition_id", sa.Integer(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        _fk("visit", "participant_id", "participant"),
        _fk("visit", "visit_definition_id", "visit_definition"),
        sa.UniqueConstraint(
            "participant_id",
            "visit_definition_id",
            name=op.f("uq_visit_participant_id_visit_definition_id"),
        ),
    )
    _index("visit", "participant_id")
    _record(
        "isncsci_exam",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("examined_on", sa.Date(), nullable=False),
        sa.Column("examiner", sa.String(length=100), nullable=False),
        sa.Column("cells", _json(), nullable=False),
        sa.Column("classification", _json(), nullable=True),
        sa.Column("classification_note", sa.Text(), nullable=False),
        sa.Column("engine_version", sa.String(length=32), nullable=True),
        sa.Column("isncsci_revision", sa.String(length=16), nullable=True),
        _fk("isncsci_exam", "participant_id", "participant"),
        _fk("isncsci_exam", "visit_id", "visit"),
    )
    _index("isncsci_exam", "participant_id")
    _index("isncsci_exam", "visit_id")
    _record(
        "eligibility_assessment",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("assessed_by", sa.String(length=100), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("reasons", _json(), nullable=False),
        sa.Column("criteria", _json(), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=True),
        _fk("eligibility_assessment", "participant_id", "participant"),
        _fk("eligibility_assessment", "exam_id", "isncsci_exam"),
    )
    _index("eligibility_assessment", "participant_id")
    _measure(
        "scim_assessment",
        sa.Column("self_care", sa.Integer(), nullable=False),
        sa.Column("respiration_sphincter", sa.Integer(), nullable=False),
        sa.Column("mobility", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
    )
    _measure("wisci_assessment", sa.Column("level", sa.Integer(), nullable=False))
    _measure(
        "ten_metre_walk",
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("start_mode", sa.String(length=16), nullable=False),
    )
    _measure(
        "six_minute_walk",
        sa.Column("metres", sa.Float(), nullable=False),
        sa.Column("track_length_m", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "six_minute_walk",
        "ten_metre_walk",
        "wisci_assessment",
        "scim_assessment",
        "eligibility_assessment",
        "isncsci_exam",
        "visit",
        "allocation_slot",
        "allocation_list",
        "participant",
        "site",
        "visit_definition",
        "arm",
        "trial",
    ):
        op.drop_table(table)
