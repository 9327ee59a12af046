"""The authorization matrix: every endpoint x every role (users at site S01), and 401 without a
token. The expected roles are written out here, independently of the permission table."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PASSWORD, PROTOCOL, ROLES, World

ALL = frozenset(ROLES)
CLINICAL = frozenset({"admin", "investigator", "coordinator"})
INVESTIGATOR = frozenset({"admin", "investigator"})
ADMIN = frozenset({"admin"})
AUDIT = frozenset({"admin", "monitor"})  # a monitor scoped to sites reads its sites' entries
QUERY_RAISERS = frozenset({"admin", "investigator", "coordinator", "monitor"})
QUERY_CLOSERS = frozenset({"admin", "monitor"})
REPORTERS = frozenset({"admin", "investigator", "monitor", "statistician"})
P, E, A, W, L, Q = "{p}", "{exam}", "{ae}", "{wisci}", "{lot}", "{query}"
MEASURE = {"assessed_on": "2026-02-09", "assessor": "PT"}

#: (method, path, JSON body, roles allowed). Order matters only in that logout comes last.
MATRIX: list[tuple[str, str, dict[str, Any] | None, frozenset[str]]] = [
    ("GET", "/api/auth/me", None, ALL),
    ("GET", "/api/trials", None, ALL),
    ("GET", f"/api/trials/{PROTOCOL}", None, ALL),
    ("GET", f"/api/trials/{PROTOCOL}/sites", None, ALL),
    ("GET", f"/api/trials/{PROTOCOL}/participants", None, ALL),
    ("GET", f"/api/participants/{P}", None, ALL),
    ("GET", f"/api/participants/{P}/visits", None, ALL),
    ("GET", f"/api/participants/{P}/eligibility", None, ALL),
    ("GET", f"/api/participants/{P}/exams", None, ALL),
    ("GET", f"/api/exams/{E}", None, ALL),
    ("GET", f"/api/exams/{E}/signatures", None, ALL),
    ("GET", f"/api/participants/{P}/measures/wisci", None, ALL),
    ("GET", f"/api/participants/{P}/adverse-events", None, ALL),
    ("GET", f"/api/adverse-events/{A}", None, ALL),
    ("GET", f"/api/participants/{P}/administrations", None, ALL),
    ("GET", "/api/lots", None, ALL),
    ("GET", f"/api/lots/{L}", None, ALL),
    ("GET", f"/api/lots/{L}/custody", None, ALL),
    ("GET", f"/api/trials/{PROTOCOL}/queries", None, ALL),
    ("GET", f"/api/participants/{P}/queries", None, ALL),
    ("GET", f"/api/queries/{Q}", None, ALL),
    ("GET", "/api/audit", None, AUDIT),
    ("GET", "/api/audit/verify", None, ADMIN),  # monitors too, when they see every site
    ("GET", "/api/users", None, ADMIN),
    # the report archive: roles that may report, seeing every site (users here see S01 only)
    ("GET", f"/api/trials/{PROTOCOL}/reports", None, ADMIN),
    ("POST", f"/api/trials/{PROTOCOL}/reports", {"kind": "efficacy"}, ADMIN),
    ("GET", "/api/reports/1", None, REPORTERS),
    ("POST", "/api/trials", {"protocol_id": "T2", "title": "t", "phase": "1",
                             "arms": [{"code": "a", "name": "A"}],
                             "visits": [{"name": "day 0", "target_day": 0}]}, ADMIN),
    ("POST", f"/api/trials/{PROTOCOL}/sites", {"code": "S09", "name": "Nine"}, ADMIN),
    ("POST", "/api/participants", {"protocol_id": PROTOCOL, "site_code": "S01",
                                   "study_id": "P0{role}", "injury_date": "2026-01-05",
                                   "injury_level": "C5", "injury_mechanism": "fall",
                                   "age_at_injury": 30, "sex": "F"}, CLINICAL),
    ("PATCH", f"/api/participants/{P}", {"version": 1, "reason": "r", "age_at_injury": 35},
     CLINICAL),
    ("PUT", f"/api/participants/{P}/visits/day 0", {"done_on": "2026-01-26", "reason": "r"},
     CLINICAL),
    ("POST", f"/api/participants/{P}/visits/week 2/missed", {"reason": "in hospital"}, CLINICAL),
    ("POST", f"/api/participants/{P}/eligibility", {"assessed_on": "2026-01-25"}, INVESTIGATOR),
    ("POST", f"/api/participants/{P}/randomization", None, INVESTIGATOR),
    ("POST", f"/api/participants/{P}/exams",
     {"examined_on": "2026-02-09", "examiner": "Dr X", "cells": {}}, CLINICAL),
    ("PATCH", f"/api/exams/{E}", {"version": 1, "reason": "r", "examiner": "Dr Y"}, CLINICAL),
    ("POST", f"/api/exams/{E}/signatures", {"password": PASSWORD, "version": 1}, INVESTIGATOR),
    ("POST", f"/api/exams/{E}/of-record", {"version": 1, "reason": "r"}, CLINICAL),
    ("POST", f"/api/participants/{P}/measures/scim",
     {**MEASURE, "self_care": 5, "respiration_sphincter": 10, "mobility": 3}, CLINICAL),
    ("POST", f"/api/participants/{P}/measures/wisci", {**MEASURE, "level": 1}, CLINICAL),
    ("POST", f"/api/participants/{P}/measures/ten_metre_walk",
     {**MEASURE, "seconds": 20.5, "start_mode": "standing"}, CLINICAL),
    ("POST", f"/api/participants/{P}/measures/six_minute_walk",
     {**MEASURE, "metres": 120, "track_length_m": 30}, CLINICAL),
    ("PATCH", f"/api/measures/wisci/{W}", {"version": 1, "reason": "r", "values": {"level": 2}},
     CLINICAL),
    ("POST", f"/api/participants/{P}/adverse-events",
     {"term": "Headache", "category": "other", "onset_date": "2026-02-03",
      "awareness_date": "2026-02-03", "ctcae_grade": 1, "related_to_cells": "not_related",
      "related_to_procedure": "possible", "related_to_immunosuppression": "not_related",
      "expectedness": "expected", "outcome": "recovered", "resolution_date": "2026-02-04"},
     CLINICAL),
    ("PATCH", f"/api/adverse-events/{A}", {"version": 1, "reason": "r", "outcome": "recovering"},
     CLINICAL),
    ("POST", f"/api/adverse-events/{A}/expedited-submission",
     {"version": 1, "submitted_on": "2026-02-05", "authority": "MHRA", "reference": "R1"},
     CLINICAL),
    ("GET", f"/api/adverse-events/{A}/follow-ups", None, ALL),
    ("POST", f"/api/adverse-events/{A}/follow-ups", {"reported_on": "2026-02-05", "text": "t"},
     CLINICAL),
    ("GET", f"/api/adverse-events/{A}/history", None, ALL),
    ("POST", "/api/ipsc-lines", {"name": "line-{role}", "description": "d"}, INVESTIGATOR),
    ("POST", "/api/specifications",
     {"spec_version": "v-{role}", "limits": {"viability": {"min": 70}}}, INVESTIGATOR),
    ("POST", "/api/lots", {"lot_number": "L-{role}", "ipsc_line": "iPSC-01", "spec_version": "v1",
                           "manufactured_on": "2026-01-02", "expiry_date": "2026-06-30"},
     INVESTIGATOR),
    ("POST", f"/api/lots/{L}/release-tests",
     {"test": "viability", "tested_on": "2026-01-03", "tested_by": "QC", "value": 90},
     INVESTIGATOR),
    ("POST", f"/api/lots/{L}/release", None, INVESTIGATOR),
    ("POST", f"/api/lots/{L}/custody", {"event": "received", "holder": "Pharmacy",
                                        "location": "S01", "at": "2026-02-01T08:00:00Z"},
     INVESTIGATOR),
    ("POST", f"/api/participants/{P}/administrations",
     {"lot_number": "L001", "dose_cells": 2000000, "volume_ml": 0.1, "injection_site": "C5",
      "administered_at": "2026-01-26T09:00:00Z", "operator": "Dr S",
      "identity_checked_by": "RN C", "participant_identity_confirmed": True,
      "product_identity_confirmed": True}, INVESTIGATOR),
    ("POST", f"/api/participants/{P}/queries",
     {"entity": "isncsci_exam", "entity_id": E, "field": "examiner", "text": "Who?"},
     QUERY_RAISERS),
    ("POST", f"/api/queries/{Q}/answer", {"version": 1, "answer": "Dr Exam"}, CLINICAL),
    ("POST", f"/api/queries/{Q}/close", {"version": 1}, QUERY_CLOSERS),
    ("POST", "/api/users", {"username": "new-{role}", "password": PASSWORD, "role": "monitor"},
     ADMIN),
    ("PATCH", "/api/users/{monitor_id}", {"version": 1, "reason": "r", "active": True}, ADMIN),
    # the other site's investigator: a reset revokes the target's tokens
    ("POST", "/api/users/{other_id}/password-reset",
     {"password": "temporary granite harbour", "reason": "r"}, ADMIN),
    ("POST", "/api/users/{other_id}/unlock", {"reason": "r"}, ADMIN),
    ("POST", "/api/auth/password",
     {"current_password": PASSWORD, "new_password": "my own quiet lighthouse"}, ALL),
    ("POST", "/api/auth/logout", None, ALL),
]  # fmt: skip


def _fill(world: World, role: str, value: Any) -> Any:
    if isinstance(value, str):
        return value.format(
            p=world.participant_id, exam=world.exam_id, ae=world.adverse_event_id,
            wisci=world.measure_id, lot=world.lot_number, role=role,
            monitor_id=world.user_ids["monitor"], query=world.query_id,
            other_id=world.user_ids["other_site"],
        )  # fmt: skip
    if isinstance(value, dict):
        return {k: _fill(world, role, v) for k, v in value.items()}
    return value


def test_every_endpoint_is_in_the_matrix(world: World) -> None:
    """The matrix lists each operation of the OpenAPI schema once (login is public)."""
    paths = world.client.get("/openapi.json").json()["paths"]
    operations = sum(len(item) for item in paths.values())
    assert operations - 1 == len(MATRIX)
    assert len({(m, p) for m, p, _, _ in MATRIX}) == len(MATRIX)


@pytest.mark.parametrize("role", ROLES)
def test_role_gets_403_exactly_where_the_matrix_says(world: World, role: str) -> None:
    wrong = []
    for method, path, body, allowed in MATRIX:
        url = _fill(world, role, path)
        response = world.client.request(
            method, url, json=_fill(world, role, body), headers=world.headers(role)
        )
        denied = response.status_code == 403
        if response.status_code == 401 or denied == (role in allowed):
            wrong.append(f"{method} {url}: {response.status_code} {response.text[:120]}")
    assert wrong == []


def test_every_endpoint_needs_a_token(world: World) -> None:
    for method, path, body, _ in MATRIX:
        response = world.client.request(method, _fill(world, "x", path), json=body)
        assert response.status_code == 401, f"{method} {path}"
