"""API schemas: what comes in (``XCreate``, ``XUpdate``) and goes out (``XRead``), separate from
the ORM classes. Value rules (ranges, vocabularies) stay in :mod:`cordtrial.trial.rules`: the
schemas check shapes and types; the use cases check values and name the field when they refuse.

Every ``XUpdate`` carries the ``version`` the client edited (optimistic locking: 409 when the
record has changed since) and the ``reason`` for the change (required after first entry).
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from cordtrial.trial.rules.checks import MAX_REASON_LENGTH
from cordtrial.trial.rules.exam_cells import MAX_COMMENTS, MAX_FLAG_REASON

__all__ = [
    "AdministrationCreate",
    "AdministrationRead",
    "AdverseEventCreate",
    "AdverseEventPage",
    "AdverseEventRead",
    "AdverseEventUpdate",
    "ArmRead",
    "AuditEntryRead",
    "AuditReportRead",
    "CustodyEventCreate",
    "CustodyEventRead",
    "DataQueryAnswer",
    "DataQueryClose",
    "DataQueryCreate",
    "DataQueryRead",
    "EligibilityAssessmentCreate",
    "EligibilityAssessmentRead",
    "ExamCreate",
    "ExamNotes",
    "ExamNotesRead",
    "ExamOfRecordCreate",
    "ExamPage",
    "ExamRead",
    "ExamUpdate",
    "ExpeditedSubmissionCreate",
    "FollowUpCreate",
    "FollowUpRead",
    "IpscLineCreate",
    "IpscLineRead",
    "LoginCreate",
    "LotCreate",
    "LotRead",
    "MeasureRead",
    "MeasureUpdate",
    "ParticipantCreate",
    "ParticipantRead",
    "ParticipantUpdate",
    "PasswordChange",
    "PasswordReset",
    "ReleaseDecisionRead",
    "ReleaseTestCreate",
    "ReleaseTestRead",
    "ReportCreate",
    "ReportRead",
    "ScimCreate",
    "SignatureCreate",
    "SignatureRead",
    "SiteCreate",
    "SiteRead",
    "SixMinuteWalkCreate",
    "SpecificationCreate",
    "SpecificationRead",
    "TenMetreWalkCreate",
    "TokenRead",
    "TrialCreate",
    "TrialRead",
    "UserCreate",
    "UserRead",
    "UserUnlock",
    "UserUpdate",
    "VisitDoneUpdate",
    "VisitMissedCreate",
    "VisitRead",
    "VisitSpecCreate",
    "WisciCreate",
]


#: The integers the store keeps (a 32-bit INTEGER column on PostgreSQL): a larger number is
#: refused as a 422 naming the field, never passed to the database.
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
#: A record's id.
RecordId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


#: A reason for a change, bounded like the store's (cordtrial.trial.rules.checks).
Reason = Annotated[
    str,
    Field(min_length=1, max_length=MAX_REASON_LENGTH, description="Why the record is changed"),
]


class _Update(_In):
    version: Int32 = Field(description="The version of the record the client edited")
    reason: Reason


# --- auth and users ----------------------------------------------------------------------------


class LoginCreate(_In):
    username: str = Field(max_length=256)
    password: str = Field(max_length=256)


class PasswordChange(_In):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class PasswordReset(_In):
    password: str = Field(
        max_length=256, description="A temporary password the user must change at next login"
    )
    reason: Reason


class UserUnlock(_In):
    reason: Reason


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class UserCreate(_In):
    username: str = Field(max_length=256)
    password: str = Field(max_length=256)
    role: str
    site_ids: list[RecordId] = []
    all_sites: bool = False
    full_name: str | None = Field(
        None, max_length=200, description="The printed name shown with signatures (default: "
        "the user name)"
    )  # fmt: skip


class UserUpdate(_Update):
    role: str | None = None
    site_ids: list[RecordId] | None = None
    all_sites: bool | None = None
    active: bool | None = None
    full_name: str | None = Field(None, max_length=200)


class UserRead(_Out):
    id: int
    version: int
    username: str
    full_name: str
    must_change_password: bool
    role: str
    all_sites: bool
    active: bool
    site_ids: list[int]
    locked_until: datetime | None


# --- trials and sites --------------------------------------------------------------------------


class ArmCreate(_In):
    code: str
    name: str
    ratio: Int32 = 1


class VisitSpecCreate(_In):
    name: str
    target_day: Int32
    window_minus: Int32 = 0
    window_plus: Int32 = 0
    requires: list[str] = Field(
        ["isncsci"],
        description="What the protocol requires at the visit: isncsci, scim, wisci, "
        "ten_metre_walk, six_minute_walk, mri",
    )
    contact_mode: str = Field("in_person", description="in_person, phone or questionnaire")
    long_term: bool = Field(False, description="A visit of the long-term follow-up")


class TrialCreate(_In):
    protocol_id: str
    title: str
    phase: str
    arms: list[ArmCreate]
    visits: list[VisitSpecCreate]
    strata_factors: list[str] = []


class ArmRead(_Out):
    id: int
    code: str
    name: str
    ratio: int


class VisitDefinitionRead(_Out):
    name: str
    target_day: int
    window_minus: int
    window_plus: int
    requires: list[str] | None = Field(
        description="What the protocol requires at the visit (null: the ISNCSCI exam)"
    )


class TrialRead(_Out):
    id: int
    version: int
    protocol_id: str
    title: str
    phase: str
    eligibility: dict[str, Any]
    strata_factors: list[str]
    arms: list[ArmRead]
    visit_definitions: list[VisitDefinitionRead]


class SiteCreate(_In):
    code: str
    name: str


class SiteRead(_Out):
    id: int
    version: int
    code: str
    name: str


# --- participants, eligibility, visits ---------------------------------------------------------


class ParticipantCreate(_In):
    protocol_id: str
    site_code: str
    study_id: str
    injury_date: date
    injury_level: str
    injury_mechanism: str
    age_at_injury: Int32
    sex: str
    transplant_date: date | None = None


class ParticipantUpdate(_Update):
    injury_date: date | None = None
    injury_level: str | None = None
    injury_mechanism: str | None = None
    age_at_injury: Int32 | None = None
    sex: str | None = None
    transplant_date: date | None = None


class ParticipantRead(_Out):
    id: int
    version: int
    study_id: str
    site_id: int
    injury_date: date
    injury_level: str
    injury_mechanism: str
    age_at_injury: int
    sex: str
    transplant_date: date | None
    arm: ArmRead | None


class EligibilityAssessmentCreate(_In):
    assessed_on: date
    exam_id: RecordId | None = None


class EligibilityAssessmentRead(_Out):
    id: int
    version: int
    participant_id: int
    assessed_on: date
    assessed_by: str
    eligible: bool
    reasons: list[dict[str, Any]]
    criteria: dict[str, Any]
    exam_id: int | None


class VisitRead(BaseModel):
    name: str
    version: int
    target: date | None
    opens: date | None
    closes: date | None
    done_on: date | None
    status: str | None = Field(
        description="scheduled, due, overdue, partly done, done, missed or out of window "
        "(null before day 0 is set)"
    )
    label: str = Field(description="The state in words, e.g. 'out of window (3 days late)'")
    requires: list[str] = Field(description="What the protocol requires at the visit, in words")
    missing: list[str] = Field(description="Required items not yet recorded, in words")
    days_outside: int | None = Field(
        description="Days outside the window when done out of it (negative: early)"
    )
    missed_reason: str | None
    exam_ids: list[int]
    exam_of_record_id: int | None = Field(description="The exam analyses use for this visit")
    contact_mode: str = Field("in person", description="in person, phone or questionnaire")
    long_term: bool = Field(False, description="A visit of the long-term follow-up")


class VisitMissedCreate(_In):
    reason: str = Field(min_length=1, description="Why the visit did not take place")
    version: Int32 | None = Field(None, description="The version of the visit the client read")


class VisitDoneUpdate(_In):
    done_on: date
    reason: str | None = Field(None, max_length=MAX_REASON_LENGTH)


# --- exams and signatures ----------------------------------------------------------------------


FlagReason = Annotated[str, Field(max_length=MAX_FLAG_REASON)]


class ExamNotes(_In):
    """The examiner's notes on an exam (ISNCSCI 2019 worksheet, "comments")."""

    comments: str | None = Field(
        None, max_length=MAX_COMMENTS, description="The examiner's comments; blank: none"
    )
    flag_reasons: dict[str, FlagReason] | None = Field(
        None,
        description=(
            "Cell column -> why its value carries * or ** (the impairment, not due to the "
            "spinal cord injury, it marks). Required for every flagged value and allowed only "
            "for flagged values (ISNCSCI 2019); blank reasons are dropped"
        ),
        examples=[{"r_c5_motor": "humerus fracture, cast"}],
    )


