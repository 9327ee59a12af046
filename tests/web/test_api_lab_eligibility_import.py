"""The laboratory API beyond panels (issue 15): the laboratory eligibility limits checked from
the entered results, a lab system's CSV uploaded (bad rows reported, the rest imported), a
result linked to an event already reported."""

from __future__ import annotations

from pathlib import Path

from builders import acting_as
from cordtrial.trial.rules.eligibility import EligibilityCriteria
from cordtrial.trial.rules.lab_limits import LabLimit
from cordtrial.trial.services.trials import amend_eligibility

from .conftest import PROTOCOL, World

EXAMPLE = Path(__file__).parents[2] / "examples" / "labs.csv"


def test_lab_limits_are_checked_then_met_after_an_import(world: World) -> None:
    amend_eligibility(
        world.session, user=acting_as("setup", role="admin"), protocol_id=PROTOCOL,
        criteria=EligibilityCriteria(lab_limits=(LabLimit("platelets", ">=", 100),)),
        reason="amendment: laboratory limits",
    )  # fmt: skip
    coordinator = world.headers("coordinator")
    url = f"/api/participants/{world.participant_id}/lab-eligibility"
    (missing,) = world.client.get(url, headers=coordinator).json()
    assert (missing["criterion"], missing["met"], missing["assessable"]) == (
        "lab_platelets", False, False,
    )  # fmt: skip
    assert "not yet assessable" in missing["detail"]
    upload = world.client.post(
        f"/api/trials/{PROTOCOL}/labs/import",
        content=EXAMPLE.read_bytes(),
        headers=coordinator | {"Content-Type": "text/csv"},
    )
    assert upload.status_code == 200, upload.text
    body = upload.json()
    assert (body["rows"], body["inserted"], body["rejected"]) == (9, 5, 4)
    rows = {e["row"]: e for e in body["errors"]}
    assert rows[8]["field"] == "study_id"  # P002: the coordinator's site is S01 only
    assert rows[6]["field"] == "unit" and "10*9/L" in rows[6]["reason"]
    (met,) = world.client.get(url, headers=coordinator).json()
    assert met["met"] and "Platelet count 182 x10^9/L" in met["detail"]


def test_a_graded_result_is_linked_to_its_event(world: World) -> None:
    coordinator = world.headers("coordinator")
    url = f"/api/participants/{world.participant_id}/labs"
    posted = world.client.post(
        url,
        json={"collected_on": "2026-02-09",
              "results": [{"analyte": "platelets", "value": 40, "unit": "10*9/L"}]},
        headers=coordinator,
    )  # fmt: skip
    (result,) = posted.json()
    assert result["ctcae_grade"] == 3  # <50-25 x10^9/L: CTCAE v5.0 platelet count decreased
    linked = world.client.post(
        f"/api/labs/{result['id']}/link",
        json={"adverse_event_id": world.adverse_event_id},
        headers=coordinator,
    )
    # the world's event (neuropathic pain) has grade 2, below the result's 3
    assert linked.status_code == 422 and "below the result's grade 3" in linked.text
