"""Load a trial from the trial store into the tidy frames the analysis takes.

:func:`load_trial` reads the trial's participants, ISNCSCI exams (cells and stored
classification), functional measures and adverse events through the store's models and read
services. With a ``user`` the read is scoped to the sites that user may see
(:mod:`cordtrial.trial.services.reads`); without one (the command line, run by whoever holds the
database) every site is read. The result carries a SHA-256 of the data (the *snapshot hash*,
printed on every report) and the versions of the engines that made it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import pandas as pd
from sqlalchemy import ColumnElement, String, cast, func, or_, select
from sqlalchemy.orm import Session, joinedload

from cordtrial import __version__
from cordtrial.analysis.disposition import (
    CONTACT_ATTEMPT_COLUMNS,
    DISPOSITION_COLUMNS,
    load_dispositions,
)
from cordtrial.analysis.frames import column_values
from cordtrial.analysis.immunosuppression import (
    COURSE_COLUMNS,
    INTERRUPTION_COLUMNS,
    TROUGH_COLUMNS,
    load_immunosuppression,
)
from cordtrial.analysis.safety import TUMOUR_CATEGORY
from cordtrial.isncsci import ENGINE_VERSION, ISNCSCI_REVISION
from cordtrial.trial.models import (
    Administration,
    AdverseEvent,
    EligibilityAssessment,
    IsncsciExam,
    LabResult,
    Lot,
    Participant,
    ScimAssessment,
    SixMinuteWalk,
    TenMetreWalk,
    User,
    Visit,
    VisitDefinition,
    WisciAssessment,
)
from cordtrial.trial.rules.vocabulary import RELATED, SPECIAL_INTEREST_CATEGORIES
from cordtrial.trial.services.clocks import clock_states
from cordtrial.trial.services.common import get_trial
from cordtrial.trial.services.reads import list_participants
from cordtrial.trial.services.visits import exam_of_record

__all__ = [
    "ADMINISTRATION_COLUMNS",
    "SCHEDULE_COLUMNS",
    "SafetyData",
    "TrialData",
    "engine_versions",
    "load_safety",
    "load_trial",
    "snapshot_hash",
]

SCHEDULE_COLUMNS: Final = ("visit", "target_day", "window_minus", "window_plus")
ADMINISTRATION_COLUMNS: Final = (
    "participant", "administered_on", "lot", "dose_cells", "volume_ml", "injection_site",
)  # fmt: skip


def engine_versions() -> dict[str, str]:
    """Versions of cordtrial, the ISNCSCI engine and the numerical libraries."""
    import matplotlib
    import numpy
    import scipy

    return {
        "cordtrial": __version__,
        "isncsci_engine": ENGINE_VERSION,
        "isncsci_revision": ISNCSCI_REVISION,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "matplotlib": matplotlib.__version__,
    }


def _canonical(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


#: Types whose values the snapshot document holds as they are (:func:`_canonical` is the identity).
_AS_IS: Final = frozenset({str, int, bool, type(None)})


def _canonical_column(values: list[Any]) -> list[Any]:
    """``[_canonical(v) for v in values]``, without a call per value where the column's types
    allow (text, integer and flag columns are held as they are; a float column only loses NaN)."""
    kinds = set(map(type, values))
    if kinds <= _AS_IS:
        return values
    if kinds <= _AS_IS | {float}:
        return [None if v != v and type(v) is float else v for v in values]
    return list(map(_canonical, values))


def snapshot_hash(frames: dict[str, pd.DataFrame]) -> str:
    """SHA-256 of the frames' content: names, columns (sorted) and rows (in order), as JSON.

    The same data give the same hash whatever the database or the time of the report. The
    document ``{name: {"columns": [...], "rows": [[...], ...]}, ...}`` (keys sorted, compact
    separators) is hashed frame by frame as it is written, never held whole.
    """
    digest = hashlib.sha256(b"{")
    for i, name in enumerate(sorted(frames)):
        frame = frames[name]
        cols = sorted(str(c) for c in frame.columns)
        # Python scalars, as iterating the column (and ``to_dict(orient="records")``) gives
        columns = [_canonical_column(column_values(frame[c])) for c in cols]
        # rows as tuples: JSON writes them as the lists they stand for
        rows: list[Any] = list(zip(*columns, strict=True)) if cols else [[]] * len(frame)
        part = _dumps(name) + ':{"columns":' + _dumps(cols) + ',"rows":' + _dumps(rows) + "}"
        digest.update((("," if i else "") + part).encode("utf-8"))
    digest.update(b"}")
    return digest.hexdigest()


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


@dataclass(frozen=True, slots=True)
class TrialData:
    """A trial's data as tidy frames (see :mod:`cordtrial.analysis.endpoints` for columns)."""

    protocol_id: str
    title: str
    phase: str
    participants: pd.DataFrame
    exams: pd.DataFrame
    measures: pd.DataFrame
    adverse_events: pd.DataFrame
    stored_engine_versions: tuple[str, ...] = field(default=())
    #: The protocol's visits of the main study: visit, target_day (days since treatment),
    #: window_minus, window_plus (the long-term follow-up's visits are not endpoints: the
    #: final visit is the main study's). Empty when not known (hand-made frames).
    schedule: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SCHEDULE_COLUMNS))
    #: Cell administrations: participant, administered_on, lot, dose_cells, volume_ml,
    #: injection_site. Empty when not known.
    administrations: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=ADMINISTRATION_COLUMNS)
    )
    #: Participants screened for eligibility (assessments recorded), where known.
    screened: int | None = None
    #: MRI examinations and their reads (see :mod:`cordtrial.analysis.imaging`); empty when
    #: the trial has none (issue 14).
    mris: pd.DataFrame = field(default_factory=pd.DataFrame)
    mri_reads: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Laboratory results (:data:`cordtrial.analysis.lab_safety.LAB_COLUMNS`); empty when the
    #: trial has none (issue 15).
    lab_results: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Immunosuppression courses, their interruptions and trough levels (issue 15, see
    #: :mod:`cordtrial.analysis.immunosuppression`); empty when the trial records none.
    immunosuppression_courses: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=COURSE_COLUMNS)
    )
    immunosuppression_interruptions: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=INTERRUPTION_COLUMNS)
    )
    troughs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TROUGH_COLUMNS))
    #: Each participant's current disposition where one is recorded, and every contact attempt
    #: (see :mod:`cordtrial.analysis.disposition`); empty when none is recorded (issue 14).
    dispositions: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(DISPOSITION_COLUMNS))
    )
    contact_attempts: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(CONTACT_ATTEMPT_COLUMNS))
    )
    #: The snapshot hash once computed (the frames are not changed after loading).
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        """The frames by name (the data, the schedule and the administrations)."""
        return {
            "participants": self.participants,
            "exams": self.exams,
            "measures": self.measures,
            "adverse_events": self.adverse_events,
            "schedule": self.schedule,
            "administrations": self.administrations,
            # imaging only where there is some: the snapshot of a trial without MRI is unchanged
            **({"mris": self.mris, "mri_reads": self.mri_reads} if len(self.mris) else {}),
            **({"lab_results": self.lab_results} if len(self.lab_results) else {}),
            # likewise immunosuppression (issue 15)
            **(
                {"immunosuppression_courses": self.immunosuppression_courses,
                 "immunosuppression_interruptions": self.immunosuppression_interruptions,
                 "troughs": self.troughs}
                if len(self.immunosuppression_courses)
                else {}
            ),
            # dispositions likewise: a trial without any keeps its snapshot
            **(
                {"dispositions": self.dispositions, "contact_attempts": self.contact_attempts}
                if len(self.dispositions) or len(self.contact_attempts)
                else {}
            ),
        }  # fmt: skip

    @property
    def snapshot_hash(self) -> str:
        """SHA-256 of the data (see :func:`snapshot_hash`), computed once."""
        if "snapshot" not in self._memo:
            self._memo["snapshot"] = snapshot_hash(self.frames)
        found: str = self._memo["snapshot"]
        return found

    @property
    def last_data_date(self) -> date | None:
        """The latest exam, measure, adverse-event onset or laboratory sample date in the data
        (found once)."""
        if "last_data_date" not in self._memo:
            self._memo["last_data_date"] = self._latest_date()
        found: date | None = self._memo["last_data_date"]
        return found

    def _latest_date(self) -> date | None:
        dates: list[date] = []
        for frame, column in (
            (self.exams, "examined_on"), (self.measures, "assessed_on"),
            (self.adverse_events, "onset_date"), (self.lab_results, "collected_on"),
        ):  # fmt: skip
            if len(frame) and column in frame.columns:
                dates.extend(d for d in frame[column] if isinstance(d, date))
        return max(dates) if dates else None