class ExamNotesRead(_Out):
    comments: str | None = None
    flag_reasons: dict[str, str] = {}


class ExamCreate(_In):
    examined_on: date
    examiner: str
    cells: dict[str, str | None] = Field(
        description="Canonical ISNCSCI columns; a missing or empty cell is not recorded"
    )
    visit_name: str | None = None
    notes: ExamNotes | None = Field(
        None, description="Comments and a reason for each * / ** value (required when flagged)"
    )
    repeat_reason: str | None = Field(
        None, description="Why the visit is examined again (required when it has an exam)"
    )
    counts: Literal["new", "previous"] | None = Field(
        None,
        description="For a repeat exam: which exam is the visit's exam of record from now on",
    )


class ExamOfRecordCreate(_In):
    version: Int32 = Field(description="The version of the exam the client read")
    reason: str = Field(min_length=1, description="Why this exam counts for its visit")


class ExamUpdate(_Update):
    cells: dict[str, str | None] | None = None
    examined_on: date | None = None
    examiner: str | None = None
    notes: ExamNotes | None = Field(
        None,
        description=(
            "Replaces the stored comments and flag reasons; left out: they stay, less the "
            "reasons of values no longer flagged. The corrected exam needs a reason for every "
            "flagged value"
        ),
    )


class SignatureCreate(_In):
    password: str = Field(description="The signer re-enters their password")
    version: Int32 = Field(description="The version of the exam the signer reviewed")
    meaning: str | None = None


