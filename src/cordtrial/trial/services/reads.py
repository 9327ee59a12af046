"""Read-side queries, scoped to what a user may see.

A record at a site the user may not see is reported as not found (NotFoundError), exactly like a
record that does not exist: a caller learns nothing about other sites' data. Records without a
site (trials, lots, lines, specifications) are visible to every user who may ``read``. Each read
that takes the user checks the permission itself (``read``; ``read_audit`` for the trail), and
:func:`participant_for` / :func:`participant_record_for` are how the use cases that change a
participant's data check theirs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, cast

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session, joinedload

from cordtrial.trial.audit import REKEY, Anchor, AuditReport, verify_audit
from cordtrial.trial.errors import AccessDeniedError, NotFoundError
from cordtrial.trial.models import (
    Administration,
    AdverseEvent,
    AdverseEventFollowUp,
    AuditEntry,
    ConsentSignature,
    ContactAttempt,
    CustodyEvent,
    DataQuery,
    DispositionChange,
    EligibilityAssessment,
    ExamSignature,
    ImmunosuppressionCourse,
    IsncsciExam,
    LabResult,
    Lot,
    Participant,
    ScimAssessment,
    Site,
    SixMinuteWalk,
    TenMetreWalk,
    Trial,
    User,
    Visit,
    WisciAssessment,
)
from cordtrial.trial.rules.access import Action, can_see_site
from cordtrial.trial.rules.disclosure import OTHER_SITE_PARTICIPANT, Scrubber
from cordtrial.trial.services.common import get_trial
from cordtrial.trial.services.users import require_permission

__all__ = [
    "MEASURE_KINDS",
    "CustodyView",
    "audit_scope",
    "audit_verification",
    "hidden_participants",
    "list_administrations",
    "list_adverse_events",
    "list_audit",
    "list_audit_entities",
    "list_custody",
    "list_eligibility",
    "list_exams",
    "list_lots",
    "list_measures",
    "list_participants",
    "list_sites",
    "list_trials",
    "list_users",
    "participant_audit_scope",
    "participant_for",
    "participant_record_for",
    "visible_lot",
    "visible_participant",
    "visible_participant_record",
    "visible_site",
    "visible_trial",
]

#: The functional measures, by the name the API and exports use.
MEASURE_KINDS: dict[str, type[Measure]] = {
    "scim": ScimAssessment,
    "wisci": WisciAssessment,
    "ten_metre_walk": TenMetreWalk,
    "six_minute_walk": SixMinuteWalk,
}

Measure = ScimAssessment | WisciAssessment | TenMetreWalk | SixMinuteWalk
P = TypeVar("P", IsncsciExam, AdverseEvent, Administration, EligibilityAssessment,
            ScimAssessment, WisciAssessment, TenMetreWalk, SixMinuteWalk, LabResult,
            DataQuery, ImmunosuppressionCourse)  # fmt: skip


def _sees(user: User, site_id: int) -> bool:
    return can_see_site(user.role, user.all_sites, user.site_ids, site_id)


def visible_trial(session: Session, user: User, protocol_id: str) -> Trial:
    """A trial (every user may see that a trial exists)."""
    require_permission(user, "read")
    return get_trial(session, protocol_id)


def list_trials(session: Session, user: User) -> Sequence[Trial]:
    """Every trial, by protocol id."""
    require_permission(user, "read")
    return session.scalars(select(Trial).order_by(Trial.protocol_id)).all()


def list_sites(session: Session, user: User, protocol_id: str) -> list[Site]:
    """The trial's sites the user may see."""
    require_permission(user, "read")
    return [s for s in get_trial(session, protocol_id).sites if _sees(user, s.id)]


def visible_site(session: Session, user: User, protocol_id: str, code: str) -> Site:
    """A site of a trial by code, if the user may see it."""
    for site in list_sites(session, user, protocol_id):
        if site.code == code:
            return site
    raise NotFoundError("site", f"{protocol_id}/{code}")


