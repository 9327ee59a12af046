"""The long-term follow-up's API: schedule, consent, disposition, contact attempts, timeline and
look-back (SQLite and PostgreSQL)."""

from __future__ import annotations

from .conftest import PROTOCOL, World


def _setup(world: World) -> None:
    admin = world.headers("admin")
    r = world.client.post(
        f"/api/trials/{PROTOCOL}/long-term-visits",
        json={"first_year": 2, "last_year": 3, "contact_mode": "phone", "reason": "amendment 2"},
        headers=admin,
    )
    assert r.status_code == 201 and r.json() == ["year 2", "year 3"]
    r = world.client.post(
        f"/api/trials/{PROTOCOL}/consent-versions",
        json={"version": "1.0", "effective_on": "2026-01-01",
              "items": ["long_term_contact", "autopsy"]},
        headers=admin,
    )  # fmt: skip
    assert r.status_code == 201, r.text


def test_long_term_phone_contact_needs_consent_and_names_the_item(world: World) -> None:
    _setup(world)
    p, coord = world.participant_id, world.headers("coordinator")
    url = f"/api/participants/{p}/long-term-visits/year 2"
    r = world.client.post(url, json={"done_on": "2028-01-26"}, headers=coord)
    assert r.status_code == 422
    assert "has not consented to long-term contact" in r.text
    r = world.client.post(
        f"/api/participants/{p}/consents",
        json={"version": "1.0", "signed_on": "2026-01-10",
              "items": {"long_term_contact": True, "autopsy": False}},
        headers=coord,
    )  # fmt: skip
    assert r.status_code == 201
    assert r.json()["items"] == {"long_term_contact": True, "autopsy": False}
    r = world.client.post(url, json={"done_on": "2028-01-26"}, headers=coord)
    assert r.status_code == 200
    year2 = next(v for v in r.json() if v["name"] == "year 2")
    assert (year2["status"], year2["contact_mode"], year2["long_term"]) == ("done", "phone", True)


def test_disposition_history_and_refused_transition(world: World) -> None:
    p, coord = world.participant_id, world.headers("coordinator")
    url = f"/api/participants/{p}/disposition"
    assert world.client.get(url, headers=coord).json()["status"] == "active"
    body = {"status": "withdrawn", "effective_on": "2026-03-01", "reason": "moved away",
            "data_use_allowed": True, "recontact_allowed": False}  # fmt: skip
    r = world.client.post(url, json=body, headers=coord)
    assert r.status_code == 201, r.text
    assert r.json()["label"] == "withdrawn (no re-contact; data may be used)"
    r = world.client.post(url, json={"status": "active", "effective_on": "2026-04-01"},
                          headers=coord)  # fmt: skip
    assert r.status_code == 422 and "withdrawn cannot become active" in r.text
    assert [c["status"] for c in world.client.get(url, headers=coord).json()["history"]] == [
        "withdrawn"
    ]
    visits = world.client.get(f"/api/participants/{p}/visits", headers=coord).json()
    assert {v["status"] for v in visits if v["name"] == "week 2"} == {"missed"}


def test_missing_withdrawal_field_is_named(world: World) -> None:
    r = world.client.post(
        f"/api/participants/{world.participant_id}/disposition",
        json={"status": "withdrawn", "effective_on": "2026-03-01", "reason": "r",
              "data_use_allowed": True},
        headers=world.headers("coordinator"),
    )  # fmt: skip
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "recontact_allowed"


def test_contact_attempts_and_timeline(world: World) -> None:
    p, coord = world.participant_id, world.headers("coordinator")
    r = world.client.post(
        f"/api/participants/{p}/contact-attempts",
        json={"attempted_on": "2026-03-02", "method": "phone", "outcome": "no_answer"},
        headers=coord,
    )
    assert r.status_code == 201 and r.json()["recorded_by"] == "coordinator"
    timeline = world.client.get(f"/api/participants/{p}/timeline", headers=coord).json()
    assert {"visit", "contact attempt"} <= {e["kind"] for e in timeline}
    assert any(e["title"] == "phone: no answer" for e in timeline)


def test_look_back_is_site_scoped(world: World) -> None:
    admin = world.headers("admin")
    other = world.headers("other_site")
    r = world.client.get("/api/look-back", params={"lot": "L001"}, headers=admin)
    assert r.status_code == 200 and r.json() == []  # the lot was given to nobody yet
    r = world.client.get("/api/look-back", params={"lot": "NOPE"}, headers=admin)
    assert r.status_code == 404
    r = world.client.get("/api/look-back", headers=admin)
    assert r.status_code == 422
    r = world.client.get(f"/api/participants/{world.participant_id}/product-chain", headers=other)
    assert r.status_code == 404
