"""Trial-wide exam and adverse-event lists of the API (issue 17): cursor paging (every record once,
in id order, across pages, while records are added), filters (site, participant, since) and the
user's site scope."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from builders import acting_as
from cordtrial.trial.services.exams import record_exam
from cordtrial.trial.services.safety import report_adverse_event
from trial.conftest import complete_c5_cells

from .conftest import PROTOCOL, World


def _add_exams(world: World, participant_id: int, n: int) -> list[int]:
    return [
        record_exam(
            world.session, user=acting_as("setup"), participant_id=participant_id,
            examined_on=date(2026, 2, 1) + timedelta(days=i), examiner="Dr Page",
            cells=complete_c5_cells(),
        ).id
        for i in range(n)
    ]  # fmt: skip


def _add_event(world: World, participant_id: int, onset: date) -> int:
    return report_adverse_event(
        world.session, user=acting_as("setup"), participant_id=participant_id, term="Headache",
        category="other", onset_date=onset, awareness_date=onset, ctcae_grade=1,
        serious_criteria=[], related_to_cells="not_related", related_to_procedure="unlikely",
        related_to_immunosuppression="not_related", expectedness="expected",
        outcome="recovered", resolution_date=onset,
    ).id  # fmt: skip


def _pull(world: World, kind: str, user: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a list, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor is not None else {})}
        response = world.client.get(
            f"/api/trials/{PROTOCOL}/{kind}", params=query, headers=world.headers(user)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= int(params.get("limit", 100))
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


def test_exam_pages_hold_every_visible_exam_once_in_id_order(world: World) -> None:
    added = _add_exams(world, world.participant_id, 4)
    _add_exams(world, world.other_participant_id, 3)  # at S02
    admin = _pull(world, "exams", "admin", limit=2)
    ids = [e["id"] for e in admin]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 8  # 1 seeded + 4 + 3
    coordinator = _pull(world, "exams", "coordinator", limit=3)  # scoped to S01
    assert {e["participant_id"] for e in coordinator} == {world.participant_id}
    assert [e["id"] for e in coordinator] == [world.exam_id, *added]


def test_exam_cursor_stays_right_while_exams_are_added(world: World) -> None:
    _add_exams(world, world.participant_id, 3)
    first = world.client.get(
        f"/api/trials/{PROTOCOL}/exams", params={"limit": 2}, headers=world.headers("monitor")
    ).json()
    late = _add_exams(world, world.participant_id, 1)
    rest = _pull(world, "exams", "monitor", limit=2, **{"cursor": first["next_cursor"]})
    ids = [e["id"] for e in first["items"] + rest]
    assert len(ids) == len(set(ids)) == 5 and ids[-1] == late[0]


def test_exam_list_filters_by_site_participant_and_since(world: World) -> None:
    _add_exams(world, world.participant_id, 3)  # 2026-02-01 .. 02-03
    other = _add_exams(world, world.other_participant_id, 2)
    by_site = _pull(world, "exams", "admin", site="S02")
    assert [e["id"] for e in by_site] == other
    by_participant = _pull(world, "exams", "admin", participant="P002")
    assert [e["id"] for e in by_participant] == other
    since = _pull(world, "exams", "admin", participant="P001", since="2026-02-02")
    assert [e["examined_on"] for e in since] == ["2026-02-02", "2026-02-03"]
    # a coordinator of S01 asking for S02 gets nothing (site scope), not an error
    assert _pull(world, "exams", "coordinator", site="S02") == []


def test_exam_list_signatures_come_with_each_exam(world: World) -> None:
    items = _pull(world, "exams", "admin")
    assert all(isinstance(e["signatures"], list) for e in items)
    one = world.client.get(f"/api/exams/{world.exam_id}", headers=world.headers("admin")).json()
    listed = next(e for e in items if e["id"] == world.exam_id)
    assert listed == one


def test_adverse_event_pages_follow_the_cursor_and_filters(world: World) -> None:
    mine = [_add_event(world, world.participant_id, date(2026, 2, 3 + i)) for i in range(3)]
    theirs = _add_event(world, world.other_participant_id, date(2026, 2, 4))
    admin = _pull(world, "adverse-events", "admin", limit=2)
    assert [e["id"] for e in admin] == [world.adverse_event_id, *mine, theirs]
    assert all(e["expedited_label"] for e in admin)
    scoped = _pull(world, "adverse-events", "investigator", limit=1)
    assert [e["id"] for e in scoped] == [world.adverse_event_id, *mine]
    since = _pull(world, "adverse-events", "admin", since="2026-02-04", site="S01")
    assert [e["id"] for e in since] == mine[1:]
    assert [e["id"] for e in _pull(world, "adverse-events", "admin", participant="P002")] == [
        theirs
    ]


def test_list_refuses_a_limit_out_of_range_naming_it(world: World) -> None:
    for kind in ("exams", "adverse-events"):
        response = world.client.get(
            f"/api/trials/{PROTOCOL}/{kind}", params={"limit": 501},
            headers=world.headers("admin"),
        )  # fmt: skip
        assert response.status_code == 422
        assert "limit" in response.text


def test_list_of_an_unknown_trial_is_not_found(world: World) -> None:
    response = world.client.get("/api/trials/NOPE/exams", headers=world.headers("admin"))
    assert response.status_code == 404