class SignatureRead(BaseModel):
    id: int
    signer: str
    signer_name: str = Field(description="The signer's printed name at signing")
    signed_at: datetime
    meaning: str
    manifestation: str = Field(
        description="The signature as shown: printed name, date and time, meaning (21 CFR 11.50)"
    )
    exam_version: int
    content_sha256: str
    void: bool = Field(description="True when the exam's data changed after signing")


class ExamRead(_Out):
    id: int
    version: int
    participant_id: int
    visit_id: int | None
    examined_on: date
    examiner: str
    cells: dict[str, str | None]
    classification: dict[str, str] | None
    classification_note: str
    engine_version: str | None
    isncsci_revision: str | None
    of_record: bool | None = Field(
        description="The visit's exam of record (null: recorded before revision 0010, see "
        "exam_of_record_id of the visit)"
    )
    repeat_reason: str | None
    notes: ExamNotesRead = Field(
        default_factory=ExamNotesRead, description="The examiner's comments and flag reasons"
    )
    flags_without_reason: list[str] = Field(
        [],
        description=(
            "Flagged cells with no reason: only on exams imported in bulk without one "
            "(docs/trial.md); a correction must supply them"
        ),
    )
    signatures: list[SignatureRead] = []

    @field_validator("notes", mode="before")
    @classmethod
    def _no_notes(cls, value: Any) -> Any:
        return {} if value is None else value


class ExamPage(BaseModel):
    """A page of a trial's exams, by id; ``next_cursor`` is the ``cursor`` of the next page
    (empty on the last)."""

    items: list[ExamRead]
    next_cursor: int | None = Field(
        description="Pass as cursor for the next page; null when this page is the last"
    )


# --- functional measures -----------------------------------------------------------------------


class _MeasureCreate(_In):
    assessed_on: date
    assessor: str
    visit_name: str | None = None


