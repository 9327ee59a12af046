"""Use cases of the long-term follow-up: a participant's disposition and its history, contact
attempts, and recording a long-term contact (see :mod:`cordtrial.trial.rules.follow_up`).

Each use case takes the acting user, checks the permission at the participant's site and writes
the audit trail under the user's name. A disposition change and a contact attempt are
append-only records: the history is the list of them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError, RuleViolationError
from cordtrial.trial.models import ContactAttempt, DispositionChange, Participant, User, Visit
from cordtrial.trial.rules.checks import check_date
from cordtrial.trial.rules.consent import require_consent
from cordtrial.trial.rules.follow_up import (
    ContactAttemptFacts,
    DispositionFacts,
    check_contact_attempt,
    check_disposition,
    check_transition,
)
from cordtrial.trial.rules.vocabulary import CONTACT_MODES, REMOTE_CONTACT_MODES
from cordtrial.trial.services.bulk import among
from cordtrial.trial.services.reads import visible_participant
from cordtrial.trial.services.users import require_permission

__all__ = [
    "current_disposition",
    "current_dispositions",
    "disposition_facts",
    "list_contact_attempts",
    "list_disposition_changes",
    "record_contact_attempt",
    "record_disposition",
    "record_long_term_contact",
]


def disposition_facts(change: DispositionChange) -> DispositionFacts:
    """A stored disposition change as the rules read it."""
    return DispositionFacts(
        change.status, change.effective_on, change.reason, change.data_use_allowed,
        change.recontact_allowed, change.death_date, change.death_cause, change.autopsy_asked,
        change.autopsy_done, change.death_related_to_product,
    )  # fmt: skip


def _changes(session: Session, participant_ids: Collection[int]) -> Sequence[DispositionChange]:
    return session.scalars(
        select(DispositionChange)
        .where(among(session, DispositionChange.participant_id, participant_ids))
        .order_by(DispositionChange.participant_id, DispositionChange.id)
    ).all()


def current_dispositions(
    session: Session, participant_ids: Collection[int]
) -> dict[int, DispositionFacts]:
    """The current disposition of each participant that has one (one query for them all)."""
    latest: dict[int, DispositionChange] = {}
    for change in _changes(session, participant_ids):
        latest[change.participant_id] = change
    return {pid: disposition_facts(c) for pid, c in latest.items()}


def current_disposition(session: Session, participant_id: int) -> DispositionFacts | None:
    """A participant's current disposition (None: none recorded, i.e. active)."""
    return current_dispositions(session, [participant_id]).get(participant_id)


def list_disposition_changes(
    session: Session, user: User, participant_id: int
) -> Sequence[DispositionChange]:
    """A participant's disposition history, oldest first."""
    participant = visible_participant(session, user, participant_id)
    require_permission(user, "read", participant.site_id)
    return _changes(session, [participant_id])


def list_contact_attempts(
    session: Session, user: User, participant_id: int
) -> Sequence[ContactAttempt]:
    """A participant's contact attempts, in the order recorded."""
    participant = visible_participant(session, user, participant_id)
    require_permission(user, "read", participant.site_id)
    return _attempts(session, participant_id)


def _attempts(session: Session, participant_id: int) -> Sequence[ContactAttempt]:
    return session.scalars(
        select(ContactAttempt)
        .where(ContactAttempt.participant_id == participant_id)
        .order_by(ContactAttempt.attempted_on, ContactAttempt.id)
    ).all()


def _consents(session: Session, participant: Participant) -> dict[str, bool]:
    from cordtrial.trial.services.consent import consent_items

    return consent_items(session, participant.id)


