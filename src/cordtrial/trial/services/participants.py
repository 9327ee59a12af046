"""Use cases: enrol participants, correct their data, assess and record their eligibility."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import (
    EligibilityAssessment,
    IsncsciExam,
    Participant,
    User,
    Visit,
)
from cordtrial.trial.rules.checks import check_choice, check_date, check_int, check_text
from cordtrial.trial.rules.eligibility import (
    EligibilityCriteria,
    EligibilityFacts,
    evaluate_eligibility,
    parse_level,
)
from cordtrial.trial.rules.identifiers import check_identifier, find_confusable
from cordtrial.trial.rules.vocabulary import INJURY_MECHANISMS, SEXES
from cordtrial.trial.services.common import check_version, get_by_id, get_trial, set_fields
from cordtrial.trial.services.labs import screening_lab_values, screening_window_end
from cordtrial.trial.services.reads import participant_for, visible_site
from cordtrial.trial.services.users import require_permission

__all__ = [
    "PARTICIPANT_FIELDS",
    "assess_eligibility",
    "enroll_participant",
    "update_participant",
]


def _check_field(name: str, value: Any) -> Any:
    if name == "injury_date":
        return check_date(name, value)
    if name == "injury_level":
        return parse_level(name, value).name
    if name == "injury_mechanism":
        return check_choice(name, value, INJURY_MECHANISMS)
    if name == "age_at_injury":
        return check_int(name, value, 0, 120)
    if name == "sex":
        return check_choice(name, value, SEXES)
    if name == "transplant_date":
        return None if value is None else check_date(name, value)
    raise InvalidValueError(
        "field", name, "one of " + ", ".join(sorted(PARTICIPANT_FIELDS)), "cannot be changed"
    )


#: The participant's data a use case may set or correct.
PARTICIPANT_FIELDS = frozenset(
    {"injury_date", "injury_level", "injury_mechanism", "age_at_injury", "sex", "transplant_date"}
)


def enroll_participant(
    session: Session,
    *,
    user: User,
    protocol_id: str,
    site_code: str,
    study_id: str,
    injury_date: date,
    injury_level: str,
    injury_mechanism: str,
    age_at_injury: int,
    sex: str,
    transplant_date: date | None = None,
) -> Participant:
    """Enrol a participant under a pseudonymous study id, with one visit per scheduled visit.

    No name, initials, birth date or contact data: the study id is the only identifier. It is
    NFKC-normalized and refused when it holds an invisible character, mixes scripts or could be
    mistaken for a study id of the trial (``A-001`` beside ``A-00l``: same confusable skeleton).
    ``user`` must be allowed to ``enrol`` at the site (a site they may not see is not found).
    """
    require_permission(user, "enrol")
    study_id = check_identifier("study_id", check_text("study_id", study_id, max_length=32))
    fields = {
        "injury_date": injury_date,
        "injury_level": injury_level,
        "injury_mechanism": injury_mechanism,
        "age_at_injury": age_at_injury,
        "sex": sex,
        "transplant_date": transplant_date,
    }
    checked = {name: _check_field(name, value) for name, value in fields.items()}
    if transplant_date is not None and transplant_date < injury_date:
        raise InvalidValueError(
            "transplant_date", transplant_date, "on or after the injury date", "is too early"
        )
    with unit_of_work(session, user.username):
        trial = get_trial(session, protocol_id)
        site = visible_site(session, user, protocol_id, site_code)
        require_permission(user, "enrol", site.id)
        existing = session.scalars(
            select(Participant.study_id).where(Participant.trial_id == trial.id)
        ).all()
        twin = find_confusable(study_id, existing)
        if twin is not None:
            raise InvalidValueError(
                "study_id",
                study_id,
                "a study id not yet used, nor one that looks like it",
                "exists" if twin == study_id else f"looks like the study id {twin!r}",
            )
        participant = Participant(trial=trial, site=site, study_id=study_id, **checked)
        participant.visits = [Visit(definition=d) for d in trial.visit_definitions]
        session.add(participant)
    return participant


def update_participant(
    session: Session,
    *,
    user: User,
    participant_id: int,
    reason: str,
    expected_version: int | None = None,
    **changes: Any,
) -> Participant:
    """Correct a participant's data (fields in :data:`PARTICIPANT_FIELDS`); the reason is
    required. ``expected_version`` refuses the change if someone else changed it first."""
    participant_for(session, user, "correct_data", participant_id)
    if not changes:
        raise InvalidValueError("changes", {}, "at least one field to change", "is empty")
    checked = {name: _check_field(name, value) for name, value in changes.items()}
    with unit_of_work(session, user.username, reason):
        participant = get_by_id(session, Participant, participant_id)
        check_version(participant, expected_version)
        set_fields(participant, checked)
        if participant.transplant_date is not None and (
            participant.transplant_date < participant.injury_date
        ):
            raise InvalidValueError(
                "transplant_date",
                participant.transplant_date,
                f"on or after the injury date {participant.injury_date.isoformat()}",
                "is too early",
            )
    return participant


def _screening_exam(
    session: Session, participant: Participant, assessed_on: date, exam_id: int | None
) -> IsncsciExam | None:
    if exam_id is not None:
        exam = get_by_id(session, IsncsciExam, exam_id)
        if exam.participant_id != participant.id:
            raise InvalidValueError(
                "exam_id", exam_id, f"an exam of participant {participant.study_id}", "is not"
            )
        return exam
    return session.scalars(
        select(IsncsciExam)
        .where(
            IsncsciExam.participant_id == participant.id,
            IsncsciExam.examined_on <= assessed_on,
            IsncsciExam.classification.is_not(None),
        )
        .order_by(IsncsciExam.examined_on.desc(), IsncsciExam.id.desc())
    ).first()


def assess_eligibility(
    session: Session,
    *,
    user: User,
    participant_id: int,
    assessed_on: date,
    exam_id: int | None = None,
) -> EligibilityAssessment:
    """Evaluate the trial's criteria for a participant and record the decision with its reasons.

    NLI and AIS come from ``exam_id`` or else the latest classified ISNCSCI exam on or before
    ``assessed_on``; laboratory limits from the latest results in the screening window
    (:func:`~cordtrial.trial.services.labs.screening_lab_values`). The criteria are copied into
    the record, as evaluated.
    """
    participant_for(session, user, "assess_eligibility", participant_id)
    check_date("assessed_on", assessed_on)
    with unit_of_work(session, user.username):
        participant = get_by_id(session, Participant, participant_id)
        criteria = EligibilityCriteria.from_json(participant.trial.eligibility)
        exam = _screening_exam(session, participant, assessed_on, exam_id)
        record = exam.classification if exam is not None else None
        facts = EligibilityFacts(
            age_at_injury=participant.age_at_injury,
            injury_mechanism=participant.injury_mechanism,
            injury_date=participant.injury_date,
            transplant_date=participant.transplant_date,
            nli=record["nli"] if record else None,
            ais=record["ais"] if record else None,
            labs=screening_lab_values(session, participant, criteria, assessed_on),
            lab_window_end=screening_window_end(participant, assessed_on),
        )
        decision = evaluate_eligibility(criteria, facts)
        assessment = EligibilityAssessment(
            participant_id=participant.id,
            assessed_on=assessed_on,
            assessed_by=user.username,
            eligible=decision.eligible,
            reasons=[r.to_json() for r in decision.reasons],
            criteria=criteria.to_json(),
            exam_id=exam.id if exam is not None else None,
        )
        session.add(assessment)
    return assessment
