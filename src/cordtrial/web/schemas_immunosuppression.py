"""API schemas of immunosuppression (issue 15): the protocol's regimen, a participant's course
with its dose changes, interruptions and stop, trough levels. Kept beside :mod:`.schemas` (same
conventions: ``XCreate`` in, ``XRead`` out)."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CourseCreate",
    "CourseRead",
    "CourseStop",
    "DoseChangeCreate",
    "DoseChangeRead",
    "InterruptionCreate",
    "InterruptionRead",
    "OutOfRangeRead",
    "RegimenRead",
    "RegimenUpdate",
    "TaperStepBody",
    "TargetRangeBody",
    "TroughCreate",
    "TroughRead",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TaperStepBody(_In):
    day: int = Field(description="Days since the transplant from which the dose applies")
    dose: float


class TargetRangeBody(_In):
    from_day: int = Field(description="First day (since the transplant) the range applies")
    until_day: int | None = Field(None, description="First day it no longer applies (none: open)")
    low: float
    high: float


class RegimenUpdate(_In):
    dose: float = Field(description="Planned dose, in dose_unit")
    dose_unit: str = Field(description="mg/d or mg/kg/d")
    route: str = Field(description="oral, sublingual or intravenous")
    start_day: int = Field(description="Start, days relative to the transplant")
    planned_stop_day: int | None = None
    taper: list[TaperStepBody] = Field(default_factory=list, max_length=50)
    targets: list[TargetRangeBody] = Field(default_factory=list, max_length=20)
    target_unit: str = Field("ng/mL", description="UCUM unit of the trough targets")
    source: str = Field(description="Where the regimen and targets come from")
    reason: str | None = Field(None, description="Why a regimen already set is changed")


class RegimenRead(_Out):
    id: int
    version: int
    drug: str
    dose: float
    dose_unit: str
    route: str
    start_day: int
    planned_stop_day: int | None
    taper: list[TaperStepBody]
    targets: list[TargetRangeBody]
    target_unit: str
    source: str


class CourseCreate(_In):
    drug: str = "tacrolimus"
    started_on: date
    start_dose: float
    dose_unit: str = "mg/d"


class DoseChangeCreate(_In):
    changed_on: date
    dose: float
    reason: str


class DoseChangeRead(_Out):
    id: int
    course_id: int
    changed_on: date
    dose: float
    reason: str


class InterruptionCreate(_In):
    from_date: date
    to_date: date | None = Field(None, description="Last day without drug (none: not resumed)")
    reason: str


class InterruptionRead(_Out):
    id: int
    course_id: int
    from_date: date
    to_date: date | None
    reason: str


class CourseStop(_In):
    stopped_on: date = Field(description="The first day without drug")
    reason: str = Field(description="planned, toxicity, infection, rejection_suspicion or other")
    note: str = ""
    correction_reason: str | None = Field(None, description="Why a recorded stop is changed")


class TroughCreate(_In):
    sampled_at: datetime = Field(description="Sample date and time, with a time zone")
    hours_since_dose: float
    value: float
    unit: str = Field(description="UCUM unit as reported (ng/mL, ug/L, nmol/L ...)")


class TroughRead(_Out):
    id: int
    course_id: int
    participant_id: int
    sampled_at: datetime
    hours_since_dose: float
    entered_value: float
    entered_unit: str
    value: float = Field(description="In the regimen's target unit")
    target_low: float | None = Field(description="The target range in force that day")
    target_high: float | None
    flag: str = Field(description="below, in_range, above or no_target")


class CourseRead(_Out):
    id: int
    version: int
    participant_id: int
    drug: str
    started_on: date
    start_dose: float
    dose_unit: str
    stopped_on: date | None
    stop_reason: str | None
    stop_note: str | None
    exposure_days: int
    dose_changes: list[DoseChangeRead]
    interruptions: list[InterruptionRead]
    troughs: list[TroughRead]


class OutOfRangeRead(_Out):
    participant_id: int
    study_id: str
    site_code: str
    drug: str
    unit: str
    trough: TroughRead
