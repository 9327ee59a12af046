"""Use cases: set up a trial (arms, visit schedule, eligibility criteria) and its sites."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import Arm, Participant, Site, Trial, User, Visit, VisitDefinition
from cordtrial.trial.rules.checks import check_choice, check_int, check_text
from cordtrial.trial.rules.eligibility import EligibilityCriteria
from cordtrial.trial.rules.identifiers import check_path_id
from cordtrial.trial.rules.schedule import VisitSpec, check_schedule
from cordtrial.trial.rules.vocabulary import PHASES
from cordtrial.trial.services.common import check_version, get_trial
from cordtrial.trial.services.users import require_permission

__all__ = [
    "STRATA_FACTORS",
    "ArmSpec",
    "add_long_term_visits",
    "add_site",
    "amend_eligibility",
    "create_trial",
    "set_coordinators_see_stopping_rule",
]

#: Participant attributes a trial may stratify its randomization by.
STRATA_FACTORS = frozenset({"site", "sex", "injury_region"})


@dataclass(frozen=True, slots=True)
class ArmSpec:
    """A treatment arm: code, name and allocation ratio."""

    code: str
    name: str
    ratio: int = 1

    def __post_init__(self) -> None:
        check_text("arm.code", self.code, max_length=32)
        check_text("arm.name", self.name)
        check_int("arm.ratio", self.ratio, 1, 20)


def create_trial(
    session: Session,
    *,
    user: User,
    protocol_id: str,
    title: str,
    phase: str,
    arms: Sequence[ArmSpec],
    visits: Sequence[VisitSpec],
    eligibility: EligibilityCriteria | None = None,
    strata_factors: Sequence[str] = (),
    coordinators_see_stopping_rule: bool = False,
) -> Trial:
    """Create a trial with its arms, visit schedule and eligibility criteria (default: those of
    :class:`EligibilityCriteria`); ``coordinators_see_stopping_rule`` when the protocol lets
    site coordinators see the trial-wide safety stopping rule (off by default)."""
    require_permission(user, "manage_trial")
    protocol_id = check_path_id(
        "protocol_id", check_text("protocol_id", protocol_id, max_length=64)
    )
    title = check_text("title", title, max_length=500)
    check_choice("phase", phase, PHASES)
    if not arms:
        raise InvalidValueError("arms", [], "at least one arm", "is empty")
    codes = [a.code for a in arms]
    if len(set(codes)) != len(codes):
        raise InvalidValueError("arms", codes, "distinct arm codes", "repeats a code")
    schedule = check_schedule(visits)
    for factor in strata_factors:
        check_choice("strata_factors", factor, STRATA_FACTORS)
    criteria = eligibility if eligibility is not None else EligibilityCriteria()
    with unit_of_work(session, user.username):
        trial = Trial(
            protocol_id=protocol_id,
            title=title,
            phase=phase,
            eligibility=criteria.to_json(),
            strata_factors=list(strata_factors),
            coordinators_see_stopping_rule=coordinators_see_stopping_rule,
        )
        trial.arms = [Arm(code=a.code, name=a.name, ratio=a.ratio) for a in arms]
        trial.visit_definitions = [
            VisitDefinition(
                name=v.name,
                target_day=v.target_day,
                window_minus=v.window_minus,
                window_plus=v.window_plus,
                requires=list(v.requires),
                contact_mode=v.contact_mode,
                long_term=v.long_term,
            )
            for v in schedule
        ]
        session.add(trial)
    return trial


def add_site(session: Session, *, user: User, protocol_id: str, code: str, name: str) -> Site:
    """Add a clinical site to a trial."""
    require_permission(user, "manage_trial")
    code = check_text("code", code, max_length=32)
    name = check_text("name", name)
    with unit_of_work(session, user.username):
        trial = get_trial(session, protocol_id)
        if any(s.code == code for s in trial.sites):
            raise InvalidValueError(
                "code", code, "a site code not yet used in this trial", "exists"
            )
        site = Site(trial=trial, code=code, name=name)
        session.add(site)
    return site


def amend_eligibility(
    session: Session,
    *,
    user: User,
    protocol_id: str,
    criteria: EligibilityCriteria,
    reason: str,
    expected_version: int | None = None,
) -> Trial:
    """Replace a trial's eligibility criteria (a protocol amendment: the reason is required)."""
    require_permission(user, "manage_trial")
    with unit_of_work(session, user.username, reason):
        trial = get_trial(session, protocol_id)
        check_version(trial, expected_version)
        trial.eligibility = criteria.to_json()
    return trial


def set_coordinators_see_stopping_rule(
    session: Session,
    *,
    user: User,
    protocol_id: str,
    visible: bool,
    reason: str,
    expected_version: int | None = None,
) -> Trial:
    """Whether site coordinators see the trial-wide safety stopping rule on the dashboard (the
    protocol's or the monitoring committee charter's decision: a change needs a reason)."""
    require_permission(user, "manage_trial")
    with unit_of_work(session, user.username, reason):
        trial = get_trial(session, protocol_id)
        check_version(trial, expected_version)
        trial.coordinators_see_stopping_rule = visible
    return trial


def add_long_term_visits(
    session: Session,
    *,
    user: User,
    protocol_id: str,
    visits: Sequence[VisitSpec],
    reason: str,
) -> list[VisitDefinition]:
    """Extend a trial's schedule past the main study with long-term visits (a protocol
    amendment: ``manage_trial``, a reason), each marked long-term; every participant already
    enrolled gets the new visits."""
    require_permission(user, "manage_trial")
    reason = check_text("reason", reason, max_length=1000)
    specs = check_schedule(visits)
    with unit_of_work(session, user.username, reason):
        trial = get_trial(session, protocol_id)
        taken = {d.name for d in trial.visit_definitions}
        for spec in specs:
            if spec.name in taken:
                raise InvalidValueError(
                    "visits", spec.name, "a visit name not yet in the schedule", "exists"
                )
        added = [
            VisitDefinition(
                trial=trial,
                name=v.name,
                target_day=v.target_day,
                window_minus=v.window_minus,
                window_plus=v.window_plus,
                requires=list(v.requires),
                contact_mode=v.contact_mode,
                long_term=True,
            )
            for v in specs
        ]
        session.add_all(added)
        session.flush()
        participants = session.scalars(select(Participant).where(Participant.trial_id == trial.id))
        for participant in participants:
            session.add_all(Visit(participant=participant, definition=d) for d in added)
    return added