def _region(level: str) -> str:
    head = level[:1].upper()
    return {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}.get(head, "unknown")


def load_trial(session: Session, protocol_id: str, *, user: User | None = None) -> TrialData:
    """Read a trial's data from the store.

    Parameters
    ----------
    session : Session
    protocol_id : str
        The trial (``NotFoundError`` if it does not exist).
    user : User, optional
        Scope the read to the sites this user may see; default every site.

    Returns
    -------
    TrialData
        ``participants`` (participant, arm, site, age_at_injury, sex, injury_level, region,
        injury_date, transplant_date -- planned, then actual -- and treated_on, the date of the
        first recorded cell administration, empty until then), ``exams`` (participant, arm, visit,
        visit_day, examined_on, day, the classification record fields and the exam cells; of a
        visit's exams only its exam of record; exams at the long-term follow-up's visits are
        left out, as those visits are from ``schedule``: the endpoints are the main study's),
        ``measures`` (participant, arm, visit, assessed_on, day, measure, value) and
        ``adverse_events``
        (participant, arm, term, category, onset_date, onset_day, ctcae_grade, serious,
        serious_criteria, related, related_to_*, expectedness, outcome, special_interest,
        expedited_report_required, expedited_report_due), ``schedule`` (the protocol's visits and
        windows), ``administrations`` (date, lot, dose), ``screened`` (participants with an
        eligibility assessment), the MRIs and their reads, ``dispositions`` (each participant's
        current disposition record) with ``contact_attempts``, and ``lab_results`` (one
        statement: :func:`cordtrial.analysis.lab_safety.load_lab_results`).
    """
    trial = get_trial(session, protocol_id)
    people = _people(session, trial.id, protocol_id, user)
    by_id = {p.id: p for p in people}
    treated_on: dict[int, date] = {}
    given_rows = []
    lots = {lot.id: lot.lot_number for lot in session.scalars(select(Lot))} if by_id else {}
    if by_id:
        for given in session.scalars(
            select(Administration)
            .where(Administration.participant_id.in_(list(by_id)))
            .order_by(Administration.administered_at, Administration.id)
        ):
            day = given.administered_at.date()
            treated_on[given.participant_id] = min(day, treated_on.get(given.participant_id, day))
            given_rows.append(
                {"participant": by_id[given.participant_id].study_id, "administered_on": day,
                 "lot": lots.get(given.lot_id, ""),
                 "dose_cells": given.dose_cells, "volume_ml": given.volume_ml,
                 "injection_site": given.injection_site}
            )  # fmt: skip
    administrations = pd.DataFrame(given_rows, columns=list(ADMINISTRATION_COLUMNS))
    schedule = pd.DataFrame(
        [(d.name, d.target_day, d.window_minus, d.window_plus) for d in session.scalars(
            select(VisitDefinition)
            .where(VisitDefinition.trial_id == trial.id, VisitDefinition.long_term.is_(False))
            .order_by(VisitDefinition.target_day, VisitDefinition.id))],
        columns=list(SCHEDULE_COLUMNS),
    )  # fmt: skip
    screened = (
        len(set(session.scalars(
            select(EligibilityAssessment.participant_id)
            .where(EligibilityAssessment.participant_id.in_(list(by_id)))
        )))
        if by_id else 0
    )  # fmt: skip
    participants = _participant_frame(people, treated_on)
    ids = list(by_id)
    # each visit's name, target day and whether it is the long-term follow-up's, as rows
    visits: dict[int, tuple[str, float, bool]] = {
        vid: (name, float(target), bool(long_term))
        for vid, name, target, long_term in session.execute(
            select(Visit.id, VisitDefinition.name, VisitDefinition.target_day,
                   VisitDefinition.long_term)
            .join(VisitDefinition, Visit.visit_definition_id == VisitDefinition.id)
            .where(Visit.participant_id.in_(ids)))
    } if ids else {}  # fmt: skip

    def _visit(visit_id: int | None) -> tuple[str, float]:
        if visit_id is None or visit_id not in visits:
            return "", math.nan
        name, target, _ = visits[visit_id]
        return name, target

    # what the rows repeat of each participant, read once from the ORM objects
    study_of = {i: p.study_id for i, p in by_id.items()}
    arm_of = {i: p.arm.code if p.arm else "" for i, p in by_id.items()}
    day0_of = {i: p.transplant_date for i, p in by_id.items()}

    exam_rows = []
    engines: set[str] = set()
    # the columns the frame needs, as rows (no ORM objects: 4,000 exams at 500 participants)
    all_exams = list(session.execute(
        select(IsncsciExam.id, IsncsciExam.participant_id, IsncsciExam.visit_id,
               IsncsciExam.of_record, IsncsciExam.examined_on, IsncsciExam.classification_note,
               IsncsciExam.cells, IsncsciExam.classification, IsncsciExam.engine_version,
               IsncsciExam.isncsci_revision)
        .where(IsncsciExam.participant_id.in_(ids)).order_by(IsncsciExam.id)
    ) if ids else [])  # fmt: skip
    # A visit counts once: its exam of record (a repeat set aside by a reason does not).
    by_visit: dict[int, list[Any]] = {}
    for e in all_exams:
        if e.visit_id is not None:
            by_visit.setdefault(e.visit_id, []).append(e)
    of_record = {r.id for r in map(exam_of_record, by_visit.values()) if r is not None}
    for e in all_exams:
        if e.visit_id is not None and e.id not in of_record:
            continue
        if e.visit_id in visits and visits[e.visit_id][2]:
            continue  # the long-term follow-up's exams are not endpoints (as its visits)
        pid = e.participant_id
        name, target = _visit(e.visit_id)
        row: dict[str, Any] = {
            "participant": study_of[pid], "arm": arm_of[pid], "visit": name,
            "visit_day": target, "examined_on": e.examined_on,
            "day": _days_after(day0_of[pid], e.examined_on),
            "exam_id": e.id, "classification_note": e.classification_note,
        }  # fmt: skip
        row.update({k: ("" if v is None else v) for k, v in e.cells.items()})
        row.update(e.classification or {"ais": ""})
        if e.engine_version:
            engines.add(f"{e.engine_version} (ISNCSCI {e.isncsci_revision})")
        exam_rows.append(row)
    exams = pd.DataFrame(exam_rows)
    if exams.empty:
        exams = pd.DataFrame(columns=["participant", "arm", "visit", "examined_on", "day", "ais"])

    measure_rows = []
    kinds: list[tuple[type[Any], list[tuple[str, Any]]]] = [
        (ScimAssessment, [("scim_total", lambda m: m.total),
                          ("scim_self_care", lambda m: m.self_care),
                          ("scim_respiration_sphincter", lambda m: m.respiration_sphincter),
                          ("scim_mobility", lambda m: m.mobility)]),
        (WisciAssessment, [("wisci_level", lambda m: m.level)]),
        (TenMetreWalk, [("ten_metre_walk_seconds", lambda m: m.seconds),
                        ("ten_metre_walk_speed", lambda m: 10.0 / m.seconds)]),
        (SixMinuteWalk, [("six_minute_walk_m", lambda m: m.metres)]),
    ]  # fmt: skip
    for cls, getters in kinds:
        if not ids:
            break
        for m in session.scalars(select(cls).where(cls.participant_id.in_(ids)).order_by(cls.id)):
            pid = m.participant_id
            name, _ = _visit(m.visit_id)
            for measure, get in getters:
                measure_rows.append(
                    {"participant": study_of[pid], "arm": arm_of[pid],
                     "visit": name, "assessed_on": m.assessed_on,
                     "day": _days_after(day0_of[pid], m.assessed_on),
                     "measure": measure, "value": float(get(m))}
                )  # fmt: skip
    measures = pd.DataFrame(
        measure_rows,
        columns=["participant", "arm", "visit", "assessed_on", "day", "measure", "value"],
    )

    adverse_events = _ae_frame(session, by_id)
    return TrialData(
        protocol_id=trial.protocol_id,
        title=trial.title,
        phase=trial.phase,
        participants=participants,
        exams=exams,
        measures=measures,
        adverse_events=adverse_events,
        stored_engine_versions=tuple(sorted(engines)),
        schedule=schedule,
        administrations=administrations,
        screened=screened,
        **_imaging(session, by_id, treated_on),
        lab_results=_labs(session, by_id),
        **load_immunosuppression(session, {i: p.study_id for i, p in by_id.items()}),
        **load_dispositions(session, {i: p.study_id for i, p in by_id.items()}),
    )


