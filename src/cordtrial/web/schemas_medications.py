"""API schemas of concomitant medication (issue 15), kept beside :mod:`.schemas` with the same
conventions (``XCreate`` in, ``XRead`` out, ``XUpdate`` with version and reason)."""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from cordtrial.trial.rules.checks import MAX_REASON_LENGTH
from cordtrial.trial.rules.medications import Route

__all__ = [
    "AtcEntryRead",
    "FlaggedMedicationRead",
    "MedicationCreate",
    "MedicationRead",
    "MedicationReview",
    "MedicationStop",
    "MedicationUpdate",
]

_Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="The version the client edited")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MedicationCreate(_In):
    name: str = Field(max_length=200, examples=["baclofen"])
    atc_code: str | None = Field(None, max_length=16, examples=["M03BX01"])
    dose: float | None = Field(None, examples=[10])
    dose_unit: str | None = Field(None, max_length=20, examples=["mg"])
    route: Route
    frequency: str = Field(max_length=60, examples=["three times daily"])
    indication: str = Field(max_length=200, examples=["spasticity"])
    start_date: date
    stop_date: date | None = Field(None, description="None: ongoing")


class MedicationUpdate(_In):
    version: _Version
    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)
    name: str | None = Field(None, max_length=200)
    atc_code: str | None = Field(None, max_length=16)
    dose: float | None = None
    dose_unit: str | None = Field(None, max_length=20)
    route: Route | None = None
    frequency: str | None = Field(None, max_length=60)
    indication: str | None = Field(None, max_length=200)
    start_date: date | None = None
    stop_date: date | None = None


class MedicationStop(_In):
    version: _Version
    stop_date: date


class MedicationReview(_In):
    version: _Version


class MedicationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    participant_id: int
    name: str
    atc_code: str | None
    dose: float | None
    dose_unit: str | None
    route: str
    frequency: str
    indication: str
    start_date: date
    stop_date: date | None
    ongoing: bool = Field(description="True while no stop date is recorded")
    interaction_review: str | None = Field(
        description="flagged (for an investigator's review), reviewed, or none (no known "
        "interaction with the immunosuppressant)"
    )
    interaction_flags: list[str] = Field(
        description="The interactions in words, e.g. 'May raise tacrolimus levels: check trough'"
    )
    reviewed_by: str | None
    reviewed_at: datetime | None


class FlaggedMedicationRead(BaseModel):
    study_id: str
    site_code: str
    medication: MedicationRead


class AtcEntryRead(BaseModel):
    atc_code: str
    name: str
    group: str
    interaction_flags: list[str]
