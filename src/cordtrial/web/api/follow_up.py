"""Long-term follow-up (issue 14): a participant's disposition and its history, contact
attempts, consent (the trial's form versions, the participant's signatures and items), long-term
contacts, the long-term timeline; the trial's long-term schedule; the product look-back."""

from dataclasses import asdict
from datetime import date

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import ConsentVersion, User
from cordtrial.trial.rules.consent import ConsentVersionFacts
from cordtrial.trial.rules.follow_up import ContactAttemptFacts, DispositionFacts, yearly_visits
from cordtrial.trial.services.consent import (
    add_consent_version,
    consent_statuses,
    list_consent_versions,
    list_consents,
    record_consent,
)
from cordtrial.trial.services.disposition import (
    list_contact_attempts,
    list_disposition_changes,
    record_contact_attempt,
    record_disposition,
    record_long_term_contact,
)
from cordtrial.trial.services.look_back import look_back, product_chain
from cordtrial.trial.services.reads import visible_participant
from cordtrial.trial.services.timeline import participant_timeline
from cordtrial.trial.services.trials import add_long_term_visits
from cordtrial.trial.services.visits import visit_schedule
from cordtrial.web.api.visits import visit_read
from cordtrial.web.deps import Clock, CurrentUser, PathId, SessionDep
from cordtrial.web.schemas import VisitRead
from cordtrial.web.schemas_follow_up import (
    ConsentCreate,
    ConsentSignatureRead,
    ConsentStatusRead,
    ConsentVersionCreate,
    ConsentVersionRead,
    ContactAttemptCreate,
    ContactAttemptRead,
    DispositionChangeRead,
    DispositionCreate,
    DispositionRead,
    ExposureRead,
    LongTermContactCreate,
    LongTermVisitsCreate,
    TimelineEntryRead,
)

router = APIRouter(tags=["follow-up"])
_CREATED = status.HTTP_201_CREATED


def _disposition(session: Session, user: User, participant_id: int) -> DispositionRead:
    from cordtrial.trial.services.disposition import disposition_facts

    history = list_disposition_changes(session, user, participant_id)
    current = disposition_facts(history[-1]) if history else None
    return DispositionRead(
        status=current.status if current else "active",
        label=current.label if current else "active",
        history=[DispositionChangeRead.model_validate(c) for c in history],
    )


@router.get("/participants/{participant_id}/disposition", response_model=DispositionRead)
def get_disposition(
    participant_id: PathId, user: CurrentUser, session: SessionDep
) -> DispositionRead:
    """The participant's current disposition and its history (oldest first)."""
    return _disposition(session, user, participant_id)


@router.post(
    "/participants/{participant_id}/disposition",
    response_model=DispositionRead,
    status_code=_CREATED,
)
def post_disposition(
    participant_id: PathId,
    body: DispositionCreate,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
) -> DispositionRead:
    """Record a change of disposition (audited). Refused (422) when the transition is not
    allowed, a required field is missing, lost to follow-up comes before three unsuccessful
    contact attempts, or an autopsy is recorded without the participant's consent to it."""
    record_disposition(
        session,
        user=user,
        participant_id=participant_id,
        facts=DispositionFacts(**body.model_dump()),
        now=now,
    )
    return _disposition(session, user, participant_id)


@router.get(
    "/participants/{participant_id}/contact-attempts", response_model=list[ContactAttemptRead]
)
def get_contact_attempts(
    participant_id: PathId, user: CurrentUser, session: SessionDep
) -> list[ContactAttemptRead]:
    """The attempts made to reach the participant."""
    attempts = list_contact_attempts(session, user, participant_id)
    return [ContactAttemptRead.model_validate(a) for a in attempts]


@router.post(
    "/participants/{participant_id}/contact-attempts",
    response_model=ContactAttemptRead,
    status_code=_CREATED,
)
def post_contact_attempt(
    participant_id: PathId, body: ContactAttemptCreate, user: CurrentUser, session: SessionDep
) -> ContactAttemptRead:
    """Record an attempt to reach the participant (date, method, outcome)."""
    attempt = record_contact_attempt(
        session,
        user=user,
        participant_id=participant_id,
        facts=ContactAttemptFacts(**body.model_dump()),
    )
    return ContactAttemptRead.model_validate(attempt)


def _version_read(v: ConsentVersion) -> ConsentVersionRead:
    return ConsentVersionRead(
        id=v.id,
        version=v.form_version,
        effective_on=v.effective_on,
        items=list(v.items),
        reconsent_required=v.reconsent_required,
        applies_to=v.applies_to,
        summary=v.summary,
    )


@router.get("/trials/{protocol_id}/consent-versions", response_model=list[ConsentVersionRead])
def get_consent_versions(
    protocol_id: str, user: CurrentUser, session: SessionDep
) -> list[ConsentVersionRead]:
    """The trial's consent form versions, by effective date."""
    return [_version_read(v) for v in list_consent_versions(session, protocol_id, user)]


