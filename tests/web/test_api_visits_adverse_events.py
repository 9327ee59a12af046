"""The API of visits (state, completion by the exam, missed, exam of record) and of adverse-event
follow-up (narrative, expedited-report submission, follow-up reports, history), site-scoped."""

from __future__ import annotations

from typing import Any

from .conftest import World

EXAM = {"examiner": "Dr X", "visit_name": "week 2"}


def _cells(world: World) -> dict[str, Any]:
    exam = world.client.get(f"/api/exams/{world.exam_id}", headers=world.headers("coordinator"))
    return dict(exam.json()["cells"])


def _visits(world: World, role: str = "coordinator") -> dict[str, dict[str, Any]]:
    response = world.client.get(
        f"/api/participants/{world.participant_id}/visits", headers=world.headers(role)
    )
    assert response.status_code == 200
    return {v["name"]: v for v in response.json()}


def test_saving_the_exam_completes_its_visit(world: World) -> None:
    """Issue 16: after the exam the pages still said "week 2 ... due"."""
    assert _visits(world)["week 2"]["missing"] == ["ISNCSCI exam"]
    response = world.client.post(
        f"/api/participants/{world.participant_id}/exams",
        json={**EXAM, "examined_on": "2026-02-09", "cells": _cells(world)},
        headers=world.headers("coordinator"),
    )
    assert response.status_code == 201
    week2 = _visits(world)["week 2"]
    assert (week2["status"], week2["done_on"], week2["missing"]) == ("done", "2026-02-09", [])
    assert week2["exam_of_record_id"] == response.json()["id"]


def test_screening_exam_a_day_late_is_out_of_window_by_one_day(world: World) -> None:
    screening = _visits(world)["screening"]
    assert (screening["status"], screening["days_outside"]) == ("out of window", 1)
    assert screening["label"] == "out of window (1 day late)"


def test_a_repeat_exam_without_a_reason_is_refused_naming_the_field(world: World) -> None:
    body = {"examiner": "Dr X", "visit_name": "screening", "examined_on": "2026-01-19",
            "cells": _cells(world)}  # fmt: skip
    url = f"/api/participants/{world.participant_id}/exams"
    refused = world.client.post(url, json=body, headers=world.headers("coordinator"))
    assert refused.status_code == 422
    assert "repeat_reason" in refused.text
    accepted = world.client.post(
        url, json={**body, "repeat_reason": "first exam rushed", "counts": "new"},
        headers=world.headers("coordinator"),
    )  # fmt: skip
    assert accepted.status_code == 201
    assert accepted.json()["of_record"] is True
    first = world.client.get(f"/api/exams/{world.exam_id}", headers=world.headers("monitor"))
    assert first.json()["of_record"] is False
    assert _visits(world)["screening"]["exam_of_record_id"] == accepted.json()["id"]
    back = world.client.post(
        f"/api/exams/{world.exam_id}/of-record",
        json={"version": first.json()["version"], "reason": "monitor: the first counts"},
        headers=world.headers("coordinator"),
    )
    assert back.status_code == 200 and back.json()["of_record"] is True


def test_a_visit_is_marked_missed_with_its_reason(world: World) -> None:
    response = world.client.post(
        f"/api/participants/{world.participant_id}/visits/week 2/missed",
        json={"reason": "participant in hospital elsewhere"},
        headers=world.headers("coordinator"),
    )
    assert response.status_code == 200
    week2 = {v["name"]: v for v in response.json()}["week 2"]
    assert (week2["status"], week2["missed_reason"]) == (
        "missed", "participant in hospital elsewhere",
    )  # fmt: skip


def test_visits_of_another_site_are_not_found(world: World) -> None:
    response = world.client.post(
        f"/api/participants/{world.other_participant_id}/visits/week 2/missed",
        json={"reason": "x"},
        headers=world.headers("coordinator"),
    )
    assert response.status_code == 404


def test_adverse_event_follow_up_needs_a_narrative_once_serious(world: World) -> None:
    url = f"/api/adverse-events/{world.adverse_event_id}"
    change = {"version": 1, "reason": "admitted", "serious_criteria": ["hospitalisation"]}
    refused = world.client.patch(url, json=change, headers=world.headers("investigator"))
    assert refused.status_code == 422 and "narrative" in refused.text
    done = world.client.patch(
        url, json={**change, "narrative": "Admitted for pain control."},
        headers=world.headers("investigator"),
    )  # fmt: skip
    assert done.status_code == 200
    body = done.json()
    assert body["serious_criteria"] == ["hospitalisation"] and body["narrative"]
    history = world.client.get(f"{url}/history", headers=world.headers("monitor")).json()
    assert {"serious_criteria", "narrative"} <= {h["field"] for h in history}
    assert "admitted" in {h["reason"] for h in history}


