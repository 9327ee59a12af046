"""Use cases: a participant's visits and their state (what the protocol requires at each, what is
recorded, what is outstanding), completing a visit, marking it missed, and the visit's exam of
record."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError, NotFoundError, RuleViolationError
from cordtrial.trial.models import (
    IsncsciExam,
    Participant,
    ScimAssessment,
    SixMinuteWalk,
    TenMetreWalk,
    User,
    Visit,
    VisitDefinition,
    WisciAssessment,
)
from cordtrial.trial.rules.checks import check_date, check_text
from cordtrial.trial.rules.follow_up import DispositionFacts, visit_not_expected
from cordtrial.trial.rules.schedule import (
    VisitSpec,
    VisitState,
    VisitStatus,
    VisitWindow,
    visit_state,
    visit_window,
)
from cordtrial.trial.rules.vocabulary import CONTACT_MODES, VISIT_ITEMS
from cordtrial.trial.services.bulk import among
from cordtrial.trial.services.common import check_version, get_by_id
from cordtrial.trial.services.reads import participant_for, participant_record_for

__all__ = [
    "VisitRow",
    "choose_exam_of_record",
    "complete_visit_if_ready",
    "exam_of_record",
    "find_visit",
    "mark_visit_missed",
    "open_visit_filter",
    "record_visit_done",
    "register_visit_item",
    "visit_requirements",
    "visit_schedule",
    "visit_schedules",
]

#: The states of a visit that is work to do (what ``open_only`` lists).
_OPEN: tuple[VisitStatus, ...] = ("due", "overdue", "partly done")

_MEASURES = (
    ("scim", ScimAssessment),
    ("wisci", WisciAssessment),
    ("ten_metre_walk", TenMetreWalk),
    ("six_minute_walk", SixMinuteWalk),
)


#: Finders of visit items recorded outside this module: item -> function(session, visit) giving
#: the date the item was recorded at the visit, or None. The imaging records register ``mri``
#: here (issue 14), so that a visit that requires an MRI is done once its MRI is recorded.
VisitItemFinder = Callable[[Session, Visit], date | None]
_ITEM_FINDERS: dict[str, VisitItemFinder] = {}


def register_visit_item(item: str, finder: VisitItemFinder) -> None:
    """Let ``finder`` say when ``item`` (one of ``VISIT_ITEMS``, e.g. ``mri``) was recorded at a
    visit; the visit's state and its completion then count it."""
    if item not in VISIT_ITEMS:
        raise InvalidValueError("item", item, "one of " + ", ".join(VISIT_ITEMS))
    _ITEM_FINDERS[item] = finder


def find_visit(participant: Participant, visit_name: str) -> Visit:
    """A participant's visit by its name in the schedule."""
    for visit in participant.visits:
        if visit.definition.name == visit_name:
            return visit
    raise NotFoundError("visit", f"{participant.study_id}/{visit_name}")


def visit_requirements(definition: VisitDefinition) -> tuple[str, ...]:
    """What the protocol requires at a visit (schedules stored before revision 0010: the exam)."""
    return tuple(definition.requires) if definition.requires is not None else ("isncsci",)