def _people(
    session: Session, trial_id: int, protocol_id: str, user: User | None
) -> list[Participant]:
    if user is not None:
        return list_participants(session, user, protocol_id)
    return list(
        session.scalars(
            select(Participant)
            .where(Participant.trial_id == trial_id)
            .options(joinedload(Participant.site), joinedload(Participant.arm))
            .order_by(Participant.study_id)
        )
    )


def _participant_frame(people: list[Participant], treated_on: dict[int, date]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "participant": p.study_id,
                "arm": p.arm.code if p.arm is not None else "",
                "site": p.site.code,
                "age_at_injury": p.age_at_injury,
                "sex": p.sex,
                "injury_level": p.injury_level,
                "region": _region(p.injury_level),
                "injury_date": p.injury_date,
                "transplant_date": p.transplant_date,
                "treated_on": treated_on.get(p.id),
            }
            for p in people
        ],
        columns=["participant", "arm", "site", "age_at_injury", "sex", "injury_level", "region",
                 "injury_date", "transplant_date", "treated_on"],
    )  # fmt: skip


def _day(p: Participant, on: date) -> float:
    return _days_after(p.transplant_date, on)


def _days_after(day0: date | None, on: date) -> float:
    return float((on - day0).days) if day0 else math.nan


def _ae_frame(
    session: Session, by_id: dict[int, Participant], *where: ColumnElement[bool]
) -> pd.DataFrame:
    ids = list(by_id)
    ae_rows = []
    # the columns as rows (no ORM objects: 1,550 events at 500 participants)
    events = list(session.execute(
        select(*AdverseEvent.__table__.columns).where(AdverseEvent.participant_id.in_(ids), *where)
        .order_by(AdverseEvent.id)
    )) if ids else []  # fmt: skip
    clock_text = _clock_texts(session, [a.id for a in events])
    for a in events:
        p = by_id[a.participant_id]
        related = any(
            r in RELATED
            for r in (a.related_to_cells, a.related_to_procedure, a.related_to_immunosuppression)
        )
        ae_rows.append(
            {
                "participant": p.study_id, "arm": p.arm.code if p.arm else "", "term": a.term,
                "category": a.category, "onset_date": a.onset_date,
                "onset_day": _day(p, a.onset_date), "resolution_date": a.resolution_date,
                "ctcae_grade": a.ctcae_grade, "serious": bool(a.serious_criteria),
                "serious_criteria": ", ".join(sorted(a.serious_criteria)), "related": related,
                "related_to_cells": a.related_to_cells,
                "related_to_procedure": a.related_to_procedure,
                "related_to_immunosuppression": a.related_to_immunosuppression,
                "expectedness": a.expectedness, "outcome": a.outcome,
                "special_interest": a.category in SPECIAL_INTEREST_CATEGORIES,
                "expedited_report_required": a.expedited_report_required,
                "expedited_report_due": a.expedited_report_due,
                "narrative": a.narrative or "",
                "expedited_clocks": clock_text.get(a.id, ""),
            }
        )  # fmt: skip
    ae_columns = [
        "participant", "arm", "term", "category", "onset_date", "onset_day", "resolution_date",
        "ctcae_grade", "serious", "serious_criteria", "related", "related_to_cells",
        "related_to_procedure", "related_to_immunosuppression", "expectedness", "outcome",
        "special_interest", "expedited_report_required", "expedited_report_due", "narrative",
        "expedited_clocks",
    ]  # fmt: skip
    adverse_events = pd.DataFrame(ae_rows, columns=ae_columns)
    return adverse_events


