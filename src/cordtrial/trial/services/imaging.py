"""Use cases: MRI examinations, their structured reads, blinded central reading, adjudication,
and the surveillance status of participants (issue 14).

Central reading: an imaging manager (``manage_imaging``: investigators, admins) assigns two
central readers (role ``reader``) to an MRI. Each reader sees only the reads assigned to them;
they see the other central read and the site's read of that MRI only once both central reads
are locked (:func:`visible_reads`), and an MRI not assigned to them does not exist for them.
A read is submitted and locked at once, never changed afterwards. When the two disagree on the
impression or on a tumour-relevant item (:func:`cordtrial.trial.rules.imaging.discordant_items`)
a third reader is assigned to adjudicate; the adjudicator sees both central reads.

A locked read (site, central or adjudication) that is suspicious for tumour or reports a new
mass opens, in the same transaction, an adverse event of special interest (category
``tumour_or_graft_overgrowth``) linked to the read: it counts in the safety stopping rule and,
being serious (medically important, ICH E2A II.B), possibly related to the cells and
unexpected, it starts the 15-day expedited-report clock from the day of the read (ICH E2A
III.A.2; 21 CFR 312.32(c)(1)). Its grade and causality are provisional, for the investigator to
confirm by follow-up. One event per MRI: a second such read of the same MRI joins it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.dicom import read_dicom_studies
from cordtrial.trial.errors import InvalidValueError, NotFoundError, RuleViolationError
from cordtrial.trial.models import Administration, MriExam, MriRead, Participant, User
from cordtrial.trial.rules.access import can, can_see_site
from cordtrial.trial.rules.imaging import (
    BASIC_GRADES,
    MriFacts,
    ReadFacts,
    SurveillanceStatus,
    check_mri,
    check_read,
    discordant_items,
    opens_tumour_event,
    surveillance_status,
)
from cordtrial.trial.rules.safety import AdverseEventFacts
from cordtrial.trial.rules.vocabulary import word
from cordtrial.trial.services.bulk import among
from cordtrial.trial.services.common import get_by_id
from cordtrial.trial.services.safety import build_adverse_event
from cordtrial.trial.services.users import require_permission

__all__ = [
    "READ_FIELDS",
    "MriView",
    "ReadImportProblem",
    "ReadingState",
    "WorkItem",
    "assign_adjudicator",
    "assign_readers",
    "basic_label",
    "import_dicom",
    "import_reads",
    "list_mris",
    "reading_state",
    "record_mri",
    "record_site_read",
    "submit_read",
    "surveillance",
    "transplant_dates",
    "visible_mri",
    "visible_reads",
    "worklist",
]

#: The findings of a read (the fields of :class:`~cordtrial.trial.rules.imaging.ReadFacts`).
READ_FIELDS = tuple(f.name for f in fields(ReadFacts))
#: The adverse event a tumour finding opens (see the module docstring).
TUMOUR_TERM = "Tumour finding on MRI"


def _participant(session: Session, user: User, participant_id: int, action: str) -> Participant:
    participant = session.get(Participant, participant_id)
    if participant is None or not can_see_site(
        user.role, user.all_sites, user.site_ids, participant.site_id
    ):
        raise NotFoundError("participant", participant_id)
    require_permission(user, action, participant.site_id)
    return participant


def transplant_dates(session: Session, participant_ids: Collection[int]) -> dict[int, date]:
    """Each participant's first cell administration date (day 0 of surveillance), in one
    statement."""
    if not participant_ids:
        return {}
    rows = session.execute(
        select(Administration.participant_id, func.min(Administration.administered_at))
        .where(among(session, Administration.participant_id, participant_ids))
        .group_by(Administration.participant_id)
    ).all()
    return {pid: at.date() for pid, at in rows if at is not None}


def record_mri(
    session: Session,
    user: User,
    *,
    participant_id: int,
    acquired_on: date,
    imaging_site: str,
    field_strength_t: float,
    sequences: Sequence[str],
    study_instance_uid: str | None = None,
    source: str = "entered",
) -> MriExam:
    """Record an MRI examination (``enter_data`` at the participant's site); not before the
    first cell administration; a Study Instance UID is recorded once in the store."""
    participant = _participant(session, user, participant_id, "enter_data")
    day0 = transplant_dates(session, [participant.id]).get(participant.id)
    facts = check_mri(
        MriFacts(acquired_on, imaging_site, field_strength_t, tuple(sequences), study_instance_uid),
        transplant_date=day0,
    )
    if facts.study_instance_uid is not None:
        _refuse_known_uid(session, facts.study_instance_uid)
    with unit_of_work(session, user.username):
        mri = MriExam(
            participant_id=participant.id,
            acquired_on=facts.acquired_on,
            imaging_site=facts.imaging_site,
            field_strength_t=facts.field_strength_t,
            sequences=list(facts.sequences),
            study_instance_uid=facts.study_instance_uid,
            source=source,
        )
        session.add(mri)
    return mri


def _refuse_known_uid(session: Session, uid: str) -> None:
    known = session.scalar(select(MriExam.id).where(MriExam.study_instance_uid == uid))
    session.rollback()
    if known is not None:
        raise InvalidValueError(
            "study_instance_uid", uid, "a study not recorded yet", "is already recorded"
        )


def import_dicom(
    session: Session,
    user: User,
    *,
    participant_id: int,
    path: Path,
    imaging_site: str | None = None,
    field_strength_t: float | None = None,
) -> list[MriExam]:
    """Record the MR studies found in a DICOM file or folder (headers only, see
    :mod:`cordtrial.trial.dicom`): date, field strength, sequences (series descriptions), Study
    Instance UID. The imaging site is the one given, else the DICOM institution; a field
    strength given here is used where the headers have none. Nothing of the file's patient
    identity is read."""
    _participant(session, user, participant_id, "enter_data")
    studies = read_dicom_studies(Path(path))
    made = []
    for study in studies:
        tesla = study.field_strength_t if study.field_strength_t is not None else field_strength_t
        if tesla is None:
            raise InvalidValueError(
                "field_strength_t",
                None,
                "the scanner's field strength in tesla (give it when "
                "the DICOM headers have no Magnetic Field Strength)",
                "is missing",
            )
        site = imaging_site or study.institution
        if not site:
            raise InvalidValueError(
                "imaging_site",
                None,
                "where the MRI was made (the DICOM headers name no institution)",
                "is missing",
            )
        made.append(
            record_mri(
                session,
                user,
                participant_id=participant_id,
                acquired_on=study.acquired_on,
                imaging_site=site,
                field_strength_t=tesla,
                sequences=study.sequences or ("not described",),
                study_instance_uid=study.study_instance_uid,
                source="dicom",
            )
        )
    return made


def _reads_of(session: Session, mri_id: int) -> list[MriRead]:
    return list(
        session.scalars(select(MriRead).where(MriRead.mri_exam_id == mri_id).order_by(MriRead.id))
    )


def _staff(user: User) -> bool:
    return can(user.role, "read")


def visible_mri(session: Session, user: User, mri_id: int) -> MriExam:
    """An MRI the user may see: staff who may ``read`` at its site; a reader only when a read
    of it is assigned to them (otherwise not found, like a record that does not exist)."""
    mri = session.get(MriExam, mri_id)
    if mri is None:
        raise NotFoundError("mri_exam", mri_id)
    participant = session.get(Participant, mri.participant_id)
    assert participant is not None
    sees = can_see_site(user.role, user.all_sites, user.site_ids, participant.site_id)
    if _staff(user) and sees:
        return mri
    assigned = session.scalar(
        select(MriRead.id).where(MriRead.mri_exam_id == mri_id, MriRead.reader == user.username)
    )
    if sees and assigned is not None and can(user.role, "read_images"):
        return mri
    raise NotFoundError("mri_exam", mri_id)


def visible_reads(session: Session, user: User, mri_id: int) -> list[MriRead]:
    """The reads of an MRI the user may see (blinding): a reader sees their own read, and the
    other reads (central and site) only once both central reads are locked; staff see the
    locked reads and who is assigned."""
    visible_mri(session, user, mri_id)
    reads = _reads_of(session, mri_id)
    central = [r for r in reads if r.kind == "central"]
    both_locked = len(central) == 2 and all(r.status == "locked" for r in central)
    if _staff(user):
        return reads
    return [r for r in reads if r.reader == user.username or (both_locked and r.status == "locked")]


def _as_facts(read: MriRead) -> ReadFacts:
    return ReadFacts(**{name: getattr(read, name) for name in READ_FIELDS})


@dataclass(frozen=True, slots=True)
class ReadingState:
    """Where the reading of an MRI stands: ``not assigned``, ``reading`` (central reads locked
    of 2), ``adjudication needed`` (the items in ``discordant``), ``adjudicating``, ``final``
    (``impression`` is the agreed or adjudicated one)."""

    state: str
    locked: int
    discordant: tuple[str, ...]
    impression: str | None

    @property
    def label(self) -> str:
        if self.state == "reading":
            return f"reading ({self.locked} of 2 central reads locked)"
        if self.state == "adjudication needed":
            return "adjudication needed: readers differ on " + ", ".join(
                word(d) for d in self.discordant
            )
        if self.state == "final" and self.impression:
            return "final: " + word(self.impression)
        return self.state


def reading_state(reads: Sequence[MriRead]) -> ReadingState:
    """The reading state of an MRI from all its reads (pure: no database)."""
    central = [r for r in reads if r.kind == "central"]
    locked = [r for r in central if r.status == "locked"]
    if not central:
        return ReadingState("not assigned", 0, (), None)
    if len(locked) < 2:
        return ReadingState("reading", len(locked), (), None)
    differ = tuple(discordant_items(_as_facts(locked[0]), _as_facts(locked[1])))
    if not differ:
        return ReadingState("final", 2, (), locked[0].impression)
    adjudication = [r for r in reads if r.kind == "adjudication"]
    if not adjudication:
        return ReadingState("adjudication needed", 2, differ, None)
    if adjudication[0].status != "locked":
        return ReadingState("adjudicating", 2, differ, None)
    return ReadingState("final", 2, differ, adjudication[0].impression)


def _reader(session: Session, username: str, site_id: int) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError("user", username)
    if user.role != "reader" or not user.active:
        raise InvalidValueError("reader", username, "an active user with the role reader")
    if not can_see_site(user.role, user.all_sites, user.site_ids, site_id):
        raise InvalidValueError("reader", username, "a reader given this participant's site")
    return user


def assign_readers(
    session: Session, user: User, *, mri_id: int, readers: Sequence[str]
) -> list[MriRead]:
    """Assign the two blinded central readers of an MRI (``manage_imaging``): two different
    active users with the role ``reader``, given the participant's site; once per MRI."""
    mri = visible_mri(session, user, mri_id)
    site_id = session.get(Participant, mri.participant_id).site_id  # type: ignore[union-attr]
    require_permission(user, "manage_imaging", site_id)
    names = [str(r).strip() for r in readers]
    if len(names) != 2 or names[0] == names[1]:
        raise InvalidValueError("readers", list(readers), "two different central readers")
    for name in names:
        _reader(session, name, site_id)
    reads = _reads_of(session, mri_id)
    session.rollback()
    if any(r.kind == "central" for r in reads):
        raise RuleViolationError("central reading", ["the MRI's central readers are assigned"])
    with unit_of_work(session, user.username):
        made = [
            MriRead(
                mri_exam_id=mri.id,
                kind="central",
                reader=name,
                assigned_by=user.username,
                status="assigned",
            )
            for name in names
        ]
        session.add_all(made)
    return made


def assign_adjudicator(session: Session, user: User, *, mri_id: int, reader: str) -> MriRead:
    """Assign the third reader who adjudicates an MRI whose two central reads disagree
    (``manage_imaging``); not one of the two."""
    mri = visible_mri(session, user, mri_id)
    site_id = session.get(Participant, mri.participant_id).site_id  # type: ignore[union-attr]
    require_permission(user, "manage_imaging", site_id)
    name = str(reader).strip()
    _reader(session, name, site_id)
    reads = _reads_of(session, mri_id)
    state = reading_state(reads)
    session.rollback()
    if state.state != "adjudication needed":
        raise RuleViolationError(
            "adjudication",
            [
                f"the MRI's reading is {state.label}: only two locked central reads that disagree "
                "are adjudicated"
            ],
        )
    if any(r.reader == name for r in reads):
        raise InvalidValueError("reader", name, "a third reader, not one who read this MRI")
    with unit_of_work(session, user.username):
        read = MriRead(
            mri_exam_id=mri.id,
            kind="adjudication",
            reader=name,
            assigned_by=user.username,
            status="assigned",
        )
        session.add(read)
    return read


def _store_read(read: MriRead, facts: ReadFacts, now: datetime) -> None:
    for name in READ_FIELDS:
        setattr(read, name, getattr(facts, name))
    read.status = "locked"
    read.locked_at = now


def _tumour_event(
    session: Session, mri: MriExam, read: MriRead, facts: ReadFacts, today: date
) -> None:
    # one event per MRI: a later read of the same MRI joins the one already opened
    existing = session.scalar(
        select(MriRead.adverse_event_id).where(
            MriRead.mri_exam_id == mri.id, MriRead.adverse_event_id.is_not(None)
        )
    )
    if existing is not None:
        read.adverse_event_id = existing
        return
    items = [
        word(n) for n in ("new_mass", "contrast_enhancement", "mass_effect") if getattr(facts, n)
    ]
    narrative = (
        f"Opened automatically from the locked {word(read.kind)} read of the MRI of "
        f"{mri.acquired_on.isoformat()} (reader {read.reader}): impression "
        f"{word(facts.impression)}; tumour-relevant findings: {', '.join(items) or 'none'}. "
        f"Finding: {facts.finding or '(none described)'}. Grade and causality are provisional, "
        "for the investigator to confirm."
    )
    event = build_adverse_event(
        session,
        mri.participant_id,
        AdverseEventFacts(
            term=TUMOUR_TERM,
            category="tumour_or_graft_overgrowth",
            onset_date=mri.acquired_on,
            resolution_date=None,
            awareness_date=max(today, mri.acquired_on),
            ctcae_grade=3,
            serious_criteria=frozenset({"medically_important"}),
            related_to_cells="possible",
            related_to_procedure="not_related",
            related_to_immunosuppression="not_related",
            expectedness="unexpected",
            outcome="not_recovered",
            narrative=narrative,
        ),
    )
    session.add(event)
    session.flush()
    read.adverse_event_id = event.id


def _lock(session: Session, user: User, mri: MriExam, read: MriRead, facts: ReadFacts,
          now: datetime, *, new: bool) -> MriRead:  # fmt: skip
    with unit_of_work(session, user.username, None if new else "read submitted and locked"):
        if new:
            session.add(read)
        _store_read(read, facts, now)
        if opens_tumour_event(facts):
            session.flush()
            _tumour_event(session, mri, read, facts, now.date())
    return read


def record_site_read(
    session: Session, user: User, *, mri_id: int, facts: ReadFacts, now: datetime
) -> MriRead:
    """Record the site's read of an MRI (``enter_data`` at the site), locked at once; one per
    MRI. Central readers see it only once both their reads are locked."""
    mri = visible_mri(session, user, mri_id)
    site_id = session.get(Participant, mri.participant_id).site_id  # type: ignore[union-attr]
    require_permission(user, "enter_data", site_id)
    checked = check_read(facts)
    reads = _reads_of(session, mri_id)
    session.rollback()
    if any(r.kind == "site" for r in reads):
        raise RuleViolationError("site read", ["the site's read of this MRI is recorded"])
    if any(r.reader == user.username for r in reads):
        raise RuleViolationError("site read", [f"{user.username} is a central reader of it"])
    read = MriRead(
        mri_exam_id=mri.id,
        kind="site",
        reader=user.username,
        assigned_by=user.username,
        status="assigned",
    )
    return _lock(session, user, mri, read, checked, now, new=True)


def submit_read(
    session: Session, user: User, *, read_id: int, facts: ReadFacts, now: datetime
) -> MriRead:
    """Submit and lock a central or adjudication read assigned to the user (``read_images``):
    only its reader may submit it, once."""
    require_permission(user, "read_images")
    read = session.get(MriRead, read_id)
    if read is None or read.reader != user.username:
        raise NotFoundError("mri_read", read_id)
    mri = get_by_id(session, MriExam, read.mri_exam_id)
    site_id = session.get(Participant, mri.participant_id).site_id  # type: ignore[union-attr]
    require_permission(user, "read_images", site_id)
    if read.status == "locked":
        session.rollback()
        raise RuleViolationError("MRI read", ["the read is locked: a locked read is not changed"])
    checked = check_read(facts)
    session.rollback()
    return _lock(session, user, mri, read, checked, now, new=False)


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A read assigned to a reader and not yet locked, with what the reader may know: the
    participant's study id, the MRI, days since transplant, and (for an adjudication) the two
    central reads."""

    read: MriRead
    mri: MriExam
    study_id: str
    days_since_transplant: int | None
    central_reads: tuple[MriRead, ...]


def worklist(session: Session, user: User, *, include_locked: bool = False) -> list[WorkItem]:
    """The reads assigned to the user (``read_images``), open ones first by MRI date; with
    ``include_locked`` the locked ones too. Bulk queries: a constant number of statements."""
    require_permission(user, "read_images")
    query = select(MriRead).where(MriRead.reader == user.username, MriRead.kind != "site")
    if not include_locked:
        query = query.where(MriRead.status != "locked")
    reads = list(session.scalars(query))
    mris = {
        m.id: m
        for m in session.scalars(
            select(MriExam).where(MriExam.id.in_([r.mri_exam_id for r in reads] or [-1]))
        )
    }
    participants = {
        p.id: p
        for p in session.scalars(
            select(Participant).where(
                Participant.id.in_([m.participant_id for m in mris.values()] or [-1])
            )
        )
    }
    adjudicated = [r.mri_exam_id for r in reads if r.kind == "adjudication"]
    central: dict[int, list[MriRead]] = {}
    for other in session.scalars(
        select(MriRead)
        .where(MriRead.mri_exam_id.in_(adjudicated or [-1]), MriRead.kind == "central")
        .order_by(MriRead.id)
    ):
        central.setdefault(other.mri_exam_id, []).append(other)
    day0 = transplant_dates(session, list(participants))
    items = []
    for read in reads:
        mri = mris[read.mri_exam_id]
        participant = participants[mri.participant_id]
        if not can_see_site(user.role, user.all_sites, user.site_ids, participant.site_id):
            continue
        start = day0.get(participant.id)
        items.append(
            WorkItem(
                read,
                mri,
                participant.study_id,
                (mri.acquired_on - start).days if start else None,
                tuple(central.get(mri.id, ())),
            )
        )
    return sorted(items, key=lambda i: (i.read.status == "locked", i.mri.acquired_on, i.read.id))


@dataclass(frozen=True, slots=True)
class MriView:
    """An MRI with its days since transplant and reading state, for lists."""

    mri: MriExam
    days_since_transplant: int | None
    state: ReadingState
    reads: tuple[MriRead, ...]


def list_mris(session: Session, user: User, participant_id: int) -> list[MriView]:
    """A participant's MRIs (``read``), by date, with their reads and reading state."""
    participant = _participant(session, user, participant_id, "read")
    mris = list(
        session.scalars(
            select(MriExam)
            .where(MriExam.participant_id == participant.id)
            .order_by(MriExam.acquired_on, MriExam.id)
        )
    )
    reads: dict[int, list[MriRead]] = {}
    for read in session.scalars(
        select(MriRead)
        .where(MriRead.mri_exam_id.in_([m.id for m in mris] or [-1]))
        .order_by(MriRead.id)
    ):
        reads.setdefault(read.mri_exam_id, []).append(read)
    start = transplant_dates(session, [participant.id]).get(participant.id)
    return [
        MriView(
            m,
            (m.acquired_on - start).days if start else None,
            reading_state(reads.get(m.id, [])),
            tuple(reads.get(m.id, [])),
        )
        for m in mris
    ]


def surveillance(
    session: Session, user: User, participants: Sequence[Participant], today: date
) -> dict[int, SurveillanceStatus]:
    """The MRI surveillance status of each participant (last MRI, next due, overdue), in two
    statements whatever the number of participants. Participants are those already scoped to
    the user (e.g. :func:`cordtrial.trial.services.reads.list_participants`)."""
    require_permission(user, "read")
    ids = [p.id for p in participants]
    day0 = transplant_dates(session, ids)
    dates: dict[int, list[date]] = {}
    if ids:
        for pid, on in session.execute(
            select(MriExam.participant_id, MriExam.acquired_on).where(
                among(session, MriExam.participant_id, ids)
            )
        ):
            dates.setdefault(pid, []).append(on)
    return {pid: surveillance_status(day0.get(pid), dates.get(pid, []), today) for pid in ids}


def basic_label(score: int | None) -> str:
    """A BASIC score in words (``2: some white matter``)."""
    return "not scored" if score is None else f"{score}: {BASIC_GRADES[score]}"


@dataclass(frozen=True, slots=True)
class ReadImportProblem:
    """A row of a reads file that was not imported: its number (1 = first data row), the
    field, the value and why, in words."""

    row: int
    field: str
    value: str
    reason: str


_YES = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False, "false": False,
        "0": False}  # fmt: skip


