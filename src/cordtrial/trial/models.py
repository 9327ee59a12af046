"""The ORM model of a trial (SQLAlchemy 2, typed declarative).

Every class but :class:`AuditEntry` is a :class:`Record`: it has an integer ``id`` and a ``version``
number that SQLAlchemy bumps on each update and checks on flush (optimistic locking), and each of
its changes is written to the audit trail (see :mod:`cordtrial.trial.audit`). Class attributes
tune the audit: ``__audit_exclude__`` (columns not audited), ``__audit_concealed__`` (columns
audited as a salted hash, e.g. the arm of a concealed allocation) and ``__append_only__`` (rows
that may be added but never changed or deleted).

Fixed vocabularies are plain strings checked by :mod:`cordtrial.trial.rules`; dates without a time
are ``date``; moments are timezone-aware (:class:`~cordtrial.trial.types.UtcDateTime`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

from cordtrial.trial.types import IntegerId, JsonValue, UtcDateTime

__all__ = [
    "Administration",
    "AdverseEvent",
    "AdverseEventFollowUp",
    "AllocationList",
    "AllocationSlot",
    "ApiToken",
    "ArchivedReport",
    "Arm",
    "AuditEntry",
    "AuthEvent",
    "Base",
    "ConcomitantMedication",
    "ConsentSignature",
    "ConsentVersion",
    "ContactAttempt",
    "CustodyEvent",
    "DataQuery",
    "DispositionChange",
    "DoseChange",
    "DoseInterruption",
    "EligibilityAssessment",
    "ExamSignature",
    "ExpeditedClock",
    "ImmunosuppressionCourse",
    "ImmunosuppressionRegimen",
    "IpscLine",
    "IsncsciExam",
    "LabReferenceRange",
    "LabResult",
    "Lot",
    "MriExam",
    "MriRead",
    "Participant",
    "PeriodicReportSubmission",
    "ProductSpecification",
    "Record",
    "ReleaseTest",
    "ScimAssessment",
    "Site",
    "SixMinuteWalk",
    "TenMetreWalk",
    "Trial",
    "TroughLevel",
    "User",
    "UserSite",
    "Visit",
    "VisitDefinition",
    "WisciAssessment",
]

# Stable constraint names: Alembic can then alter and drop them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = dict[str, Any]


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        Json: JsonValue,
        list[Any]: JsonValue,
        str: String(200),
    }


class Record(Base):
    """An audited row: integer id, version number for optimistic locking."""

    __abstract__ = True
    __audit_exclude__: ClassVar[frozenset[str]] = frozenset()
    __audit_concealed__: ClassVar[frozenset[str]] = frozenset()
    __append_only__: ClassVar[bool] = False

    id: Mapped[int] = mapped_column(IntegerId, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}


# --- the trial and its sites -----------------------------------------------------------------


class Trial(Record):
    """A trial protocol: phase, arms, visit schedule and eligibility criteria."""

    __tablename__ = "trial"

    protocol_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    phase: Mapped[str] = mapped_column(String(8))
    #: The eligibility criteria (see rules.eligibility.EligibilityCriteria.to_json).
    eligibility: Mapped[Json]
    #: Stratification factors for randomization (participant attributes), empty for none.
    strata_factors: Mapped[list[Any]]
    #: Whether the protocol lets site coordinators see the trial-wide safety stopping rule
    #: (an aggregate over every site); investigators, monitors, statisticians and admins always
    #: do (revision 0012).
    coordinators_see_stopping_rule: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    #: The jurisdictions whose safety-reporting rules the trial follows (rules.clocks); None on
    #: trials stored before revision 0018, which follow the one rule set there was: ``us_ind``.
    jurisdictions: Mapped[list[Any] | None] = mapped_column(JsonValue, nullable=True)
    #: Japan: the day the provision plan was submitted, day 1 of the periodic reports' periods.
    provision_plan_submitted_on: Mapped[date | None] = mapped_column(Date)

    arms: Mapped[list[Arm]] = relationship(back_populates="trial", order_by="Arm.id")
    visit_definitions: Mapped[list[VisitDefinition]] = relationship(
        back_populates="trial", order_by="VisitDefinition.target_day"
    )
    sites: Mapped[list[Site]] = relationship(back_populates="trial", order_by="Site.code")


class Arm(Record):
    """A treatment arm; ``ratio`` is its weight in the allocation (1:1, 2:1 ...)."""

    __tablename__ = "arm"
    __table_args__ = (UniqueConstraint("trial_id", "code"),)

    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str]
    ratio: Mapped[int]

    trial: Mapped[Trial] = relationship(back_populates="arms")


class VisitDefinition(Record):
    """A visit of the schedule: target day relative to day 0 (transplant) and its window."""

    __tablename__ = "visit_definition"
    __table_args__ = (UniqueConstraint("trial_id", "name"),)

    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    target_day: Mapped[int]
    window_minus: Mapped[int]
    window_plus: Mapped[int]
    #: What the protocol requires at the visit (``isncsci``, ``scim`` ...; see rules.schedule);
    #: None (schedules stored before revision 0010): the ISNCSCI exam.
    requires: Mapped[list[Any] | None]
    #: How the visit reaches the participant (rules.vocabulary.CONTACT_MODES); None (schedules
    #: stored before revision 0013): in person.
    contact_mode: Mapped[str | None] = mapped_column(String(16))
    #: A visit of the long-term follow-up after the main study (revision 0013).
    long_term: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    trial: Mapped[Trial] = relationship(back_populates="visit_definitions")


class Site(Record):
    """A clinical site of a trial."""

    __tablename__ = "site"
    __table_args__ = (UniqueConstraint("trial_id", "code"),)

    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str]

    trial: Mapped[Trial] = relationship(back_populates="sites")


# --- participants ------------------------------------------------------------------------------


class Participant(Record):
    """A participant, known only by a pseudonymous study id."""

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("trial_id", "study_id"),)

    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    study_id: Mapped[str] = mapped_column(String(32))
    injury_date: Mapped[date] = mapped_column(Date)
    #: Neurological level of the injury as reported at referral (C1 ... S4_5).
    injury_level: Mapped[str] = mapped_column(String(8))
    injury_mechanism: Mapped[str] = mapped_column(String(32))
    age_at_injury: Mapped[int]
    sex: Mapped[str] = mapped_column(String(16))
    #: Day 0 of the visit schedule: the (planned, then actual) transplant date.
    transplant_date: Mapped[date | None] = mapped_column(Date)
    arm_id: Mapped[int | None] = mapped_column(ForeignKey("arm.id"), index=True)

    trial: Mapped[Trial] = relationship()
    site: Mapped[Site] = relationship()
    arm: Mapped[Arm | None] = relationship()
    visits: Mapped[list[Visit]] = relationship(back_populates="participant", order_by="Visit.id")


class EligibilityAssessment(Record):
    """An evaluation of a trial's eligibility criteria for a participant, with its reasons."""

    __tablename__ = "eligibility_assessment"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    assessed_by: Mapped[str] = mapped_column(String(100))
    eligible: Mapped[bool] = mapped_column(Boolean)
    #: One entry per criterion: ``{"criterion", "met", "detail"}``.
    reasons: Mapped[list[Any]]
    #: The criteria as evaluated (a copy: the trial's criteria may be amended later).
    criteria: Mapped[Json]
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("isncsci_exam.id"))