def record_disposition(
    session: Session,
    *,
    user: User,
    participant_id: int,
    facts: DispositionFacts,
    now: datetime | None = None,
) -> DispositionChange:
    """Record a change of a participant's disposition (``enter_data`` at the site).

    The fields are checked (:func:`~cordtrial.trial.rules.follow_up.check_disposition`), the
    transition must be allowed (:func:`~cordtrial.trial.rules.follow_up.check_transition`:
    lost to follow-up needs the unsuccessful contact attempts recorded first), and an autopsy
    recorded as done needs the participant's consent to autopsy (ConsentRequiredError).
    """
    participant = visible_participant(session, user, participant_id)
    require_permission(user, "enter_data", participant.site_id)
    checked = check_disposition(facts)
    current = current_disposition(session, participant_id)
    since = current.effective_on if current is not None else date.min
    failed = sum(
        1 for a in _attempts(session, participant_id)
        if a.attempted_on >= since
        and not ContactAttemptFacts(a.attempted_on, a.method, a.outcome).successful
    )  # fmt: skip
    try:
        check_transition(current, checked, unsuccessful_attempts=failed)
        if checked.autopsy_done:
            require_consent(
                participant.study_id, _consents(session, participant), "autopsy", "an autopsy"
            )
    except RuleViolationError:
        session.rollback()
        raise
    with unit_of_work(session, user.username, f"disposition: {checked.label}"):
        change = DispositionChange(
            participant_id=participant_id,
            status=checked.status,
            effective_on=checked.effective_on,
            reason=checked.reason,
            data_use_allowed=checked.data_use_allowed,
            recontact_allowed=checked.recontact_allowed,
            death_date=checked.death_date,
            death_cause=checked.death_cause,
            autopsy_asked=checked.autopsy_asked,
            autopsy_done=checked.autopsy_done,
            death_related_to_product=checked.death_related_to_product,
            recorded_by=user.username,
            recorded_at=now or datetime.now(UTC),
        )
        session.add(change)
    return change


def record_contact_attempt(
    session: Session,
    *,
    user: User,
    participant_id: int,
    facts: ContactAttemptFacts,
) -> ContactAttempt:
    """Record an attempt to reach a participant (``enter_data`` at the site); refused after a
    death, and after a withdrawal that does not allow re-contact."""
    participant = visible_participant(session, user, participant_id)
    require_permission(user, "enter_data", participant.site_id)
    checked = check_contact_attempt(facts)
    current = current_disposition(session, participant_id)
    if current is not None and (
        current.status == "died"
        or (current.status == "withdrawn" and not current.recontact_allowed)
    ):
        session.rollback()
        raise RuleViolationError(
            "contact attempt", [f"{participant.study_id} is {current.label}: no contact"]
        )
    with unit_of_work(session, user.username, "contact attempt recorded"):
        attempt = ContactAttempt(
            participant_id=participant_id,
            attempted_on=checked.attempted_on,
            method=checked.method,
            outcome=checked.outcome,
            note=checked.note,
            recorded_by=user.username,
        )
        session.add(attempt)
    return attempt


def record_long_term_contact(
    session: Session,
    *,
    user: User,
    participant_id: int,
    visit_name: str,
    done_on: date,
) -> Visit:
    """Record that a long-term visit took place on ``done_on`` (``enter_data`` at the site).

    Refused (RuleViolationError) for a visit of the main study, after a death, after a
    withdrawal without re-contact, for an in-person visit after a withdrawal that allows only
    remote contact; and (ConsentRequiredError) without the participant's consent to long-term
    contact.
    """
    from cordtrial.trial.services.visits import find_visit

    check_date("done_on", done_on)
    participant = visible_participant(session, user, participant_id)
    require_permission(user, "enter_data", participant.site_id)
    visit = find_visit(participant, visit_name)
    mode = visit.definition.contact_mode or "in_person"
    what = f"a long-term {CONTACT_MODES[mode]} contact ({visit_name})"
    reasons = []
    if not visit.definition.long_term:
        session.rollback()
        raise InvalidValueError(
            "visit", visit_name, "a visit of the long-term follow-up", "is of the main study"
        )
    current = current_disposition(session, participant_id)
    if current is not None and current.status == "died":
        reasons.append(f"{participant.study_id} {current.label}")
    elif current is not None and current.status == "withdrawn":
        if not current.recontact_allowed:
            reasons.append(f"{participant.study_id} withdrew without re-contact")
        elif mode not in REMOTE_CONTACT_MODES:
            reasons.append(f"{participant.study_id} withdrew: remote contact only")
    if reasons:
        session.rollback()
        raise RuleViolationError("long-term contact", reasons)
    try:
        require_consent(
            participant.study_id, _consents(session, participant), "long_term_contact", what
        )
    except RuleViolationError:
        session.rollback()
        raise
    with unit_of_work(
        session, user.username, f"long-term contact recorded ({CONTACT_MODES[mode]})"
    ):
        visit.done_on = done_on
    return visit
