"""Participants, their eligibility and randomization (visits: :mod:`.visits`). Participants at
sites the user may not see are answered 404, like those that do not exist."""

from fastapi import APIRouter, status

from cordtrial.trial.services.participants import (
    assess_eligibility,
    enroll_participant,
    update_participant,
)
from cordtrial.trial.services.randomization import randomize
from cordtrial.trial.services.reads import (
    list_eligibility,
    list_participants,
    visible_participant,
)
from cordtrial.web.deps import CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import (
    ArmRead,
    EligibilityAssessmentCreate,
    EligibilityAssessmentRead,
    ParticipantCreate,
    ParticipantRead,
    ParticipantUpdate,
)

router = APIRouter(tags=["participants"])


@router.get("/trials/{protocol_id}/participants", response_model=list[ParticipantRead])
def get_participants(
    protocol_id: str, user: CurrentUser, session: SessionDep
) -> list[ParticipantRead]:
    """The trial's participants at the user's sites."""
    return [
        ParticipantRead.model_validate(p) for p in list_participants(session, user, protocol_id)
    ]


@router.post("/participants", response_model=ParticipantRead, status_code=status.HTTP_201_CREATED)
def post_participant(
    body: ParticipantCreate, user: CurrentUser, session: SessionDep
) -> ParticipantRead:
    """Enrol a participant at a site (pseudonymous study id only)."""
    participant = enroll_participant(session, user=user, **body.model_dump())
    return ParticipantRead.model_validate(participant)


@router.get("/participants/{participant_id}", response_model=ParticipantRead)
def get_participant(
    participant_id: PathId, user: CurrentUser, session: SessionDep
) -> ParticipantRead:
    """A participant."""
    participant = visible_participant(session, user, participant_id)
    return ParticipantRead.model_validate(participant)


@router.patch("/participants/{participant_id}", response_model=ParticipantRead)
def patch_participant(
    participant_id: PathId, body: ParticipantUpdate, user: CurrentUser, session: SessionDep
) -> ParticipantRead:
    """Correct a participant's data (version and reason required)."""
    changes = body.model_dump(exclude_unset=True, exclude={"version", "reason"})
    updated = update_participant(
        session,
        user=user,
        participant_id=participant_id,
        reason=body.reason,
        expected_version=body.version,
        **changes,
    )
    return ParticipantRead.model_validate(updated)


@router.get(
    "/participants/{participant_id}/eligibility",
    response_model=list[EligibilityAssessmentRead],
)
def get_eligibility(
    participant_id: PathId, user: CurrentUser, session: SessionDep
) -> list[EligibilityAssessmentRead]:
    """The participant's eligibility assessments, with every criterion's reason."""
    rows = list_eligibility(session, user, participant_id)
    return [EligibilityAssessmentRead.model_validate(r) for r in rows]


@router.post(
    "/participants/{participant_id}/eligibility",
    response_model=EligibilityAssessmentRead,
    status_code=status.HTTP_201_CREATED,
)
def post_eligibility(
    participant_id: PathId,
    body: EligibilityAssessmentCreate,
    user: CurrentUser,
    session: SessionDep,
) -> EligibilityAssessmentRead:
    """Evaluate the trial's eligibility criteria and record the decision with its reasons."""
    assessment = assess_eligibility(
        session,
        user=user,
        participant_id=participant_id,
        assessed_on=body.assessed_on,
        exam_id=body.exam_id,
    )
    return EligibilityAssessmentRead.model_validate(assessment)


@router.post("/participants/{participant_id}/randomization", response_model=ArmRead)
def post_randomization(participant_id: PathId, user: CurrentUser, session: SessionDep) -> ArmRead:
    """Assign an eligible participant to the next concealed allocation of their stratum."""
    return ArmRead.model_validate(randomize(session, user=user, participant_id=participant_id))