# --- randomization -----------------------------------------------------------------------------


class AllocationList(Record):
    """A stored allocation list: stratified permuted blocks generated from a seed.

    The seed itself is not stored, only its SHA-256 (``seed_sha256``), so that the list cannot be
    regenerated from the database but the holder of the seed can prove which list it made.
    """

    __tablename__ = "allocation_list"

    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"), index=True)
    block_sizes: Mapped[list[Any]]
    strata: Mapped[list[Any]]
    seed_sha256: Mapped[str] = mapped_column(String(64))

    slots: Mapped[list[AllocationSlot]] = relationship(order_by="AllocationSlot.position")


class AllocationSlot(Record):
    """One concealed allocation; revealed when a participant is assigned to it."""

    __tablename__ = "allocation_slot"
    __table_args__ = (UniqueConstraint("allocation_list_id", "stratum", "position"),)
    __audit_exclude__ = frozenset({"salt"})
    __audit_concealed__ = frozenset({"arm_code"})

    allocation_list_id: Mapped[int] = mapped_column(ForeignKey("allocation_list.id"), index=True)
    stratum: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]
    block: Mapped[int]
    arm_code: Mapped[str] = mapped_column(String(32))
    #: Random salt of the audit trail's hash of ``arm_code`` (keeps the arm unguessable there).
    salt: Mapped[str] = mapped_column(String(32))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"), unique=True)
    assigned_at: Mapped[datetime | None]