class ScimCreate(_MeasureCreate):
    self_care: Int32
    respiration_sphincter: Int32
    mobility: Int32


class WisciCreate(_MeasureCreate):
    level: Int32


class TenMetreWalkCreate(_MeasureCreate):
    seconds: float
    start_mode: str


class SixMinuteWalkCreate(_MeasureCreate):
    metres: float
    track_length_m: float


class MeasureUpdate(_Update):
    values: dict[str, Any] = Field(description="The fields to correct, e.g. {'level': 12}")


class MeasureRead(BaseModel):
    id: int
    version: int
    kind: str
    participant_id: int
    visit_id: int | None
    assessed_on: date
    assessor: str
    values: dict[str, Any]


# --- cell product ------------------------------------------------------------------------------


class IpscLineCreate(_In):
    name: str
    description: str
    donor_id: str | None = Field(None, description="The donor's coded identifier (look-back)")


class IpscLineRead(_Out):
    id: int
    name: str
    description: str
    donor_id: str | None = None


class SpecificationCreate(_In):
    spec_version: str
    limits: dict[str, dict[str, Any]]


class SpecificationRead(_Out):
    id: int
    spec_version: str
    limits: dict[str, Any]


class LotCreate(_In):
    lot_number: str
    ipsc_line: str
    spec_version: str
    manufactured_on: date
    expiry_date: date


class ReleaseTestCreate(_In):
    test: str
    tested_on: date
    tested_by: str
    value: float | None = None
    finding: str | None = None


class ReleaseTestRead(_Out):
    id: int
    test: str
    value: float | None
    finding: str | None
    tested_on: date
    tested_by: str


class LotRead(_Out):
    id: int
    version: int
    lot_number: str
    manufactured_on: date
    expiry_date: date
    status: str
    decision_reasons: list[Any]
    release_tests: list[ReleaseTestRead]


class ReleaseDecisionRead(BaseModel):
    releasable: bool
    outcomes: list[dict[str, Any]]


class AdministrationCreate(_In):
    lot_number: str
    dose_cells: Int32
    volume_ml: float
    injection_site: str
    administered_at: AwareDatetime
    operator: str
    identity_checked_by: str
    participant_identity_confirmed: bool
    product_identity_confirmed: bool


class AdministrationRead(_Out):
    id: int
    participant_id: int
    lot_id: int
    dose_cells: int
    volume_ml: float
    injection_site: str
    administered_at: datetime
    operator: str
    identity_checked_by: str


class CustodyEventCreate(_In):
    event: str
    holder: str
    location: str
    at: AwareDatetime
    note: str = ""


class CustodyEventRead(_Out):
    id: int
    event: str
    holder: str
    location: str
    at: datetime
    note: str


# --- adverse events ----------------------------------------------------------------------------


class AdverseEventCreate(_In):
    term: str
    category: str
    onset_date: date
    awareness_date: date
    ctcae_grade: Int32
    serious_criteria: list[str] = []
    related_to_cells: str
    related_to_procedure: str
    related_to_immunosuppression: str
    expectedness: str
    outcome: str
    resolution_date: date | None = None
    narrative: str = Field("", description="The case description; required for a serious event")


class AdverseEventUpdate(_Update):
    term: str | None = None
    category: str | None = None
    onset_date: date | None = None
    awareness_date: date | None = None
    resolution_date: date | None = None
    ctcae_grade: Int32 | None = None
    serious_criteria: list[str] | None = None
    related_to_cells: str | None = None
    related_to_procedure: str | None = None
    related_to_immunosuppression: str | None = None
    expectedness: str | None = None
    outcome: str | None = None
    narrative: str | None = None


class ClockRead(BaseModel):
    rule: str = Field(description="The rule's id (us_ind_7_day, jp_asrm_15_day ...)")
    report: str = Field(description="The report the rule asks for, in words")
    authority: str = Field(description="To whom it goes, by the rule")
    source: str = Field(description="The regulation the rule comes from")
    applies: bool = Field(description="False when a correction made the rule no longer apply")
    due: date
    submitted_on: date | None
    submitted_to: str | None = Field(description="The authority as recorded at submission")
    reference: str | None
    status: str = Field(description="due, overdue, submitted (on time) or submitted late")
    label: str = Field(description="Where it stands, in words")


