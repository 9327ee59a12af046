"""Use cases: the cell product -- lines, specifications, lots, release, administration, custody."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import (
    AdministrationRefusedError,
    InvalidValueError,
    NotFoundError,
    RuleViolationError,
)
from cordtrial.trial.models import (
    Administration,
    CustodyEvent,
    IpscLine,
    Lot,
    ProductSpecification,
    ReleaseTest,
    User,
)
from cordtrial.trial.rules.checks import (
    check_choice,
    check_date,
    check_int,
    check_moment,
    check_number,
    check_text,
)
from cordtrial.trial.rules.identifiers import check_path_id
from cordtrial.trial.rules.product import (
    FINDINGS,
    UNITS,
    AdministrationFacts,
    ReleaseDecision,
    ReleaseResult,
    check_administration,
    check_specification,
    decide_release,
)
from cordtrial.trial.rules.vocabulary import CUSTODY_EVENTS, RELEASE_TESTS
from cordtrial.trial.services.reads import participant_for
from cordtrial.trial.services.users import require_permission

__all__ = [
    "add_ipsc_line",
    "add_specification",
    "administer_cells",
    "expire_lots",
    "get_lot",
    "record_custody_event",
    "record_release_test",
    "register_lot",
    "reject_lot",
    "release_lot",
]


def get_lot(session: Session, lot_number: str) -> Lot:
    """A lot by its number, or NotFoundError."""
    lot = session.scalars(select(Lot).where(Lot.lot_number == lot_number)).first()
    if lot is None:
        raise NotFoundError("lot", lot_number)
    return lot


def _unique(session: Session, column: Any, value: str, field: str) -> None:
    if session.scalars(select(column).where(column == value)).first() is not None:
        raise InvalidValueError(field, value, f"a {field} not yet used", "exists")


def add_ipsc_line(
    session: Session, *, user: User, name: str, description: str, donor_id: str | None = None
) -> IpscLine:
    """Register an iPSC line, with the coded identifier of its donor when known (for a
    look-back from a donor: services.look_back)."""
    require_permission(user, "manage_product")
    name = check_text("name", name, max_length=64)
    description = check_text("description", description, max_length=2000)
    donor = check_text("donor_id", donor_id, max_length=64, required=False) or None
    with unit_of_work(session, user.username):
        _unique(session, IpscLine.name, name, "name")
        line = IpscLine(name=name, description=description, donor_id=donor)
        session.add(line)
    return line


def add_specification(
    session: Session, *, user: User, spec_version: str, limits: Mapping[str, Any]
) -> ProductSpecification:
    """Register a version of the release specification (see rules.product.check_specification)."""
    require_permission(user, "manage_product")
    spec_version = check_text("spec_version", spec_version, max_length=32)
    parsed = check_specification(limits)
    stored = {
        test: {k: v for k, v in (("min", lim.min), ("max", lim.max), ("expected", lim.expected))
               if v is not None}
        for test, lim in parsed.items()
    }  # fmt: skip
    with unit_of_work(session, user.username):
        _unique(session, ProductSpecification.spec_version, spec_version, "spec_version")
        spec = ProductSpecification(spec_version=spec_version, limits=stored)
        session.add(spec)
    return spec


def register_lot(
    session: Session,
    *,
    user: User,
    lot_number: str,
    ipsc_line: str,
    spec_version: str,
    manufactured_on: date,
    expiry_date: date,
) -> Lot:
    """Register a manufactured lot; it starts in quarantine."""
    require_permission(user, "manage_product")
    lot_number = check_path_id("lot_number", check_text("lot_number", lot_number, max_length=64))
    check_date("manufactured_on", manufactured_on)
    check_date("expiry_date", expiry_date, not_before=manufactured_on)
    with unit_of_work(session, user.username):
        _unique(session, Lot.lot_number, lot_number, "lot_number")
        line = session.scalars(select(IpscLine).where(IpscLine.name == ipsc_line)).first()
        if line is None:
            raise NotFoundError("ipsc_line", ipsc_line)
        spec = session.scalars(
            select(ProductSpecification).where(ProductSpecification.spec_version == spec_version)
        ).first()
        if spec is None:
            raise NotFoundError("product_specification", spec_version)
        lot = Lot(
            lot_number=lot_number,
            ipsc_line=line,
            specification=spec,
            manufactured_on=manufactured_on,
            expiry_date=expiry_date,
            status="quarantine",
            decision_reasons=[],
        )
        session.add(lot)
    return lot


def record_release_test(
    session: Session,
    *,
    user: User,
    lot_number: str,
    test: str,
    tested_on: date,
    tested_by: str,
    value: float | None = None,
    finding: str | None = None,
) -> ReleaseTest:
    """Record a release test result: a number for viability (%), cell count (cells), endotoxin
    (EU/mL) and residual undifferentiated cells (%); a finding for sterility, mycoplasma and
    karyotype."""
    require_permission(user, "manage_product")
    check_choice("test", test, RELEASE_TESTS)
    check_date("tested_on", tested_on)
    tested_by = check_text("tested_by", tested_by, max_length=100)
    if test in FINDINGS:
        if value is not None:
            raise InvalidValueError("value", value, f"no number for {test}: give a finding")
        check_choice("finding", finding, FINDINGS[test])
    else:
        if finding is not None:
            raise InvalidValueError("finding", finding, f"no finding for {test}: give a value")
        value = check_number("value", value, low=0, unit=UNITS[test])
    with unit_of_work(session, user.username):
        lot = get_lot(session, lot_number)
        if lot.status != "quarantine":
            raise RuleViolationError(
                "release testing", [f"lot {lot_number} is {lot.status}, no longer in quarantine"]
            )
        result = ReleaseTest(
            lot_id=lot.id,
            test=test,
            value=value,
            finding=finding,
            tested_on=tested_on,
            tested_by=tested_by,
        )
        session.add(result)
    return result


def release_lot(session: Session, *, user: User, lot_number: str, today: date) -> ReleaseDecision:
    """Release a lot in quarantine when every test of its specification passed and it has not
    expired; otherwise refuse with every failure (RuleViolationError) and change nothing."""
    require_permission(user, "manage_product")
    lot = get_lot(session, lot_number)
    if lot.status != "quarantine":
        raise RuleViolationError("lot release", [f"lot {lot_number} is {lot.status}"])
    limits = check_specification(lot.specification.limits)
    results = [ReleaseResult(t.test, t.value, t.finding) for t in lot.release_tests]
    decision = decide_release(limits, results, lot.expiry_date, today)
    if not decision.releasable:
        session.rollback()
        raise RuleViolationError("lot release", [o.detail for o in decision.failures])
    reason = f"released against specification {lot.specification.spec_version}"
    with unit_of_work(session, user.username, reason):
        lot.status = "released"
        lot.decision_reasons = [o.to_json() for o in decision.outcomes]
    return decision


def reject_lot(session: Session, *, user: User, lot_number: str, reason: str) -> Lot:
    """Reject a lot (quarantine or released); the reason is required."""
    require_permission(user, "manage_product")
    lot = get_lot(session, lot_number)
    with unit_of_work(session, user.username, reason):
        if lot.status in ("rejected", "expired"):
            raise RuleViolationError("lot rejection", [f"lot {lot_number} is {lot.status}"])
        lot.status = "rejected"
    return lot


def administer_cells(
    session: Session,
    *,
    user: User,
    participant_id: int,
    lot_number: str,
    dose_cells: int,
    volume_ml: float,
    injection_site: str,
    administered_at: datetime,
    operator: str,
    identity_checked_by: str,
    participant_identity_confirmed: bool,
    product_identity_confirmed: bool,
) -> Administration:
    """Record the administration of cells, and an ``administered`` custody event.

    Refused (AdministrationRefusedError, nothing written) when the lot is not released, has
    expired on the day, or the second-person identity check is missing or failed.
    """
    participant = participant_for(session, user, "administer", participant_id)
    check_int("dose_cells", dose_cells, 1, 10**12)
    volume_ml = check_number("volume_ml", volume_ml, low=0, low_open=True, high=100, unit="mL")
    injection_site = check_text("injection_site", injection_site)
    check_moment("administered_at", administered_at)
    for name, flag in (
        ("participant_identity_confirmed", participant_identity_confirmed),
        ("product_identity_confirmed", product_identity_confirmed),
    ):
        if not isinstance(flag, bool):
            raise InvalidValueError(name, flag, "true or false")
    lot = get_lot(session, lot_number)
    facts = AdministrationFacts(
        lot_number=lot.lot_number,
        lot_status=lot.status,
        lot_expiry=lot.expiry_date,
        administered_on=administered_at.date(),
        operator=operator,
        identity_checked_by=identity_checked_by,
        participant_identity_confirmed=participant_identity_confirmed,
        product_identity_confirmed=product_identity_confirmed,
    )
    refusals = check_administration(facts)
    if refusals:
        session.rollback()
        raise AdministrationRefusedError("cell administration", refusals)
    with unit_of_work(session, user.username):
        administration = Administration(
            participant_id=participant.id,
            lot_id=lot.id,
            dose_cells=dose_cells,
            volume_ml=volume_ml,
            injection_site=injection_site,
            administered_at=administered_at,
            operator=operator.strip(),
            identity_checked_by=identity_checked_by.strip(),
        )
        session.add(administration)
        session.add(
            CustodyEvent(
                lot_id=lot.id,
                event="administered",
                holder=operator.strip(),
                location=injection_site,
                at=administered_at,
                note=f"administered to participant {participant.study_id}",
            )
        )
    return administration


def record_custody_event(
    session: Session,
    *,
    user: User,
    lot_number: str,
    event: str,
    holder: str,
    location: str,
    at: datetime,
    note: str = "",
) -> CustodyEvent:
    """Append a chain-of-custody event (who held the product, where, when). Custody events are
    never changed or deleted: a mistake is corrected by a further event."""
    require_permission(user, "manage_product")
    check_choice("event", event, CUSTODY_EVENTS)
    holder = check_text("holder", holder, max_length=100)
    location = check_text("location", location)
    check_moment("at", at)
    note = check_text("note", note, max_length=2000, required=False)
    with unit_of_work(session, user.username):
        lot = get_lot(session, lot_number)
        custody = CustodyEvent(
            lot_id=lot.id, event=event, holder=holder, location=location, at=at, note=note
        )
        session.add(custody)
    return custody


def expire_lots(session: Session, *, user: User, today: date) -> list[str]:
    """Mark every quarantined or released lot past its expiry date as expired; returns their
    numbers."""
    require_permission(user, "manage_product")
    check_date("today", today)
    reason = f"expiry date passed (checked on {today.isoformat()})"
    with unit_of_work(session, user.username, reason):
        lots = session.scalars(
            select(Lot)
            .where(Lot.status.in_(("quarantine", "released")), Lot.expiry_date < today)
            .order_by(Lot.lot_number)
        ).all()
        for lot in lots:
            lot.status = "expired"
    return [lot.lot_number for lot in lots]
