"""Informed consent: versions of a trial's consent form, what each participant signed, the
separate consent items, when a new version calls for re-consent, and refusing what needs a
consent not given.

A consent form version has an effective date and asks for some separate items
(:data:`~cordtrial.trial.rules.vocabulary.CONSENT_ITEMS`: long-term contact, autopsy, future use
of samples), each given or refused on its own (ICH E6(R2) 4.8.10 lists what the information
must say; 4.8.2: participants are informed of new information and re-consent to a revised form).
A participant's items are those of the latest version they signed. A version marked
``reconsent_required`` calls for re-consent of the participants it applies to (``everyone``, or
only those in ``long_term`` follow-up) who signed an earlier version, once it is effective; not
for participants withdrawn (without re-contact), lost to follow-up (no one can reach them) or
dead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from cordtrial.trial.errors import ConsentRequiredError, InvalidValueError
from cordtrial.trial.rules.checks import check_choice, check_date, check_text
from cordtrial.trial.rules.follow_up import DispositionFacts
from cordtrial.trial.rules.vocabulary import CONSENT_ITEMS

__all__ = [
    "CONSENT_APPLIES_TO",
    "ConsentVersionFacts",
    "SignedConsent",
    "check_consent_items",
    "check_consent_version",
    "consent_items_given",
    "reconsent_due",
    "require_consent",
]

#: Whom a version's re-consent concerns.
CONSENT_APPLIES_TO: Final = {
    "everyone": "every participant",
    "long_term": "participants in long-term follow-up",
}


@dataclass(frozen=True, slots=True)
class ConsentVersionFacts:
    """A consent form version of a trial."""

    version: str
    effective_on: date
    items: tuple[str, ...] = ()
    reconsent_required: bool = False
    applies_to: str = "everyone"
    summary: str = ""


def check_consent_version(facts: ConsentVersionFacts) -> ConsentVersionFacts:
    """A consent form version's fields, checked."""
    version = check_text("version", facts.version, max_length=32)
    check_date("effective_on", facts.effective_on)
    if isinstance(facts.items, str):
        raise InvalidValueError("items", facts.items, "a list of consent items")
    for item in facts.items:
        check_choice("items", item, CONSENT_ITEMS)
    check_choice("applies_to", facts.applies_to, CONSENT_APPLIES_TO)
    summary = check_text("summary", facts.summary, max_length=2000, required=False)
    items = tuple(i for i in CONSENT_ITEMS if i in facts.items)
    return ConsentVersionFacts(
        version, facts.effective_on, items, bool(facts.reconsent_required), facts.applies_to,
        summary,
    )  # fmt: skip


def check_consent_items(
    version: ConsentVersionFacts, given: Mapping[str, object]
) -> dict[str, bool]:
    """The answers to a version's items: every item it asks answered yes or no, nothing else."""
    answers: dict[str, bool] = {}
    for item in given:
        if item not in version.items:
            asked = ", ".join(CONSENT_ITEMS[i] for i in version.items) or "no separate item"
            raise InvalidValueError(
                "items", item, f"an item consent form {version.version} asks ({asked})"
            )
    for item in version.items:
        value = given.get(item)
        if not isinstance(value, bool):
            raise InvalidValueError(f"items.{item}", value, "yes or no", "is required")
        answers[item] = value
    return answers


@dataclass(frozen=True, slots=True)
class SignedConsent:
    """A consent form version a participant signed, on which date, with the answers."""

    version: str
    effective_on: date
    signed_on: date
    items: Mapping[str, bool]


def consent_items_given(signed: Sequence[SignedConsent]) -> dict[str, bool]:
    """The items as the participant answered them on the latest version they signed (``signed``
    in the order recorded)."""
    if not signed:
        return {}
    # on a tie (the same version signed again the same day), the one recorded last counts
    _, latest = max(enumerate(signed), key=lambda t: (t[1].effective_on, t[1].signed_on, t[0]))
    return dict(latest.items)


def require_consent(study_id: str, given: Mapping[str, bool], item: str, what: str) -> None:
    """Refuse (ConsentRequiredError, naming the item) ``what`` unless the participant gave
    ``item``."""
    if not given.get(item):
        raise ConsentRequiredError(study_id, item, what)


def reconsent_due(
    versions: Sequence[ConsentVersionFacts],
    signed: Sequence[SignedConsent],
    today: date,
    disposition: DispositionFacts | None,
) -> ConsentVersionFacts | None:
    """The latest version effective by ``today`` that calls for this participant's re-consent
    and that they have not signed (nor a later one), or None."""
    if not signed or (
        disposition is not None
        and (
            disposition.status in ("died", "lost_to_follow_up")
            or (disposition.status == "withdrawn" and not disposition.recontact_allowed)
        )
    ):
        return None
    latest_signed = max(s.effective_on for s in signed)
    signed_versions = {s.version for s in signed}
    in_long_term = disposition is not None and disposition.status == "long_term_follow_up"
    due = [
        v for v in versions
        if v.reconsent_required and v.effective_on <= today and v.version not in signed_versions
        and v.effective_on > latest_signed
        and (v.applies_to == "everyone" or in_long_term)
    ]  # fmt: skip
    return max(due, key=lambda v: v.effective_on) if due else None