class AdverseEventRead(_Out):
    id: int
    version: int
    participant_id: int
    term: str
    category: str
    onset_date: date
    resolution_date: date | None
    awareness_date: date
    ctcae_grade: int
    serious_criteria: list[str]
    related_to_cells: str
    related_to_procedure: str
    related_to_immunosuppression: str
    expectedness: str
    outcome: str
    narrative: str | None
    expedited_report_required: bool
    expedited_report_due: date | None = Field(
        description="The earliest deadline of the event's expedited clocks still open"
    )
    clocks: list[ClockRead] = Field(
        default_factory=list,
        description="One expedited report per rule of the trial's jurisdictions, each with its "
        "deadline and submission",
    )
    expedited_status: str = Field(
        "",
        description="not required, due, overdue, submitted (on time) or submitted late",
    )
    expedited_label: str = Field("", description="The expedited report's state in words")


class JurisdictionsRead(BaseModel):
    jurisdictions: list[str] = Field(description="us_ind and/or jp_asrm")
    names: list[str] = Field(description="The jurisdictions in words")
    provision_plan_submitted_on: date | None = Field(
        description="Japan: the day the provision plan was submitted (periodic reports count "
        "from it)"
    )


class JurisdictionsUpdate(_In):
    jurisdictions: list[str] = Field(min_length=1, description="us_ind and/or jp_asrm")
    provision_plan_submitted_on: date | None = None
    reason: str | None = Field(None, description="Why, when changing jurisdictions already set")


class PeriodicReportRead(BaseModel):
    rule: str
    report: str
    authority: str
    source: str
    includes: str = Field(description="What the report must include, in words")
    period_number: int
    period_start: date
    period_end: date
    due: date
    status: str = Field(description="due, overdue, submitted (on time) or submitted late")
    label: str
    submitted_on: date | None
    reference: str | None
    adverse_event_ids: list[int] = Field(
        description="The events it must include that the caller may see"
    )
    events_at_other_sites: int = Field(description="How many more it includes, at other sites")


class PeriodicSubmissionCreate(_In):
    submitted_on: date
    reference: str = Field(description="The reference the report was filed under")
    reason: str | None = Field(None, description="Why, when changing a recorded filing")


class AdverseEventPage(BaseModel):
    """A page of a trial's adverse events, by id; ``next_cursor`` is the ``cursor`` of the next
    page (empty on the last)."""

    items: list[AdverseEventRead]
    next_cursor: int | None = Field(
        description="Pass as cursor for the next page; null when this page is the last"
    )


class ExpeditedSubmissionCreate(_In):
    version: Int32 = Field(description="The version of the adverse event the client read")
    rule: str | None = Field(
        None, description="The clock the report answers; may be left out when there is one"
    )
    submitted_on: date
    authority: str = Field(description="The authority the report went to")
    reference: str = Field(description="The reference the authority (or gateway) gave it")
    reason: str | None = Field(None, description="Why, when changing a recorded submission")


class FollowUpCreate(_In):
    reported_on: date
    text: str = Field(min_length=1, description="What was learned")


class FollowUpRead(_Out):
    id: int
    adverse_event_id: int
    reported_on: date
    reported_by: str
    text: str


# --- monitor queries ---------------------------------------------------------------------------


class DataQueryCreate(_In):
    entity: str = Field(description="The record's table, e.g. isncsci_exam, adverse_event")
    entity_id: RecordId
    field: str = Field("", description="The field queried, e.g. cells.r_c5_motor; empty: all")
    text: str = Field(min_length=1)


class DataQueryAnswer(_In):
    version: Int32 = Field(description="The version of the query the client read")
    answer: str = Field(min_length=1)


class DataQueryClose(_In):
    version: Int32 = Field(description="The version of the query the client read")
    note: str | None = None


class DataQueryRead(_Out):
    id: int
    version: int
    participant_id: int
    entity: str
    entity_id: int
    field: str
    text: str
    status: str
    raised_by: str
    raised_at: datetime
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    close_note: str | None


