"""API schemas of the long-term follow-up (issue 14): disposition, contact attempts, consent,
long-term contacts, the timeline and the product look-back. Kept beside :mod:`.schemas` (same
conventions: ``XCreate`` in, ``XRead`` out) so that the follow-up's shapes read in one place."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ConsentCreate",
    "ConsentSignatureRead",
    "ConsentStatusRead",
    "ConsentVersionCreate",
    "ConsentVersionRead",
    "ContactAttemptCreate",
    "ContactAttemptRead",
    "DispositionChangeRead",
    "DispositionCreate",
    "DispositionRead",
    "ExposureRead",
    "LongTermContactCreate",
    "LongTermVisitsCreate",
    "TimelineEntryRead",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DispositionCreate(_In):
    status: str = Field(
        description="active, completed_main_study, long_term_follow_up, withdrawn, "
        "lost_to_follow_up or died"
    )
    effective_on: date
    reason: str = Field("", max_length=1000, description="Required for a withdrawal")
    data_use_allowed: bool | None = Field(None, description="Withdrawal: data may still be used")
    recontact_allowed: bool | None = Field(None, description="Withdrawal: may be contacted")
    death_date: date | None = None
    death_cause: str | None = Field(None, max_length=500)
    autopsy_asked: bool | None = None
    autopsy_done: bool | None = Field(None, description="Needs the participant's consent")
    death_related_to_product: str | None = Field(
        None, description="not_related, unlikely, possible, probable or definite"
    )


class DispositionChangeRead(_Out):
    id: int
    status: str
    effective_on: date
    reason: str
    data_use_allowed: bool | None
    recontact_allowed: bool | None
    death_date: date | None
    death_cause: str | None
    autopsy_asked: bool | None
    autopsy_done: bool | None
    death_related_to_product: str | None
    recorded_by: str
    recorded_at: datetime


class DispositionRead(BaseModel):
    status: str = Field(description="The current disposition (active when none was recorded)")
    label: str = Field(description="The current disposition in words")
    history: list[DispositionChangeRead]


class ContactAttemptCreate(_In):
    attempted_on: date
    method: str = Field(
        description="phone, letter, email, home_visit, general_practitioner or registry"
    )
    outcome: str = Field(
        description="reached, no_answer, message_left, wrong_number, returned_undelivered or "
        "declined"
    )
    note: str = Field("", max_length=1000)


class ContactAttemptRead(_Out):
    id: int
    attempted_on: date
    method: str
    outcome: str
    note: str
    recorded_by: str


class ConsentVersionCreate(_In):
    version: str = Field(max_length=32)
    effective_on: date
    items: list[str] = Field(
        [], description="Separate items asked: long_term_contact, autopsy, future_sample_use"
    )
    reconsent_required: bool = False
    applies_to: str = Field("everyone", description="everyone or long_term")
    summary: str = Field("", max_length=2000)


class ConsentVersionRead(BaseModel):
    id: int
    version: str
    effective_on: date
    items: list[str]
    reconsent_required: bool
    applies_to: str
    summary: str


class ConsentCreate(_In):
    version: str = Field(description="The consent form version signed")
    signed_on: date
    items: dict[str, bool] = Field({}, description="Each item the version asks: given or not")


class ConsentSignatureRead(BaseModel):
    id: int
    version: str
    signed_on: date
    items: dict[str, bool]
    recorded_by: str


class ConsentStatusRead(BaseModel):
    signatures: list[ConsentSignatureRead]
    items: dict[str, bool] = Field(description="The items as answered on the latest version")
    reconsent_due: str | None = Field(description="The version to re-consent to, if any")


class LongTermContactCreate(_In):
    done_on: date


class LongTermVisitsCreate(_In):
    first_year: int = Field(ge=1, le=30)
    last_year: int = Field(ge=1, le=30)
    contact_mode: str = Field("in_person", description="in_person, phone or questionnaire")
    requires: list[str] = Field([], description="isncsci, scim, wisci, ..., mri")
    window_days: int = Field(60, ge=0, le=365)
    reason: str = Field(min_length=1, max_length=1000)


class TimelineEntryRead(BaseModel):
    on: date | None
    kind: str = Field(description="visit, long-term visit, disposition, consent, ...")
    title: str
    detail: str
    state: str


class ExposureRead(BaseModel):
    participant_id: int
    study_id: str
    site_code: str
    administered_at: datetime
    dose_cells: int
    transplant_date: date | None
    lot_number: str
    lot_status: str
    manufactured_on: date
    ipsc_line: str
    donor_id: str | None
    disposition: str
