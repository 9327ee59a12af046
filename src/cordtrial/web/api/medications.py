"""Concomitant medication (issue 15): a participant's medications (recorded, corrected, stopped,
an interaction flag reviewed), the ATC list searched by name or code, and the trial's
medications flagged for an interaction with the immunosuppressant."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from cordtrial.trial.models import ConcomitantMedication
from cordtrial.trial.rules.medications import interaction_words, interactions_for
from cordtrial.trial.services.medications import (
    correct_medication,
    flagged_medications,
    list_medications,
    medication_flags,
    record_medication,
    review_medication,
    search_medications,
    stop_medication,
)
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep
from cordtrial.web.schemas_medications import (
    AtcEntryRead,
    FlaggedMedicationRead,
    MedicationCreate,
    MedicationRead,
    MedicationReview,
    MedicationStop,
    MedicationUpdate,
)

router = APIRouter(tags=["concomitant medication"])


def read_medication(medication: ConcomitantMedication) -> MedicationRead:
    """The API's view of a stored medication, with its flags in words."""
    return MedicationRead.model_validate(
        {
            **{c: getattr(medication, c) for c in MedicationRead.model_fields if
               hasattr(medication, c)},
            "ongoing": medication.stop_date is None,
            "interaction_flags": medication_flags(medication),
        }
    )  # fmt: skip


@router.get("/participants/{participant_id}/medications", response_model=list[MedicationRead])
def get_medications(
    participant_id: PathId, user: CurrentUser, session: SessionDep
) -> list[MedicationRead]:
    """The participant's concomitant medications, by start date."""
    return [read_medication(m) for m in list_medications(session, user, participant_id)]


@router.post(
    "/participants/{participant_id}/medications",
    response_model=MedicationRead,
    status_code=status.HTTP_201_CREATED,
)
def post_medication(
    participant_id: PathId, body: MedicationCreate, user: CurrentUser, session: SessionDep
) -> MedicationRead:
    """Record a concomitant medication; one known to change the immunosuppressant's level is
    flagged for review."""
    medication = record_medication(
        session, user, participant_id=participant_id, **body.model_dump()
    )
    return read_medication(medication)


@router.patch("/medications/{medication_id}", response_model=MedicationRead)
def patch_medication(
    medication_id: PathId, body: MedicationUpdate, user: CurrentUser, session: SessionDep
) -> MedicationRead:
    """Correct a medication (version and reason required; only the fields sent change)."""
    changes = body.model_dump(exclude_unset=True, exclude={"version", "reason"})
    medication = correct_medication(
        session, user, medication_id=medication_id, reason=body.reason,
        expected_version=body.version, **changes,
    )  # fmt: skip
    return read_medication(medication)


@router.post("/medications/{medication_id}/stop", response_model=MedicationRead)
def post_stop(
    medication_id: PathId, body: MedicationStop, user: CurrentUser, session: SessionDep
) -> MedicationRead:
    """Record that an ongoing medication was stopped (422 when already stopped)."""
    medication = stop_medication(
        session, user, medication_id=medication_id, stop_date=body.stop_date,
        expected_version=body.version,
    )  # fmt: skip
    return read_medication(medication)


@router.post("/medications/{medication_id}/review", response_model=MedicationRead)
def post_review(
    medication_id: PathId,
    body: MedicationReview,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
) -> MedicationRead:
    """Mark a medication flagged for an interaction as reviewed (investigators; 422 when not
    flagged)."""
    medication = review_medication(
        session, user, medication_id=medication_id, now=now, expected_version=body.version
    )
    return read_medication(medication)


@router.get("/medications/atc", response_model=list[AtcEntryRead])
def get_atc(
    user: CurrentUser,
    q: Annotated[str, Query(max_length=100, description="Part of a name or an ATC code")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[AtcEntryRead]:
    """The ATC list's entries whose name or code holds ``q``, with their interaction flags."""
    return [
        AtcEntryRead(
            atc_code=e.atc_code, name=e.name, group=e.group,
            interaction_flags=interaction_words(interactions_for(e.name, e.atc_code)),
        )
        for e in search_medications(user, q, limit)
    ]  # fmt: skip


@router.get("/trials/{protocol_id}/medications/flagged", response_model=list[FlaggedMedicationRead])
def get_flagged(
    protocol_id: str,
    user: CurrentUser,
    session: SessionDep,
    include_reviewed: bool = False,
) -> list[FlaggedMedicationRead]:
    """The trial's medications that may change the immunosuppressant's level, still flagged for
    review (and those reviewed, with ``include_reviewed``), at the sites the user may see."""
    return [
        FlaggedMedicationRead(
            study_id=f.study_id, site_code=f.site_code, medication=read_medication(f.medication)
        )
        for f in flagged_medications(session, user, protocol_id, include_reviewed=include_reviewed)
    ]
