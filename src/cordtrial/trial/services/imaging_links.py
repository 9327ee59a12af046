"""Where MRI surveillance meets the long-term follow-up (issue 14): a visit that requires an MRI
is done once an MRI of the participant falls in its window, and the long-term timeline lists
the MRIs with their reading state and impression. Registered on import of
:mod:`cordtrial.trial.services` (the hooks of :mod:`.visits` and :mod:`.timeline`)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cordtrial.trial.models import MriExam, Participant, User, Visit
from cordtrial.trial.rules.schedule import visit_window
from cordtrial.trial.rules.vocabulary import word
from cordtrial.trial.services.imaging import list_mris
from cordtrial.trial.services.timeline import TimelineEntry, register_timeline_provider
from cordtrial.trial.services.visits import register_visit_item, visit_spec

__all__ = ["mri_at_visit", "mri_timeline"]


def mri_at_visit(session: Session, visit: Visit) -> date | None:
    """The date of the participant's first MRI within the visit's window (None: none yet, or no
    day 0 to place the window)."""
    day0 = visit.participant.transplant_date
    if day0 is None:
        return None
    window = visit_window(visit_spec(visit.definition), day0)
    return session.scalars(
        select(MriExam.acquired_on)
        .where(
            MriExam.participant_id == visit.participant_id,
            MriExam.acquired_on >= window.opens,
            MriExam.acquired_on <= window.closes,
        )
        .order_by(MriExam.acquired_on)
        .limit(1)
    ).first()


def mri_timeline(
    session: Session, user: User, participant: Participant, today: date
) -> list[TimelineEntry]:
    """The participant's MRIs on the long-term timeline: field strength, days since transplant,
    where the reading stands and the final impression."""
    entries = []
    for view in list_mris(session, user, participant.id):
        days = "" if view.days_since_transplant is None else f", day {view.days_since_transplant}"
        impression = view.state.impression
        detail = view.state.label + (f"; impression {word(impression)}" if impression else "")
        title = f"MRI {view.mri.field_strength_t:g} T{days}"
        entries.append(TimelineEntry(view.mri.acquired_on, "mri", title, detail, view.state.state))
    return entries


register_visit_item("mri", mri_at_visit)
register_timeline_provider(mri_timeline)
