"""Issue 12, audit trail: integer ids everywhere, the row version audited, anchors that catch a
recomputed chain, migration 0008 repairing trails written before it, and a demo store whose
trail verifies (directly, by the command, and after a backup is restored)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from builders import acting_as
from cordtrial.trial.audit import GENESIS_HASH, audit_head, entry_hash, verify_audit
from cordtrial.trial.database import (
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    make_session_factory,
    upgrade,
)
from cordtrial.trial.demo import seed_demo
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import (
    AdverseEvent,
    AuditEntry,
    ExpeditedClock,
    Participant,
    SixMinuteWalk,
    TenMetreWalk,
)
from cordtrial.trial.services.measures import record_six_minute_walk, record_ten_metre_walk
from cordtrial.trial.services.participants import update_participant
from cordtrial.trial.services.reads import audit_scope, list_audit
from cordtrial.trial_cli import audit_app, mount_data_commands
from databases import PostgresDatabases

TODAY = date(2026, 11, 25)
_FLOAT_FIRST = ("ten_metre_walk", "six_minute_walk")
#: What revision 0010 added: a trail written before it has none of these fields or records.
_ADDED_BY_0010 = {
    ("visit_definition", "requires"), ("visit", "missed_reason"),
    ("isncsci_exam", "of_record"), ("isncsci_exam", "repeat_reason"),
    ("adverse_event", "narrative"), ("adverse_event", "expedited_submitted_on"),
    ("adverse_event", "expedited_authority"), ("adverse_event", "expedited_reference"),
    ("trial", "jurisdictions"), ("trial", "provision_plan_submitted_on"),
}  # fmt: skip
#: Records of tables later revisions created (0010: follow-ups; 0014: MRIs and their reads;
#: 0018: the regulators' clocks; 0019: laboratory results; 0020: immunosuppression;
#: 0021: concomitant medication).
_CREATED_AFTER_0007 = {
    "adverse_event_follow_up", "mri_exam", "mri_read", "expedited_clock",
    "periodic_report_submission", "lab_reference_range", "lab_result", "concomitant_medication",
    "immunosuppression_regimen", "immunosuppression_course", "immunosuppression_dose_change",
    "immunosuppression_interruption", "trough_level",
}  # fmt: skip
#: What revision 0013 added (long-term follow-up): fields of existing tables, and new tables.
_ADDED_BY_0013 = {
    ("visit_definition", "contact_mode"), ("visit_definition", "long_term"),
    ("ipsc_line", "donor_id"),
}  # fmt: skip
_TABLES_OF_0013 = {"disposition_change", "contact_attempt", "consent_version", "consent_signature"}


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(audit_app, name="audit")
    mount_data_commands(app)
    return app


def _rows(session: Session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


# --- integer ids -----------------------------------------------------------------------------


def test_seeded_demo_trail_verifies_with_integer_ids(session: Session) -> None:
    """Before issue 12, on SQLite the demo's 10-metre walks were audited as ``1.0``, ``2.0``:
    `audit verify` failed on a freshly seeded demo with 4 problems."""
    seed_demo(session, today=TODAY)
    report = verify_audit(session)
    assert report.ok, str(report)
    ids = set(session.scalars(select(AuditEntry.entity_id).distinct()))
    assert all(i.isdigit() and str(int(i)) == i for i in ids), sorted(ids)[:5]
    walk = session.scalars(select(TenMetreWalk)).first()
    assert walk is not None and type(walk.id) is int
    history = list_audit(session, entity="ten_metre_walk", entity_id=str(walk.id))
    assert {r.field for r in history} >= {"seconds", "start_mode", "version"}


def test_measures_on_float_first_tables_get_integer_ids(
    session: Session, participant: Participant
) -> None:
    common = {"participant_id": participant.id, "assessed_on": date(2026, 3, 1), "assessor": "PT"}
    walk = record_ten_metre_walk(
        session, user=acting_as("coordinator"), seconds=12.5, start_mode="standing", **common
    )
    six = record_six_minute_walk(
        session, user=acting_as("coordinator"), metres=310.0, track_length_m=30.0, **common
    )
    for record in (walk, six):
        assert type(record.id) is int
        entries = list_audit(session, entity=record.__tablename__, entity_id=str(record.id))
        assert entries and {e.entity_id for e in entries} == {str(record.id)}
    # a site-scoped monitor sees them (the scope lists integer ids)
    monitor = acting_as("mona", "monitor", site_ids=[participant.site_id])
    scope = audit_scope(session, monitor)
    assert scope is not None
    seen = {(e.entity, e.entity_id) for e in list_audit(session, scope=scope, limit=1000)}
    assert ("ten_metre_walk", str(walk.id)) in seen
    assert ("six_minute_walk", str(six.id)) in seen


# --- the row version -------------------------------------------------------------------------


def test_version_changes_are_audited(session: Session, participant: Participant) -> None:
    update_participant(
        session, user=acting_as("monitor"), participant_id=participant.id, reason="source", sex="F"
    )
    versions = [
        (r.action, r.old_value, r.new_value)
        for r in list_audit(session, entity="participant", entity_id=str(participant.id))
        if r.field == "version"
    ]
    assert versions == [("create", None, "1"), ("update", "1", "2")]


@pytest.mark.audit_tampered
def test_version_changed_outside_the_trail_is_detected(
    engine: Engine, session: Session, participant: Participant
) -> None:
    """Before issue 12 ``version`` was not audited: this change went unseen."""
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE participant SET version = 7 WHERE id = :id"), {"id": participant.id}
        )
    problems = verify_audit(session).problems
    assert [p.kind for p in problems] == ["unaudited"]
    assert "version: stored 7, the trail says 1" in problems[0].detail


# --- anchors ---------------------------------------------------------------------------------


def _recompute_chain_with(engine: Engine, session: Session, study_id: str) -> None:
    """Rewrite a study id in the table and the trail, and recompute every hash (what someone
    with full control of the database could do): the chain and the tables agree again."""
    if engine.dialect.name == "postgresql":
        drop = ["ALTER TABLE audit_entry DISABLE TRIGGER USER"]
    else:
        drop = ["DROP TRIGGER audit_entry_no_update", "DROP TRIGGER audit_entry_no_delete"]
    columns = AuditEntry.__table__.columns
    rows = [{c.key: getattr(r, c.key) for c in columns} for r in _rows(session)]
    session.rollback()
    prev = GENESIS_HASH
    with engine.begin() as connection:
        for sql in drop:
            connection.execute(text(sql))
        connection.execute(text("UPDATE participant SET study_id = :s"), {"s": study_id})
        for values in rows:
            if values["field"] == "study_id":
                values["new_value"] = json.dumps(study_id)
            values["prev_hash"] = prev
            values["row_hash"] = prev = entry_hash(
                **{k: v for k, v in values.items() if k != "row_hash"}
            )
            table = AuditEntry.__table__
            connection.execute(update(table).where(table.c.seq == values["seq"]).values(values))


@pytest.mark.audit_tampered
def test_recomputed_chain_is_caught_by_a_head_hash_kept_elsewhere(
    engine: Engine, session: Session, participant: Participant, database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("CORDTRIAL_DATABASE_URL", database_url)
    runner = CliRunner()
    head = runner.invoke(_cli(), ["audit", "head"])
    assert head.exit_code == 0, head.output
    seq, anchor = head.output.split()
    assert (int(seq), anchor) == audit_head(session)
    kept = runner.invoke(_cli(), ["audit", "verify", "--anchor", anchor])
    assert kept.exit_code == 0, kept.output

    _recompute_chain_with(engine, session, "P999")
    assert verify_audit(session).ok  # without the anchor, nothing to see
    report = verify_audit(session, [anchor])
    assert [p.kind for p in report.problems] == ["anchor"]
    rewritten = runner.invoke(_cli(), ["audit", "verify", "--anchor", anchor.upper()])
    assert rewritten.exit_code == 1
    assert f"the recorded head {anchor[:12]}... is not in the chain" in rewritten.output


def test_anchor_that_is_no_hash_is_refused(
    session: Session, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidValueError, match="anchor: 'abc' is not allowed"):
        verify_audit(session, ["abc"])
    monkeypatch.setenv("CORDTRIAL_DATABASE_URL", database_url)
    result = CliRunner().invoke(_cli(), ["audit", "verify", "--anchor", "abc"])
    assert result.exit_code == 2
    assert "64 hexadecimal digits" in result.output


# --- migration 0008 repairs trails written before it ---------------------------------------------


def _legacy_trail(engine: Engine) -> None:
    """Turn the trail into what cordtrial wrote before issue 12: no ``version`` fields, and the
    float-first tables' ids recorded as ``"N.0"`` -- chained and hashed as the old code did."""
    with make_session_factory(engine)() as session:
        columns = AuditEntry.__table__.columns
        rows = [{c.key: getattr(r, c.key) for c in columns} for r in _rows(session)]
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgres:
            connection.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_entry_no_delete"))
        connection.execute(text("DELETE FROM audit_entry"))
        prev, seq, legacy = GENESIS_HASH, 0, []
        for values in rows:
            added_later = (values["entity"], values["field"]) in _ADDED_BY_0010 | _ADDED_BY_0013
            if values["field"] == "version" or added_later:
                continue
            if values["entity"] in _CREATED_AFTER_0007 | _TABLES_OF_0013:
                continue
            seq += 1
            if values["entity"] in _FLOAT_FIRST:
                values["entity_id"] = f"{values['entity_id']}.0"
            values.update(seq=seq, prev_hash=prev)
            values["row_hash"] = prev = entry_hash(
                **{k: v for k, v in values.items() if k != "row_hash"}
            )
            legacy.append(values)
        connection.execute(AuditEntry.__table__.insert(), legacy)
        if postgres:
            connection.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER USER"))
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry BEGIN "
                    "SELECT RAISE(ABORT, 'audit_entry is append-only: DELETE refused'); END"
                )
            )