def _row_facts(row: dict[str, str]) -> ReadFacts:
    values: dict[str, object] = {}
    for name in READ_FIELDS:
        text = str(row.get(name) or "").strip()
        if name in ("impression", "syrinx_change", "finding"):
            values[name] = text or (None if name == "syrinx_change" else "")
        elif name == "basic_score":
            if text and not text.isdigit():
                raise InvalidValueError(name, text, "0-4 (Talbott 2015), or empty")
            values[name] = int(text) if text else None
        elif name.endswith(("_mm", "_mm3")):
            try:
                values[name] = float(text) if text else None
            except ValueError:
                raise InvalidValueError(
                    name, text, "a number, or empty", "is not a number"
                ) from None
        else:
            if text.lower() not in _YES:
                raise InvalidValueError(name, text, "yes or no")
            values[name] = _YES[text.lower()]
    return ReadFacts(**values)  # type: ignore[arg-type]


def import_reads(
    session: Session, user: User, rows: Sequence[dict[str, str]], *, now: datetime
) -> tuple[list[MriRead], list[ReadImportProblem]]:
    """Import structured reads, one transaction per row. Each row names its MRI by
    ``study_instance_uid`` (or ``mri_id``) and holds the read's fields (yes/no items as yes or
    no). A row is the user's central or adjudication read when one of that MRI is assigned to
    them (submitted and locked), otherwise the site's read. Rows refused are reported (field,
    value, reason in words), the others are stored."""
    stored: list[MriRead] = []
    problems: list[ReadImportProblem] = []
    for number, row in enumerate(rows, start=1):
        try:
            uid = str(row.get("study_instance_uid") or "").strip()
            key = str(row.get("mri_id") or "").strip()
            if uid:
                mri_id = session.scalar(select(MriExam.id).where(MriExam.study_instance_uid == uid))
                session.rollback()
                if mri_id is None:
                    raise NotFoundError("mri_exam", uid)
            elif key.isdigit():
                mri_id = int(key)
            else:
                raise InvalidValueError(
                    "study_instance_uid",
                    None,
                    "the MRI's Study Instance UID or mri_id",
                    "is missing",
                )
            facts = _row_facts(row)
            mine = session.scalar(
                select(MriRead.id).where(
                    MriRead.mri_exam_id == mri_id,
                    MriRead.reader == user.username,
                    MriRead.kind != "site",
                    MriRead.status == "assigned",
                )
            )
            session.rollback()
            if mine is not None:
                stored.append(submit_read(session, user, read_id=mine, facts=facts, now=now))
            else:
                stored.append(record_site_read(session, user, mri_id=mri_id, facts=facts, now=now))
        except InvalidValueError as exc:
            session.rollback()
            problems.append(ReadImportProblem(number, exc.field, str(exc.value or ""), exc.human))
        except (NotFoundError, RuleViolationError) as exc:
            session.rollback()
            problems.append(ReadImportProblem(number, "", "", exc.human))
    return stored, problems
