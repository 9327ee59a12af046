"""The laboratory API (issue 15): a panel entered in lab units is converted and graded against
the site's range; a bad row refuses the panel naming it; a graded value becomes a linked AE."""

from __future__ import annotations

from .conftest import World


def test_a_panel_is_graded_and_a_graded_value_becomes_an_adverse_event(world: World) -> None:
    admin, coordinator = world.headers("admin"), world.headers("coordinator")
    site = world.site_ids["S01"]
    put = world.client.put(
        f"/api/sites/{site}/reference-ranges/neutrophils", json={"lln": 1800, "uln": 7500,
                                                                  "unit": "/uL"},
        headers=admin,
    )  # fmt: skip
    assert put.status_code == 200 and (put.json()["lln"], put.json()["uln"]) == (1.8, 7.5)
    url = f"/api/participants/{world.participant_id}/labs"
    before = world.client.get(url, headers=coordinator).json()  # the world's ALT
    bad = world.client.post(
        url,
        json={"collected_on": "2026-02-09", "results": [
            {"analyte": "neutrophils", "value": 900, "unit": "/uL"},
            {"analyte": "platelets", "value": 150, "unit": "g/L"}]},
        headers=coordinator,
    )  # fmt: skip
    assert bad.status_code == 422 and '"results[1]","unit"' in bad.text
    assert world.client.get(url, headers=coordinator).json() == before
    posted = world.client.post(
        url,
        json={"collected_on": "2026-02-09",
              "results": [{"analyte": "neutrophils", "value": 900, "unit": "/uL"}]},
        headers=coordinator,
    )  # fmt: skip
    assert posted.status_code == 201
    (result,) = posted.json()
    # 900/uL = 0.9 x 10e9/L: CTCAE v5.0 neutrophil count decreased grade 3 (<1.0-0.5)
    assert (result["value"], result["unit"], result["ctcae_grade"]) == (0.9, "10*9/L", 3)
    event = world.client.post(
        f"/api/labs/{result['id']}/adverse-event",
        json={"awareness_date": "2026-02-10", "related_to_cells": "not_related",
              "related_to_procedure": "not_related", "related_to_immunosuppression": "possible",
              "expectedness": "expected", "outcome": "recovering"},
        headers=coordinator,
    )  # fmt: skip
    assert event.status_code == 201, event.text
    body = event.json()
    assert (body["term"], body["ctcae_grade"], body["onset_date"]) == (
        "Neutrophil count decreased",
        3,
        "2026-02-09",
    )
    (again,) = [r for r in world.client.get(url, headers=coordinator).json() if r not in before]
    assert again["adverse_event_id"] == body["id"]
    analytes = world.client.get("/api/lab-analytes", headers=coordinator).json()
    creatinine = next(a for a in analytes if a["analyte"] == "creatinine")
    assert "mg/dL" in creatinine["units"] and creatinine["unit"] == "umol/L"