@dataclass(frozen=True, slots=True)
class SafetyData:
    """What the safety stopping rule reads: the participants (with ``treated_on``), the
    adverse events it looks at -- serious ones and tumour findings, as in :class:`TrialData`
    (the rule passes over the others) -- and the data cut (as
    :attr:`TrialData.last_data_date`, over every event)."""

    participants: pd.DataFrame
    adverse_events: pd.DataFrame
    last_data_date: date | None


def load_safety(session: Session, protocol_id: str) -> SafetyData:
    """The part of :func:`load_trial` (every site) the stopping rule needs, in a fixed number of
    queries and without reading an exam's cells or classification: participants, the first
    administration of each, the serious adverse events and tumour findings, and the latest
    exam (of record), measure, onset and laboratory sample dates."""
    trial = get_trial(session, protocol_id)
    people = _people(session, trial.id, protocol_id, None)
    by_id = {p.id: p for p in people}
    ids = list(by_id)
    treated_on: dict[int, date] = {}
    dates: list[date] = []
    if ids:
        for pid, first in session.execute(
            select(Administration.participant_id, func.min(Administration.administered_at))
            .where(Administration.participant_id.in_(ids))
            .group_by(Administration.participant_id)
        ):  # fmt: skip
            treated_on[pid] = first.date()
        exams = session.execute(
            select(IsncsciExam.id, IsncsciExam.visit_id, IsncsciExam.of_record,
                   IsncsciExam.examined_on)
            .where(IsncsciExam.participant_id.in_(ids))
        ).all()  # fmt: skip
        by_visit: dict[int, list[Any]] = {}
        for e in exams:
            if e.visit_id is not None:
                by_visit.setdefault(e.visit_id, []).append(e)
        of_record = {r.id for r in map(exam_of_record, by_visit.values()) if r is not None}
        dates += [e.examined_on for e in exams if e.visit_id is None or e.id in of_record]
        for cls in (ScimAssessment, WisciAssessment, TenMetreWalk, SixMinuteWalk):
            latest = session.scalar(
                select(func.max(cls.assessed_on)).where(cls.participant_id.in_(ids))
            )
            if latest is not None:
                dates.append(latest)
        for column, owner in ((AdverseEvent.onset_date, AdverseEvent.participant_id),
                              (LabResult.collected_on, LabResult.participant_id)):  # fmt: skip
            latest_date = session.scalar(select(func.max(column)).where(owner.in_(ids)))
            if latest_date is not None:
                dates.append(latest_date)
    # The criteria are a JSON list, "[]" when not serious (SQLite and PostgreSQL alike).
    serious = cast(AdverseEvent.serious_criteria, String) != "[]"
    adverse_events = _ae_frame(
        session, by_id, or_(serious, AdverseEvent.category == TUMOUR_CATEGORY)
    )
    return SafetyData(
        participants=_participant_frame(people, treated_on),
        adverse_events=adverse_events,
        last_data_date=max(dates) if dates else None,
    )