@router.post(
    "/trials/{protocol_id}/consent-versions",
    response_model=ConsentVersionRead,
    status_code=_CREATED,
)
def post_consent_version(
    protocol_id: str, body: ConsentVersionCreate, user: CurrentUser, session: SessionDep
) -> ConsentVersionRead:
    """Add a consent form version (administrators)."""
    facts = ConsentVersionFacts(
        body.version,
        body.effective_on,
        tuple(body.items),
        body.reconsent_required,
        body.applies_to,
        body.summary,
    )
    return _version_read(
        add_consent_version(session, user=user, protocol_id=protocol_id, facts=facts)
    )


def _consents(session: Session, user: User, participant_id: int, today: date) -> ConsentStatusRead:
    participant = visible_participant(session, user, participant_id)
    signatures = list_consents(session, user, participant_id)
    state = consent_statuses(session, [participant], today)[participant.id]
    return ConsentStatusRead(
        signatures=[
            ConsentSignatureRead(
                id=s.id,
                version=s.consent_version.form_version,
                signed_on=s.signed_on,
                items=dict(s.items),
                recorded_by=s.recorded_by,
            )
            for s in signatures
        ],
        items=state.items,
        reconsent_due=state.reconsent_due.version if state.reconsent_due else None,
    )


@router.get("/participants/{participant_id}/consents", response_model=ConsentStatusRead)
def get_consents(
    participant_id: PathId, user: CurrentUser, session: SessionDep, now: Clock
) -> ConsentStatusRead:
    """The consent form versions the participant signed, the items given, and the version to
    re-consent to (if a newer one asks for it)."""
    return _consents(session, user, participant_id, now.date())


@router.post(
    "/participants/{participant_id}/consents",
    response_model=ConsentStatusRead,
    status_code=_CREATED,
)
def post_consent(
    participant_id: PathId, body: ConsentCreate, user: CurrentUser, session: SessionDep, now: Clock
) -> ConsentStatusRead:
    """Record the participant's signature of a consent form version with each item's answer."""
    record_consent(
        session,
        user=user,
        participant_id=participant_id,
        version=body.version,
        signed_on=body.signed_on,
        items=body.items,
    )
    return _consents(session, user, participant_id, now.date())


@router.post(
    "/participants/{participant_id}/long-term-visits/{visit_name}",
    response_model=list[VisitRead],
)
def post_long_term_contact(
    participant_id: PathId,
    visit_name: str,
    body: LongTermContactCreate,
    user: CurrentUser,
    session: SessionDep,
    now: Clock,
) -> list[VisitRead]:
    """Record that a long-term visit (in person, phone or questionnaire) took place. Refused
    (422, naming the consent item) without the participant's consent to long-term contact, and
    when the disposition excludes it (death, withdrawal, remote contact only)."""
    record_long_term_contact(
        session,
        user=user,
        participant_id=participant_id,
        visit_name=visit_name,
        done_on=body.done_on,
    )
    return [visit_read(r) for r in visit_schedule(session, participant_id, now.date())]


@router.get("/participants/{participant_id}/timeline", response_model=list[TimelineEntryRead])
def get_timeline(
    participant_id: PathId, user: CurrentUser, session: SessionDep, now: Clock
) -> list[TimelineEntryRead]:
    """The participant's long-term timeline: visits, disposition changes, consents, contact
    attempts (and whatever other records add), by date."""
    entries = participant_timeline(session, user, participant_id, now.date())
    return [TimelineEntryRead(**asdict(e)) for e in entries]


@router.post(
    "/trials/{protocol_id}/long-term-visits", response_model=list[str], status_code=_CREATED
)
def post_long_term_visits(
    protocol_id: str, body: LongTermVisitsCreate, user: CurrentUser, session: SessionDep
) -> list[str]:
    """Extend the schedule with yearly long-term visits (``year N``), a protocol amendment
    (administrators, with a reason); every enrolled participant gets them. Returns their names."""
    visits = yearly_visits(
        body.first_year,
        body.last_year,
        contact_mode=body.contact_mode,
        requires=tuple(body.requires),
        window_days=body.window_days,
    )
    added = add_long_term_visits(
        session, user=user, protocol_id=protocol_id, visits=visits, reason=body.reason
    )
    return [d.name for d in added]


@router.get("/look-back", response_model=list[ExposureRead])
def get_look_back(
    user: CurrentUser,
    session: SessionDep,
    lot: str | None = Query(None, max_length=64, description="A lot number"),
    ipsc_line: str | None = Query(None, max_length=64, description="An iPSC line's name"),
    donor: str | None = Query(None, max_length=64, description="A donor's coded identifier"),
) -> list[ExposureRead]:
    """Every recipient of a lot, of an iPSC line or of a donor's lines (give exactly one), with
    the dates, at the sites the user may see."""
    if lot is None and ipsc_line is None and donor is None:
        raise InvalidValueError("look_back", None, "exactly one of lot, ipsc_line or donor")
    found = look_back(session, user, lot_number=lot, ipsc_line=ipsc_line, donor_id=donor)
    return [ExposureRead(**asdict(e)) for e in found]


@router.get("/participants/{participant_id}/product-chain", response_model=list[ExposureRead])
def get_product_chain(
    participant_id: PathId, user: CurrentUser, session: SessionDep
) -> list[ExposureRead]:
    """Every administration the participant received, with its lot, iPSC line and donor."""
    return [ExposureRead(**asdict(e)) for e in product_chain(session, user, participant_id)]
