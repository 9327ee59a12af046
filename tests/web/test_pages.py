"""The workspace pages through FastAPI's TestClient, over the synthetic demo trial, on SQLite and
PostgreSQL: rendering, permissions and site scoping (a participant at another site is 404, as in
the API), CSRF, and adverse event entry."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from builders import acting_as
from cordtrial.trial.database import make_engine, make_session_factory
from cordtrial.trial.demo import seed_demo
from cordtrial.trial.models import AdverseEvent, Lot
from cordtrial.trial.services.safety import report_adverse_event
from cordtrial.web.pages.security import SESSION_COOKIE

from .conftest import DEMO_NOW, Demo


def _csrf(client: TestClient) -> str:
    return client.headers["x-test-csrf"]


def test_dashboard_redirects_to_login_without_session(demo: Demo) -> None:
    response = demo.client(None).get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2F"


def test_login_page_shows_demo_logins_and_banner(demo: Demo) -> None:
    page = demo.client(None).get("/login")
    assert page.status_code == 200
    assert "Synthetic demo data" in page.text
    assert "coordinator_b" in page.text


def test_login_form_sets_http_only_session_cookie(demo: Demo) -> None:
    client = demo.client(None)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"username": "monitor", "password": "synthetic-demo", "next": "/lots",
              "csrf_token": token.group(1)},
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/lots"
    cookie = response.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_logout_revokes_the_session(demo: Demo) -> None:
    client = demo.client("monitor")
    token = client.cookies[SESSION_COOKIE]
    assert client.get("/").status_code == 200
    response = client.post("/logout", data={"csrf_token": _csrf(client)})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    stolen = demo.client(None)
    stolen.cookies.set(SESSION_COOKIE, token)
    assert stolen.get("/").status_code == 303  # the token was revoked


def test_login_refuses_form_without_csrf_token(demo: Demo) -> None:
    response = demo.client(None).post(
        "/login", data={"username": "monitor", "password": "synthetic-demo"}
    )
    assert response.status_code == 403


def test_login_refuses_offsite_next(demo: Demo) -> None:
    client = demo.client("monitor")
    assert client.get("/login?next=//evil.example").headers["location"] == "/"


def test_dashboard_shows_visits_serious_events_and_lots(demo: Demo) -> None:
    page = demo.client("admin").get("/")
    assert page.status_code == 200
    assert "SYNTHETIC DEMO" in page.text
    assert "overdue" in page.text and "due" in page.text
    assert "Syrinx enlargement" in page.text  # the open SUSAR
    assert "DEMO-LOT-001" in page.text and "released" in page.text


def test_dashboard_shows_safety_stopping_rule_status(demo: Demo) -> None:
    """Expected: the demo's one serious related event (B-001) of four treated, evaluated by
    cordtrial.analysis.safety's default rule (not crossed)."""
    page = demo.client("investigator").get("/").text
    assert "Safety stopping rule: not crossed" in page
    assert "1 of 4 participants treated and followed (all sites)" in page
    assert "related to the cell product" in page
    # the posterior as analysis.safety prints it (format_probability: never onto the threshold)
    assert re.search(r"P\(rate &gt; 20%\) = 0\.\d{2,3} \(threshold 80%\)", page), page


def test_dashboard_lists_only_own_site_for_site_coordinator(demo: Demo) -> None:
    page = demo.client("coordinator_b").get("/").text
    assert "B-001" in page and "B-002" in page
    assert "A-001" not in page and "A-002" not in page


def test_participant_page_shows_timeline_charts_exams_and_events(demo: Demo) -> None:
    pid = demo.participant_ids["A-001"]
    page = demo.client("investigator").get(f"/participants/{pid}")
    assert page.status_code == 200
    text = page.text
    for visit in ("screening", "week 2", "week 4", "week 12", "week 24", "week 52"):
        assert visit in text
    assert text.count("<svg") == 6  # five course charts and the tacrolimus course (issue 15)
    assert "LEMS" in text and "WISCI II" in text and "SCIM III" in text
    assert f'href="/participants/{pid}/exams/new"' in text
    assert "/exams/" in text
    assert "DEMO-LOT-001" in text
    assert "Neuropathic pain" in text


