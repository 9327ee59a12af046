"""Use cases: concomitant medication (issue 15).

A participant's medications besides the investigational product are recorded, corrected (with a
reason) and stopped; one known to change the immunosuppressant's level (rules.medications, a
cited data file) is flagged for review until an investigator marks it reviewed. Every use case
takes the acting user, checks the permission at the participant's site and writes the audit
trail in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError, RuleViolationError
from cordtrial.trial.models import ConcomitantMedication, Participant, Site, Trial, User
from cordtrial.trial.rules.access import Action, can_see_site
from cordtrial.trial.rules.checks import check_date, check_moment
from cordtrial.trial.rules.medications import (
    AtcEntry,
    atc_for_name,
    check_medication,
    interaction_words,
    interactions_for,
    review_status_for,
    search_atc,
)
from cordtrial.trial.services.common import check_version, get_by_id, get_trial
from cordtrial.trial.services.reads import participant_for
from cordtrial.trial.services.users import require_permission

__all__ = [
    "CORRECTABLE",
    "FlaggedMedication",
    "correct_medication",
    "flagged_medications",
    "list_medications",
    "medication_flags",
    "record_medication",
    "review_medication",
    "search_medications",
    "stop_medication",
]

#: The fields a correction may change.
CORRECTABLE = frozenset(
    {"name", "atc_code", "dose", "dose_unit", "route", "frequency", "indication", "start_date",
     "stop_date"}
)  # fmt: skip


def medication_flags(medication: ConcomitantMedication) -> list[str]:
    """The medication's interaction flags in words (``May raise tacrolimus levels: check
    trough``), derived from the data file; empty when none is known."""
    return interaction_words(interactions_for(medication.name, medication.atc_code))


def _medication_for(
    session: Session, user: User, action: Action, medication_id: int
) -> tuple[ConcomitantMedication, Participant]:
    medication = get_by_id(session, ConcomitantMedication, medication_id)
    participant = participant_for(session, user, action, medication.participant_id)
    return medication, participant


def record_medication(
    session: Session,
    user: User,
    *,
    participant_id: int,
    name: str,
    route: str,
    frequency: str,
    indication: str,
    start_date: date,
    atc_code: str | None = None,
    dose: float | None = None,
    dose_unit: str | None = None,
    stop_date: date | None = None,
) -> ConcomitantMedication:
    """Record a concomitant medication (needs ``enter_data`` at the participant's site); one
    that matches the interaction list is stored flagged for review. A medication named as in
    the ATC list gets the list's code when none is given."""
    participant = participant_for(session, user, "enter_data", participant_id)
    listed = atc_for_name(name) if isinstance(name, str) else None
    if not atc_code and listed is not None:
        atc_code = listed.atc_code
    values = check_medication(
        name=name, atc_code=atc_code, dose=dose, dose_unit=dose_unit, route=route,
        frequency=frequency, indication=indication, start_date=start_date, stop_date=stop_date,
    )  # fmt: skip
    medication = ConcomitantMedication(
        participant_id=participant.id,
        name=values.name,
        atc_code=values.atc_code,
        dose=values.dose,
        dose_unit=values.dose_unit,
        route=values.route,
        frequency=values.frequency,
        indication=values.indication,
        start_date=values.start_date,
        stop_date=values.stop_date,
        interaction_review=review_status_for(interactions_for(values.name, values.atc_code)),
    )
    with unit_of_work(session, user.username):
        session.add(medication)
    return medication


def correct_medication(
    session: Session,
    user: User,
    *,
    medication_id: int,
    reason: str,
    expected_version: int | None = None,
    **changes: Any,
) -> ConcomitantMedication:
    """Correct a medication's values (re-checked as a whole; needs ``correct_data`` and a
    reason). A correction that changes which interactions it matches sets the review back to
    flagged (or clears it when none is left)."""
    medication, _ = _medication_for(session, user, "correct_data", medication_id)
    for field in changes:
        if field not in CORRECTABLE:
            raise InvalidValueError("field", field, "one of " + ", ".join(sorted(CORRECTABLE)))
    check_version(medication, expected_version)
    current: dict[str, Any] = {f: getattr(medication, f) for f in CORRECTABLE}
    current.update(changes)
    values = check_medication(**current)
    before = interactions_for(medication.name, medication.atc_code)
    after = interactions_for(values.name, values.atc_code)
    with unit_of_work(session, user.username, reason):
        for field in CORRECTABLE:
            setattr(medication, field, getattr(values, field))
        if after != before or (after and medication.interaction_review is None):
            medication.interaction_review = review_status_for(after)
            medication.reviewed_by = None
            medication.reviewed_at = None
    return medication


def stop_medication(
    session: Session,
    user: User,
    *,
    medication_id: int,
    stop_date: date,
    expected_version: int | None = None,
) -> ConcomitantMedication:
    """Record that an ongoing medication was stopped (needs ``enter_data``); the stop date is
    not before the start. A medication already stopped is corrected instead, with a reason."""
    medication, _ = _medication_for(session, user, "enter_data", medication_id)
    check_version(medication, expected_version)
    if medication.stop_date is not None:
        raise RuleViolationError(
            "medication_stopped",
            [f"{medication.name} was stopped on {medication.stop_date.isoformat()}; correct the "
             "stop date with a reason instead"],
        )  # fmt: skip
    stop = check_date("stop_date", stop_date, not_before=medication.start_date)
    with unit_of_work(session, user.username, f"medication stopped on {stop.isoformat()}"):
        medication.stop_date = stop
    return medication


def review_medication(
    session: Session,
    user: User,
    *,
    medication_id: int,
    now: datetime,
    expected_version: int | None = None,
) -> ConcomitantMedication:
    """Mark a medication flagged for an interaction as reviewed, by the acting user now (needs
    ``review_medication``: investigators). One not flagged is refused."""
    medication, _ = _medication_for(session, user, "review_medication", medication_id)
    check_version(medication, expected_version)
    at = check_moment("reviewed_at", now)
    if medication.interaction_review != "flagged":
        state = "already reviewed" if medication.interaction_review else "not flagged"
        raise RuleViolationError("medication_review", [f"{medication.name} is {state}"])
    why = "interaction with the immunosuppressant reviewed by an investigator"
    with unit_of_work(session, user.username, why):
        medication.interaction_review = "reviewed"
        medication.reviewed_by = user.username
        medication.reviewed_at = at
    return medication


def list_medications(
    session: Session, user: User, participant_id: int
) -> list[ConcomitantMedication]:
    """The participant's concomitant medications, by start date (site-scoped)."""
    participant = participant_for(session, user, "read", participant_id)
    return list(
        session.scalars(
            select(ConcomitantMedication)
            .where(ConcomitantMedication.participant_id == participant.id)
            .order_by(ConcomitantMedication.start_date, ConcomitantMedication.id)
        )
    )


@dataclass(frozen=True, slots=True)
class FlaggedMedication:
    """A medication flagged for review, with its participant's study id and site code."""

    medication: ConcomitantMedication
    study_id: str
    site_code: str
    flags: list[str]


def flagged_medications(
    session: Session, user: User, protocol_id: str, *, include_reviewed: bool = False
) -> list[FlaggedMedication]:
    """The trial's medications that interact with the immunosuppressant, still flagged for
    review (and those reviewed, when asked), at the sites the user may see; one statement."""
    require_permission(user, "read")
    trial: Trial = get_trial(session, protocol_id)
    states = ("flagged", "reviewed") if include_reviewed else ("flagged",)
    query = (
        select(ConcomitantMedication, Participant.study_id, Site.code, Participant.site_id)
        .join(Participant, ConcomitantMedication.participant_id == Participant.id)
        .join(Site, Participant.site_id == Site.id)
        .where(
            Participant.trial_id == trial.id,
            ConcomitantMedication.interaction_review.in_(states),
        )
        .order_by(Participant.study_id, ConcomitantMedication.start_date)
    )
    if not (user.role == "admin" or user.all_sites):
        query = query.where(Participant.site_id.in_(sorted(user.site_ids) or [-1]))
    return [
        FlaggedMedication(medication, study_id, code, medication_flags(medication))
        for medication, study_id, code, site_id in session.execute(query)
        if can_see_site(user.role, user.all_sites, user.site_ids, site_id)
    ]


def search_medications(user: User, query: str, limit: int = 20) -> Sequence[AtcEntry]:
    """ATC list entries whose name or code holds ``query`` (for a user who may read)."""
    require_permission(user, "read")
    return search_atc(query, limit)