def _imaging(
    session: Session, by_id: dict[int, Participant], treated_on: dict[int, date]
) -> dict[str, pd.DataFrame]:
    from cordtrial.analysis.imaging import load_imaging

    mris, reads = load_imaging(session, {i: p.study_id for i, p in by_id.items()}, treated_on)
    return {"mris": mris, "mri_reads": reads}


def _labs(session: Session, by_id: dict[int, Participant]) -> pd.DataFrame:
    from cordtrial.analysis.lab_safety import load_lab_results

    return load_lab_results(session, {i: (p.study_id, p.transplant_date) for i, p in by_id.items()})


def _clock_texts(session: Session, event_ids: list[int]) -> dict[int, str]:
    """Each event's expedited reports in words, one clause per clock of its trial's
    jurisdictions (services.clocks): the report, its deadline, and its submission (on time or
    late by so many days) or that it is not yet submitted."""
    texts: dict[int, list[str]] = {}
    for event_id, states in clock_states(session, event_ids, date.max).items():
        for s in states:
            clock = s.clock
            if clock.submitted_on is not None:
                late = (clock.submitted_on - clock.due).days
                to = f" to {clock.authority}" if clock.authority else ""
                state = f"submitted {clock.submitted_on}{to}, " + (
                    f"{late} day{'s' if late != 1 else ''} late" if late > 0 else "on time"
                )
            else:
                state = "not yet submitted"
            note = "" if clock.applies else " (no longer required)"
            texts.setdefault(event_id, []).append(
                f"{s.rule.report} ({s.rule.source}), due {clock.due}: {state}{note}"
            )
    return {k: "; ".join(v) for k, v in texts.items()}