# --- visits, exams and functional measures -----------------------------------------------------


class Visit(Record):
    """A participant's visit of the schedule; ``done_on`` is empty until it happens (set when
    its required items are all recorded); ``missed_reason`` says why it did not happen."""

    __tablename__ = "visit"
    __table_args__ = (UniqueConstraint("participant_id", "visit_definition_id"),)

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    visit_definition_id: Mapped[int] = mapped_column(ForeignKey("visit_definition.id"))
    done_on: Mapped[date | None] = mapped_column(Date)
    missed_reason: Mapped[str | None] = mapped_column(Text)

    participant: Mapped[Participant] = relationship(back_populates="visits")
    definition: Mapped[VisitDefinition] = relationship()


class IsncsciExam(Record):
    """An ISNCSCI exam: cell values as entered and their computed classification.

    ``cells`` maps every canonical exam column (and ``r_nkm``/``l_nkm``) to the value as entered,
    or ``None`` when not recorded -- which is not ``"NT"`` (recorded as not testable). The
    classification (the result record) is computed by :mod:`cordtrial.isncsci` once every cell is
    recorded, and stored with the engine version and ISNCSCI revision that computed it.
    """

    __tablename__ = "isncsci_exam"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"), index=True)
    examined_on: Mapped[date] = mapped_column(Date)
    examiner: Mapped[str] = mapped_column(String(100))
    cells: Mapped[Json]
    classification: Mapped[Json | None]
    #: Why there is no classification (e.g. cells not recorded), else empty.
    classification_note: Mapped[str] = mapped_column(Text)
    engine_version: Mapped[str | None] = mapped_column(String(32))
    isncsci_revision: Mapped[str | None] = mapped_column(String(16))
    #: The examiner's ``comments`` and ``flag_reasons`` (cell column -> why it carries ``*`` or
    #: ``**``), or None when there are none (see rules.exam_cells.check_exam_notes).
    notes: Mapped[Json | None]
    #: Whether this is its visit's exam of record (the one analyses use); a repeat exam of the
    #: same visit is recorded with ``repeat_reason`` and an explicit choice of which counts.
    #: None: recorded before revision 0010 (see rules.schedule.exam_of_record).
    of_record: Mapped[bool | None] = mapped_column(Boolean)
    repeat_reason: Mapped[str | None] = mapped_column(Text)


class _Measure(Record):
    __abstract__ = True

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    assessed_on: Mapped[date] = mapped_column(Date)
    assessor: Mapped[str] = mapped_column(String(100))


class ScimAssessment(_Measure):
    """Spinal Cord Independence Measure III: three subscales; the total is their sum."""

    __tablename__ = "scim_assessment"

    self_care: Mapped[int]
    respiration_sphincter: Mapped[int]
    mobility: Mapped[int]
    total: Mapped[int]


class WisciAssessment(_Measure):
    """Walking Index for Spinal Cord Injury II level (0-20)."""

    __tablename__ = "wisci_assessment"

    level: Mapped[int]


class TenMetreWalk(_Measure):
    """10-metre walk test: time in seconds, standing or flying start."""

    __tablename__ = "ten_metre_walk"

    seconds: Mapped[float] = mapped_column(Float)
    start_mode: Mapped[str] = mapped_column(String(16))


class SixMinuteWalk(_Measure):
    """6-minute walk test: distance in metres on a track of a given length."""

    __tablename__ = "six_minute_walk"

    metres: Mapped[float] = mapped_column(Float)
    track_length_m: Mapped[float] = mapped_column(Float)


# --- cell product ------------------------------------------------------------------------------


class IpscLine(Record):
    """An induced pluripotent stem cell line the product is made from."""

    __tablename__ = "ipsc_line"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text)
    #: The (coded, pseudonymous) identifier of the donor the line was derived from, for a
    #: look-back from a donor to every recipient (revision 0013); None when not recorded.
    donor_id: Mapped[str | None] = mapped_column(String(64), index=True)


class ProductSpecification(Record):
    """A version of the release specification: the limit each release test must meet."""

    __tablename__ = "product_specification"

    spec_version: Mapped[str] = mapped_column(String(32), unique=True)
    #: ``{test: {"min": x} | {"max": x} | {"min": x, "max": y} | {"expected": text}}``.
    limits: Mapped[Json]


