"""No sideways scroll on a 390 px wide phone: every page fits the viewport's width; wide tables
scroll inside their own box (``.table-wrap``) instead of pushing the page wider."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from browser.conftest import log_in

WIDTH = 390


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Page:
    context = browser.new_context(base_url=live_server, viewport={"width": WIDTH, "height": 844})
    context.set_default_timeout(10_000)
    return context.new_page()


def _overflow(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def _first_link(page: Page, pattern: str) -> str:
    href = page.locator(f'#main a[href^="{pattern}"]').first.get_attribute("href")
    assert href is not None
    return href


def test_no_page_scrolls_sideways_at_390_px(phone: Page) -> None:
    page = phone
    log_in(page, "admin")
    participant = _first_link(page, "/participants/")
    page.goto(participant)
    exam = _first_link(page, "/exams/")
    page.goto("/adverse-events")
    event = _first_link(page, "/adverse-events/")
    pages = [
        "/",
        "/participants",
        participant,
        exam,
        f"{participant}/exams/new",
        "/analysis",
        "/adverse-events",
        event,
        "/lots",
        "/audit",
        "/calculator",
        f"{participant}/immunosuppression-courses/new",  # issue 15
        "/medications/to-review",
    ]
    wide = {}
    for path in pages:
        page.goto(path)
        expect(page.locator("#main")).to_be_visible()
        assert re.search(r"/login", page.url) is None, path
        if (extra := _overflow(page)) > 0:
            wide[path] = extra
    assert wide == {}, f"pages wider than {WIDTH} px (extra px): {wide}"
