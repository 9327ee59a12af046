"""Use cases: record and correct functional outcome measures (SCIM III, WISCI II, 10MWT, 6MWT)."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import (
    ScimAssessment,
    SixMinuteWalk,
    TenMetreWalk,
    User,
    WisciAssessment,
)
from cordtrial.trial.rules.checks import check_date, check_text
from cordtrial.trial.rules.measures import (
    Scim,
    SixMinuteWalkResult,
    TenMetreWalkResult,
    check_wisci,
)
from cordtrial.trial.services.common import check_version, get_by_id
from cordtrial.trial.services.reads import participant_for, participant_record_for
from cordtrial.trial.services.visits import complete_visit_if_ready, find_visit

__all__ = [
    "correct_measure",
    "record_scim",
    "record_six_minute_walk",
    "record_ten_metre_walk",
    "record_wisci",
]

Measure = ScimAssessment | WisciAssessment | TenMetreWalk | SixMinuteWalk
M = TypeVar("M", ScimAssessment, WisciAssessment, TenMetreWalk, SixMinuteWalk)


def _values(kind: type[Measure], values: dict[str, Any]) -> dict[str, Any]:
    # Validate by building the rule's value object; return the columns to store.
    if kind is ScimAssessment:
        scim = Scim(values["self_care"], values["respiration_sphincter"], values["mobility"])
        return {
            "self_care": scim.self_care,
            "respiration_sphincter": scim.respiration_sphincter,
            "mobility": scim.mobility,
            "total": scim.total,
        }
    if kind is WisciAssessment:
        return {"level": check_wisci(values["level"])}
    if kind is TenMetreWalk:
        walk = TenMetreWalkResult(values["seconds"], values["start_mode"])
        return {"seconds": float(walk.seconds), "start_mode": walk.start_mode}
    six = SixMinuteWalkResult(values["metres"], values["track_length_m"])
    return {"metres": float(six.metres), "track_length_m": float(six.track_length_m)}


def _record(
    session: Session,
    kind: type[M],
    *,
    user: User,
    participant_id: int,
    assessed_on: date,
    assessor: str,
    visit_name: str | None,
    values: dict[str, Any],
) -> M:
    participant = participant_for(session, user, "enter_data", participant_id)
    check_date("assessed_on", assessed_on)
    assessor = check_text("assessor", assessor, max_length=100)
    columns = _values(kind, values)
    visit = find_visit(participant, visit_name) if visit_name is not None else None
    with unit_of_work(session, user.username):
        measure = kind(
            participant_id=participant.id,
            visit_id=visit.id if visit is not None else None,
            assessed_on=assessed_on,
            assessor=assessor,
            **columns,
        )
        session.add(measure)
    if visit is not None:
        complete_visit_if_ready(session, user=user, visit_id=visit.id)
    return measure


def record_scim(
    session: Session,
    *,
    user: User,
    participant_id: int,
    assessed_on: date,
    assessor: str,
    self_care: int,
    respiration_sphincter: int,
    mobility: int,
    visit_name: str | None = None,
) -> ScimAssessment:
    """Record a SCIM III assessment (self-care 0-20, respiration and sphincter 0-40, mobility
    0-40; the total is their sum)."""
    values = {
        "self_care": self_care,
        "respiration_sphincter": respiration_sphincter,
        "mobility": mobility,
    }
    return _record(
        session,
        ScimAssessment,
        user=user,
        participant_id=participant_id,
        assessed_on=assessed_on,
        assessor=assessor,
        visit_name=visit_name,
        values=values,
    )


def record_wisci(
    session: Session,
    *,
    user: User,
    participant_id: int,
    assessed_on: date,
    assessor: str,
    level: int,
    visit_name: str | None = None,
) -> WisciAssessment:
    """Record a WISCI II level (0-20)."""
    return _record(
        session,
        WisciAssessment,
        user=user,
        participant_id=participant_id,
        assessed_on=assessed_on,
        assessor=assessor,
        visit_name=visit_name,
        values={"level": level},
    )


def record_ten_metre_walk(
    session: Session,
    *,
    user: User,
    participant_id: int,
    assessed_on: date,
    assessor: str,
    seconds: float,
    start_mode: str,
    visit_name: str | None = None,
) -> TenMetreWalk:
    """Record a 10-metre walk test (seconds > 0; start ``standing`` or ``flying``)."""
    return _record(
        session,
        TenMetreWalk,
        user=user,
        participant_id=participant_id,
        assessed_on=assessed_on,
        assessor=assessor,
        visit_name=visit_name,
        values={"seconds": seconds, "start_mode": start_mode},
    )


def record_six_minute_walk(
    session: Session,
    *,
    user: User,
    participant_id: int,
    assessed_on: date,
    assessor: str,
    metres: float,
    track_length_m: float,
    visit_name: str | None = None,
) -> SixMinuteWalk:
    """Record a 6-minute walk test (metres >= 0, track length > 0 m)."""
    return _record(
        session,
        SixMinuteWalk,
        user=user,
        participant_id=participant_id,
        assessed_on=assessed_on,
        assessor=assessor,
        visit_name=visit_name,
        values={"metres": metres, "track_length_m": track_length_m},
    )


_EDITABLE: dict[type[Measure], frozenset[str]] = {
    ScimAssessment: frozenset({"self_care", "respiration_sphincter", "mobility"}),
    WisciAssessment: frozenset({"level"}),
    TenMetreWalk: frozenset({"seconds", "start_mode"}),
    SixMinuteWalk: frozenset({"metres", "track_length_m"}),
}


def correct_measure(
    session: Session,
    kind: type[M],
    *,
    user: User,
    measure_id: int,
    reason: str,
    expected_version: int | None = None,
    **changes: Any,
) -> M:
    """Correct the values of a recorded measure (re-validated as a whole); reason required."""
    participant_record_for(session, user, "correct_data", kind, measure_id)
    editable = _EDITABLE[kind] | {"assessed_on", "assessor"}
    for name in changes:
        if name not in editable:
            raise InvalidValueError("field", name, "one of " + ", ".join(sorted(editable)))
    measure = get_by_id(session, kind, measure_id)
    check_version(measure, expected_version)
    current = {name: getattr(measure, name) for name in _EDITABLE[kind]}
    current.update({k: v for k, v in changes.items() if k in _EDITABLE[kind]})
    columns = _values(kind, current)
    if "assessed_on" in changes:
        columns["assessed_on"] = check_date("assessed_on", changes["assessed_on"])
    if "assessor" in changes:
        columns["assessor"] = check_text("assessor", changes["assessor"], max_length=100)
    with unit_of_work(session, user.username, reason):
        for name, value in columns.items():
            setattr(measure, name, value)
    return measure
