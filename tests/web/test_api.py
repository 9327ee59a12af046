"""The REST API on each database: tokens, site scoping, validation, locking, signatures."""

from __future__ import annotations

from datetime import timedelta

from builders import acting_as
from cordtrial.trial.services.exams import correct_exam

from .conftest import NOW, PASSWORD, PROTOCOL, World


def test_openapi_schema_describes_the_api(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    assert schema["info"]["title"] == "cordtrial"
    assert "/api/exams/{exam_id}/signatures" in schema["paths"]
    assert "ExamRead" in schema["components"]["schemas"]


def test_login_issues_a_token_and_logout_revokes_it(world: World) -> None:
    response = world.client.post(
        "/api/auth/login", json={"username": "monitor", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert world.client.get("/api/auth/me", headers=headers).json()["username"] == "monitor"
    assert world.client.post("/api/auth/logout", headers=headers).status_code == 204
    assert world.client.get("/api/auth/me", headers=headers).status_code == 401


def test_login_is_locked_after_five_failures(world: World) -> None:
    bad = {"username": "monitor", "password": "wrong passphrase!"}
    for _ in range(5):
        assert world.client.post("/api/auth/login", json=bad).status_code == 401
    good = {"username": "monitor", "password": PASSWORD}
    response = world.client.post("/api/auth/login", json=good)
    assert response.status_code == 401
    assert (
        response.json()["detail"]
        == world.client.post(
            "/api/auth/login", json={"username": "nobody", "password": PASSWORD}
        ).json()["detail"]
    )


def test_request_without_or_with_a_bad_token_is_401(world: World) -> None:
    assert world.client.get("/api/trials").status_code == 401
    response = world.client.get("/api/trials", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_exam_is_returned_with_its_classification(world: World) -> None:
    response = world.client.get(f"/api/exams/{world.exam_id}", headers=world.headers("monitor"))
    assert response.status_code == 200
    classification = response.json()["classification"]
    assert (classification["nli"], classification["ais"]) == ("C5", "A")


def test_other_sites_records_are_404_and_not_listed(world: World) -> None:
    headers = world.headers("other_site")
    for path in (
        f"/api/participants/{world.participant_id}",
        f"/api/exams/{world.exam_id}",
        f"/api/adverse-events/{world.adverse_event_id}",
        f"/api/participants/{world.participant_id}/exams",
    ):
        response = world.client.get(path, headers=headers)
        assert response.status_code == 404, path
    missing = world.client.get("/api/participants/99999", headers=headers).json()
    assert "99999" in missing["detail"]
    listed = world.client.get(f"/api/trials/{PROTOCOL}/participants", headers=headers).json()
    assert [p["study_id"] for p in listed] == ["P002"]
    sites = world.client.get(f"/api/trials/{PROTOCOL}/sites", headers=headers).json()
    assert [s["code"] for s in sites] == ["S02"]


def test_bad_cell_value_is_422_naming_the_field(world: World) -> None:
    response = world.client.post(
        f"/api/participants/{world.participant_id}/exams",
        headers=world.headers("coordinator"),
        json={"examined_on": "2026-02-09", "examiner": "Dr X", "cells": {"r_c5_motor": "7"}},
    )
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["loc"] == ["body", "cells", "r_c5_motor"]
    assert item["input"] == "7" and item["allowed"]


def test_malformed_body_is_422_with_field_level_messages(world: World) -> None:
    response = world.client.post(
        f"/api/participants/{world.participant_id}/measures/wisci",
        headers=world.headers("coordinator"),
        json={"assessed_on": "not a date", "assessor": "PT"},
    )
    assert response.status_code == 422
    locations = {tuple(item["loc"]) for item in response.json()["detail"]}
    assert {("body", "assessed_on"), ("body", "level")} <= locations


def test_out_of_range_measure_is_422(world: World) -> None:
    response = world.client.post(
        f"/api/participants/{world.participant_id}/measures/wisci",
        headers=world.headers("coordinator"),
        json={"assessed_on": "2026-02-09", "assessor": "PT", "level": 21},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "level"


def test_stale_version_is_409_with_the_current_version(world: World) -> None:
    path = f"/api/participants/{world.participant_id}"
    headers = world.headers("coordinator")
    version = world.client.get(path, headers=headers).json()["version"]
    first = {"version": version, "reason": "typo", "age_at_injury": 35}
    assert world.client.patch(path, headers=headers, json=first).status_code == 200
    second = {"version": version, "reason": "typo", "age_at_injury": 36}
    response = world.client.patch(path, headers=headers, json=second)
    assert response.status_code == 409
    assert response.json()["current_version"] == version + 1


def test_change_without_reason_is_422(world: World) -> None:
    response = world.client.patch(
        f"/api/adverse-events/{world.adverse_event_id}",
        headers=world.headers("coordinator"),
        json={"version": 1, "reason": "", "outcome": "recovered"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "reason"]


def test_signed_exam_shows_the_signature_void_after_a_change(world: World) -> None:
    headers = world.headers("investigator")
    path = f"/api/exams/{world.exam_id}/signatures"
    signed = world.client.post(path, headers=headers, json={"password": PASSWORD, "version": 1})
    assert signed.status_code == 201 and not signed.json()["void"]
    correct_exam(world.session, user=acting_as("coordinator"), exam_id=world.exam_id,
                 reason="transcription error", cells={"r_c6_lt": "1"})  # fmt: skip
    (signature,) = world.client.get(path, headers=headers).json()
    assert signature["void"] is True
    stale = world.client.post(path, headers=headers, json={"password": PASSWORD, "version": 1})
    assert stale.status_code == 409


def test_signing_with_a_wrong_password_is_401(world: World) -> None:
    response = world.client.post(
        f"/api/exams/{world.exam_id}/signatures",
        headers=world.headers("investigator"),
        json={"password": "not my passphrase", "version": 1},
    )
    assert response.status_code == 401


def test_administration_from_a_quarantined_lot_is_refused_with_reasons(world: World) -> None:
    response = world.client.post(
        f"/api/participants/{world.participant_id}/administrations",
        headers=world.headers("investigator"),
        json={
            "lot_number": world.lot_number, "dose_cells": 2_000_000, "volume_ml": 0.1,
            "injection_site": "C5", "administered_at": (NOW - timedelta(hours=1)).isoformat(),
            "operator": "Dr Surgeon", "identity_checked_by": "RN Check",
            "participant_identity_confirmed": True, "product_identity_confirmed": True,
        },
    )  # fmt: skip
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["type"] == "rule_violation"
    assert any("quarantine" in item["msg"] for item in detail)


def test_audit_trail_is_read_whole_by_admins(world: World) -> None:
    response = world.client.get(
        "/api/audit", params={"entity": "participant", "limit": 5}, headers=world.headers("admin")
    )
    assert response.status_code == 200
    assert {e["entity"] for e in response.json()} == {"participant"}
    assert world.client.get("/api/audit/verify", headers=world.headers("admin")).json()["ok"]


def test_site_monitor_reads_only_the_audit_of_its_sites_records(world: World) -> None:
    entries = world.client.get(
        "/api/audit", params={"limit": 1000}, headers=world.headers("monitor")
    ).json()
    keys = {(e["entity"], e["entity_id"]) for e in entries}
    assert ("participant", str(world.participant_id)) in keys
    assert ("isncsci_exam", str(world.exam_id)) in keys
    assert ("participant", str(world.other_participant_id)) not in keys
    assert ("site", str(world.site_ids["S02"])) not in keys
    assert not {entity for entity, _ in keys} & {"trial", "lot", "app_user", "api_token"}
    assert (
        world.client.get("/api/audit/verify", headers=world.headers("monitor")).status_code == 403
    )


def test_all_sites_monitor_reads_the_whole_audit_trail(world: World) -> None:
    admin = world.headers("admin")
    me = world.client.get("/api/users", headers=admin).json()
    monitor = next(u for u in me if u["username"] == "monitor")
    patched = world.client.patch(
        f"/api/users/{monitor['id']}",
        json={"version": monitor["version"], "reason": "central monitoring", "all_sites": True},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    entries = world.client.get(
        "/api/audit", params={"limit": 1000}, headers=world.headers("monitor")
    ).json()
    assert ("participant", str(world.other_participant_id)) in {
        (e["entity"], e["entity_id"]) for e in entries
    }
    assert world.client.get("/api/audit/verify", headers=world.headers("monitor")).json()["ok"]


def test_patch_user_is_atomic(world: World) -> None:
    """A refused site leaves the role unchanged too: one transaction for role, sites, active."""
    admin = world.headers("admin")
    user_id = world.user_ids["coordinator"]
    response = world.client.patch(
        f"/api/users/{user_id}",
        json={"version": 1, "reason": "r", "role": "monitor", "site_ids": [9999], "active": False},
        headers=admin,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "site_ids"]
    users = {u["id"]: u for u in world.client.get("/api/users", headers=admin).json()}
    assert users[user_id]["role"] == "coordinator" and users[user_id]["active"] is True
    assert users[user_id]["version"] == 1
    ok = world.client.patch(
        f"/api/users/{user_id}",
        json={"version": 1, "reason": "r", "role": "monitor", "active": False},
        headers=admin,
    )
    assert ok.status_code == 200 and ok.json()["version"] == 2
    assert (ok.json()["role"], ok.json()["active"]) == ("monitor", False)


def test_audit_verify_checks_anchors_kept_elsewhere(world: World) -> None:
    """Issue 12: the API proves the chain still leads through a head hash recorded earlier."""
    admin = world.headers("admin")
    head = world.client.get("/api/audit/verify", headers=admin).json()["head_hash"]
    kept = world.client.get("/api/audit/verify", params={"anchor": head}, headers=admin).json()
    assert kept["ok"] and kept["problems"] == []
    elsewhere = world.client.get(
        "/api/audit/verify", params={"anchor": [head, "ab" * 32]}, headers=admin
    ).json()
    assert not elsewhere["ok"]
    assert elsewhere["problems"] == [
        "anchor: the recorded head abababababab... is not in the chain (the trail was "
        "rewritten, or the anchor belongs to another store)"
    ]
    refused = world.client.get("/api/audit/verify", params={"anchor": "abc"}, headers=admin)
    assert refused.status_code == 422
    assert "64 hexadecimal digits" in refused.text


def test_lot_custody_names_only_recipients_of_the_readers_sites(world: World) -> None:
    """Issue 12: a lot goes to participants of several sites; its custody notes named every
    recipient to any reader."""
    from cordtrial.trial.services.product import record_custody_event

    for note in ("administered to participant P002", "thawed for P001 and P002; P0021 spare"):
        record_custody_event(
            world.session, user=acting_as("setup"), lot_number="L001", event="shipped",
            holder="Pharmacy", location="Ward 3", at=NOW, note=note,
        )  # fmt: skip

    def notes(username: str) -> list[str]:
        response = world.client.get("/api/lots/L001/custody", headers=world.headers(username))
        assert response.status_code == 200
        return [e["note"] for e in response.json()]

    assert notes("coordinator") == [
        "administered to participant (a participant of another site)",
        "thawed for P001 and (a participant of another site); P0021 spare",
    ]
    assert notes("other_site") == [
        "administered to participant P002",
        "thawed for (a participant of another site) and P002; P0021 spare",
    ]
    assert notes("admin") == [
        "administered to participant P002",
        "thawed for P001 and P002; P0021 spare",
    ]
