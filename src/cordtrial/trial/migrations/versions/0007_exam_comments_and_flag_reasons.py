"""ISNCSCI exams: the examiner's comments and the reason for each flagged (* / **) value.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("isncsci_exam", sa.Column("notes", _json(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("isncsci_exam") as batch:
        batch.drop_column("notes")