def visible_participant(session: Session, user: User, participant_id: int) -> Participant:
    """A participant at a site the user may see."""
    participant = session.get(Participant, participant_id)
    if participant is None or not _sees(user, participant.site_id):
        raise NotFoundError("participant", participant_id)
    require_permission(user, "read", participant.site_id)
    return participant


def visible_participant_record(session: Session, user: User, kind: type[P], record_id: int) -> P:
    """A record that belongs to a participant (exam, adverse event ...) the user may see."""
    record = session.get(kind, record_id)
    if record is None:
        raise NotFoundError(kind.__tablename__, record_id)
    participant = session.get(Participant, record.participant_id)
    if participant is None or not _sees(user, participant.site_id):
        raise NotFoundError(kind.__tablename__, record_id)
    require_permission(user, "read", participant.site_id)
    return record


def participant_for(
    session: Session, user: User, action: Action, participant_id: int
) -> Participant:
    """A participant ``user`` may take ``action`` on: NotFoundError when there is none at a site
    the user may see (as if it did not exist), AccessDeniedError when the role does not allow
    ``action`` (or the account is inactive). What every use case on a participant checks first."""
    participant = visible_participant(session, user, participant_id)
    require_permission(user, action, participant.site_id)
    return participant


def participant_record_for(
    session: Session, user: User, action: Action, kind: type[P], record_id: int
) -> P:
    """A participant's record (exam, measure, adverse event ...) ``user`` may take ``action``
    on, refused as :func:`participant_for` refuses."""
    record = visible_participant_record(session, user, kind, record_id)
    participant_for(session, user, action, record.participant_id)
    return record


def list_participants(session: Session, user: User, protocol_id: str) -> list[Participant]:
    """The trial's participants at sites the user may see, by study id."""
    require_permission(user, "read")
    trial = get_trial(session, protocol_id)
    rows = session.scalars(
        select(Participant)
        .where(Participant.trial_id == trial.id)
        .options(joinedload(Participant.site))
        .order_by(Participant.study_id)
    )
    return [p for p in rows if _sees(user, p.site_id)]


def _of_participant(
    session: Session, user: User, kind: type[P], participant_id: int
) -> Sequence[P]:
    visible_participant(session, user, participant_id)
    return session.scalars(
        select(kind).where(kind.participant_id == participant_id).order_by(kind.id)
    ).all()


def list_exams(session: Session, user: User, participant_id: int) -> Sequence[IsncsciExam]:
    """A participant's ISNCSCI exams."""
    return _of_participant(session, user, IsncsciExam, participant_id)


def list_adverse_events(
    session: Session, user: User, participant_id: int
) -> Sequence[AdverseEvent]:
    """A participant's adverse events."""
    return _of_participant(session, user, AdverseEvent, participant_id)


def list_administrations(
    session: Session, user: User, participant_id: int
) -> Sequence[Administration]:
    """The cell administrations a participant received."""
    return _of_participant(session, user, Administration, participant_id)


def list_eligibility(
    session: Session, user: User, participant_id: int
) -> Sequence[EligibilityAssessment]:
    """A participant's eligibility assessments."""
    return _of_participant(session, user, EligibilityAssessment, participant_id)


def list_measures(
    session: Session, user: User, participant_id: int, kind: str
) -> Sequence[Measure]:
    """A participant's functional measures of one kind (see :data:`MEASURE_KINDS`)."""
    cls = MEASURE_KINDS[kind]
    visible_participant(session, user, participant_id)
    rows = session.scalars(
        select(cls).where(cls.participant_id == participant_id).order_by(cls.id)
    ).all()
    return cast(Sequence[Measure], rows)


def list_lots(session: Session, user: User | None = None) -> Sequence[Lot]:
    """Every lot, by lot number (lots have no site); with ``user``, for one who may ``read``."""
    if user is not None:
        require_permission(user, "read")
    return session.scalars(select(Lot).order_by(Lot.lot_number)).all()


