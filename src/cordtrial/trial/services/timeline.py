"""A participant's long-term timeline: visits, disposition changes, consents and contact
attempts in date order, gathered from providers.

**Extension point**: :data:`TIMELINE_PROVIDERS` is the list of functions that each give a
participant's entries of one kind, ``provider(session, participant, today) -> list[TimelineEntry]``.
Another kind of record (the MRI examinations with their impressions, issue 14) adds its own with
:func:`register_timeline_provider`; the page and the API show whatever the providers give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from cordtrial.trial.models import Participant, User
from cordtrial.trial.rules.vocabulary import CONSENT_ITEMS, word
from cordtrial.trial.services.consent import list_consents
from cordtrial.trial.services.disposition import (
    disposition_facts,
    list_contact_attempts,
    list_disposition_changes,
)
from cordtrial.trial.services.reads import visible_participant
from cordtrial.trial.services.users import require_permission
from cordtrial.trial.services.visits import visit_schedule

__all__ = [
    "TIMELINE_PROVIDERS",
    "TimelineEntry",
    "TimelineProvider",
    "participant_timeline",
    "register_timeline_provider",
]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One entry of the timeline: its date (None: not dated yet), the kind (``visit``,
    ``disposition``, ``consent``, ``contact attempt``, ``mri`` ...), a title and a detail in
    words, and a state word for a badge (``done``, ``overdue`` ... or empty)."""

    on: date | None
    kind: str
    title: str
    detail: str = ""
    state: str = ""


TimelineProvider = Callable[[Session, User, Participant, date], list[TimelineEntry]]


def _visits(session: Session, user: User, p: Participant, today: date) -> list[TimelineEntry]:
    entries = []
    for row in visit_schedule(session, p.id, today):
        when = row.done_on or row.target
        mode = "" if row.contact_mode == "in person" else f" ({row.contact_mode})"
        phase = "long-term visit" if row.long_term else "visit"
        needs = f"requires {', '.join(row.requires)}" if row.requires else "a contact"
        entries.append(TimelineEntry(when, phase, f"{row.name}{mode}", needs,
                                     row.label if row.status else ""))  # fmt: skip
    return entries


def _dispositions(session: Session, user: User, p: Participant, today: date) -> list[TimelineEntry]:
    entries = []
    for change in list_disposition_changes(session, user, p.id):
        facts = disposition_facts(change)
        detail = facts.reason
        if facts.status == "died":
            autopsy = (
                "autopsy done"
                if facts.autopsy_done
                else ("autopsy asked, not done" if facts.autopsy_asked else "autopsy not asked")
            )
            detail = (f"cause: {facts.death_cause}; {autopsy}; relation to the product: "
                      f"{word(facts.death_related_to_product)}")  # fmt: skip
        entries.append(TimelineEntry(change.effective_on, "disposition", facts.label, detail))
    return entries


def _consents(session: Session, user: User, p: Participant, today: date) -> list[TimelineEntry]:
    entries = []
    for s in list_consents(session, user, p.id):
        answers = ", ".join(
            f"{CONSENT_ITEMS[i]}: {'yes' if s.items.get(i) else 'no'}"
            for i in CONSENT_ITEMS if i in s.items
        )  # fmt: skip
        entries.append(TimelineEntry(s.signed_on, "consent",
                                     f"consent form {s.consent_version.form_version} signed",
                                     answers))  # fmt: skip
    return entries


def _attempts(session: Session, user: User, p: Participant, today: date) -> list[TimelineEntry]:
    return [
        TimelineEntry(a.attempted_on, "contact attempt", f"{word(a.method)}: {word(a.outcome)}",
                      a.note, "reached" if a.outcome in ("reached", "declined") else "")
        for a in list_contact_attempts(session, user, p.id)
    ]  # fmt: skip


#: The providers of timeline entries, in order (entries on the same day keep this order).
TIMELINE_PROVIDERS: list[TimelineProvider] = [_visits, _dispositions, _consents, _attempts]


def register_timeline_provider(provider: TimelineProvider) -> None:
    """Add a provider of timeline entries (e.g. MRI examinations and their impressions)."""
    if provider not in TIMELINE_PROVIDERS:
        TIMELINE_PROVIDERS.append(provider)


def participant_timeline(
    session: Session, user: User, participant_id: int, today: date
) -> list[TimelineEntry]:
    """Every provider's entries for a participant the user may see, by date (undated last)."""
    participant = visible_participant(session, user, participant_id)
    require_permission(user, "read", participant.site_id)
    entries = [e for provider in TIMELINE_PROVIDERS
               for e in provider(session, user, participant, today)]  # fmt: skip
    return sorted(entries, key=lambda e: (e.on is None, e.on or date.max))
