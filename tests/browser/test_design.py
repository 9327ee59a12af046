"""The trial-design page in Chromium, against ``cordtrial serve --demo``."""

from __future__ import annotations

import os

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn


def test_statistician_designs_a_simon_trial_from_the_analysis_page(
    page: Page, login: LoginFn
) -> None:
    """Expected: Simon's optimal design for p0 0.1, p1 0.3, alpha 0.05, power 0.8 is 1/10, 5/29
    (docs/design.md; checked against Simon 1989 and a brute force in tests/analysis)."""
    login(page, "statistician")
    page.goto("/analysis")
    page.get_by_role("link", name="Trial design").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trial design")
    page.get_by_label("Response rate of no interest (p0)").fill("0.1")
    page.get_by_label("Response rate worth pursuing (p1)").fill("0.3")
    page.get_by_role("button", name="Compute").click()
    optimal = page.locator("table#designs tbody tr").first
    expect(optimal.locator("td").nth(0)).to_have_text("optimal")
    expect(optimal.locator("td").nth(2)).to_have_text("10")
    expect(optimal.locator("td").nth(4)).to_have_text("29")
    expect(page.locator("table#oc-optimal")).to_be_visible()
    if os.environ.get("CORDTRIAL_SCREENSHOT_DIR"):
        page.screenshot(path=f"{os.environ['CORDTRIAL_SCREENSHOT_DIR']}/design.png",
                        full_page=True)  # fmt: skip


def test_bad_input_shows_the_message_and_keeps_the_values(page: Page, login: LoginFn) -> None:
    login(page, "statistician")
    page.goto("/analysis/design?method=fleming")
    page.get_by_label("Participants added at each stage").fill("15,ten")
    page.get_by_role("button", name="Compute").click()
    expect(page.get_by_role("alert")).to_contain_text("Participants added at each stage")
    expect(page.get_by_label("Participants added at each stage")).to_have_value("15,ten")


def test_design_page_fits_a_tablet_width(page: Page, login: LoginFn) -> None:
    page.set_viewport_size({"width": 768, "height": 1024})
    login(page, "statistician")
    page.goto("/analysis/design?method=bayes&run=1")
    expect(page.locator("table#boundaries")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the design page scrolls sideways by {overflow}px at 768px"