def test_expedited_submission_meets_the_deadline(world: World) -> None:
    url = f"/api/adverse-events/{world.adverse_event_id}"
    susar = world.client.patch(
        url,
        json={"version": 1, "reason": "now serious and unexpected",
              "serious_criteria": ["hospitalisation"], "expectedness": "unexpected",
              "narrative": "Admitted with new pain (test)."},
        headers=world.headers("investigator"),
    ).json()  # fmt: skip
    assert susar["expedited_status"] in ("due", "overdue")
    submitted = world.client.post(
        f"{url}/expedited-submission",
        json={"version": susar["version"], "submitted_on": "2026-02-10", "authority": "MHRA",
              "reference": "SUSAR-1"},
        headers=world.headers("investigator"),
    )  # fmt: skip
    assert submitted.status_code == 200
    body = submitted.json()
    assert body["expedited_status"] == "submitted"
    assert [(c["rule"], c["reference"]) for c in body["clocks"]] == [("us_ind_15_day", "SUSAR-1")]
    assert body["expedited_label"] == "submitted 2026-02-10, on time"


def test_a_trial_under_both_jurisdictions_answers_each_clock_on_its_own(world: World) -> None:
    """Issue 15: per-trial rule sets; a trial in the US and Japan gets both clocks."""
    admin, investigator = world.headers("admin"), world.headers("investigator")
    trial = world.client.get("/api/trials", headers=admin).json()[0]["protocol_id"]
    refused = world.client.put(
        f"/api/trials/{trial}/jurisdictions", json={"jurisdictions": ["us_ind", "jp_asrm"]},
        headers=admin,
    )  # fmt: skip
    assert refused.status_code == 422 and "provision plan" in refused.text
    put = world.client.put(
        f"/api/trials/{trial}/jurisdictions",
        json={"jurisdictions": ["us_ind", "jp_asrm"], "provision_plan_submitted_on": "2026-01-01"},
        headers=admin,
    )  # fmt: skip
    assert put.status_code == 200 and put.json()["jurisdictions"] == ["jp_asrm", "us_ind"]
    url = f"/api/adverse-events/{world.adverse_event_id}"
    event = world.client.patch(
        url,
        json={"version": 1, "reason": "now serious", "serious_criteria": ["hospitalisation"],
              "expectedness": "expected", "narrative": "Admitted (test)."},
        headers=investigator,
    ).json()  # fmt: skip
    # Expected, so no US IND report; Japan reports serious suspected events regardless.
    assert [c["rule"] for c in event["clocks"]] == ["jp_asrm_15_day"]
    clock = world.client.post(
        f"{url}/clocks/jp_asrm_15_day/submission",
        json={"version": event["version"], "submitted_on": "2026-02-10",
              "authority": "Certified committee", "reference": "JP-1"},
        headers=investigator,
    )  # fmt: skip
    assert clock.status_code == 200 and clock.json()["status"] == "submitted"
    wrong = world.client.post(
        f"{url}/clocks/us_ind_7_day/submission",
        json={"version": event["version"], "submitted_on": "2026-02-10", "authority": "FDA",
              "reference": "X"},
        headers=investigator,
    )  # fmt: skip
    assert wrong.status_code == 422 and "jp_asrm_15_day" in wrong.text
    reports = world.client.get(
        f"/api/trials/{trial}/periodic-reports?on=2026-03-15", headers=admin
    ).json()
    first = next(r for r in reports if r["rule"] == "jp_asrm_60_day")
    assert (first["period_end"], first["due"], first["status"]) == (
        "2026-03-01",
        "2026-03-11",
        "overdue",
    )


def test_follow_up_reports_are_listed(world: World) -> None:
    url = f"/api/adverse-events/{world.adverse_event_id}/follow-ups"
    posted = world.client.post(
        url, json={"reported_on": "2026-02-06", "text": "Pain settling on pregabalin."},
        headers=world.headers("coordinator"),
    )  # fmt: skip
    assert posted.status_code == 201
    listed = world.client.get(url, headers=world.headers("monitor")).json()
    assert [(f["reported_on"], f["reported_by"]) for f in listed] == [("2026-02-06", "coordinator")]
