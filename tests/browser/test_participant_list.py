"""The participant list in Chromium (issue 17): filter with the form, page with Next / Previous,
and the filters kept across pages. A second trial of 57 participants is built through the API of
the demo server (the demo trial has too few to page)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from browser.conftest import LoginFn
from cordtrial.trial.demo import DEMO_USERS

PROTOCOL = "ZZ-LIST-01"
COUNT = 57


@pytest.fixture(scope="module")
def big_trial(browser: Browser, live_server: str) -> Iterator[str]:
    """57 participants L-001 .. L-057 at sites L1 (odd) and L2 (even) of a second trial."""
    context = browser.new_context(base_url=live_server)
    api = context.request
    login = api.post(
        "/api/auth/login", data={"username": "admin", "password": DEMO_USERS["admin"][2]}
    )
    assert login.ok, login.text()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    trial = {"protocol_id": PROTOCOL, "title": "Synthetic list trial", "phase": "2",
             "arms": [{"code": "cells", "name": "cells"}],
             "visits": [{"name": "day 0", "target_day": 0}]}  # fmt: skip
    assert api.post("/api/trials", data=trial, headers=headers).ok
    for code in ("L1", "L2"):
        site = {"code": code, "name": f"List site {code}"}
        assert api.post(f"/api/trials/{PROTOCOL}/sites", data=site, headers=headers).ok
    for i in range(1, COUNT + 1):
        person = {"protocol_id": PROTOCOL, "site_code": "L1" if i % 2 else "L2",
                  "study_id": f"L-{i:03d}", "injury_date": "2026-01-05", "injury_level": "T6",
                  "injury_mechanism": "fall", "age_at_injury": 30, "sex": "F"}  # fmt: skip
        response = api.post("/api/participants", data=person, headers=headers)
        assert response.ok, response.text()
    context.close()
    yield PROTOCOL


def _rows(page: Page) -> list[str]:
    return page.locator("main table tbody tr td:first-child a").all_inner_texts()


def test_participant_list_pages_and_keeps_the_sort(
    page: Page, login: LoginFn, big_trial: str
) -> None:
    login(page, "admin")
    page.goto(f"/participants?trial={big_trial}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Participants")
    expect(page.locator("main table tbody tr")).to_have_count(50)
    expect(page.get_by_label("Participant list pages").first).to_contain_text("1\u201350 of 57")
    page.get_by_label("Order").select_option("desc")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("main table tbody tr").first).to_contain_text("L-057")
    page.get_by_role("link", name=re.compile("^Next")).first.click()
    assert re.search(r"order=desc", page.url) and "page=2" in page.url
    expect(page.locator("main table tbody tr")).to_have_count(7)
    assert _rows(page) == [f"L-{i:03d}" for i in range(7, 0, -1)]
    expect(page.get_by_label("Order")).to_have_value("desc")
    page.get_by_role("link", name=re.compile("Previous$")).first.click()
    expect(page.locator("main table tbody tr")).to_have_count(50)


def test_participant_list_filters_by_site_and_study_id(
    page: Page, login: LoginFn, big_trial: str
) -> None:
    login(page, "admin")
    page.goto(f"/participants?trial={big_trial}")
    page.get_by_label("Site").select_option("L2")
    page.get_by_label("Study id contains").fill("L-01")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("main table tbody tr")).to_have_count(5)
    assert _rows(page) == ["L-010", "L-012", "L-014", "L-016", "L-018"]
    assert "site=L2" in page.url and "trial=ZZ-LIST-01" in page.url
    expect(page.get_by_role("link", name=re.compile("^Next"))).to_have_count(0)
    page.get_by_label("Status").select_option("treated")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("main table tbody")).to_contain_text("No participant matches")
    page.get_by_role("link", name="Clear").click()
    expect(page.locator("main table tbody tr")).to_have_count(50)