class _ExamChoice(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def of_record(self) -> bool | None: ...


E = TypeVar("E", bound=_ExamChoice)


def exam_of_record(exams: Sequence[E]) -> E | None:
    """The exam of record among a visit's exams: the one chosen (``of_record``), else -- for
    exams recorded before revision 0010, when none was chosen -- the latest not set aside."""
    chosen = [e for e in exams if e.of_record]
    if chosen:
        return max(chosen, key=lambda e: e.id)
    legacy = [e for e in exams if e.of_record is None]
    return max(legacy, key=lambda e: e.id) if legacy else None


def _visit_exams(session: Session, visit: Visit) -> list[IsncsciExam]:
    return list(
        session.scalars(
            select(IsncsciExam).where(IsncsciExam.visit_id == visit.id).order_by(IsncsciExam.id)
        )
    )


def _recorded(session: Session, visit: Visit) -> dict[str, date]:
    """Each item recorded at the visit and its date (the exam of record only once complete)."""
    recorded: dict[str, date] = {}
    record = exam_of_record(_visit_exams(session, visit))
    if record is not None and record.classification is not None:
        recorded["isncsci"] = record.examined_on
    for item, kind in _MEASURES:
        first = session.scalars(
            select(kind.assessed_on).where(kind.visit_id == visit.id).order_by(kind.assessed_on)
        ).first()
        if first is not None:
            recorded[item] = first
    for item, finder in _ITEM_FINDERS.items():
        if item in visit_requirements(visit.definition):
            found = finder(session, visit)
            if found is not None:
                recorded[item] = found
    return recorded


def visit_spec(d: VisitDefinition) -> VisitSpec:
    """A stored visit definition as the schedule rules read it."""
    return VisitSpec(
        d.name, d.target_day, d.window_minus, d.window_plus, visit_requirements(d),
        contact_mode=d.contact_mode or "in_person", long_term=bool(d.long_term),
    )  # fmt: skip


_spec = visit_spec


def _state(
    session: Session, visit: Visit, today: date, disposition: DispositionFacts | None = None
) -> VisitState:
    record = exam_of_record(_visit_exams(session, visit))
    incomplete = record is not None and record.classification is None
    state = visit_state(
        _spec(visit.definition),
        visit.participant.transplant_date,
        today,
        done_on=visit.done_on,
        recorded=_recorded(session, visit),
        missed_reason=visit.missed_reason,
        started=("isncsci",) if incomplete else (),
    )
    # the disposition decides what is still expected: a visit that will not happen under it
    # (after a death, a withdrawal ...) reads as missed, with the reason
    done = state.status in ("done", "out of window", "missed")
    why = visit_not_expected(disposition, _spec(visit.definition), done=done)
    if why is not None:
        return VisitState("missed", None, state.missing, None, why)
    return state


def record_visit_done(
    session: Session,
    *,
    user: User,
    participant_id: int,
    visit_name: str,
    done_on: date,
    reason: str | None = None,
) -> Visit:
    """Record the date a visit took place. Changing a date already recorded needs a reason."""
    participant = participant_for(session, user, "enter_data", participant_id)
    check_date("done_on", done_on)
    visit = find_visit(participant, visit_name)
    # Recording the visit for the first time is data entry; the reason says so in the trail.
    why = reason if visit.done_on is not None else (reason or "visit recorded as done")
    with unit_of_work(session, user.username, why):
        visit.done_on = done_on
    return visit


def complete_visit_if_ready(session: Session, *, user: User, visit_id: int) -> bool:
    """Record a visit as done (on its last required item's date) once every item the protocol
    requires at it is recorded; True when this call completed it. Called after an exam or a
    measure is saved."""
    visit = get_by_id(session, Visit, visit_id)
    participant_for(session, user, "enter_data", visit.participant_id)
    if visit.done_on is not None or visit.missed_reason:
        return False
    needed = visit_requirements(visit.definition)
    recorded = _recorded(session, visit)
    if not needed or any(item not in recorded for item in needed):
        return False
    with unit_of_work(session, user.username, "visit completed: every item the protocol requires"):
        visit.done_on = max(recorded[item] for item in needed)
    return True


def mark_visit_missed(
    session: Session,
    *,
    user: User,
    participant_id: int,
    visit_name: str,
    reason: str,
    today: date,
    expected_version: int | None = None,
) -> Visit:
    """Mark a visit missed, with the reason (e.g. "participant in hospital elsewhere"); refused
    for a visit already done."""
    participant = participant_for(session, user, "enter_data", participant_id)
    reason = check_text("reason", reason, max_length=500)
    visit = find_visit(participant, visit_name)
    check_version(visit, expected_version)
    state = _state(session, visit, today)
    if state.status in ("done", "out of window"):
        session.rollback()
        raise RuleViolationError(
            "visit", [f"{visit_name} was done on {state.done_on}: it cannot be missed"]
        )
    with unit_of_work(session, user.username, f"visit missed: {reason}"):
        visit.missed_reason = reason
    return visit


def choose_exam_of_record(
    session: Session,
    *,
    user: User,
    exam_id: int,
    reason: str,
    expected_version: int | None = None,
) -> IsncsciExam:
    """Make an exam its visit's exam of record (the others of the visit no longer count); the
    reason is required and audited."""
    participant_record_for(session, user, "enter_data", IsncsciExam, exam_id)
    reason = check_text("reason", reason, max_length=500)
    exam = get_by_id(session, IsncsciExam, exam_id)
    check_version(exam, expected_version)
    if exam.visit_id is None:
        session.rollback()
        raise InvalidValueError(
            "exam", exam_id, "an exam recorded at a visit", "is not linked to a visit"
        )
    visit = get_by_id(session, Visit, exam.visit_id)
    others = [e for e in _visit_exams(session, visit) if e.id != exam.id]
    with unit_of_work(session, user.username, reason):
        for other in others:
            if other.of_record is not False:
                other.of_record = False
        exam.of_record = True
    complete_visit_if_ready(session, user=user, visit_id=visit.id)
    return exam


@dataclass(frozen=True, slots=True)
class VisitRow:
    """A visit of a participant's schedule with its state: dates are empty until day 0 is set;
    ``status`` and ``label`` as :class:`~cordtrial.trial.rules.schedule.VisitState` says;
    ``requires`` and ``missing`` in words; the visit's exams and its exam of record."""

    name: str
    target: date | None
    opens: date | None
    closes: date | None
    done_on: date | None
    status: VisitStatus | None
    label: str
    requires: tuple[str, ...]
    missing: tuple[str, ...]
    days_outside: int | None
    missed_reason: str | None
    exam_ids: tuple[int, ...]
    exam_of_record_id: int | None
    version: int
    #: How the visit reaches the participant (in person, phone, questionnaire), in words, and
    #: whether it belongs to the long-term follow-up.
    contact_mode: str = "in person"
    long_term: bool = False


def visit_schedule(session: Session, participant_id: int, today: date) -> list[VisitRow]:
    """A participant's visits in schedule order, with target date, window and state on
    ``today`` (see :func:`cordtrial.trial.rules.schedule.visit_state`)."""
    participant = get_by_id(session, Participant, participant_id)
    return visit_schedules(session, [participant], today)[participant.id]


@dataclass(frozen=True, slots=True)
class _ExamFacts:
    """What a visit's state needs of an exam (its cells and classification stay unread)."""

    id: int
    visit_id: int
    examined_on: date
    of_record: bool | None
    classified: bool


def visit_schedules(
    session: Session,
    participants: Collection[Participant],
    today: date,
    *,
    open_only: bool = False,
    dispositions: Mapping[int, DispositionFacts] | None = None,
) -> dict[int, list[VisitRow]]:
    """:func:`visit_schedule` of many participants at once, by participant id: a fixed number
    of queries however many participants (their visits with definitions, the visits' exams --
    only the columns a state needs -- and the first date of each measure at each visit).

    With ``open_only`` the database leaves out the visits that cannot be due, overdue or partly
    done on ``today`` (:func:`open_visit_filter`), so a trial-wide list of the work to do (the
    dashboard) computes the state of those visits only, and the rows are those of the visits
    due, overdue or partly done: each the same row as without ``open_only``.
    ``dispositions``: the participants' current dispositions when the caller has read them."""
    by_id = {p.id: p for p in participants}
    if not by_id:
        return {}
    ids = list(by_id)
    definitions = {
        d.id: d
        for d in session.scalars(
            select(VisitDefinition).where(
                VisitDefinition.id.in_(
                    select(Visit.visit_definition_id).where(
                        among(session, Visit.participant_id, ids)
                    )
                )
            )
        )
    }
    query = (
        select(Visit.id, Visit.participant_id, Visit.visit_definition_id, Visit.done_on,
               Visit.missed_reason, Visit.version)
        .where(among(session, Visit.participant_id, ids))
    )  # fmt: skip
    if open_only:
        query = query.join(Participant, Participant.id == Visit.participant_id).where(
            open_visit_filter(definitions.values(), today)
        )
    visits = [_VisitFacts(*row) for row in session.execute(query)]
    exams: dict[int, list[_ExamFacts]] = {}
    for row in session.execute(
        select(IsncsciExam.id, IsncsciExam.visit_id, IsncsciExam.examined_on,
               IsncsciExam.of_record, IsncsciExam.classification.is_not(None))
        .where(among(session, IsncsciExam.participant_id, ids),
               IsncsciExam.visit_id.is_not(None))
        .order_by(IsncsciExam.id)
    ):  # fmt: skip
        facts = _ExamFacts(row[0], int(row[1] or 0), row[2], row[3], bool(row[4]))
        exams.setdefault(facts.visit_id, []).append(facts)
    measured: dict[int, dict[str, date]] = {}
    firsts = union_all(*(
        select(literal(item).label("item"), kind.visit_id, func.min(kind.assessed_on))
        .where(among(session, kind.participant_id, ids), kind.visit_id.is_not(None))
        .group_by(kind.visit_id)
        for item, kind in _MEASURES
    ))  # fmt: skip
    for item, visit_id, first in session.execute(firsts):  # one statement for every measure
        measured.setdefault(int(visit_id or 0), {})[item] = first
    if dispositions is None:
        from cordtrial.trial.services.disposition import current_dispositions

        dispositions = current_dispositions(session, ids)
    schedules: dict[int, list[VisitRow]] = {pid: [] for pid in ids}
    # a schedule has a few definitions: each read once; the participants share a few day 0s
    prepared = {i: _definition(d) for i, d in definitions.items()}
    day0s = {p.id: p.transplant_date for p in participants}
    windows: dict[tuple[int, date], VisitWindow] = {}
    wanted = _OPEN if open_only else None
    visits.sort(key=lambda v: (prepared[v.definition_id].spec.target_day, v.id))
    for visit in visits:
        pid = visit.participant_id
        visit_row = _row(session, visit, prepared[visit.definition_id], day0s[pid],
                         exams.get(visit.id, ()), measured.get(visit.id, {}), today,
                         dispositions.get(pid), windows, wanted)  # fmt: skip
        if visit_row is not None:
            schedules[pid].append(visit_row)
    return schedules


def open_visit_filter(definitions: Iterable[VisitDefinition], today: date) -> ColumnElement[bool]:
    """A condition on ``visit`` (joined to its ``participant``) true for every visit that may be
    due, overdue or partly done on ``today`` (:func:`~cordtrial.trial.rules.schedule.visit_state`),
    false for most that cannot: not marked missed, and either its window has opened (day 0 at
    most ``target_day - window_minus`` days before ``today``) or something is recorded at it
    (a completion date, an exam, a measure). A visit requiring an item found by a registered
    finder (:func:`register_visit_item`, an MRI) is always kept: the database cannot tell
    whether that item is recorded."""
    opened = [
        and_(
            Visit.visit_definition_id == d.id,
            Participant.transplant_date <= today - timedelta(days=s.target_day - s.window_minus),
        )
        for d in definitions
        for s in (visit_spec(d),)
    ]
    opaque = [d.id for d in definitions if set(visit_requirements(d)) & set(_ITEM_FINDERS)]
    recorded = [
        Visit.done_on.is_not(None),
        Visit.visit_definition_id.in_(opaque),
        exists().where(IsncsciExam.visit_id == Visit.id),
        *(exists().where(kind.visit_id == Visit.id) for _, kind in _MEASURES),
    ]
    return and_(
        Visit.missed_reason.is_(None),
        or_(*opened, *recorded),
    )


@dataclass(frozen=True, slots=True)
class _VisitFacts:
    """The columns of a visit its state needs."""

    id: int
    participant_id: int
    definition_id: int
    done_on: date | None
    missed_reason: str | None
    version: int


@dataclass(frozen=True, slots=True)
class _Definition:
    """A visit definition as every visit of it reads it (read once per schedule): its spec,
    name, requirements and contact mode in words, and the item finders it needs."""

    spec: VisitSpec
    name: str
    requires: tuple[str, ...]
    contact_mode: str
    long_term: bool
    finders: tuple[tuple[str, VisitItemFinder], ...]


def _definition(d: VisitDefinition) -> _Definition:
    spec = _spec(d)
    return _Definition(
        spec, d.name, tuple(VISIT_ITEMS[i] for i in visit_requirements(d)),
        CONTACT_MODES[d.contact_mode or "in_person"], bool(d.long_term),
        tuple((item, f) for item, f in _ITEM_FINDERS.items() if item in spec.requires),
    )  # fmt: skip


def _row(
    session: Session,
    visit: _VisitFacts,
    d: _Definition,
    day0: date | None,
    exams: Sequence[_ExamFacts],
    measured: dict[str, date],
    today: date,
    disposition: DispositionFacts | None,
    windows: dict[tuple[int, date], VisitWindow],
    wanted: Collection[VisitStatus | None] | None = None,
) -> VisitRow | None:
    spec = d.spec
    window = None
    if day0 is not None:
        window = windows.get((visit.definition_id, day0))
        if window is None:
            window = windows[visit.definition_id, day0] = visit_window(spec, day0)
    record = exam_of_record(exams)
    recorded = dict(measured)
    if record is not None and record.classified:
        recorded["isncsci"] = record.examined_on
    for item, finder in d.finders:  # items recorded elsewhere (an MRI, issue 14)
        stored = session.get(Visit, visit.id)
        found = finder(session, stored) if stored is not None else None
        if found is not None:
            recorded[item] = found
    state = visit_state(
        spec, day0, today, done_on=visit.done_on, recorded=recorded,
        missed_reason=visit.missed_reason,
        started=("isncsci",) if record is not None and not record.classified else (),
    )  # fmt: skip
    # the disposition decides what is still expected: a visit that will not happen under it
    # (after a death, a withdrawal ...) reads as missed, with the reason
    done = state.status in ("done", "out of window", "missed")
    why = visit_not_expected(disposition, spec, done=done)
    if why is not None:
        state = VisitState("missed", None, state.missing, None, why)
    if wanted is not None and state.status not in wanted:
        return None  # a row the caller does not list (the dashboard: not work to do)
    return VisitRow(
        name=d.name,
        target=window.target if window else None,
        opens=window.opens if window else None,
        closes=window.closes if window else None,
        done_on=state.done_on if state.done_on is not None else visit.done_on,
        status=state.status,
        label=state.label,
        requires=d.requires,
        missing=state.missing,
        days_outside=state.days_outside,
        missed_reason=state.missed_reason,
        exam_ids=tuple(e.id for e in exams),
        exam_of_record_id=record.id if record is not None else None,
        version=visit.version,
        contact_mode=d.contact_mode,
        long_term=d.long_term,
    )