def test_participant_of_another_site_is_not_found(demo: Demo) -> None:
    pid = demo.participant_ids["A-001"]
    page = demo.client("coordinator_b").get(f"/participants/{pid}")
    assert page.status_code == 404
    assert "A-001" not in page.text


def test_unknown_participant_is_not_found_like_another_sites(demo: Demo) -> None:
    assert demo.client("coordinator_b").get("/participants/999999").status_code == 404


def test_api_keeps_json_errors(demo: Demo) -> None:
    response = demo.client(None).get("/api/participants/999999")
    assert response.headers["content-type"].startswith("application/json")


def test_audit_log_is_for_monitors_and_admins_only(demo: Demo) -> None:
    assert demo.client("coordinator_a").get("/audit").status_code == 403
    page = demo.client("admin").get("/audit?entity=lot")
    assert page.status_code == 200
    assert "DEMO-LOT-001" in page.text
    assert "participant 1<" not in page.text


def test_audit_log_filters_by_record(demo: Demo) -> None:
    pid = demo.participant_ids["B-001"]
    page = demo.client("monitor").get(f"/audit?entity=participant&entity_id={pid}").text
    assert f"participant {pid}<" in page
    assert "B-001" in page
    other = demo.participant_ids["A-001"]
    assert f"participant {other}<" not in page


def test_nav_shows_audit_only_to_roles_that_read_it(demo: Demo) -> None:
    assert 'href="/audit"' in demo.client("monitor").get("/").text
    assert 'href="/audit"' not in demo.client("coordinator_a").get("/").text


def test_lots_page_judges_tests_against_specification(demo: Demo) -> None:
    page = demo.client("investigator").get("/lots").text
    assert "DEMO-LOT-002" in page
    # quarantined lot: a test not done yet is pending (it blocks release), not failed
    assert "cell count: pending, no result yet" in page
    assert '<td class="pending">pending</td>' in page
    # cell counts read as on a certificate (the demo's released lot: 2.4 x 10^7 cells or so)
    assert re.search(r"cell count: \d(\.\d+)? x 10\^\d cells", page), page
    assert "Release DEMO-LOT-002" in page  # investigators manage the product


def test_lot_release_refused_lists_failures_and_changes_nothing(demo: Demo) -> None:
    client = demo.client("investigator")
    response = client.post("/lots/DEMO-LOT-002/release", data={"csrf_token": _csrf(client)})
    assert response.status_code == 422
    assert "not released" in response.text and "no result" in response.text
    with demo.factory() as session:
        lot = session.scalars(select(Lot).where(Lot.lot_number == "DEMO-LOT-002")).one()
        assert lot.status == "quarantine"


def test_lot_release_not_offered_or_allowed_to_coordinator(demo: Demo) -> None:
    client = demo.client("coordinator_a")
    assert "Release DEMO-LOT-002" not in client.get("/lots").text
    response = client.post("/lots/DEMO-LOT-002/release", data={"csrf_token": _csrf(client)})
    assert response.status_code == 403


def _ae_form(**changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "term": "Headache (synthetic)", "category": "other", "onset_date": "2026-11-20",
        "awareness_date": "2026-11-21", "ctcae_grade": "1", "related_to_cells": "unlikely",
        "related_to_procedure": "not_related", "related_to_immunosuppression": "not_related",
        "expectedness": "expected", "outcome": "recovered", "resolution_date": "2026-11-22",
    }  # fmt: skip
    form.update(changes)
    return form


def _count_events(demo: Demo) -> int:
    with demo.factory() as session:
        return int(session.scalar(select(func.count()).select_from(AdverseEvent)) or 0)