class Lot(Record):
    """A manufactured lot of cells, released against one specification version."""

    __tablename__ = "lot"

    ipsc_line_id: Mapped[int] = mapped_column(ForeignKey("ipsc_line.id"), index=True)
    specification_id: Mapped[int] = mapped_column(ForeignKey("product_specification.id"))
    lot_number: Mapped[str] = mapped_column(String(64), unique=True)
    manufactured_on: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    #: The release or rejection decision's reasons, one per test.
    decision_reasons: Mapped[list[Any]]

    ipsc_line: Mapped[IpscLine] = relationship()
    specification: Mapped[ProductSpecification] = relationship()
    release_tests: Mapped[list[ReleaseTest]] = relationship(order_by="ReleaseTest.id")


class ReleaseTest(Record):
    """A release test result of a lot: a number (``value``) or a finding (``finding``)."""

    __tablename__ = "release_test"

    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    test: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)
    finding: Mapped[str | None] = mapped_column(String(32))
    tested_on: Mapped[date] = mapped_column(Date)
    tested_by: Mapped[str] = mapped_column(String(100))


class Administration(Record):
    """The administration of cells from a lot to a participant, with its identity checks."""

    __tablename__ = "administration"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    dose_cells: Mapped[int]
    volume_ml: Mapped[float] = mapped_column(Float)
    injection_site: Mapped[str]
    administered_at: Mapped[datetime]
    operator: Mapped[str] = mapped_column(String(100))
    identity_checked_by: Mapped[str] = mapped_column(String(100))


class CustodyEvent(Record):
    """Who held the product, where and when. Append-only."""

    __tablename__ = "custody_event"
    __append_only__ = True

    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    holder: Mapped[str] = mapped_column(String(100))
    location: Mapped[str]
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text)


# --- safety ------------------------------------------------------------------------------------


class AdverseEvent(Record):
    """An adverse event; seriousness (ICH E2A) is stored apart from severity (CTCAE grade)."""

    __tablename__ = "adverse_event"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    term: Mapped[str]
    category: Mapped[str] = mapped_column(String(48))
    onset_date: Mapped[date] = mapped_column(Date)
    resolution_date: Mapped[date | None] = mapped_column(Date)
    #: The date the sponsor first learned of the event: day 0 of the reporting clock.
    awareness_date: Mapped[date] = mapped_column(Date)
    ctcae_grade: Mapped[int]
    #: The ICH E2A seriousness criteria met (empty: not serious).
    serious_criteria: Mapped[list[Any]]
    related_to_cells: Mapped[str] = mapped_column(String(16))
    related_to_procedure: Mapped[str] = mapped_column(String(16))
    related_to_immunosuppression: Mapped[str] = mapped_column(String(16))
    expectedness: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    #: Computed from the event's clocks (services.clocks): whether any applies, and the
    #: earliest deadline still open.
    expedited_report_required: Mapped[bool] = mapped_column(Boolean)
    expedited_report_due: Mapped[date | None] = mapped_column(Date)
    #: The case description (required for a serious event); None before revision 0010.
    narrative: Mapped[str | None] = mapped_column(Text)
    #: The expedited report's submission as stored by revisions 0010-0017; since revision 0018
    #: each clock (ExpeditedClock) holds its own, and these are no longer written.
    expedited_submitted_on: Mapped[date | None] = mapped_column(Date)
    expedited_authority: Mapped[str | None] = mapped_column(String(100))
    expedited_reference: Mapped[str | None] = mapped_column(String(100))


class ExpeditedClock(Record):
    """An expedited report an adverse event needs under one rule of the trial's jurisdictions
    (rules.clocks), its deadline and its submission. Kept up to date by the safety use cases;
    a clock whose rule no longer applies after a correction stays, ``applies`` false, so a
    report already submitted is never lost (revision 0018)."""

    __tablename__ = "expedited_clock"
    __table_args__ = (UniqueConstraint("adverse_event_id", "rule"),)

    adverse_event_id: Mapped[int] = mapped_column(ForeignKey("adverse_event.id"), index=True)
    rule: Mapped[str] = mapped_column(String(32))
    applies: Mapped[bool] = mapped_column(Boolean)
    due: Mapped[date] = mapped_column(Date)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    authority: Mapped[str | None] = mapped_column(String(100))
    reference: Mapped[str | None] = mapped_column(String(100))


