"""Use cases: record visits as done; list a participant's schedule with due dates and status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from cordtrial.trial.audit import unit_of_work
from cordtrial.trial.errors import NotFoundError
from cordtrial.trial.models import Participant, Visit
from cordtrial.trial.rules.checks import check_date
from cordtrial.trial.rules.schedule import VisitSpec, VisitStatus, visit_status, visit_window
from cordtrial.trial.services.common import get_by_id

__all__ = ["VisitRow", "find_visit", "record_visit_done", "visit_schedule"]


def find_visit(participant: Participant, visit_name: str) -> Visit:
    """A participant's visit by its name in the schedule."""
    for visit in participant.visits:
        if visit.definition.name == visit_name:
            return visit
    raise NotFoundError("visit", f"{participant.study_id}/{visit_name}")


def record_visit_done(
    session: Session,
    *,
    actor: str,
    participant_id: int,
    visit_name: str,
    done_on: date,
    reason: str | None = None,
) -> Visit:
    """Record the date a visit took place. Changing a date already recorded needs a reason."""
    check_date("done_on", done_on)
    participant = get_by_id(session, Participant, participant_id)
    visit = find_visit(participant, visit_name)
    # Recording the visit for the first time is data entry; the reason says so in the trail.
    why = reason if visit.done_on is not None else (reason or "visit recorded as done")
    with unit_of_work(session, actor, why):
        visit.done_on = done_on
    return visit


@dataclass(frozen=True, slots=True)
class VisitRow:
    """A visit of a participant's schedule; dates and status are empty until day 0 is set."""

    name: str
    target: date | None
    opens: date | None
    closes: date | None
    done_on: date | None
    status: VisitStatus | None


def visit_schedule(session: Session, participant_id: int, today: date) -> list[VisitRow]:
    """A participant's visits in schedule order, with target date, window and status on
    ``today`` (see :func:`cordtrial.trial.rules.schedule.visit_status`)."""
    participant = get_by_id(session, Participant, participant_id)
    rows = []
    for visit in sorted(participant.visits, key=lambda v: v.definition.target_day):
        d = visit.definition
        spec = VisitSpec(d.name, d.target_day, d.window_minus, d.window_plus)
        day0 = participant.transplant_date
        if day0 is None:
            rows.append(VisitRow(d.name, None, None, None, visit.done_on, None))
            continue
        window = visit_window(spec, day0)
        rows.append(
            VisitRow(
                d.name,
                window.target,
                window.opens,
                window.closes,
                visit.done_on,
                visit_status(spec, day0, today, visit.done_on),
            )
        )
    return rows
