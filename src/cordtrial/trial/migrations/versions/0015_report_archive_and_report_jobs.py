"""The report archive (issue 17): each DSMB or efficacy report made once per data snapshot, in
the background, its job state (status, progress, stage) in the database so that every worker
process sees it, then the document's files, snapshot hash and engine versions.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cordtrial.trial.types import JsonValue

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "archived_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("data_version", sa.String(length=100), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snapshot_hash", sa.String(length=64), nullable=True),
        sa.Column("data_cut", sa.Date(), nullable=True),
        sa.Column("versions", JsonValue, nullable=True),
        sa.Column("pdf_file", sa.String(length=255), nullable=True),
        sa.Column("html_file", sa.String(length=255), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("pdf_bytes", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("peak_rss_mib", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trial.id"], name=op.f("fk_archived_report_trial_id_trial")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archived_report")),
    )
    op.create_index(
        "ix_archived_report_trial", "archived_report", ["trial_id", "kind", "data_version"]
    )


def downgrade() -> None:
    op.drop_index("ix_archived_report_trial", table_name="archived_report")
    op.drop_table("archived_report")
