"""The audit trail: every change recorded in the same transaction, the hash chain, tampering
detected, and append-only enforced by the database itself."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import (
    GENESIS_HASH,
    audit_head,
    entry_hash,
    to_text,
    unit_of_work,
    verify_audit,
)
from cordtrial.trial.database import make_engine, make_session_factory
from cordtrial.trial.errors import AuditError, InvalidValueError, ReasonRequiredError
from cordtrial.trial.models import AuditEntry, Participant, Site, Trial
from cordtrial.trial.services.participants import update_participant
from cordtrial.trial.services.records import delete_record
from cordtrial.trial.services.trials import add_site
from databases import PostgresDatabases

from .conftest import PROTOCOL, complete_c5_cells


def _entries(session: Session, **where: str) -> list[AuditEntry]:
    statement = select(AuditEntry).order_by(AuditEntry.seq)
    for name, value in where.items():
        statement = statement.where(getattr(AuditEntry, name) == value)
    return list(session.scalars(statement))


def _raw(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql), params)


def _drop_append_only_guard(engine: Engine) -> None:
    """What someone with full control of the database could do first."""
    if engine.dialect.name == "postgresql":
        _raw(engine, "ALTER TABLE audit_entry DISABLE TRIGGER USER")
    else:
        _raw(engine, "DROP TRIGGER audit_entry_no_update")
        _raw(engine, "DROP TRIGGER audit_entry_no_delete")


# --- what is written -------------------------------------------------------------------------


def test_create_writes_one_entry_per_field(session: Session, participant: Participant) -> None:
    rows = _entries(session, entity="participant", entity_id=str(participant.id))
    fields = {r.field: r for r in rows}
    assert {r.action for r in rows} == {"create"}
    assert fields["study_id"].new_value == '"P001"'
    assert fields["injury_date"].new_value == '"2026-01-05"'
    assert fields["age_at_injury"].new_value == "34"
    assert fields["arm_id"].new_value == "null"
    assert all(r.old_value is None and r.actor == "coordinator" for r in rows)
    assert "id" not in fields
    assert fields["version"].new_value == "1"


def test_update_writes_old_and_new_value_and_reason(
    session: Session, participant: Participant
) -> None:
    update_participant(
        session,
        user=acting_as("monitor"),
        participant_id=participant.id,
        reason="source document says 35",
        age_at_injury=35,
    )
    row, version = _entries(session, action="update")
    assert (version.field, version.old_value, version.new_value) == ("version", "1", "2")
    assert (row.entity, row.entity_id, row.field) == (
        "participant",
        str(participant.id),
        "age_at_injury",
    )
    assert (row.old_value, row.new_value) == ("34", "35")
    assert (row.actor, row.reason) == ("monitor", "source document says 35")


def test_update_of_a_json_column_is_audited_key_by_key(session: Session, trial: Trial) -> None:
    from cordtrial.trial.services.exams import correct_exam, record_exam

    participant_id = session.scalars(select(Participant.id)).first()
    if participant_id is None:
        from cordtrial.trial.services.participants import enroll_participant

        from .conftest import INJURY, PROTOCOL

        participant_id = enroll_participant(
            session, user=acting_as("c"), protocol_id=PROTOCOL, site_code="S01", study_id="P9",
            injury_date=INJURY, injury_level="C5", injury_mechanism="fall", age_at_injury=30,
            sex="F",
        ).id  # fmt: skip
    exam = record_exam(
        session,
        user=acting_as("examiner"),
        participant_id=participant_id,
        examined_on=date(2026, 1, 19),
        examiner="Dr A",
        cells=complete_c5_cells(),
    )
    correct_exam(
        session,
        user=acting_as("examiner"),
        exam_id=exam.id,
        reason="typo",
        cells={"l_c6_motor": "1"},
    )
    fields = {r.field: r for r in _entries(session, action="update", entity="isncsci_exam")}
    assert fields["cells.l_c6_motor"].old_value == '"0"'
    assert fields["cells.l_c6_motor"].new_value == '"1"'
    assert "cells.r_c5_motor" not in fields


def test_delete_writes_every_old_value(session: Session, trial: Trial) -> None:
    site = session.scalars(select(Site)).one()
    delete_record(session, Site, user=acting_as(), record_id=site.id, reason="created by mistake")
    rows = _entries(session, action="delete")
    assert {r.field: r.old_value for r in rows} == {
        "trial_id": str(trial.id),
        "code": '"S01"',
        "name": '"University Hospital"',
        "version": "1",
    }
    assert all(r.new_value is None and r.reason == "created by mistake" for r in rows)


def test_change_after_first_entry_requires_a_reason(
    session: Session, participant: Participant
) -> None:
    with (
        pytest.raises(ReasonRequiredError, match="a reason is required to change"),
        unit_of_work(session, "monitor"),
    ):
        participant.age_at_injury = 40
    session.expire_all()
    assert session.get(Participant, participant.id).age_at_injury == 34  # type: ignore[union-attr]


def test_delete_requires_a_reason(session: Session, trial: Trial) -> None:
    site = session.scalars(select(Site)).one()
    with pytest.raises(ReasonRequiredError, match="to delete"), unit_of_work(session, "admin"):
        session.delete(site)


def test_change_outside_a_unit_of_work_is_refused(
    session: Session, participant: Participant
) -> None:
    participant.sex = "F"
    with pytest.raises(AuditError, match="unit of work that names who"):
        session.commit()
    session.rollback()
    assert session.get(Participant, participant.id).sex == "M"  # type: ignore[union-attr]


def test_unit_of_work_needs_an_actor(session: Session) -> None:
    with pytest.raises(InvalidValueError, match="actor"), unit_of_work(session, "  "):
        pass


def test_bulk_update_statement_is_refused(session: Session, participant: Participant) -> None:
    with pytest.raises(AuditError, match="bypass the audit trail"):
        session.execute(update(Participant).values(sex="F"))


def test_audit_entries_cannot_be_written_through_the_orm(session: Session, trial: Trial) -> None:
    entry = session.scalars(select(AuditEntry)).first()
    assert entry is not None
    entry.actor = "someone else"
    with pytest.raises(AuditError, match="written by the audit trail only"):
        session.flush()


def test_change_and_its_audit_rows_roll_back_together(
    session: Session, participant: Participant
) -> None:
    before = audit_head(session)
    with pytest.raises(RuntimeError), unit_of_work(session, "monitor", "test"):
        participant.age_at_injury = 50
        session.flush()
        assert audit_head(session)[0] > before[0]
        raise RuntimeError("crash after flush")
    assert audit_head(session) == before
    assert session.get(Participant, participant.id).age_at_injury == 34  # type: ignore[union-attr]


# --- the chain --------------------------------------------------------------------------------


def test_chain_links_each_row_to_the_previous(session: Session, participant: Participant) -> None:
    rows = _entries(session)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == GENESIS_HASH
    for previous, row in itertools.pairwise(rows):
        assert row.prev_hash == previous.row_hash
    last = rows[-1]
    assert last.row_hash == entry_hash(
        seq=last.seq, at=last.at, actor=last.actor, action=last.action, entity=last.entity,
        entity_id=last.entity_id, field=last.field, old_value=last.old_value,
        new_value=last.new_value, reason=last.reason, prev_hash=last.prev_hash,
    )  # fmt: skip


def test_intact_trail_verifies(session: Session, participant: Participant) -> None:
    update_participant(
        session, user=acting_as("m"), participant_id=participant.id, reason="r", sex="F"
    )
    report = verify_audit(session)
    assert report.ok, str(report)
    assert report.entries == len(_entries(session))
    assert (report.head_seq, report.head_hash) == audit_head(session)


def test_to_text_is_canonical() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert to_text({"b": 1, "a": [date(2026, 1, 2), moment]}) == (
        '{"a":["2026-01-02","2026-01-02T03:04:05.000000+00:00"],"b":1}'
    )


def test_entry_hash_is_sha256_of_the_row_as_a_compact_json_array() -> None:
    """The hash of a stored row is a format every stored trail depends on: SHA-256 of the row's
    content and the previous hash as a compact JSON array (UTF-8, not ASCII-escaped; the moment
    in UTC with microseconds). Written out here, so a change to how it is computed cannot
    change it unnoticed (the chain's own tests compute and check with the same function)."""
    moment = datetime(2026, 1, 2, 4, 4, 5, 7, tzinfo=timezone(timedelta(hours=1)))
    row = {
        "seq": 7, "at": moment, "actor": "inès", "action": "update", "entity": "participant",
        "entity_id": "12", "field": "notes", "old_value": None,
        "new_value": to_text('say "hi"\tthen\\ 痛'),  # as stored: JSON text
        "reason": "Korrektur der Größe", "prev_hash": "ab" * 32,
    }  # fmt: skip
    assert row["new_value"] == r'"say \"hi\"\tthen\\ 痛"'
    payload = (
        r'[7,"2026-01-02T03:04:05.000007+00:00","inès","update","participant","12","notes",'
        r'null,"\"say \\\"hi\\\"\\tthen\\\\ 痛\"","Korrektur der Größe","' + "ab" * 32 + '"]'
    )
    assert entry_hash(**row) == hashlib.sha256(payload.encode()).hexdigest()


# --- tampering --------------------------------------------------------------------------------


def test_audit_rows_cannot_be_updated_or_deleted(engine: Engine, participant: Participant) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        _raw(engine, "UPDATE audit_entry SET actor = 'x' WHERE seq = 1")
    with pytest.raises(DBAPIError, match="append-only"):
        _raw(engine, "DELETE FROM audit_entry WHERE seq = 1")


def test_truncate_is_refused_on_postgresql(pg_databases: PostgresDatabases) -> None:
    """SQLite has no TRUNCATE; on PostgreSQL a statement trigger refuses it."""
    name = pg_databases.create(template=pg_databases.template)
    engine = make_engine(pg_databases.url(name))
    try:
        with pytest.raises(DBAPIError, match="append-only"):
            _raw(engine, "TRUNCATE audit_entry")
        with pytest.raises(DBAPIError, match="append-only"):
            _raw(engine, "TRUNCATE custody_event CASCADE")
    finally:
        engine.dispose()
        pg_databases.drop(name)


@pytest.mark.audit_tampered
def test_altered_row_is_detected(
    engine: Engine, session: Session, participant: Participant
) -> None:
    _drop_append_only_guard(engine)
    _raw(engine, "UPDATE audit_entry SET new_value = '99' WHERE field = 'age_at_injury'")
    problems = verify_audit(session).problems
    target = session.scalars(
        select(AuditEntry.seq).where(AuditEntry.field == "age_at_injury")
    ).one()
    assert [p.seq for p in problems if p.kind == "altered"] == [target]
    assert any(p.kind == "unaudited" and "age_at_injury" in p.detail for p in problems)


@pytest.mark.audit_tampered
def test_deleted_row_in_the_middle_is_detected(
    engine: Engine, session: Session, participant: Participant
) -> None:
    _drop_append_only_guard(engine)
    _raw(engine, "DELETE FROM audit_entry WHERE seq = 3")
    problems = verify_audit(session).problems
    assert [(p.kind, p.seq) for p in problems][:1] == [("missing", 4)]
    assert "row(s) 3 before it are gone" in str(problems[0])


@pytest.mark.audit_tampered
def test_deleted_rows_at_the_end_are_detected(
    engine: Engine, session: Session, participant: Participant
) -> None:
    _drop_append_only_guard(engine)
    head, _ = audit_head(session)
    session.rollback()
    _raw(engine, "DELETE FROM audit_entry WHERE seq > :seq", seq=head - 2)
    report = verify_audit(session)
    assert not report.ok
    assert {p.kind for p in report.problems} == {"unaudited"}


@pytest.mark.audit_tampered
def test_inserted_row_is_detected(
    engine: Engine, session: Session, participant: Participant
) -> None:
    head, _ = audit_head(session)
    participant_id = participant.id
    session.rollback()
    forged = {
        "seq": head + 1, "at": datetime.now(UTC), "actor": "intruder", "action": "update",
        "entity": "participant", "entity_id": str(participant_id), "field": "sex",
        "old_value": '"M"', "new_value": '"F"', "reason": "r", "prev_hash": "f" * 64,
    }  # fmt: skip
    forged["row_hash"] = entry_hash(**forged)  # type: ignore[arg-type]
    with engine.begin() as connection:
        connection.execute(insert(AuditEntry.__table__), [forged])
    problems = verify_audit(session).problems
    assert ("broken link", head + 1) in [(p.kind, p.seq) for p in problems]


@pytest.mark.audit_tampered
def test_rewritten_chain_is_caught_by_a_recorded_anchor(
    engine: Engine, session: Session, participant: Participant
) -> None:
    anchor = audit_head(session)
    _drop_append_only_guard(engine)
    columns = AuditEntry.__table__.columns
    rows = [{c.key: getattr(row, c.key) for c in columns} for row in _entries(session)]
    session.rollback()
    # Rewrite the whole chain consistently with a changed value: the chain alone cannot tell.
    prev = GENESIS_HASH
    with engine.begin() as connection:
        for values in rows:
            if values["field"] == "study_id":
                values["new_value"] = json.dumps("P999")
            values["prev_hash"] = prev
            values["row_hash"] = prev = entry_hash(
                **{k: v for k, v in values.items() if k != "row_hash"}
            )
            connection.execute(
                update(AuditEntry.__table__)
                .where(AuditEntry.__table__.c.seq == values["seq"])
                .values(values)
            )
    chain_only = verify_audit(session, reconcile=False)
    assert chain_only.ok
    anchored = verify_audit(session, [anchor], reconcile=False)
    assert [p.kind for p in anchored.problems] == ["anchor"]


@pytest.mark.audit_tampered
def test_data_changed_without_audit_is_detected(
    engine: Engine, session: Session, participant: Participant
) -> None:
    _raw(engine, "UPDATE participant SET age_at_injury = 70 WHERE id = :id", id=participant.id)
    problems = verify_audit(session).problems
    assert [p.kind for p in problems] == ["unaudited"]
    assert "age_at_injury: stored 70, the trail says 34" in problems[0].detail


@pytest.mark.audit_tampered
def test_row_inserted_without_audit_is_detected(
    engine: Engine, session: Session, trial: Trial
) -> None:
    _raw(
        engine,
        "INSERT INTO site (trial_id, code, name, version) VALUES (:t, 'S99', 'ghost', 1)",
        t=trial.id,
    )
    problems = verify_audit(session).problems
    assert len(problems) == 1
    assert problems[0].detail.endswith("exists but has no audit entry")


@pytest.mark.audit_tampered
def test_report_says_which_rows(engine: Engine, session: Session, participant: Participant) -> None:
    _drop_append_only_guard(engine)
    _raw(engine, "UPDATE audit_entry SET actor = 'x' WHERE seq = 2")
    text_report = str(verify_audit(session))
    assert "altered: row 2: its content does not match its hash" in text_report


def test_concurrent_writers_extend_one_chain(engine: Engine, trial: Trial) -> None:
    """Two users adding records at the same time: no fork, no gap, every value audited."""
    factory = make_session_factory(engine)
    errors: list[BaseException] = []

    def add_sites(prefix: str) -> None:
        try:
            with factory() as own:
                for n in range(6):
                    add_site(
                        own,
                        user=acting_as(prefix),
                        protocol_id=PROTOCOL,
                        code=f"{prefix}{n}",
                        name="x",
                    )
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=add_sites, args=(p,)) for p in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with factory() as fresh:
        report = verify_audit(fresh)
        assert report.ok, str(report)
        assert len(fresh.scalars(select(Site)).all()) == 13
