"""Use cases of informed consent: a trial's consent form versions, participants' signatures,
the consent items each participant gave and the re-consent due (see
:mod:`cordtrial.trial.rules.consent`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import InvalidValueError, NotFoundError
from cordtrial.trial.models import ConsentSignature, ConsentVersion, Participant, User
from cordtrial.trial.rules.checks import check_date
from cordtrial.trial.rules.consent import (
    ConsentVersionFacts,
    SignedConsent,
    check_consent_items,
    check_consent_version,
    consent_items_given,
    reconsent_due,
)
from cordtrial.trial.rules.follow_up import DispositionFacts
from cordtrial.trial.services.bulk import among
from cordtrial.trial.services.common import get_trial
from cordtrial.trial.services.reads import visible_participant
from cordtrial.trial.services.users import require_permission

__all__ = [
    "ConsentStatus",
    "add_consent_version",
    "consent_items",
    "consent_statuses",
    "list_consent_versions",
    "list_consents",
    "record_consent",
]


def version_facts(v: ConsentVersion) -> ConsentVersionFacts:
    """A stored consent form version as the rules read it."""
    return ConsentVersionFacts(
        v.form_version, v.effective_on, tuple(v.items), v.reconsent_required, v.applies_to,
        v.summary,
    )  # fmt: skip


def add_consent_version(
    session: Session, *, user: User, protocol_id: str, facts: ConsentVersionFacts
) -> ConsentVersion:
    """Add a version of a trial's consent form (``manage_trial``)."""
    require_permission(user, "manage_trial")
    checked = check_consent_version(facts)
    trial = get_trial(session, protocol_id)
    taken = session.scalars(
        select(ConsentVersion.form_version).where(ConsentVersion.trial_id == trial.id)
    ).all()
    if checked.version in taken:
        session.rollback()
        raise InvalidValueError("version", checked.version, "a version not yet added", "exists")
    with unit_of_work(session, user.username):
        version = ConsentVersion(
            trial_id=trial.id,
            form_version=checked.version,
            effective_on=checked.effective_on,
            items=list(checked.items),
            reconsent_required=checked.reconsent_required,
            applies_to=checked.applies_to,
            summary=checked.summary,
        )
        session.add(version)
    return version


def list_consent_versions(
    session: Session, protocol_id: str, user: User | None = None
) -> Sequence[ConsentVersion]:
    """A trial's consent form versions, by effective date (``user``: checked to read)."""
    if user is not None:
        require_permission(user, "read")
    trial = get_trial(session, protocol_id)
    return session.scalars(
        select(ConsentVersion)
        .where(ConsentVersion.trial_id == trial.id)
        .order_by(ConsentVersion.effective_on, ConsentVersion.id)
    ).all()


def _signatures(session: Session, participant_ids: Collection[int]) -> Sequence[ConsentSignature]:
    return session.scalars(
        select(ConsentSignature)
        .where(among(session, ConsentSignature.participant_id, participant_ids))
        .options(selectinload(ConsentSignature.consent_version))
        .order_by(ConsentSignature.signed_on, ConsentSignature.id)
    ).all()


def _signed(s: ConsentSignature) -> SignedConsent:
    return SignedConsent(
        s.consent_version.form_version, s.consent_version.effective_on, s.signed_on,
        dict(s.items),
    )  # fmt: skip


def list_consents(session: Session, user: User, participant_id: int) -> Sequence[ConsentSignature]:
    """A participant's consent signatures, oldest first."""
    participant = visible_participant(session, user, participant_id)
    require_permission(user, "read", participant.site_id)
    return _signatures(session, [participant_id])


def consent_items(session: Session, participant_id: int) -> dict[str, bool]:
    """The consent items as the participant answered them on the latest version signed."""
    return consent_items_given([_signed(s) for s in _signatures(session, [participant_id])])


def record_consent(
    session: Session,
    *,
    user: User,
    participant_id: int,
    version: str,
    signed_on: date,
    items: Mapping[str, object],
) -> ConsentSignature:
    """Record a participant's signature of a consent form version with the answer to each item
    the version asks (``enter_data`` at the site); not before the version is effective."""
    participant = visible_participant(session, user, participant_id)
    require_permission(user, "enter_data", participant.site_id)
    form = session.scalars(
        select(ConsentVersion).where(
            ConsentVersion.trial_id == participant.trial_id,
            ConsentVersion.form_version == version,
        )
    ).first()
    if form is None:
        session.rollback()
        raise NotFoundError("consent_version", version)
    facts = version_facts(form)
    check_date("signed_on", signed_on, not_before=form.effective_on)
    answers = check_consent_items(facts, items)
    with unit_of_work(session, user.username, f"consent form {version} signed"):
        signature = ConsentSignature(
            participant_id=participant_id,
            consent_version_id=form.id,
            signed_on=signed_on,
            items=answers,
            recorded_by=user.username,
        )
        session.add(signature)
    return signature


@dataclass(frozen=True, slots=True)
class ConsentStatus:
    """Where a participant's consent stands: versions signed, the items given or refused, and
    the version to re-consent to (None: none due)."""

    signed: tuple[SignedConsent, ...]
    items: dict[str, bool]
    reconsent_due: ConsentVersionFacts | None


def consent_statuses(
    session: Session,
    participants: Sequence[Participant],
    today: date,
    dispositions: Mapping[int, DispositionFacts] | None = None,
) -> dict[int, ConsentStatus]:
    """The consent status of each participant (a fixed number of queries, however many);
    ``dispositions``: their current dispositions when the caller has read them already."""
    from cordtrial.trial.services.disposition import current_dispositions

    ids = [p.id for p in participants]
    trials = {p.trial_id for p in participants}
    versions: dict[int, list[ConsentVersionFacts]] = {t: [] for t in trials}
    for v in session.scalars(select(ConsentVersion).where(ConsentVersion.trial_id.in_(trials))):
        versions[v.trial_id].append(version_facts(v))
    signed: dict[int, list[SignedConsent]] = {pid: [] for pid in ids}
    for s in _signatures(session, ids):
        signed[s.participant_id].append(_signed(s))
    if dispositions is None:
        dispositions = current_dispositions(session, ids)
    return {
        p.id: ConsentStatus(
            tuple(signed[p.id]),
            consent_items_given(signed[p.id]),
            reconsent_due(versions[p.trial_id], signed[p.id], today, dispositions.get(p.id)),
        )
        for p in participants
    }