class PeriodicReportSubmission(Record):
    """The filing of one period of a periodic safety report (rules.clocks.PERIODIC_RULES)."""

    __tablename__ = "periodic_report_submission"
    __table_args__ = (UniqueConstraint("trial_id", "rule", "period_number"),)

    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"), index=True)
    rule: Mapped[str] = mapped_column(String(32))
    period_number: Mapped[int]
    submitted_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(100))


# --- laboratory -----------------------------------------------------------------------------------


class LabReferenceRange(Record):
    """A site's reference range of an analyte (rules.labs), in the protocol's unit; ``sex``
    ``any``, ``F`` or ``M``. Revision 0019."""

    __tablename__ = "lab_reference_range"
    __table_args__ = (UniqueConstraint("site_id", "analyte", "sex"),)

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    analyte: Mapped[str] = mapped_column(String(32))
    sex: Mapped[str] = mapped_column(String(8))
    lln: Mapped[float | None] = mapped_column(Float)
    uln: Mapped[float | None] = mapped_column(Float)


class LabResult(Record):
    """A laboratory value as entered (value, UCUM unit) and in the protocol's unit, with the
    site's reference limits and the participant's baseline it was graded against, its CTCAE
    v5.0 grade and why, and the adverse event it was reported as. Revision 0019."""

    __tablename__ = "lab_result"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    collected_on: Mapped[date] = mapped_column(Date)
    analyte: Mapped[str] = mapped_column(String(32))
    entered_value: Mapped[float] = mapped_column(Float)
    entered_unit: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    lln: Mapped[float | None] = mapped_column(Float)
    uln: Mapped[float | None] = mapped_column(Float)
    baseline: Mapped[float | None] = mapped_column(Float)
    ctcae_grade: Mapped[int]
    ctcae_term: Mapped[str | None] = mapped_column(String(64))
    grade_basis: Mapped[str] = mapped_column(Text)
    adverse_event_id: Mapped[int | None] = mapped_column(ForeignKey("adverse_event.id"))


# --- immunosuppression (issue 15) --------------------------------------------------------------


class ImmunosuppressionRegimen(Record):
    """The protocol's regimen of one drug (rules.immunosuppression): planned dose and route, the
    start and planned stop in days since the transplant, the taper steps (``[{day, dose}]``) and
    the trough target ranges by period (``[{from_day, until_day, low, high}]`` in
    ``target_unit``), with the source they come from. Revision 0020."""

    __tablename__ = "immunosuppression_regimen"
    __table_args__ = (UniqueConstraint("trial_id", "drug"),)

    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"), index=True)
    drug: Mapped[str] = mapped_column(String(32))
    dose: Mapped[float] = mapped_column(Float)
    dose_unit: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(String(16))
    start_day: Mapped[int]
    planned_stop_day: Mapped[int | None]
    taper: Mapped[list[Any]]
    targets: Mapped[list[Any]]
    target_unit: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)


class ImmunosuppressionCourse(Record):
    """A participant's course of a regimen's drug: start and starting dose, the actual stop and
    why (rules.immunosuppression.STOP_REASONS). Revision 0020."""

    __tablename__ = "immunosuppression_course"
    __table_args__ = (UniqueConstraint("participant_id", "regimen_id"),)

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    regimen_id: Mapped[int] = mapped_column(ForeignKey("immunosuppression_regimen.id"))
    started_on: Mapped[date] = mapped_column(Date)
    start_dose: Mapped[float] = mapped_column(Float)
    dose_unit: Mapped[str] = mapped_column(String(16))
    stopped_on: Mapped[date | None] = mapped_column(Date)
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    stop_note: Mapped[str | None] = mapped_column(Text)

    regimen: Mapped[ImmunosuppressionRegimen] = relationship()


class DoseChange(Record):
    """A change of a course's dose from ``changed_on`` on, with the reason. Revision 0020."""

    __tablename__ = "immunosuppression_dose_change"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("immunosuppression_course.id"), index=True)
    changed_on: Mapped[date] = mapped_column(Date)
    dose: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)


class DoseInterruption(Record):
    """Days without drug inside a course, ``from_date`` to ``to_date`` inclusive (None: not
    resumed yet), with the reason. Revision 0020."""

    __tablename__ = "immunosuppression_interruption"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("immunosuppression_course.id"), index=True)
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)


