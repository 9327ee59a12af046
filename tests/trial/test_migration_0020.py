"""Revision 0020 (immunosuppression) upgrades a store at 0019 holding a trial: the new tables
appear empty, the audit trail still verifies, and the store then takes a course and troughs."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import inspect

from builders import acting_as
from cordtrial.trial.audit import verify_audit
from cordtrial.trial.database import (
    current_revision,
    head_revision,
    make_engine,
    make_session_factory,
    upgrade,
)
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.immunosuppression import record_trough, set_regimen, start_course
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial

_TABLES = {
    "immunosuppression_regimen", "immunosuppression_course", "immunosuppression_dose_change",
    "immunosuppression_interruption", "trough_level",
}  # fmt: skip


def test_upgrade_from_0019_keeps_the_audit_trail_and_takes_troughs(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0019")
    engine = make_engine(empty_database_url)
    try:
        assert not _TABLES & set(inspect(engine).get_table_names())
        factory = make_session_factory(engine)
        with factory() as session:
            create_trial(session, user=acting_as(), protocol_id="T-0019", title="Legacy trial",
                         phase="1", arms=[ArmSpec("cells", "cells")],
                         visits=[VisitSpec("day 0", 0)])  # fmt: skip
            add_site(session, user=acting_as(), protocol_id="T-0019", code="S01", name="One")
            participant = enroll_participant(
                session, user=acting_as(), protocol_id="T-0019", site_code="S01",
                study_id="P001", injury_date=date(2026, 1, 5), injury_level="C5",
                injury_mechanism="fall", age_at_injury=30, sex="F",
                transplant_date=date(2026, 1, 26),
            )  # fmt: skip
            pid = participant.id
        engine.dispose()
        upgrade(empty_database_url)
        assert current_revision(empty_database_url) == head_revision()  # 0020 on the way
        engine = make_engine(empty_database_url)
        assert set(inspect(engine).get_table_names()) >= _TABLES
        with make_session_factory(engine)() as session:
            assert verify_audit(session).ok
            set_regimen(
                session, acting_as(), protocol_id="T-0019", drug="tacrolimus", dose=0.1,
                dose_unit="mg/kg/d", route="oral", start_day=0, planned_stop_day=60, taper=[],
                targets=[{"from_day": 0, "until_day": None, "low": 3, "high": 7}],
                target_unit="ng/mL", source="protocol section 7",
            )  # fmt: skip
            course = start_course(session, acting_as(), participant_id=pid, drug="tacrolimus",
                                  started_on=date(2026, 1, 26), start_dose=5)  # fmt: skip
            trough = record_trough(
                session, acting_as(), course_id=course.id,
                sampled_at=datetime(2026, 2, 2, 8, tzinfo=UTC), hours_since_dose=12, value=2.5,
                unit="ng/mL",
            )  # fmt: skip
            assert trough.flag == "below"
            assert verify_audit(session).ok
    finally:
        engine.dispose()
