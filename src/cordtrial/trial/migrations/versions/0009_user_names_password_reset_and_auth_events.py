"""Users' printed names and forced password change; signatures keep the printed name; every
authentication event recorded (issue 12).

* ``app_user.full_name`` (the user name until an administrator sets it) and
  ``app_user.must_change_password`` (false);
* ``exam_signature.signer_name``: the signer's printed name at signing (the user name for
  signatures made before this revision);
* ``auth_event``: append-only, one row per authentication event.

The filled-in values of existing rows are written to the audit trail as ``update`` rows that
extend the hash chain (actor ``migration 0009``), so that ``cordtrial audit verify`` still
accounts for every stored value; no earlier row of the chain is touched.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from cordtrial.trial.audit import GENESIS_HASH, entry_hash

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTOR = "migration 0009"
_REASON = (
    "schema revision 0009: users have a printed name (their user name until set) and a "
    "forced-password-change flag; signatures keep the signer's printed name"
)
# The key of the audit trail's PostgreSQL advisory lock (cordtrial.trial.audit).
_PG_LOCK_KEY = 0x636F7264


def _refuse_changes(table: str) -> None:
    # Same triggers as custody_event (revision 0002), whose function this reuses on PostgreSQL.
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


def _text(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _audit_filled_values(changes: list[tuple[str, int, str, str]]) -> None:
    """Append one ``update`` row per (entity, id, field, JSON value) to the hash chain."""
    if not changes:
        return
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    last = bind.execute(
        sa.text("SELECT seq, row_hash FROM audit_entry ORDER BY seq DESC LIMIT 1")
    ).first()
    seq, prev_hash = (0, GENESIS_HASH) if last is None else (int(last[0]), str(last[1]))
    at = datetime.now(UTC)
    audit = sa.table(
        "audit_entry",
        *(
            sa.column(name)
            for name in (
                "seq", "at", "actor", "action", "entity", "entity_id", "field", "old_value",
                "new_value", "reason", "prev_hash", "row_hash",
            )
        ),
    )  # fmt: skip
    rows = []
    for entity, key, field, value in changes:
        seq += 1
        row: dict[str, object] = {
            "seq": seq,
            "at": at,
            "actor": _ACTOR,
            "action": "update",
            "entity": entity,
            "entity_id": str(key),
            "field": field,
            "old_value": None,
            "new_value": value,
            "reason": _REASON,
            "prev_hash": prev_hash,
        }
        row["row_hash"] = prev_hash = entry_hash(**row)  # type: ignore[arg-type]
        if bind.dialect.name == "sqlite":
            row["at"] = at.replace(tzinfo=None)  # UtcDateTime stores UTC wall time on SQLite
        rows.append(row)
    bind.execute(sa.insert(audit), rows)


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild on SQLite: other tables' foreign keys point here).
    op.add_column(
        "app_user",
        sa.Column("full_name", sa.String(length=200), nullable=False, server_default=""),
    )
    op.add_column(
        "app_user",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute("UPDATE app_user SET full_name = username")
    # Existing signatures get their signer's user name as the printed name (below).
    op.add_column(
        "exam_signature",
        sa.Column("signer_name", sa.String(length=200), nullable=False, server_default=""),
    )
    bind = op.get_bind()
    signatures = bind.execute(sa.text("SELECT id, signer FROM exam_signature ORDER BY id")).all()
    users = bind.execute(sa.text("SELECT id, username FROM app_user ORDER BY id")).all()
    if signatures:
        _fill_signer_names(bind)
    op.create_table(
        "auth_event",
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_auth_event_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_event")),
    )
    op.create_index(op.f("ix_auth_event_user_id"), "auth_event", ["user_id"], unique=False)
    _refuse_changes("auth_event")
    changes: list[tuple[str, int, str, str]] = []
    for user_id, username in users:
        changes.append(("app_user", int(user_id), "full_name", _text(username)))
        changes.append(("app_user", int(user_id), "must_change_password", _text(False)))
    for signature_id, signer in signatures:
        changes.append(("exam_signature", int(signature_id), "signer_name", _text(signer)))
    _audit_filled_values(changes)


def _fill_signer_names(bind: sa.engine.Connection) -> None:
    # The append-only triggers refuse UPDATE on exam_signature: lift them for this one fill.
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE exam_signature DISABLE TRIGGER exam_signature_append_only")
        op.execute("UPDATE exam_signature SET signer_name = signer")
        op.execute("ALTER TABLE exam_signature ENABLE TRIGGER exam_signature_append_only")
    else:
        op.execute("DROP TRIGGER exam_signature_no_update")
        op.execute("UPDATE exam_signature SET signer_name = signer")
        op.execute(
            "CREATE TRIGGER exam_signature_no_update BEFORE UPDATE ON exam_signature BEGIN "
            "SELECT RAISE(ABORT, 'exam_signature is append-only: UPDATE refused'); END"
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_auth_event_user_id"), table_name="auth_event")
    op.drop_table("auth_event")
    # Plain DROP COLUMN (SQLite >= 3.35): a rebuilt table would lose its triggers.
    op.drop_column("exam_signature", "signer_name")
    op.drop_column("app_user", "must_change_password")
    op.drop_column("app_user", "full_name")
