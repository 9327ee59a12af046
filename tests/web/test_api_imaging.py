"""The imaging API on each database: blinded reads, the tumour event a suspicious read opens,
surveillance status and reader agreement."""

from __future__ import annotations

from sqlalchemy import select

from cordtrial.trial.models import MriRead

from .conftest import PASSWORD, PROTOCOL, World

STABLE = {"impression": "stable", "new_mass": False, "contrast_enhancement": False,
          "mass_effect": False, "haemorrhage": False, "cord_compression": False, "oedema": False,
          "syrinx_present": False}  # fmt: skip


def _other_read(world: World) -> int:
    read = world.session.scalars(select(MriRead).where(MriRead.reader == "reader_b")).one()
    world.session.rollback()
    return read.id


def _token(world: World, username: str) -> dict[str, str]:
    response = world.client.post(
        "/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_reader_sees_the_other_read_only_after_both_are_locked(world: World) -> None:
    reader, other = world.headers("reader"), _token(world, "reader_b")
    site = world.client.post(
        f"/api/mris/{world.mri_id}/site-read", json=STABLE, headers=world.headers("investigator")
    )
    assert site.status_code == 201
    locked = world.client.post(f"/api/reads/{world.read_id}", json=STABLE, headers=reader)
    assert locked.status_code == 200 and locked.json()["status"] == "locked"
    seen = world.client.get(f"/api/mris/{world.mri_id}/reads", headers=reader).json()
    assert [r["reader"] for r in seen] == ["reader"]
    # the other reader's worklist still shows their read, without anyone's findings
    [item] = world.client.get("/api/imaging/worklist", headers=other).json()
    assert item["read"]["reader"] == "reader_b" and item["central_reads"] == []
    world.client.post(f"/api/reads/{_other_read(world)}", json=STABLE, headers=other)
    seen = world.client.get(f"/api/mris/{world.mri_id}/reads", headers=reader).json()
    assert sorted(r["reader"] for r in seen) == ["investigator", "reader", "reader_b"]
    # a locked read is not submitted again
    again = world.client.post(f"/api/reads/{world.read_id}", json=STABLE, headers=reader)
    assert again.status_code == 422


def test_suspicious_read_opens_an_expedited_tumour_event(world: World) -> None:
    suspicious = STABLE | {"impression": "suspicious_for_tumour", "new_mass": True,
                           "finding": "New nodule at the graft"}  # fmt: skip
    response = world.client.post(
        f"/api/reads/{world.read_id}", json=suspicious, headers=world.headers("reader")
    )
    assert response.status_code == 200
    event_id = response.json()["adverse_event_id"]
    event = world.client.get(
        f"/api/adverse-events/{event_id}", headers=world.headers("investigator")
    ).json()
    assert event["category"] == "tumour_or_graft_overgrowth"
    assert event["expedited_report_required"] and event["expedited_status"] == "due"


def test_read_errors_name_the_field(world: World) -> None:
    bad = STABLE | {"basic_score": 4}
    response = world.client.post(
        f"/api/reads/{world.read_id}", json=bad, headers=world.headers("reader")
    )
    assert response.status_code == 422
    assert "basic_score" in response.text or "BASIC" in response.text


def test_surveillance_and_agreement(world: World) -> None:
    rows = world.client.get(
        f"/api/trials/{PROTOCOL}/imaging/surveillance", headers=world.headers("monitor")
    ).json()
    mine = {r["study_id"]: r for r in rows}
    assert mine["P001"]["last_mri"] == "2026-02-10"
    assert (
        world.client.get(
            f"/api/trials/{PROTOCOL}/imaging/agreement", headers=world.headers("monitor")
        ).json()[0]["MRIs"]
        == 0
    )  # no MRI read by both yet