class TroughLevel(Record):
    """A trough drug level: sampled when, hours after the last dose, as entered (value, UCUM
    unit) and in the regimen's unit, the target range in force that day and the flag (below,
    in range, above, no target). Revision 0020."""

    __tablename__ = "trough_level"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("immunosuppression_course.id"), index=True)
    sampled_at: Mapped[datetime]
    hours_since_dose: Mapped[float] = mapped_column(Float)
    entered_value: Mapped[float] = mapped_column(Float)
    entered_unit: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    target_low: Mapped[float | None] = mapped_column(Float)
    target_high: Mapped[float | None] = mapped_column(Float)
    flag: Mapped[str] = mapped_column(String(16), index=True)


class AdverseEventFollowUp(Record):
    """A follow-up report of an adverse event: what was learned, when and by whom.
    Append-only (a correction is a new follow-up)."""

    __tablename__ = "adverse_event_follow_up"
    __append_only__ = True

    adverse_event_id: Mapped[int] = mapped_column(ForeignKey("adverse_event.id"), index=True)
    reported_on: Mapped[date] = mapped_column(Date)
    reported_by: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)


# --- concomitant medication (issue 15) ------------------------------------------------------------


class ConcomitantMedication(Record):
    """A medication a participant takes besides the investigational product (rules.medications):
    dose, route, frequency, indication, start and stop (none: ongoing), ATC code. One known to
    change the immunosuppressant's level is ``flagged`` for review until an investigator marks it
    ``reviewed`` (who, when); the words of the flag are derived from the data file, not stored.
    Revision 0021."""

    __tablename__ = "concomitant_medication"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    atc_code: Mapped[str | None] = mapped_column(String(7))
    dose: Mapped[float | None] = mapped_column(Float)
    dose_unit: Mapped[str | None] = mapped_column(String(20))
    route: Mapped[str] = mapped_column(String(16))
    frequency: Mapped[str] = mapped_column(String(60))
    indication: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date] = mapped_column(Date)
    stop_date: Mapped[date | None] = mapped_column(Date)
    interaction_review: Mapped[str | None] = mapped_column(String(16), index=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]


# --- long-term follow-up: disposition, contact attempts, consent (issue 14) --------------------


class DispositionChange(Record):
    """A change of a participant's disposition (rules.follow_up); the latest is the current
    one, the earlier ones its history. Append-only: a correction is a new change."""

    __tablename__ = "disposition_change"
    __append_only__ = True

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    effective_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    #: Withdrawal: whether the data collected may still be used, and the participant contacted.
    data_use_allowed: Mapped[bool | None] = mapped_column(Boolean)
    recontact_allowed: Mapped[bool | None] = mapped_column(Boolean)
    #: Death: date, cause, autopsy asked for and done, relation to the cell product.
    death_date: Mapped[date | None] = mapped_column(Date)
    death_cause: Mapped[str | None] = mapped_column(Text)
    autopsy_asked: Mapped[bool | None] = mapped_column(Boolean)
    autopsy_done: Mapped[bool | None] = mapped_column(Boolean)
    death_related_to_product: Mapped[str | None] = mapped_column(String(16))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]


class ContactAttempt(Record):
    """An attempt to reach a participant (before one is declared lost to follow-up).
    Append-only."""

    __tablename__ = "contact_attempt"
    __append_only__ = True

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    attempted_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))


class ConsentVersion(Record):
    """A version of a trial's consent form: effective date, the separate items it asks, and
    whether participants who signed an earlier version must re-consent (rules.consent)."""

    __tablename__ = "consent_version"
    __table_args__ = (UniqueConstraint("trial_id", "form_version"),)

    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"), index=True)
    #: The form's version as printed on it (``version`` is the row's lock counter).
    form_version: Mapped[str] = mapped_column(String(32))
    effective_on: Mapped[date] = mapped_column(Date)
    items: Mapped[list[Any]]
    reconsent_required: Mapped[bool] = mapped_column(Boolean)
    applies_to: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)


class ConsentSignature(Record):
    """A participant's signature of a consent form version, with the answer to each item.
    Append-only: a participant's later answers are a new signature."""

    __tablename__ = "consent_signature"
    __append_only__ = True

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    consent_version_id: Mapped[int] = mapped_column(ForeignKey("consent_version.id"), index=True)
    signed_on: Mapped[date] = mapped_column(Date)
    #: consent item -> given (True) or refused (False).
    items: Mapped[Json]
    recorded_by: Mapped[str] = mapped_column(String(64))

    consent_version: Mapped[ConsentVersion] = relationship()


