"""The concomitant-medication API (issue 15): a medication recorded, corrected, stopped; an
interacting one flagged in words and reviewed by an investigator; the ATC list searched; the
trial's flagged medications, site-scoped."""

from __future__ import annotations

from .conftest import PROTOCOL, World


def test_an_interacting_medication_is_flagged_then_reviewed(world: World) -> None:
    coordinator, investigator = world.headers("coordinator"), world.headers("investigator")
    url = f"/api/participants/{world.participant_id}/medications"
    posted = world.client.post(
        url,
        json={"name": "Clarithromycin", "atc_code": "j01fa09", "dose": 500, "dose_unit": "mg",
              "route": "oral", "frequency": "twice daily", "indication": "chest infection",
              "start_date": "2026-02-10", "stop_date": "2026-02-16"},
        headers=coordinator,
    )  # fmt: skip
    assert posted.status_code == 201, posted.text
    body = posted.json()
    assert (body["atc_code"], body["interaction_review"], body["ongoing"]) == (
        "J01FA09", "flagged", False,
    )  # fmt: skip
    assert body["interaction_flags"] == [
        "May raise tacrolimus and ciclosporin levels: check trough"
    ]
    flagged = world.client.get(f"/api/trials/{PROTOCOL}/medications/flagged", headers=coordinator)
    assert {f["medication"]["name"] for f in flagged.json()} == {"fluconazole", "Clarithromycin"}
    reviewed = world.client.post(
        f"/api/medications/{body['id']}/review", json={"version": 1}, headers=investigator
    )
    assert reviewed.status_code == 200
    assert (reviewed.json()["interaction_review"], reviewed.json()["reviewed_by"]) == (
        "reviewed", "investigator",
    )  # fmt: skip
    again = world.client.post(
        f"/api/medications/{body['id']}/review", json={"version": 2}, headers=investigator
    )
    assert again.status_code == 422 and "already reviewed" in again.text
    flagged = world.client.get(f"/api/trials/{PROTOCOL}/medications/flagged", headers=coordinator)
    assert [f["medication"]["name"] for f in flagged.json()] == ["fluconazole"]


def test_a_bad_value_is_refused_naming_the_field(world: World) -> None:
    url = f"/api/participants/{world.participant_id}/medications"
    bad = world.client.post(
        url,
        json={"name": "baclofen", "atc_code": "BACLOFEN", "route": "oral", "frequency": "tid",
              "indication": "spasticity", "start_date": "2026-02-10"},
        headers=world.headers("coordinator"),
    )  # fmt: skip
    assert bad.status_code == 422 and "atc_code" in bad.text and "M03BX01" in bad.text
    route = world.client.post(
        url,
        json={"name": "baclofen", "route": "by mouth", "frequency": "tid",
              "indication": "spasticity", "start_date": "2026-02-10"},
        headers=world.headers("coordinator"),
    )  # fmt: skip
    assert route.status_code == 422 and "route" in route.text


def test_a_correction_and_a_stop(world: World) -> None:
    coordinator = world.headers("coordinator")
    med = f"/api/medications/{world.medication_id}"
    no_reason = world.client.patch(med, json={"version": 1, "dose": 200}, headers=coordinator)
    assert no_reason.status_code == 422
    fixed = world.client.patch(
        med, json={"version": 1, "reason": "dose missing", "dose": 200, "dose_unit": "mg"},
        headers=coordinator,
    )  # fmt: skip
    assert fixed.status_code == 200 and fixed.json()["dose"] == 200
    assert fixed.json()["interaction_review"] == "flagged"
    stale = world.client.post(
        f"{med}/stop", json={"version": 1, "stop_date": "2026-02-16"}, headers=coordinator
    )
    assert stale.status_code == 409
    stopped = world.client.post(
        f"{med}/stop", json={"version": 2, "stop_date": "2026-02-16"}, headers=coordinator
    )
    assert stopped.status_code == 200 and stopped.json()["ongoing"] is False
    listed = world.client.get(
        f"/api/participants/{world.participant_id}/medications", headers=coordinator
    ).json()
    assert [(m["name"], m["stop_date"]) for m in listed] == [("fluconazole", "2026-02-16")]


def test_the_atc_list_is_searched_by_name_or_code(world: World) -> None:
    found = world.client.get(
        "/api/medications/atc", params={"q": "azol"}, headers=world.headers("monitor")
    ).json()
    fluconazole = next(e for e in found if e["name"] == "fluconazole")
    assert fluconazole["atc_code"] == "J02AC01" and fluconazole["interaction_flags"]
    by_code = world.client.get(
        "/api/medications/atc", params={"q": "M03BX"}, headers=world.headers("monitor")
    ).json()
    assert {e["name"] for e in by_code} >= {"baclofen", "tizanidine"}


def test_another_sites_medications_are_not_found(world: World) -> None:
    other = world.headers("other_site")
    response = world.client.get(
        f"/api/participants/{world.participant_id}/medications", headers=other
    )
    assert response.status_code == 404
    assert (
        world.client.post(
            f"/api/medications/{world.medication_id}/review", json={"version": 1}, headers=other
        ).status_code
        == 404
    )
    flagged = world.client.get(f"/api/trials/{PROTOCOL}/medications/flagged", headers=other)
    assert flagged.json() == []
