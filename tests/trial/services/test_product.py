"""The cell product: lot release, administration refusals, append-only custody, on each
database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.audit import unit_of_work, verify_audit
from cordtrial.trial.errors import (
    AdministrationRefusedError,
    AuditError,
    InvalidValueError,
    RuleViolationError,
)
from cordtrial.trial.models import Administration, CustodyEvent, Lot, Participant
from cordtrial.trial.services.product import (
    add_ipsc_line,
    add_specification,
    administer_cells,
    expire_lots,
    record_custody_event,
    record_release_test,
    register_lot,
    reject_lot,
    release_lot,
)
from cordtrial.trial.services.records import delete_record

LIMITS = {
    "viability": {"min": 70},
    "cell_count": {"min": 1e6, "max": 2e7},
    "sterility": {"expected": "no growth"},
    "mycoplasma": {"expected": "negative"},
    "endotoxin": {"max": 0.5},
    "residual_undifferentiated": {"max": 0.01},
    "karyotype": {"expected": "normal"},
}
RESULTS: list[dict[str, object]] = [
    {"test": "viability", "value": 88.0},
    {"test": "cell_count", "value": 4e6},
    {"test": "sterility", "finding": "no growth"},
    {"test": "mycoplasma", "finding": "negative"},
    {"test": "endotoxin", "value": 0.1},
    {"test": "residual_undifferentiated", "value": 0.002},
    {"test": "karyotype", "finding": "normal"},
]
TESTED = date(2026, 1, 10)
AT = datetime(2026, 1, 26, 9, 30, tzinfo=UTC)


@pytest.fixture
def lot(session: Session) -> Lot:
    add_ipsc_line(
        session, user=acting_as("qp"), name="QHJI01s04", description="HLA-homozygous donor line"
    )
    add_specification(session, user=acting_as("qp"), spec_version="NS-PC v1.2", limits=LIMITS)
    return register_lot(
        session, user=acting_as("qp"), lot_number="L001", ipsc_line="QHJI01s04",
        spec_version="NS-PC v1.2",
        manufactured_on=date(2026, 1, 2), expiry_date=date(2026, 6, 30),
    )  # fmt: skip


def _test_all(session: Session, results: list[dict[str, object]] = RESULTS) -> None:
    for result in results:
        record_release_test(
            session, user=acting_as("qc"), lot_number="L001", tested_on=TESTED,
            tested_by="QC analyst",
            **result,  # type: ignore[arg-type]
        )  # fmt: skip


def _administer(session: Session, participant: Participant, **change: object) -> Administration:
    kwargs: dict[str, object] = {
        "user": acting_as("surgeon"), "participant_id": participant.id, "lot_number": "L001",
        "dose_cells": 2_000_000, "volume_ml": 0.1, "injection_site": "intraspinal, C5 epicentre",
        "administered_at": AT, "operator": "Dr Surgeon", "identity_checked_by": "Nurse Check",
        "participant_identity_confirmed": True, "product_identity_confirmed": True, **change,
    }  # fmt: skip
    return administer_cells(session, **kwargs)  # type: ignore[arg-type]


def test_new_lot_is_in_quarantine(lot: Lot) -> None:
    assert lot.status == "quarantine"


def test_lot_passing_every_test_is_released(session: Session, lot: Lot) -> None:
    _test_all(session)
    decision = release_lot(
        session, user=acting_as("qp"), lot_number="L001", today=date(2026, 1, 20)
    )
    assert decision.releasable
    session.expire_all()
    stored = session.get(Lot, lot.id)
    assert stored is not None and stored.status == "released"
    assert len(stored.decision_reasons) == 8


def test_failing_lot_is_not_released_and_the_reasons_are_given(session: Session, lot: Lot) -> None:
    _test_all(session, [*RESULTS[:-1], {"test": "karyotype", "finding": "abnormal"}])
    with pytest.raises(RuleViolationError, match=r"karyotype: abnormal \(required normal\)"):
        release_lot(session, user=acting_as("qp"), lot_number="L001", today=date(2026, 1, 20))
    assert session.get(Lot, lot.id).status == "quarantine"  # type: ignore[union-attr]


def test_release_test_values_are_checked(session: Session, lot: Lot) -> None:
    with pytest.raises(InvalidValueError, match="finding: 'clean'"):
        record_release_test(
            session, user=acting_as("qc"), lot_number="L001", test="sterility", tested_on=TESTED,
            tested_by="QC", finding="clean",
        )  # fmt: skip
    with pytest.raises(InvalidValueError, match="value: -1"):
        record_release_test(
            session, user=acting_as("qc"), lot_number="L001", test="viability", tested_on=TESTED,
            tested_by="QC", value=-1,
        )  # fmt: skip


def test_administration_from_a_released_lot_is_recorded_with_custody(
    session: Session, lot: Lot, participant: Participant
) -> None:
    _test_all(session)
    release_lot(session, user=acting_as("qp"), lot_number="L001", today=date(2026, 1, 20))
    administration = _administer(session, participant)
    session.expire_all()
    assert session.get(Administration, administration.id).dose_cells == 2_000_000  # type: ignore[union-attr]
    events = session.scalars(select(CustodyEvent).where(CustodyEvent.lot_id == lot.id)).all()
    assert [(e.event, e.at) for e in events] == [("administered", AT)]
    assert verify_audit(session).ok


def test_administration_from_a_quarantined_lot_is_refused(
    session: Session, lot: Lot, participant: Participant
) -> None:
    with pytest.raises(AdministrationRefusedError, match="lot L001 is quarantine, not released"):
        _administer(session, participant)
    assert session.scalars(select(Administration)).first() is None
    assert session.scalars(select(CustodyEvent)).first() is None


def test_administration_after_expiry_is_refused(
    session: Session, lot: Lot, participant: Participant
) -> None:
    _test_all(session)
    release_lot(session, user=acting_as("qp"), lot_number="L001", today=date(2026, 1, 20))
    with pytest.raises(AdministrationRefusedError, match="lot L001 expired on 2026-06-30"):
        _administer(session, participant, administered_at=datetime(2026, 7, 1, 9, tzinfo=UTC))


def test_administration_without_a_second_person_is_refused(
    session: Session, lot: Lot, participant: Participant
) -> None:
    _test_all(session)
    release_lot(session, user=acting_as("qp"), lot_number="L001", today=date(2026, 1, 20))
    with pytest.raises(AdministrationRefusedError, match="second person, not the operator") as err:
        _administer(
            session, participant, identity_checked_by="Dr Surgeon", product_identity_confirmed=False
        )
    assert len(err.value.reasons) == 2


def test_rejected_lot_cannot_be_administered(
    session: Session, lot: Lot, participant: Participant
) -> None:
    reject_lot(session, user=acting_as("qp"), lot_number="L001", reason="deviation DEV-12")
    with pytest.raises(AdministrationRefusedError, match="is rejected"):
        _administer(session, participant)


def test_expired_lots_are_marked(session: Session, lot: Lot) -> None:
    assert expire_lots(session, user=acting_as("system"), today=date(2026, 6, 30)) == []
    assert expire_lots(session, user=acting_as("system"), today=date(2026, 7, 1)) == ["L001"]
    assert session.get(Lot, lot.id).status == "expired"  # type: ignore[union-attr]


def test_custody_events_are_append_only(session: Session, engine: Engine, lot: Lot) -> None:
    event = record_custody_event(
        session, user=acting_as("pharmacy"), lot_number="L001", event="received",
        holder="Cell pharmacy",
        location="LN2 tank 2", at=AT,
    )  # fmt: skip
    with pytest.raises(AuditError, match="custody_event records are append-only"):
        delete_record(session, CustodyEvent, user=acting_as("x"), record_id=event.id, reason="oops")
    event = session.get(CustodyEvent, event.id)  # type: ignore[assignment]
    with pytest.raises(AuditError, match="append-only"), unit_of_work(session, "x", "fix"):
        event.holder = "someone else"
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("UPDATE custody_event SET holder = 'x'"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM custody_event"))