# --- users and their access --------------------------------------------------------------------


class User(Record):
    """A person who uses the store: a role, sites, an Argon2id password hash, lockout state.

    The password hash is audited only as a hash of itself: the trail shows that it changed.
    """

    __tablename__ = "app_user"
    __audit_concealed__ = frozenset({"password_hash"})

    username: Mapped[str] = mapped_column(String(64), unique=True)
    #: The person's printed name, shown with their signatures (21 CFR 11.50(a)(1)).
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    #: Set by an administrator's password reset: the user must choose a new password at the
    #: next login before doing anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean)
    #: Sees every site (otherwise only those in ``site_links``; admins always see all).
    all_sites: Mapped[bool] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean)
    failed_logins: Mapped[int]
    locked_until: Mapped[datetime | None]

    site_links: Mapped[list[UserSite]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserSite.site_id"
    )

    @property
    def site_ids(self) -> frozenset[int]:
        """The sites this user is assigned to."""
        return frozenset(link.site_id for link in self.site_links)


class UserSite(Record):
    """A user's assignment to a site."""

    __tablename__ = "user_site"
    __table_args__ = (UniqueConstraint("user_id", "site_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)

    user: Mapped[User] = relationship(back_populates="site_links")


class ApiToken(Record):
    """An opaque bearer token of the API, stored only as its SHA-256; it expires and can be
    revoked (logout). The hash is audited only as a hash of itself."""

    __tablename__ = "api_token"
    __audit_concealed__ = frozenset({"token_sha256"})

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class AuthEvent(Record):
    """One authentication event, so that the audit trail holds every one of them: a login
    refused (unknown user, inactive or locked account, wrong password), a lockout, an unlock, a
    token issued or revoked, a password changed or reset. Append-only.

    ``username`` is the name as typed (bounded: it may be no account); ``user_id`` is set when
    it names one.
    """

    __tablename__ = "auth_event"
    __append_only__ = True

    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    detail: Mapped[str] = mapped_column(String(200))


# --- signatures --------------------------------------------------------------------------------


class ExamSignature(Record):
    """An investigator's signature of an ISNCSCI exam, bound to the exam's content as signed.

    ``content_sha256`` is the hash of the exam's entered data at signing (see
    :func:`cordtrial.trial.rules.signatures.exam_content_hash`); when the exam's data change
    afterwards the hashes differ and the signature shows as void. Append-only.
    """

    __tablename__ = "exam_signature"
    __append_only__ = True

    exam_id: Mapped[int] = mapped_column(ForeignKey("isncsci_exam.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    signer: Mapped[str] = mapped_column(String(64))
    #: The signer's printed name at signing (21 CFR 11.50(a)(1)); kept with the signature, so a
    #: later change of the user's name does not change what was signed.
    signer_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime]
    #: What the signature means, in the words shown to the signer (21 CFR 11.50(a)(3)).
    meaning: Mapped[str] = mapped_column(Text)
    exam_version: Mapped[int]
    content_sha256: Mapped[str] = mapped_column(String(64))


# --- monitoring ----------------------------------------------------------------------------------


class DataQuery(Record):
    """A monitor's question about a participant's record (or one field of it), its answer and
    its closure: ``open`` -> ``answered`` -> ``closed`` (see rules.queries)."""

    __tablename__ = "data_query"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    #: The table of the record queried (``isncsci_exam``, ``adverse_event`` ...) and its id.
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int]
    #: The field queried (``cells.r_c5_motor``, ``ctcae_grade``), empty for the whole record.
    field: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    close_note: Mapped[str | None] = mapped_column(Text)


# --- imaging surveillance (issue 14) -----------------------------------------------------------


class MriExam(Record):
    """An MRI examination of a participant: date, imaging site, field strength, sequences and
    the DICOM Study Instance UID (identifiers and acquisition metadata only: no pixel data, and
    the DICOM file's patient name and ID are never stored). Days since transplant are computed
    from the participant's first cell administration, not stored."""

    __tablename__ = "mri_exam"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    acquired_on: Mapped[date] = mapped_column(Date)
    imaging_site: Mapped[str] = mapped_column(String(200))
    field_strength_t: Mapped[float] = mapped_column(Float)
    #: The sequences acquired (text, e.g. ``sagittal T2``), in order.
    sequences: Mapped[list[Any]]
    study_instance_uid: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: ``entered`` (typed) or ``dicom`` (imported from DICOM headers).
    source: Mapped[str] = mapped_column(String(16))


class MriRead(Record):
    """A structured read of an MRI: by the site, by one of two blinded central readers, or by
    the adjudicating third reader (``kind``). Assigned first (``status`` ``assigned``, the
    findings empty), then submitted and locked at once (``locked``); a locked read is never
    changed. Lengths in mm, volumes in mm3 (see rules.imaging)."""

    __tablename__ = "mri_read"
    __table_args__ = (UniqueConstraint("mri_exam_id", "reader"),)

    mri_exam_id: Mapped[int] = mapped_column(ForeignKey("mri_exam.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    #: The reader's user name.
    reader: Mapped[str] = mapped_column(String(64), index=True)
    assigned_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    locked_at: Mapped[datetime | None]
    impression: Mapped[str | None] = mapped_column(String(32))
    new_mass: Mapped[bool | None] = mapped_column(Boolean)
    contrast_enhancement: Mapped[bool | None] = mapped_column(Boolean)
    mass_effect: Mapped[bool | None] = mapped_column(Boolean)
    haemorrhage: Mapped[bool | None] = mapped_column(Boolean)
    cord_compression: Mapped[bool | None] = mapped_column(Boolean)
    oedema: Mapped[bool | None] = mapped_column(Boolean)
    syrinx_present: Mapped[bool | None] = mapped_column(Boolean)
    syrinx_length_mm: Mapped[float | None] = mapped_column(Float)
    syrinx_change: Mapped[str | None] = mapped_column(String(16))
    graft_length_mm: Mapped[float | None] = mapped_column(Float)
    graft_volume_mm3: Mapped[float | None] = mapped_column(Float)
    basic_score: Mapped[int | None]
    finding: Mapped[str | None] = mapped_column(Text)
    #: The adverse event of special interest (tumour finding) this read opened or joined.
    adverse_event_id: Mapped[int | None] = mapped_column(ForeignKey("adverse_event.id"))

    mri: Mapped[MriExam] = relationship()


# --- audit trail -------------------------------------------------------------------------------


class AuditEntry(Base):
    """One field of one change, chained to the previous entry by a SHA-256 hash.

    ``seq`` counts from 1 without gaps; ``row_hash`` covers every other column and the previous
    row's hash (``prev_hash``), so altering, inserting or deleting a row breaks the chain.
    """

    __tablename__ = "audit_entry"
    #: A record's history (and ``DISTINCT entity``) reads an index, not the whole trail; so do
    #: the entries of one actor and of a time span (revision 0011).
    __table_args__ = (
        Index("ix_audit_entry_record", "entity", "entity_id", "seq"),
        Index("ix_audit_entry_actor", "actor", "seq"),
        Index("ix_audit_entry_at", "at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    #: Indexed: the rare ``rekey`` rows are looked up on every history read.
    action: Mapped[str] = mapped_column(String(8), index=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(100))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)


# --- the report archive --------------------------------------------------------------------------


class ArchivedReport(Base):
    """A report (DSMB or efficacy) of one data snapshot: the job that makes it, then the archived
    document. Not a :class:`Record`: making a report changes no trial data, and auditing it would
    advance the very data version (the audit trail's head) the report is keyed by; who asked and
    when is kept here. The files lie under the data directory (owner-only permissions).

    ``status`` goes ``queued`` -> ``running`` -> ``done`` or ``failed``; ``progress`` (0-100) and
    ``stage`` say where a running job is, ``updated_at`` when it last said so (a job silent for
    long was interrupted). ``data_version`` is the audit trail's head when it was asked for;
    ``snapshot_hash`` the SHA-256 of the data it was computed from; ``versions`` the engines'.
    """

    __tablename__ = "archived_report"
    __table_args__ = (Index("ix_archived_report_trial", "trial_id", "kind", "data_version"),)

    id: Mapped[int] = mapped_column(IntegerId, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trial.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(200))
    data_version: Mapped[str] = mapped_column(String(100))
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    snapshot_hash: Mapped[str | None] = mapped_column(String(64))
    data_cut: Mapped[date | None]
    versions: Mapped[Json | None]
    pdf_file: Mapped[str | None] = mapped_column(String(255))
    html_file: Mapped[str | None] = mapped_column(String(255))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_bytes: Mapped[int | None] = mapped_column(Integer)
    seconds: Mapped[float | None] = mapped_column(Float)
    peak_rss_mib: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
