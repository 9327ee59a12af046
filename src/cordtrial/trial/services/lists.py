"""Trial-wide lists for the workspace and the API, read in bulk and scoped to the user's sites.

Each function issues a fixed number of queries however many participants the trial has: one
query per kind of record (``IN`` the participants' ids, or a join), only the columns it needs
(an exam's cells and classification are read only where they matter). Paged lists take an
offset (pages people click through) or a cursor (the API: the last id of the previous page,
``id > cursor``; stable while records are added).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal

from sqlalchemy import ColumnElement, String, cast, func, select, true
from sqlalchemy.orm import Session, joinedload

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import (
    Administration,
    AdverseEvent,
    ExamSignature,
    IsncsciExam,
    Participant,
    Site,
    Trial,
    User,
    Visit,
    VisitDefinition,
)
from cordtrial.trial.rules.signatures import is_signature_void
from cordtrial.trial.services.bulk import among
from cordtrial.trial.services.common import get_trial
from cordtrial.trial.services.signatures import current_exam_hash
from cordtrial.trial.services.users import require_permission

__all__ = [
    "AE_SORTS",
    "MAX_PAGE",
    "PARTICIPANT_SORTS",
    "PARTICIPANT_STATUSES",
    "ExamToDo",
    "ParticipantSummary",
    "adverse_event_page",
    "exams_to_do",
    "open_serious_events",
    "participant_summaries",
    "trial_adverse_events",
    "trial_exams",
]

#: The most rows one page of a list or one API call returns.
MAX_PAGE: Final = 500
#: A participant's status on the list: no day 0 yet, day 0 planned ahead, or treated (a cell
#: administration recorded, or day 0 reached -- as the stopping rule counts treatment).
ParticipantStatus = Literal["no day 0", "day 0 planned", "treated"]
PARTICIPANT_STATUSES: Final[tuple[ParticipantStatus, ...]] = ("no day 0", "day 0 planned",
                                                              "treated")  # fmt: skip
PARTICIPANT_SORTS: Final = ("study_id", "site", "injury_date", "day0", "ais")
AE_SORTS: Final = ("onset", "grade", "participant", "term")


def _visible(user: User) -> ColumnElement[bool]:
    """Participants at the sites ``user`` may see (see rules.access.can_see_site)."""
    if user.role == "admin" or user.all_sites:
        return true()
    return Participant.site_id.in_(sorted(user.site_ids))


@dataclass(frozen=True, slots=True)
class ParticipantSummary:
    """A row of the participant list: the participant (site loaded), the AIS grade of their
    latest classified exam (empty before one), the date treated and the status."""

    participant: Participant
    ais: str
    treated_on: date | None
    status: ParticipantStatus


def participant_summaries(
    session: Session, user: User, protocol_id: str, today: date
) -> list[ParticipantSummary]:
    """The trial's participants at the user's sites, by study id, with latest AIS grade and
    status (three queries)."""
    trial = get_trial(session, protocol_id)
    people = session.scalars(
        select(Participant)
        .where(Participant.trial_id == trial.id, _visible(user))
        .options(joinedload(Participant.site))
        .order_by(Participant.study_id)
    ).all()
    ids = [p.id for p in people]
    treated: dict[int, date] = {}
    latest: dict[int, str] = {}
    if ids:
        for pid, first in session.execute(
            select(Administration.participant_id, func.min(Administration.administered_at))
            .where(among(session, Administration.participant_id, ids))
            .group_by(Administration.participant_id)
        ):  # fmt: skip
            treated[pid] = first.date()
        for pid, ais in session.execute(
            select(IsncsciExam.participant_id, IsncsciExam.classification["ais"].as_string())
            .where(among(session, IsncsciExam.participant_id, ids),
                   IsncsciExam.classification.is_not(None))
            .order_by(IsncsciExam.examined_on, IsncsciExam.id)
        ):  # fmt: skip
            latest[pid] = ais or ""
    rows = []
    for p in people:
        on = treated.get(p.id)
        if on is None and p.transplant_date is not None and p.transplant_date <= today:
            on = p.transplant_date
        state: ParticipantStatus = (
            "treated" if on is not None
            else "day 0 planned" if p.transplant_date is not None else "no day 0"
        )  # fmt: skip
        rows.append(ParticipantSummary(p, latest.get(p.id, ""), on, state))
    return rows


@dataclass(frozen=True, slots=True)
class ExamToDo:
    """A participant's exams that are work to do: incomplete (cells not recorded) or without a
    valid signature, each as (exam id, exam date, visit name)."""

    participant: Participant
    incomplete: tuple[tuple[int, date, str], ...]
    unsigned: tuple[tuple[int, date, str], ...]


def exams_to_do(
    session: Session,
    participants: Sequence[Participant],
    visit_of_exam: dict[int, str] | None = None,
) -> list[ExamToDo]:
    """Incomplete exams and exams without a valid signature of ``participants`` (already
    scoped to the user's sites), by participant; ``visit_of_exam`` names each exam's visit
    (by default read with the exams: the name of the visit in the schedule). Cells are read
    only of exams that carry a signature (to tell a valid one from a void one)."""
    ids = [p.id for p in participants]
    if not ids:
        return []
    rows = session.execute(
        select(IsncsciExam.id, IsncsciExam.participant_id, IsncsciExam.examined_on,
               IsncsciExam.classification.is_not(None), VisitDefinition.name)
        .outerjoin(Visit, Visit.id == IsncsciExam.visit_id)
        .outerjoin(VisitDefinition, VisitDefinition.id == Visit.visit_definition_id)
        .where(among(session, IsncsciExam.participant_id, ids))
        .order_by(IsncsciExam.id)
    ).all()  # fmt: skip
    if visit_of_exam is None:
        visit_of_exam = {row[0]: row[4] for row in rows if row[4] is not None}
    exams = [row[:4] for row in rows]
    signed: dict[int, list[str]] = {}
    for exam_id, digest in session.execute(
        select(ExamSignature.exam_id, ExamSignature.content_sha256)
        .join(IsncsciExam, IsncsciExam.id == ExamSignature.exam_id)
        .where(among(session, IsncsciExam.participant_id, ids))
    ):  # fmt: skip
        signed.setdefault(exam_id, []).append(digest)
    valid: set[int] = set()
    if signed:
        for exam in session.scalars(select(IsncsciExam).where(IsncsciExam.id.in_(list(signed)))):
            current = current_exam_hash(exam)
            if any(not is_signature_void(d, current) for d in signed[exam.id]):
                valid.add(exam.id)
    incomplete: dict[int, list[tuple[int, date, str]]] = {}
    unsigned: dict[int, list[tuple[int, date, str]]] = {}
    for exam_id, pid, on, classified in exams:
        entry = (exam_id, on, visit_of_exam.get(exam_id, "no visit"))
        if not classified:
            incomplete.setdefault(pid, []).append(entry)
        elif exam_id not in valid:
            unsigned.setdefault(pid, []).append(entry)
    return [
        ExamToDo(p, tuple(incomplete.get(p.id, ())), tuple(unsigned.get(p.id, ())))
        for p in participants
        if p.id in incomplete or p.id in unsigned
    ]


def open_serious_events(
    session: Session, user: User, protocol_id: str
) -> list[tuple[Participant, AdverseEvent]]:
    """Serious adverse events not resolved, of the trial's participants at the user's sites
    (one query)."""
    trial = get_trial(session, protocol_id)
    rows = session.execute(
        select(Participant, AdverseEvent)
        .join(AdverseEvent, AdverseEvent.participant_id == Participant.id)
        .where(Participant.trial_id == trial.id, _visible(user),
               AdverseEvent.resolution_date.is_(None), _serious(True))
        .order_by(AdverseEvent.id)
    ).all()  # fmt: skip
    return [(p, e) for p, e in rows]


def _serious(serious: bool) -> ColumnElement[bool]:
    # The criteria are a JSON list: "[]" when the event is not serious (SQLite and PostgreSQL).
    text = cast(AdverseEvent.serious_criteria, String)
    return text != "[]" if serious else text == "[]"


def adverse_event_page(
    session: Session,
    user: User,
    *,
    protocol_id: str | None = None,
    site: str | None = None,
    serious: bool | None = None,
    grade: int | None = None,
    participant: str | None = None,
    sort: str = "onset",
    descending: bool = True,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[tuple[Participant, AdverseEvent]], int]:
    """A page of the adverse events at the user's sites and the number matching: filtered by
    trial, site code, seriousness, CTCAE grade and participant study id (a part of it), sorted
    by onset date, grade, participant or term (then by id), ``limit`` rows from ``offset``
    (two queries)."""
    if sort not in AE_SORTS:
        raise InvalidValueError("sort", sort, "one of " + ", ".join(AE_SORTS), "is not known")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidValueError("limit", limit, f"1 to {MAX_PAGE}", "is out of range")
    where: list[ColumnElement[bool]] = [_visible(user)]
    if protocol_id is not None:
        where.append(Participant.trial_id == get_trial(session, protocol_id).id)
    if site:
        where.append(Site.code == site)
    if serious is not None:
        where.append(_serious(serious))
    if grade is not None:
        where.append(AdverseEvent.ctcae_grade == grade)
    if participant:
        where.append(Participant.study_id.contains(participant, autoescape=True))
    joined = (
        select(Participant, AdverseEvent)
        .join(AdverseEvent, AdverseEvent.participant_id == Participant.id)
        .join(Site, Site.id == Participant.site_id)
        .where(*where)
    )
    total = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    key: Any = {
        "onset": AdverseEvent.onset_date, "grade": AdverseEvent.ctcae_grade,
        "participant": Participant.study_id, "term": AdverseEvent.term,
    }[sort]  # fmt: skip
    order = [key.desc(), AdverseEvent.id.desc()] if descending else [key, AdverseEvent.id]
    rows = session.execute(
        joined.options(joinedload(Participant.site)).order_by(*order).offset(offset).limit(limit)
    ).all()
    return [(p, e) for p, e in rows], total


def _trial_records(
    session: Session,
    user: User,
    kind: type[IsncsciExam] | type[AdverseEvent],
    protocol_id: str,
    site: str | None,
    participant: str | None,
    since_column: Any,
    since: date | None,
    cursor: int | None,
    limit: int,
) -> tuple[list[Any], int | None]:
    require_permission(user, "read")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidValueError("limit", limit, f"1 to {MAX_PAGE}", "is out of range")
    trial: Trial = get_trial(session, protocol_id)
    query = (
        select(kind)
        .join(Participant, Participant.id == kind.participant_id)
        .where(Participant.trial_id == trial.id, _visible(user))
    )
    if site:
        query = query.join(Site, Site.id == Participant.site_id).where(Site.code == site)
    if participant:
        query = query.where(Participant.study_id == participant)
    if since is not None:
        query = query.where(since_column >= since)
    if cursor is not None:
        query = query.where(kind.id > cursor)
    rows = list(session.scalars(query.order_by(kind.id).limit(limit + 1)))
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def trial_exams(
    session: Session,
    user: User,
    protocol_id: str,
    *,
    site: str | None = None,
    participant: str | None = None,
    since: date | None = None,
    cursor: int | None = None,
    limit: int = 100,
) -> tuple[list[IsncsciExam], int | None]:
    """A page of the trial's exams at the user's sites, by id: of one site (code), one
    participant (study id), examined on or after ``since``, after the exam id ``cursor``; and
    the cursor of the next page (``None`` on the last)."""
    return _trial_records(session, user, IsncsciExam, protocol_id, site, participant,
                          IsncsciExam.examined_on, since, cursor, limit)  # fmt: skip


def trial_adverse_events(
    session: Session,
    user: User,
    protocol_id: str,
    *,
    site: str | None = None,
    participant: str | None = None,
    since: date | None = None,
    cursor: int | None = None,
    limit: int = 100,
) -> tuple[list[AdverseEvent], int | None]:
    """A page of the trial's adverse events at the user's sites, by id: of one site (code),
    one participant (study id), with onset on or after ``since``, after the id ``cursor``;
    and the cursor of the next page (``None`` on the last)."""
    return _trial_records(session, user, AdverseEvent, protocol_id, site, participant,
                          AdverseEvent.onset_date, since, cursor, limit)  # fmt: skip
