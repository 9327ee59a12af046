"""``among`` (conditions on many ids) selects exactly what ``IN`` selects, on SQLite and
PostgreSQL, and on PostgreSQL binds the ids as one array parameter however many there are."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from cordtrial.trial.models import Participant
from cordtrial.trial.services.bulk import among
from scale_trial import seed_scale_trial


def test_among_selects_the_rows_an_in_list_selects(session: Session) -> None:
    seed_scale_trial(session, 12, 2)
    ids = list(session.scalars(select(Participant.id).order_by(Participant.id)))
    assert len(ids) == 12
    chosen_sets = ([], ids[:1], ids[::3], ids, [*ids[:2], *ids[:2]], [-1, ids[-1]])
    for chosen in chosen_sets:
        got = session.scalars(
            select(Participant.id)
            .where(among(session, Participant.id, chosen))
            .order_by(Participant.id)
        ).all()
        expected = session.scalars(
            select(Participant.id).where(Participant.id.in_(chosen)).order_by(Participant.id)
        ).all()
        assert list(got) == list(expected) == sorted(set(chosen) & set(ids)), chosen


def test_among_binds_one_parameter_on_postgresql_whatever_the_number(session: Session) -> None:
    seed_scale_trial(session, 12, 2)
    ids = list(session.scalars(select(Participant.id)))
    bound: list[int] = []

    def count(_c: Any, _cur: Any, _stmt: str, parameters: Any, *_: Any) -> None:
        bound.append(len(parameters))

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    try:
        for chosen in (ids[:2], ids):
            session.scalars(select(Participant.id).where(among(session, Participant.id, chosen)))
    finally:
        event.remove(bind, "before_cursor_execute", count)
    if bind.dialect.name == "postgresql":
        assert bound == [1, 1]
    else:
        assert bound == [2, len(ids)]
