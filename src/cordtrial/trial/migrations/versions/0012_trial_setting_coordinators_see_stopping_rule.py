"""Per-trial setting: whether coordinators see the trial-wide safety stopping rule (issue 16).

The stopping rule's state is an aggregate over every site; whether site coordinators may see it
is the protocol's (and the data monitoring committee charter's) decision, so it is a setting of
the trial, off unless the protocol says so. Existing trials get ``false``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "trial",
        sa.Column(
            "coordinators_see_stopping_rule",
            sa.Boolean(),
            nullable=False,
            server_default=sa.false(),
        ),
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL), as in 0010: a batch copy of the trial table,
    # which others refer to, would fail its foreign keys once rows exist.
    op.execute("ALTER TABLE trial DROP COLUMN coordinators_see_stopping_rule")