# --- audit -------------------------------------------------------------------------------------


class AuditEntryRead(_Out):
    seq: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    field: str
    old_value: str | None
    new_value: str | None
    reason: str | None
    row_hash: str


class AuditReportRead(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problems: list[str]


# --- laboratory (issue 15) -----------------------------------------------------------------------


class LabValueCreate(_In):
    analyte: str = Field(
        description="neutrophils, platelets, creatinine, alt ... (GET lab-analytes)"
    )
    value: float
    unit: str = Field(description="A UCUM code: 10*9/L, /uL, g/dL, umol/L, mg/dL, U/L ...")


class LabPanelCreate(_In):
    collected_on: date
    results: list[LabValueCreate] = Field(min_length=1, max_length=100)


class LabResultRead(_Out):
    id: int
    version: int
    participant_id: int
    collected_on: date
    analyte: str
    entered_value: float
    entered_unit: str
    value: float = Field(description="In the protocol's unit of the analyte")
    unit: str = Field("", description="The protocol's unit (UCUM)")
    lln: float | None
    uln: float | None
    baseline: float | None = Field(description="The last value on or before the transplant")
    ctcae_grade: int = Field(description="CTCAE v5.0 grade from the value (0: within limits)")
    ctcae_term: str | None
    grade_basis: str
    adverse_event_id: int | None


class LabAdverseEventCreate(_In):
    awareness_date: date
    related_to_cells: str
    related_to_procedure: str
    related_to_immunosuppression: str
    expectedness: str
    outcome: str
    category: str = "other"
    serious_criteria: list[str] = []
    narrative: str = ""
    resolution_date: date | None = None


class ReferenceRangeUpdate(_In):
    lln: float | None = None
    uln: float | None = None
    unit: str | None = Field(None, description="The limits' UCUM unit (default: the protocol's)")
    sex: str = Field("any", description="any, F or M")
    reason: str | None = Field(None, description="Why, when changing a range already set")


class ReferenceRangeRead(_Out):
    id: int
    version: int
    site_id: int
    analyte: str
    sex: str
    lln: float | None
    uln: float | None


class LabCriterionRead(BaseModel):
    """A laboratory eligibility limit checked from the entered results."""

    criterion: str = Field(description="lab_<analyte>")
    met: bool
    assessable: bool = Field(description="False when the value it needs is missing")
    detail: str = Field(description="In words, naming the value, the limit and the sample date")


class LabLinkCreate(_In):
    adverse_event_id: RecordId


class LabImportRowRead(BaseModel):
    row: int = Field(description="The file's data row, from 1")
    participant: str
    field: str
    value: str
    reason: str
    severity: Literal["error", "warning"]


class LabImportRead(BaseModel):
    rows: int
    inserted: int
    already_present: int
    panels: int
    rejected: int
    errors: list[LabImportRowRead]
    warnings: list[LabImportRowRead]


class AnalyteRead(BaseModel):
    analyte: str
    label: str
    unit: str = Field(description="The protocol's unit (UCUM)")
    units: list[str] = Field(description="The UCUM units accepted (converted)")
    ctcae_terms: list[str] = Field(description="The CTCAE v5.0 terms graded from it")


class ReportCreate(_In):
    kind: Literal["dsmb", "efficacy"] = Field(description="The DSMB or the efficacy report")


class ReportRead(_Out):
    """An archived report, or the job making it (issue 17)."""

    id: int
    kind: str
    status: str = Field(description="queued, running, done or failed")
    progress: int = Field(description="Percent done (0-100)")
    stage: str = Field(description="What the job is doing, in words")
    data_version: str = Field(description="The audit trail's head the report was asked at")
    requested_by: str
    requested_at: datetime
    finished_at: datetime | None
    snapshot_hash: str | None = Field(description="SHA-256 of the data the report shows")
    data_cut: date | None
    versions: dict[str, str] | None = Field(description="Versions of cordtrial and its engines")
    pdf_sha256: str | None
    pdf_bytes: int | None
    seconds: float | None
    peak_rss_mib: float | None
    error: str | None
