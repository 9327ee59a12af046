"""Migration 0021 (concomitant medication) upgrades a store at 0019 with data in it: the audit
trail still verifies, the new table takes medications whose entries verify too, and the
downgrade drops only the new table."""

from __future__ import annotations

from datetime import date

from sqlalchemy import inspect

from builders import acting_as
from cordtrial.trial.audit import audit_head, verify_audit
from cordtrial.trial.database import (
    current_revision,
    downgrade,
    make_engine,
    make_session_factory,
    upgrade,
)
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.medications import list_medications, record_medication
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_0019_keeps_the_trail_verifying(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade(url, "0019")
    assert "concomitant_medication" not in _tables(url)
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            create_trial(
                session, user=acting_as(), protocol_id="T-0021", title="t", phase="1",
                arms=[ArmSpec("cells", "cells")], visits=[VisitSpec("day 0", 0)],
            )  # fmt: skip
            add_site(session, user=acting_as(), protocol_id="T-0021", code="S01", name="One")
            participant = enroll_participant(
                session, user=acting_as(), protocol_id="T-0021", site_code="S01",
                study_id="P001", injury_date=date(2026, 1, 5), injury_level="C5",
                injury_mechanism="fall", age_at_injury=34, sex="M",
            )  # fmt: skip
            pid = participant.id
            before = audit_head(session)
    finally:
        engine.dispose()

    upgrade(url)
    assert current_revision(url) == "0021"
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            report = verify_audit(session)
            assert report.ok, [p.detail for p in report.problems]
            assert (report.head_seq, report.head_hash) == before  # nothing rewritten
            record_medication(
                session, acting_as(), participant_id=pid, name="fluconazole", route="oral",
                frequency="once daily", indication="candiduria", start_date=date(2026, 2, 1),
            )  # fmt: skip
            (med,) = list_medications(session, acting_as(), pid)
            assert med.interaction_review == "flagged" and med.atc_code == "J02AC01"
            assert verify_audit(session).ok
    finally:
        engine.dispose()

    downgrade(url, "0019")
    tables = _tables(url)
    assert "concomitant_medication" not in tables and "participant" in tables
