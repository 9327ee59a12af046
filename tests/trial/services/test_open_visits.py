"""The dashboard's visits to do come from the database's pre-selection (``open_only``): every
visit that is due, overdue or partly done on a day is among them, with the same row as the
state computed for every visit in Python, on a generated trial, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.models import Participant
from cordtrial.trial.services.visits import VisitRow, mark_visit_missed, visit_schedules
from scale_trial import SCALE_NOW, seed_scale_trial

_OPEN = ("due", "overdue", "partly done")


def _open(schedules: dict[int, list[VisitRow]]) -> dict[int, list[VisitRow]]:
    return {pid: [r for r in rows if r.status in _OPEN] for pid, rows in schedules.items()}


def test_open_only_gives_every_visit_to_do_as_the_full_schedule_does(session: Session) -> None:
    seed_scale_trial(session, 30, 3)
    participants = session.scalars(select(Participant).order_by(Participant.id)).all()
    mark_visit_missed(
        session, user=acting_as("seed", role="admin"), participant_id=participants[2].id,
        visit_name="week 2", reason="in hospital elsewhere", today=SCALE_NOW.date(),
    )  # fmt: skip
    left_out = 0
    for days in (-70, -20, 0, 30, 120, 400):
        today = SCALE_NOW.date() + timedelta(days=days)
        full = visit_schedules(session, participants, today)
        pre = visit_schedules(session, participants, today, open_only=True)
        assert _open(pre) == _open(full), today
        assert any(_open(full).values()), today
        left_out += sum(map(len, full.values())) - sum(map(len, pre.values()))
    assert left_out > 0  # the database did leave visits out
