"""Monitor data queries through the API: site-scoped, version-checked (SQLite, PostgreSQL)."""

from __future__ import annotations

from .conftest import PROTOCOL, World


def test_monitor_raises_coordinator_answers_monitor_closes(world: World) -> None:
    raised = world.client.post(
        f"/api/participants/{world.participant_id}/queries",
        json={"entity": "adverse_event", "entity_id": world.adverse_event_id,
              "field": "ctcae_grade", "text": "Grade 2 or 3?"},
        headers=world.headers("monitor"),
    )  # fmt: skip
    assert raised.status_code == 201, raised.text
    query = raised.json()
    assert (query["status"], query["raised_by"]) == ("open", "monitor")
    answered = world.client.post(
        f"/api/queries/{query['id']}/answer",
        json={"version": query["version"], "answer": "Grade 2, per the notes"},
        headers=world.headers("coordinator"),
    )
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    stale = world.client.post(
        f"/api/queries/{query['id']}/close", json={"version": query["version"]},
        headers=world.headers("monitor"),
    )  # fmt: skip
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    closed = world.client.post(
        f"/api/queries/{query['id']}/close", json={"version": 2, "note": "ok"},
        headers=world.headers("monitor"),
    )  # fmt: skip
    assert closed.status_code == 200 and closed.json()["closed_by"] == "monitor"
    listed = world.client.get(
        f"/api/trials/{PROTOCOL}/queries", params={"status": "closed"},
        headers=world.headers("monitor"),
    ).json()  # fmt: skip
    assert [q["id"] for q in listed] == [query["id"]]


def test_queries_of_another_site_are_not_found(world: World) -> None:
    other = world.headers("other_site")
    assert world.client.get(f"/api/queries/{world.query_id}", headers=other).status_code == 404
    response = world.client.post(
        f"/api/queries/{world.query_id}/answer", json={"version": 1, "answer": "x"}, headers=other
    )
    assert response.status_code == 404
    assert world.client.get(f"/api/trials/{PROTOCOL}/queries", headers=other).json() == []


def test_query_on_a_record_of_another_participant_is_not_found(world: World) -> None:
    response = world.client.post(
        f"/api/participants/{world.participant_id}/queries",
        json={"entity": "participant", "entity_id": world.other_participant_id, "text": "?"},
        headers=world.headers("admin"),
    )
    assert response.status_code == 404


def test_unknown_status_filter_is_a_422(world: World) -> None:
    response = world.client.get(
        f"/api/trials/{PROTOCOL}/queries", params={"status": "pending"},
        headers=world.headers("monitor"),
    )  # fmt: skip
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "status"]