def visible_lot(session: Session, lot_number: str, user: User | None = None) -> Lot:
    """A lot by number; with ``user``, for one who may ``read``."""
    if user is not None:
        require_permission(user, "read")
    lot = session.scalars(select(Lot).where(Lot.lot_number == lot_number)).first()
    if lot is None:
        raise NotFoundError("lot", lot_number)
    return lot


@dataclass(frozen=True, slots=True)
class CustodyView:
    """A custody event as one reader may see it (see :func:`list_custody`)."""

    id: int
    version: int
    lot_id: int
    event: str
    holder: str
    location: str
    at: datetime
    note: str


def hidden_participants(session: Session, user: User | None) -> Scrubber:
    """Replaces, in text, the study id of every participant of a site ``user`` may not see
    (``None``: whoever runs a command with the database's credentials sees every site)."""
    if user is None or user.role == "admin" or user.all_sites:
        return Scrubber({})
    rows = session.execute(select(Participant.study_id, Participant.site_id))
    return Scrubber(
        {study_id: OTHER_SITE_PARTICIPANT for study_id, site in rows if not _sees(user, site)}
    )


def list_custody(
    session: Session, lot_number: str, user: User | None = None
) -> Sequence[CustodyView]:
    """A lot's chain of custody, in order. A lot goes to participants of several sites: for a
    ``user`` scoped to sites, the recipients of other sites are not named (their study ids in
    a note read ``(a participant of another site)``)."""
    lot = visible_lot(session, lot_number, user)
    scrub = hidden_participants(session, user)
    events = session.scalars(
        select(CustodyEvent).where(CustodyEvent.lot_id == lot.id).order_by(CustodyEvent.id)
    ).all()
    return [
        CustodyView(e.id, e.version, e.lot_id, e.event, e.holder, e.location, e.at, scrub(e.note))
        for e in events
    ]


def list_users(session: Session) -> Sequence[User]:
    """Every user, by name."""
    return session.scalars(select(User).order_by(User.username)).all()


_OF_PARTICIPANT = (
    Visit, EligibilityAssessment, IsncsciExam, ScimAssessment, WisciAssessment, TenMetreWalk,
    SixMinuteWalk, Administration, AdverseEvent, DataQuery,
    # the long-term follow-up (issue 14)
    DispositionChange, ContactAttempt, ConsentSignature,
)  # fmt: skip


def audit_scope(session: Session, user: User) -> dict[str, list[int]] | None:
    """The records whose audit entries a user may read: ``None`` for every record (admins and
    users of all sites), else the ids, by table, of the records of the user's sites (the sites,
    their participants and the participants' records, exam signatures included). Records
    without a site (trials, lots, users) are left out. Refused (AccessDeniedError) unless the
    user may ``read_audit``."""
    require_permission(user, "read_audit")
    if user.role == "admin" or user.all_sites:
        return None
    sites = sorted(user.site_ids)
    participants = list(
        session.scalars(select(Participant.id).where(Participant.site_id.in_(sites)))
    )
    return {"site": sites, **_records_of_participants(session, participants)}


def audit_verification(session: Session, user: User, anchors: Sequence[Anchor] = ()) -> AuditReport:
    """Walk the whole hash chain and reconcile it with the tables (see
    :func:`~cordtrial.trial.audit.verify_audit`), for a user who may ``read_audit`` at every
    site (admins, users of all sites): the report speaks of every site's records."""
    if audit_scope(session, user) is not None:
        raise AccessDeniedError(user.username, "read_audit", "every site")
    return verify_audit(session, anchors)


def participant_audit_scope(session: Session, participant_id: int) -> dict[str, list[int]]:
    """The records of one participant whose audit entries make up their history (the
    participant, their visits, exams and signatures, measures, administrations, adverse events
    and follow-ups, data queries, disposition changes, contact attempts and consent signatures),
    in :func:`audit_scope`'s form for :func:`list_audit`."""
    return _records_of_participants(session, [participant_id])