def test_adverse_event_form_saves_and_returns_to_participant(demo: Demo) -> None:
    pid = demo.participant_ids["A-002"]
    client = demo.client("coordinator_a")
    assert client.get(f"/participants/{pid}/adverse-events/new").status_code == 200
    before = _count_events(demo)
    response = client.post(
        f"/participants/{pid}/adverse-events", data=_ae_form(csrf_token=_csrf(client))
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/participants/{pid}")
    assert _count_events(demo) == before + 1


def test_adverse_event_form_shows_field_error_and_saves_nothing(demo: Demo) -> None:
    pid = demo.participant_ids["A-002"]
    client = demo.client("coordinator_a")
    before = _count_events(demo)
    response = client.post(
        f"/participants/{pid}/adverse-events",
        data=_ae_form(csrf_token=_csrf(client), awareness_date="2026-11-01"),
    )
    assert response.status_code == 422
    assert 'id="awareness_date-error"' in response.text
    assert "awareness_date" in response.text and "2026-11-01" in response.text
    assert _count_events(demo) == before


def test_adverse_event_form_refuses_missing_csrf(demo: Demo) -> None:
    pid = demo.participant_ids["A-002"]
    response = demo.client("coordinator_a").post(
        f"/participants/{pid}/adverse-events", data=_ae_form()
    )
    assert response.status_code == 403


def test_adverse_event_form_not_for_statistician(demo: Demo) -> None:
    pid = demo.participant_ids["A-002"]
    assert (
        demo.client("statistician").get(f"/participants/{pid}/adverse-events/new").status_code
        == 403
    )


def test_adverse_event_form_at_another_site_is_not_found(demo: Demo) -> None:
    pid = demo.participant_ids["A-002"]
    client = demo.client("coordinator_b")
    response = client.post(
        f"/participants/{pid}/adverse-events", data=_ae_form(csrf_token=_csrf(client))
    )
    assert response.status_code == 404


def test_adverse_events_listing_is_site_scoped(demo: Demo) -> None:
    page = demo.client("coordinator_b").get("/adverse-events").text
    assert "Syrinx enlargement" in page
    assert "Urinary tract infection" not in page


def test_pages_load_only_scripts_that_exist_and_no_unused_library(demo: Demo) -> None:
    """Issue 16: htmx was loaded on every page though no template used it; it is gone. Every
    script a page names is served from /static (nothing from the internet)."""
    client = demo.client("investigator")
    for path in ("/", "/calculator", f"/participants/{demo.participant_ids['A-001']}"):
        page = client.get(path).text
        assert "htmx" not in page
        for src in re.findall(r'<script[^>]* src="([^"]+)"', page):
            assert src.startswith("/static/"), src
            assert client.get(src).status_code == 200, src


def test_dashboard_alerts_when_stopping_rule_crossed(database_url: str) -> None:
    """Expected: any tumour / graft-overgrowth finding crosses the default rule by itself
    (cordtrial.analysis.safety, tumour_stops)."""
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    try:
        seeded = seed_demo(factory, today=DEMO_NOW.date())
        with factory() as session:
            report_adverse_event(
                session, user=acting_as("test"), participant_id=seeded.participant_ids["B-002"],
                term="Graft overgrowth on MRI (synthetic)", category="tumour_or_graft_overgrowth",
                onset_date=DEMO_NOW.date(), awareness_date=DEMO_NOW.date(), ctcae_grade=2,
                serious_criteria=[], related_to_cells="probable",
                related_to_procedure="not_related", related_to_immunosuppression="not_related",
                expectedness="unexpected", outcome="not_recovered",
            )  # fmt: skip
        page = Demo(factory, seeded.participant_ids, database_url).client("investigator").get("/")
        assert "Safety stopping rule: CROSSED" in page.text
        assert 'role="alert"' in page.text
    finally:
        engine.dispose()
