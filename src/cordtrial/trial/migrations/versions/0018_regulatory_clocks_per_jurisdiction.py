"""The regulators' clocks per jurisdiction (issue 15): a trial's jurisdictions and the day its
Japanese provision plan was submitted; an adverse event's expedited clocks, one per rule, each
with its own deadline and submission; the filing of periodic reports.

Existing trials get no jurisdictions stored, which means the one rule set cordtrial followed
before: ``us_ind`` (21 CFR 312.32). Each existing adverse event that needed an expedited report
gets its clock under that rule (``us_ind_7_day`` when its deadline was 7 days after awareness,
else ``us_ind_15_day``), with the deadline and the submission (date, authority, reference) the
event carried; the event's own submission columns are no longer written after this revision.
The trail gains a ``baseline`` row per new trial field and a ``create`` row per field of each new
clock (actor ``migration 0018``), so ``audit verify`` finds every stored field in it. Downgrading
keeps those rows (the database refuses to delete audit rows).

Revision ID: 0018
Revises: 0012 (the integrator chains the revisions in between)
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cordtrial.trial.audit import BASELINE, entry_hash, to_text
from cordtrial.trial.types import UtcDateTime

revision: str = "0018"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR = "migration 0018"
BASELINE_REASON = "revision 0018 added this field; it is empty on records stored before it"
CLOCK_REASON = (
    "revision 0018: the expedited report this event needed under 21 CFR 312.32, as a clock"
)
_PG_LOCK_KEY = 0x636F7264  # the key the audit trail's writers lock (cordtrial.trial.audit)

_audit = sa.table(
    "audit_entry",
    sa.column("seq", sa.Integer()),
    sa.column("at", UtcDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("entity", sa.String()),
    sa.column("entity_id", sa.String()),
    sa.column("field", sa.String()),
    sa.column("old_value", sa.Text()),
    sa.column("new_value", sa.Text()),
    sa.column("reason", sa.Text()),
    sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()),
)
_event = sa.table(
    "adverse_event",
    sa.column("id", sa.Integer()),
    sa.column("awareness_date", sa.Date()),
    sa.column("expedited_report_required", sa.Boolean()),
    sa.column("expedited_report_due", sa.Date()),
    sa.column("expedited_submitted_on", sa.Date()),
    sa.column("expedited_authority", sa.String()),
    sa.column("expedited_reference", sa.String()),
)
_clock = sa.table(
    "expedited_clock",
    sa.column("id", sa.Integer()),
    sa.column("version", sa.Integer()),
    sa.column("adverse_event_id", sa.Integer()),
    sa.column("rule", sa.String()),
    sa.column("applies", sa.Boolean()),
    sa.column("due", sa.Date()),
    sa.column("submitted_on", sa.Date()),
    sa.column("authority", sa.String()),
    sa.column("reference", sa.String()),
)
#: The audited fields of a clock, in the model's column order (id is not audited).
_CLOCK_FIELDS = (
    "version", "adverse_event_id", "rule", "applies", "due", "submitted_on", "authority",
    "reference",
)  # fmt: skip


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _record_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def _clocks_and_trail() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    clocks: list[dict[str, Any]] = []
    events = connection.execute(
        sa.select(_event).where(_event.c.expedited_report_required).order_by(_event.c.id)
    )
    for number, event in enumerate(events, start=1):
        if event.expedited_report_due is None:
            continue
        days = (event.expedited_report_due - event.awareness_date).days
        clocks.append({
            "id": number, "version": 1, "adverse_event_id": int(event.id),
            "rule": "us_ind_7_day" if days == 7 else "us_ind_15_day", "applies": True,
            "due": event.expedited_report_due, "submitted_on": event.expedited_submitted_on,
            "authority": event.expedited_authority, "reference": event.expedited_reference,
        })  # fmt: skip
    if clocks:
        connection.execute(sa.insert(_clock), clocks)
    head = connection.execute(
        sa.select(_audit.c.seq, _audit.c.row_hash).order_by(_audit.c.seq.desc()).limit(1)
    ).first()
    if head is None:
        return
    seq, prev_hash = head.seq, head.row_hash
    at = datetime.now(UTC)
    rows: list[dict[str, Any]] = []

    def add(action: str, entity: str, key: int, field: str, value: Any, reason: str) -> None:
        nonlocal seq, prev_hash
        seq += 1
        row: dict[str, Any] = {
            "seq": seq, "at": at, "actor": ACTOR, "action": action, "entity": entity,
            "entity_id": str(key), "field": field, "old_value": None,
            "new_value": to_text(value), "reason": reason, "prev_hash": prev_hash,
        }  # fmt: skip
        row["row_hash"] = prev_hash = entry_hash(**row)
        rows.append(row)

    trial = sa.table("trial", sa.column("id", sa.Integer()))
    for (trial_id,) in connection.execute(sa.select(trial.c.id).order_by(trial.c.id)):
        for field in ("jurisdictions", "provision_plan_submitted_on"):
            add(BASELINE, "trial", int(trial_id), field, None, BASELINE_REASON)
    for clock in clocks:
        for field in _CLOCK_FIELDS:
            add("create", "expedited_clock", clock["id"], field, clock[field], CLOCK_REASON)
    if rows:
        connection.execute(sa.insert(_audit), rows)


def upgrade() -> None:
    op.add_column("trial", sa.Column("jurisdictions", _json(), nullable=True))
    op.add_column("trial", sa.Column("provision_plan_submitted_on", sa.Date(), nullable=True))
    op.create_table(
        "expedited_clock",
        sa.Column("adverse_event_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("applies", sa.Boolean(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("authority", sa.String(length=100), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        *_record_columns(),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"],
            ["adverse_event.id"],
            name=op.f("fk_expedited_clock_adverse_event_id_adverse_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expedited_clock")),
        sa.UniqueConstraint(
            "adverse_event_id", "rule", name=op.f("uq_expedited_clock_adverse_event_id_rule")
        ),
    )
    op.create_index(
        op.f("ix_expedited_clock_adverse_event_id"), "expedited_clock", ["adverse_event_id"]
    )
    op.create_table(
        "periodic_report_submission",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("period_number", sa.Integer(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        *_record_columns(),
        sa.ForeignKeyConstraint(
            ["trial_id"],
            ["trial.id"],
            name=op.f("fk_periodic_report_submission_trial_id_trial"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_periodic_report_submission")),
        sa.UniqueConstraint(
            "trial_id",
            "rule",
            "period_number",
            name=op.f("uq_periodic_report_submission_trial_id_rule_period_number"),
        ),
    )
    op.create_index(
        op.f("ix_periodic_report_submission_trial_id"),
        "periodic_report_submission",
        ["trial_id"],
    )
    _clocks_and_trail()


def downgrade() -> None:
    op.drop_index(
        op.f("ix_periodic_report_submission_trial_id"), table_name="periodic_report_submission"
    )
    op.drop_table("periodic_report_submission")
    op.drop_index(op.f("ix_expedited_clock_adverse_event_id"), table_name="expedited_clock")
    op.drop_table("expedited_clock")
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL), as in 0010 and 0012.
    op.execute("ALTER TABLE trial DROP COLUMN provision_plan_submitted_on")
    op.execute("ALTER TABLE trial DROP COLUMN jurisdictions")
