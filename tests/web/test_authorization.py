"""The authorization matrix: every endpoint x every role (users at site S01), and 401 without a
token. The expected roles are written out here, independently of the permission table."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PASSWORD, PROTOCOL, ROLES, World

ALL = frozenset(ROLES)
#: Everyone who reads the trial's data: every role but the central imaging reader (issue 14),
#: who sees only the MRIs assigned to them.
STAFF = ALL - {"reader"}
IMAGING_MANAGERS = frozenset({"admin", "investigator"})
READERS = frozenset({"admin", "reader"})
CLINICAL = frozenset({"admin", "investigator", "coordinator"})
INVESTIGATOR = frozenset({"admin", "investigator"})
ADMIN = frozenset({"admin"})
AUDIT = frozenset({"admin", "monitor"})  # a monitor scoped to sites reads its sites' entries
QUERY_RAISERS = frozenset({"admin", "investigator", "coordinator", "monitor"})
QUERY_CLOSERS = frozenset({"admin", "monitor"})
REPORTERS = frozenset({"admin", "investigator", "monitor", "statistician"})
P, E, A, W, L, Q = "{p}", "{exam}", "{ae}", "{wisci}", "{lot}", "{query}"
M, R = "{mri}", "{read}"
READ = {"impression": "stable", "new_mass": False, "contrast_enhancement": False,
        "mass_effect": False, "haemorrhage": False, "cord_compression": False, "oedema": False,
        "syrinx_present": False}  # fmt: skip
MEASURE = {"assessed_on": "2026-02-09", "assessor": "PT"}

#: (method, path, JSON body, roles allowed). Order matters only in that logout comes last.
MATRIX: list[tuple[str, str, dict[str, Any] | None, frozenset[str]]] = [
    ("GET", "/api/auth/me", None, ALL),
    ("GET", "/api/trials", None, STAFF),
    ("GET", f"/api/trials/{PROTOCOL}", None, STAFF),
    ("GET", f"/api/trials/{PROTOCOL}/sites", None, STAFF),
    ("GET", f"/api/trials/{PROTOCOL}/participants", None, STAFF),
    ("GET", f"/api/trials/{PROTOCOL}/exams", None, STAFF),
    ("GET", f"/api/trials/{PROTOCOL}/adverse-events", None, STAFF),
    ("GET", f"/api/participants/{P}", None, STAFF),
    ("GET", f"/api/participants/{P}/visits", None, STAFF),
    ("GET", f"/api/participants/{P}/eligibility", None, STAFF),
    ("GET", f"/api/participants/{P}/exams", None, STAFF),
    ("GET", f"/api/exams/{E}", None, STAFF),
    ("GET", f"/api/exams/{E}/signatures", None, STAFF),
    ("GET", f"/api/participants/{P}/measures/wisci", None, STAFF),
    ("GET", f"/api/participants/{P}/adverse-events", None, STAFF),
    ("GET", f"/api/adverse-events/{A}", None, STAFF),
    ("GET", f"/api/participants/{P}/administrations", None, STAFF),
    ("GET", "/api/lots", None, STAFF),
    ("GET", f"/api/lots/{L}", None, STAFF),
    ("GET", f"/api/lots/{L}/custody", None, STAFF),
    ("GET", f"/api/trials/{PROTOCOL}/queries", None, STAFF),
    ("GET", f"/api/participants/{P}/queries", None, STAFF),
    ("GET", f"/api/queries/{Q}", None, STAFF),
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
    ("GET", f"/api/adverse-events/{A}/follow-ups", None, STAFF),
    ("POST", f"/api/adverse-events/{A}/follow-ups", {"reported_on": "2026-02-05", "text": "t"},
     CLINICAL),
    ("GET", f"/api/adverse-events/{A}/history", None, STAFF),
    ("GET", f"/api/adverse-events/{A}/clocks", None, STAFF),
    ("POST", f"/api/adverse-events/{A}/clocks/us_ind_15_day/submission",
     {"version": 1, "submitted_on": "2026-02-05", "authority": "FDA", "reference": "R1"},
     CLINICAL),
    ("GET", f"/api/trials/{PROTOCOL}/jurisdictions", None, STAFF),
    ("PUT", f"/api/trials/{PROTOCOL}/jurisdictions", {"jurisdictions": ["us_ind"], "reason": "r"},
     ADMIN),
    ("GET", f"/api/trials/{PROTOCOL}/periodic-reports", None, STAFF),
    ("GET", "/api/lab-analytes", None, STAFF),
    ("GET", f"/api/participants/{P}/labs", None, STAFF),
    ("POST", f"/api/participants/{P}/labs",
     {"collected_on": "2026-02-09", "results": [{"analyte": "alt", "value": 30, "unit": "U/L"}]},
     CLINICAL),
    # the world's lab result (ALT 30 U/L, no range: not graded -> 422)
    ("POST", "/api/labs/{lab}/adverse-event",
     {"awareness_date": "2026-02-10", "related_to_cells": "not_related",
      "related_to_procedure": "not_related", "related_to_immunosuppression": "possible",
      "expectedness": "expected", "outcome": "recovering"}, CLINICAL),
    ("GET", f"/api/participants/{P}/lab-eligibility", None, STAFF),
    # the world's lab result is not graded: 422 for those allowed to link it
    ("POST", "/api/labs/{lab}/link", {"adverse_event_id": A}, CLINICAL),
    # an empty file: 422 for those allowed to import
    ("POST", f"/api/trials/{PROTOCOL}/labs/import", None, CLINICAL),
    ("GET", "/api/sites/{site}/reference-ranges", None, STAFF),
    ("PUT", "/api/sites/{site}/reference-ranges/alt", {"uln": 40, "reason": "r"}, ADMIN),
    ("POST", f"/api/trials/{PROTOCOL}/periodic-reports/jp_asrm_60_day/1/submission",
     {"submitted_on": "2026-03-05", "reference": "P1"}, ADMIN),
    # concomitant medication (issue 15): the world's fluconazole, flagged for review
    ("GET", f"/api/participants/{P}/medications", None, STAFF),
    ("POST", f"/api/participants/{P}/medications",
     {"name": "baclofen", "atc_code": "M03BX01", "dose": 10, "dose_unit": "mg", "route": "oral",
      "frequency": "three times daily", "indication": "spasticity", "start_date": "2026-02-01"},
     CLINICAL),
    ("PATCH", "/api/medications/{med}",
     {"version": 1, "reason": "r", "dose": 200, "dose_unit": "mg"}, CLINICAL),
    ("POST", "/api/medications/{med}/stop", {"version": 1, "stop_date": "2026-02-16"}, CLINICAL),
    ("POST", "/api/medications/{med}/review", {"version": 1}, INVESTIGATOR),
    ("GET", "/api/medications/atc?q=baclo", None, STAFF),
    ("GET", f"/api/trials/{PROTOCOL}/medications/flagged", None, STAFF),
    # immunosuppression (issue 15); the world's participant has a tacrolimus course
    ("GET", f"/api/trials/{PROTOCOL}/immunosuppression-regimens", None, STAFF),
    ("PUT", f"/api/trials/{PROTOCOL}/immunosuppression-regimens/tacrolimus",
     {"dose": 0.1, "dose_unit": "mg/kg/d", "route": "oral", "start_day": 0,
      "planned_stop_day": 60, "source": "protocol 7.2", "reason": "amendment"}, ADMIN),
    ("GET", f"/api/participants/{P}/immunosuppression", None, STAFF),
    ("POST", f"/api/participants/{P}/immunosuppression",
     {"started_on": "2026-01-26", "start_dose": 7}, CLINICAL),  # started already: 422
    ("POST", "/api/immunosuppression-courses/{course}/dose-changes",
     {"changed_on": "2026-02-02", "dose": 5, "reason": "trough above target"}, CLINICAL),
    ("POST", "/api/immunosuppression-courses/{course}/interruptions",
     {"from_date": "2026-02-05", "to_date": "2026-02-06", "reason": "vomiting"}, CLINICAL),
    ("POST", "/api/immunosuppression-courses/{course}/troughs",
     {"sampled_at": "2026-02-03T08:00:00Z", "hours_since_dose": 12, "value": 9.5,
      "unit": "ng/mL"}, CLINICAL),
    ("POST", "/api/immunosuppression-courses/{course}/stop",
     {"stopped_on": "2026-03-27", "reason": "planned"}, INVESTIGATOR),
    ("GET", f"/api/trials/{PROTOCOL}/troughs/out-of-range", None, STAFF),
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
    # MRI surveillance (issue 14): the reader sees only the MRI assigned to them
    ("GET", f"/api/participants/{P}/mris", None, STAFF),
    ("POST", f"/api/participants/{P}/mris",
     {"acquired_on": "2026-02-11", "imaging_site": "S01", "field_strength_t": 1.5,
      "sequences": ["sagittal T2"]}, CLINICAL),
    ("GET", f"/api/mris/{M}/reads", None, ALL),
    ("POST", f"/api/mris/{M}/readers", {"readers": ["reader", "reader_b"]}, IMAGING_MANAGERS),
    ("POST", f"/api/mris/{M}/site-read", READ, CLINICAL),
    ("POST", f"/api/reads/{R}", READ, READERS),
    ("POST", f"/api/mris/{M}/adjudicator", {"reader": "reader_b"}, IMAGING_MANAGERS),
    ("GET", "/api/imaging/worklist", None, READERS),
    ("GET", f"/api/trials/{PROTOCOL}/imaging/surveillance", None, STAFF),
    ("GET", f"/api/trials/{PROTOCOL}/imaging/agreement", None, STAFF),
    # long-term follow-up (issue 14)
    ("GET", f"/api/participants/{P}/disposition", None, STAFF),
    ("POST", f"/api/participants/{P}/disposition",
     {"status": "completed_main_study", "effective_on": "2026-03-01"}, CLINICAL),
    ("GET", f"/api/participants/{P}/contact-attempts", None, STAFF),
    ("POST", f"/api/participants/{P}/contact-attempts",
     {"attempted_on": "2026-03-02", "method": "phone", "outcome": "no_answer"}, CLINICAL),
    ("GET", f"/api/trials/{PROTOCOL}/consent-versions", None, STAFF),
    ("POST", f"/api/trials/{PROTOCOL}/consent-versions",
     {"version": "v-{role}", "effective_on": "2026-01-01", "items": ["long_term_contact"]},
     ADMIN),
    ("GET", f"/api/participants/{P}/consents", None, STAFF),
    ("POST", f"/api/participants/{P}/consents",
     {"version": "v-admin", "signed_on": "2026-01-10", "items": {"long_term_contact": True}},
     CLINICAL),
    ("POST", f"/api/trials/{PROTOCOL}/long-term-visits",
     {"first_year": 2, "last_year": 3, "reason": "amendment"}, ADMIN),
    ("POST", f"/api/participants/{P}/long-term-visits/year 2", {"done_on": "2028-01-26"},
     CLINICAL),
    ("GET", f"/api/participants/{P}/timeline", None, STAFF),
    ("GET", "/api/look-back?lot={lot}", None, STAFF),
    ("GET", f"/api/participants/{P}/product-chain", None, STAFF),
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
            other_id=world.user_ids["other_site"], mri=world.mri_id, read=world.read_id,
            site=world.site_ids["S01"], lab=world.lab_id, med=world.medication_id,
            course=world.course_id,
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
