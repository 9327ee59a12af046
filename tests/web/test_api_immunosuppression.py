"""The immunosuppression API (issue 15): troughs converted and flagged against the target in
force, a unit of another kind refused naming it, the course's dose changes, interruptions and
stop, and the site-scoped out-of-range list."""

from __future__ import annotations

from .conftest import PROTOCOL, World


def test_a_trough_above_target_is_flagged_and_listed(world: World) -> None:
    coordinator = world.headers("coordinator")
    url = f"/api/immunosuppression-courses/{world.course_id}/troughs"
    posted = world.client.post(
        url, json={"sampled_at": "2026-02-03T08:00:00Z", "hours_since_dose": 12, "value": 30,
                   "unit": "nmol/L"},
        headers=coordinator,
    )  # fmt: skip
    assert posted.status_code == 201, posted.text
    trough = posted.json()
    # 30 nmol/L x 804.03 g/mol = 24.12 ng/mL, above the world's 7-20 ng/mL
    assert (round(trough["value"], 2), trough["flag"]) == (24.12, "above")
    assert (trough["target_low"], trough["target_high"]) == (7, 20)
    listed = world.client.get(f"/api/trials/{PROTOCOL}/troughs/out-of-range", headers=coordinator)
    assert [(r["study_id"], r["trough"]["id"]) for r in listed.json()] == [("P001", trough["id"])]
    other = world.client.get(
        f"/api/trials/{PROTOCOL}/troughs/out-of-range", headers=world.headers("other_site")
    )
    assert other.json() == []
    # current_only: the courses still running; once stopped, the trough is left out
    current = f"/api/trials/{PROTOCOL}/troughs/out-of-range?current_only=true"
    assert [r["trough"]["id"] for r in world.client.get(current, headers=coordinator).json()] == [
        trough["id"]
    ]
    stopped = world.client.post(
        f"/api/immunosuppression-courses/{world.course_id}/stop",
        headers=world.headers("investigator"),
        json={"stopped_on": "2026-02-08", "reason": "planned"},
    )
    assert stopped.status_code == 200, stopped.text
    assert world.client.get(current, headers=coordinator).json() == []
    every = world.client.get(f"/api/trials/{PROTOCOL}/troughs/out-of-range", headers=coordinator)
    assert [r["trough"]["id"] for r in every.json()] == [trough["id"]]


def test_a_trough_in_an_incompatible_unit_is_refused_naming_the_unit(world: World) -> None:
    bad = world.client.post(
        f"/api/immunosuppression-courses/{world.course_id}/troughs",
        json={"sampled_at": "2026-02-03T08:00:00Z", "hours_since_dose": 12, "value": 9,
              "unit": "U/L"},
        headers=world.headers("coordinator"),
    )  # fmt: skip
    assert bad.status_code == 422
    assert "U/L" in bad.text and "ng/mL" in bad.text and "unit" in bad.text


def test_the_course_shows_changes_interruptions_stop_and_days_on_drug(world: World) -> None:
    course = f"/api/immunosuppression-courses/{world.course_id}"
    coordinator, investigator = world.headers("coordinator"), world.headers("investigator")
    assert (
        world.client.post(
            f"{course}/dose-changes",
            headers=coordinator,
            json={"changed_on": "2026-02-02", "dose": 5, "reason": "trough above target"},
        ).status_code
        == 201
    )
    assert (
        world.client.post(
            f"{course}/interruptions",
            headers=coordinator,
            json={"from_date": "2026-02-05", "to_date": "2026-02-06", "reason": "vomiting"},
        ).status_code
        == 201
    )
    stopped = world.client.post(
        f"{course}/stop",
        headers=investigator,
        json={"stopped_on": "2026-02-08", "reason": "infection"},
    )
    assert stopped.status_code == 200, stopped.text
    (read,) = world.client.get(
        f"/api/participants/{world.participant_id}/immunosuppression", headers=coordinator
    ).json()
    assert read["stop_reason"] == "infection"
    assert [c["dose"] for c in read["dose_changes"]] == [5]
    # 26 Jan to 7 Feb (the stop day is the first without drug): 13 days, less the 2 interrupted
    assert read["exposure_days"] == 11


def test_a_course_at_another_site_is_not_found(world: World) -> None:
    response = world.client.post(
        f"/api/immunosuppression-courses/{world.course_id}/dose-changes",
        json={"changed_on": "2026-02-02", "dose": 5, "reason": "r"},
        headers=world.headers("other_site"),
    )
    assert response.status_code == 404