def test_migration_0008_repairs_a_legacy_trail_by_appending(empty_database_url: str) -> None:
    """A store at revision 0007 with the trail the old code wrote: `audit verify` fails; after
    the upgrade it passes, every row written before is unchanged (a head hash kept before the
    upgrade is still in the chain), and a walk's history is found under its integer id.

    The demo is seeded by today's code (at the head revision), its trail made what the old code
    wrote, then the store is taken down to 0007: that drops what later revisions added."""
    url = empty_database_url
    upgrade(url)
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        seed_demo(factory, today=TODAY)
        _legacy_trail(engine)
        with factory() as session:
            before = verify_audit(session)
            old_rows = [(r.seq, r.row_hash) for r in _rows(session)]
            walk_id = session.scalars(select(TenMetreWalk.id).order_by(TenMetreWalk.id)).first()
            assert session.scalars(select(SixMinuteWalk.id)).first() is None  # demo has none
        details = "\n".join(p.detail for p in before.problems)
        assert f"ten_metre_walk {walk_id} exists but has no audit entry" in details
        assert "version: stored 1, the trail says None" in details
        anchor = before.head_hash

        engine.dispose()
        downgrade(url, "0007")
        upgrade(url)
        assert current_revision(url) == head_revision()
        with factory() as session:
            report = verify_audit(session, [anchor, (before.head_seq, anchor)])
            assert report.ok, str(report)
            rows = _rows(session)
            assert [(r.seq, r.row_hash) for r in rows[: len(old_rows)]] == old_rows
            added = rows[len(old_rows) :]
            migrations = {
                "migration 0008", "migration 0009", "migration 0010", "migration 0013",
                "migration 0018",
            }  # fmt: skip
            assert {r.actor for r in added} == migrations
            rekeys = [r for r in added if r.action == "rekey"]
            assert {(r.entity, r.old_value) for r in rekeys} >= {
                ("ten_metre_walk", json.dumps(f"{walk_id}.0"))
            }
            assert all(
                r.field == "version"
                for r in added
                if r.action == "baseline" and r.actor == "migration 0008"
            )
            history = list_audit(session, entity="ten_metre_walk", entity_id=str(walk_id))
            assert {r.action for r in history} == {"create", "rekey", "baseline"}
            assert {"seconds", "start_mode"} <= {r.field for r in history}
            # 0018 turned the SUSAR's 21 CFR 312.32 report into a clock, with its deadline
            clock = session.scalars(select(ExpeditedClock)).one()
            event = session.get(AdverseEvent, clock.adverse_event_id)
            assert event is not None and event.expedited_report_due == clock.due
            assert (clock.rule, clock.applies) == ("us_ind_15_day", True)
        # upgrading again (or a second migration run) appends nothing
        with factory() as session:
            assert verify_audit(session).entries == len(rows)
    finally:
        engine.dispose()


# --- the command and a restored backup ------------------------------------------------------------


def test_audit_verify_and_restore_of_the_demo_exit_0(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """Before issue 12 both exited 1 on a perfect SQLite demo store."""
    engine = make_engine(database_url)
    try:
        seed_demo(make_session_factory(engine), today=TODAY)
    finally:
        engine.dispose()
    runner = CliRunner()
    monkeypatch.setenv("CORDTRIAL_DATABASE_URL", database_url)
    verified = runner.invoke(_cli(), ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    backup_file = tmp_path / "demo.backup"
    written = runner.invoke(_cli(), ["backup", "-o", str(backup_file)])
    assert written.exit_code == 0, written.output
    if database_url.startswith("sqlite"):
        target = f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        databases: PostgresDatabases = request.getfixturevalue("pg_databases")
        target = databases.url(databases.create())
    monkeypatch.setenv("CORDTRIAL_DATABASE_URL", target)
    restored = runner.invoke(_cli(), ["restore", str(backup_file)])
    assert restored.exit_code == 0, restored.output
    assert "chain intact, every stored value accounted for" in restored.output