def _records_of_participants(session: Session, participants: list[int]) -> dict[str, list[int]]:
    scope: dict[str, list[int]] = {"participant": participants}
    for cls in _OF_PARTICIPANT:
        scope[cls.__tablename__] = list(
            session.scalars(select(cls.id).where(cls.participant_id.in_(participants)))
        )
    scope["exam_signature"] = list(
        session.scalars(
            select(ExamSignature.id).where(ExamSignature.exam_id.in_(scope["isncsci_exam"]))
        )
    )
    scope["adverse_event_follow_up"] = list(
        session.scalars(
            select(AdverseEventFollowUp.id).where(
                AdverseEventFollowUp.adverse_event_id.in_(scope["adverse_event"])
            )
        )
    )
    return scope


def list_audit(
    session: Session,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    after_seq: int = 0,
    limit: int = 100,
    scope: dict[str, list[int]] | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: int | None = None,
    newest_first: bool = False,
) -> Sequence[AuditEntry]:
    """Audit entries in chain order, optionally of one entity (and record), of one ``actor``,
    made at or after ``since`` and before ``until``, after ``after_seq`` and before
    ``before_seq``; with a ``scope`` (see :func:`audit_scope`) only those of the records it
    lists. Each filter reads an index of the trail (by record, by actor, by time: revision
    0011). ``newest_first`` returns the latest ``limit`` entries, latest first (a log page).

    A record's entries include those written under an id the trail later corrected (a
    ``rekey`` row, see :mod:`cordtrial.trial.audit`): its history is whole under its right id.
    """
    aliases = _rekeyed(session)
    query = select(AuditEntry).where(AuditEntry.seq > after_seq)
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if scope is not None:
        allowed = []
        for name, ids in scope.items():
            keys = [str(i) for i in ids]
            keys += [old for i in keys for old in aliases.get((name, i), ())]
            if keys:
                allowed.append(and_(AuditEntry.entity == name, AuditEntry.entity_id.in_(keys)))
        query = query.where(or_(*allowed) if allowed else false())
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        old_ids = sorted(
            {old for (name, key), olds in aliases.items() if key == entity_id
             for old in olds if entity is None or name == entity}
        )  # fmt: skip
        query = query.where(AuditEntry.entity_id.in_([entity_id, *old_ids]))
    order = AuditEntry.seq.desc() if newest_first else AuditEntry.seq
    return session.scalars(query.order_by(order).limit(limit)).all()


def list_audit_entities(session: Session) -> list[str]:
    """The names of the entities (tables) the trail holds entries of, sorted.

    A loose scan of the trail's index by record: one index seek per entity, however long the
    trail (a plain ``SELECT DISTINCT`` reads every row of it).
    """
    table = AuditEntry.__table__
    walk = select(func.min(table.c.entity).label("entity")).cte("entities", recursive=True)
    following = (
        select(func.min(table.c.entity)).where(table.c.entity > walk.c.entity).scalar_subquery()
    )
    walk = walk.union_all(select(following.label("entity")).where(walk.c.entity.is_not(None)))
    names = session.scalars(select(walk.c.entity).where(walk.c.entity.is_not(None)))
    return list(names)


def _rekeyed(session: Session) -> dict[tuple[str, str], list[str]]:
    """(entity, right id) -> the ids its entries were recorded under before a ``rekey``."""
    aliases: dict[tuple[str, str], list[str]] = {}
    rows = session.execute(
        select(AuditEntry.entity, AuditEntry.entity_id, AuditEntry.old_value).where(
            AuditEntry.action == REKEY
        )
    )
    for entity, entity_id, old_value in rows:
        aliases.setdefault((entity, entity_id), []).append(json.loads(old_value or "null"))
    return aliases
