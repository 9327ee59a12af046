"""The analysis page in Chromium, against ``cordtrial serve --demo``."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn


def test_statistician_opens_analysis_and_sees_shift_table_and_figures(
    page: Page, login: LoginFn
) -> None:
    """Expected: the synthetic demo's course (docs/web.md): A-001 A->D, A-002 A->C, B-001 and
    B-002 still A at their last exam, so the AIS A row of the last-observed shift table reads
    A 2, C 1, D 1, total 4."""
    login(page, "statistician")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Analysis").click()
    page.wait_for_url("**/trials/*/analysis")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Analysis: SYNTHETIC DEMO")
    shift = page.locator("table#shift-last")
    expect(shift).to_be_visible()
    row_a = shift.locator("tbody tr").first
    expect(row_a.locator("th")).to_have_text("A")
    expect(row_a.locator("td")).to_have_text(["2", "0", "1", "1", "0", "0", "0", "4"])
    for name in ("AIS shift diagram", "Motor scores", "Adverse-event timeline"):
        figure = page.get_by_role("group", name=name)
        expect(figure.locator("svg")).to_be_visible()
    expect(page.get_by_role("link", name="DSMB report (PDF)")).to_be_visible()
    expect(page.get_by_role("heading", name="What these data can and cannot show")).to_be_visible()


def test_analysis_page_fits_a_tablet_width(page: Page, login: LoginFn) -> None:
    page.set_viewport_size({"width": 768, "height": 1024})
    login(page, "investigator")
    page.goto("/analysis")
    page.wait_for_url("**/trials/*/analysis")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the analysis page scrolls sideways by {overflow}px at 768px"
