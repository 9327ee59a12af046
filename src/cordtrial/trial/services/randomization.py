"""Use cases: store a concealed allocation list; randomize an eligible participant.

Concealment: the list's arms are in the database (the unblinded statistician's copy is the seed)
but no use case reads the arm of a slot before it is assigned, and the audit trail holds only a
salted hash of each unassigned arm. Assignment takes the next free slot of the participant's
stratum, in list order.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import RandomizationError
from cordtrial.trial.models import (
    AllocationList,
    AllocationSlot,
    Arm,
    EligibilityAssessment,
    Participant,
    User,
)
from cordtrial.trial.rules.randomization import (
    generate_allocation_list,
    seed_sha256,
    stratum_key,
)
from cordtrial.trial.services.common import get_trial
from cordtrial.trial.services.reads import participant_for
from cordtrial.trial.services.users import require_permission

__all__ = ["create_allocation_list", "injury_region", "randomize", "stratum_of"]


def injury_region(level: str) -> str:
    """``cervical``, ``thoracic`` or ``lumbosacral`` for a level name."""
    return {"C": "cervical", "T": "thoracic"}.get(level[:1].upper(), "lumbosacral")


def stratum_of(participant: Participant) -> str:
    """The participant's stratum under the trial's stratification factors."""
    values = {
        "site": participant.site.code,
        "sex": participant.sex,
        "injury_region": injury_region(participant.injury_level),
    }
    return stratum_key(values, participant.trial.strata_factors)


def create_allocation_list(
    session: Session,
    *,
    user: User,
    protocol_id: str,
    seed: str,
    strata: Sequence[str],
    block_sizes: Sequence[int],
    per_stratum: int,
) -> AllocationList:
    """Generate and store a stratified permuted-block list for a trial (see
    rules.randomization); only the seed's SHA-256 is stored."""
    require_permission(user, "manage_trial")
    trial = get_trial(session, protocol_id)
    arms = {arm.code: arm.ratio for arm in trial.arms}
    allocations = generate_allocation_list(seed, arms, strata, block_sizes, per_stratum)
    with unit_of_work(session, user.username):
        allocation_list = AllocationList(
            trial_id=trial.id,
            block_sizes=sorted(block_sizes),
            strata=list(strata),
            seed_sha256=seed_sha256(seed),
        )
        allocation_list.slots = [
            AllocationSlot(
                stratum=a.stratum,
                position=a.position,
                block=a.block,
                arm_code=a.arm,
                salt=secrets.token_hex(16),
            )
            for a in allocations
        ]
        session.add(allocation_list)
    return allocation_list


def randomize(session: Session, *, user: User, participant_id: int) -> Arm:
    """Assign an eligible participant to the next concealed allocation of their stratum.

    Refused (RandomizationError) when the latest eligibility assessment is missing or not
    eligible, the participant is already assigned, or the stratum's list is used up.
    """
    participant = participant_for(session, user, "randomize", participant_id)
    latest = session.scalars(
        select(EligibilityAssessment)
        .where(EligibilityAssessment.participant_id == participant.id)
        .order_by(EligibilityAssessment.assessed_on.desc(), EligibilityAssessment.id.desc())
    ).first()
    problems = []
    if latest is None:
        problems.append(f"participant {participant.study_id} has no eligibility assessment")
    elif not latest.eligible:
        problems.append(f"participant {participant.study_id} is not eligible")
    if participant.arm_id is not None:
        problems.append(f"participant {participant.study_id} is already randomized")
    stratum = stratum_of(participant)
    slot = session.scalars(
        select(AllocationSlot)
        .join(AllocationList)
        .where(
            AllocationList.trial_id == participant.trial_id,
            AllocationSlot.stratum == stratum,
            AllocationSlot.participant_id.is_(None),
        )
        .order_by(AllocationList.id, AllocationSlot.position)
    ).first()
    if slot is None and not problems:
        problems.append(f"no free allocation left in stratum {stratum}")
    if problems or slot is None:
        session.rollback()
        raise RandomizationError("randomization", problems)
    arm = next(a for a in participant.trial.arms if a.code == slot.arm_code)
    why = f"randomized: stratum {stratum}, position {slot.position}"
    with unit_of_work(session, user.username, why):
        slot.participant_id = participant.id
        slot.assigned_at = datetime.now(UTC)
        participant.arm = arm
    return arm
