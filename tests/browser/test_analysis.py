"""The analysis page in Chromium, against ``cordtrial serve --demo``."""

from __future__ import annotations

import re
from pathlib import Path

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
    expect(page.get_by_role("link", name="report archive", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="What these data can and cannot show")).to_be_visible()


def test_analysis_page_fits_a_tablet_width(page: Page, login: LoginFn) -> None:
    page.set_viewport_size({"width": 768, "height": 1024})
    login(page, "investigator")
    page.goto("/analysis")
    page.wait_for_url("**/trials/*/analysis")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the analysis page scrolls sideways by {overflow}px at 768px"


def test_dsmb_report_is_made_in_the_background_and_opened_from_the_archive(
    page: Page, login: LoginFn
) -> None:
    """Issue 17: asking for the DSMB report comes back at once with the job's progress; the page
    follows it until the report is archived, then the PDF opens from the archive."""
    login(page, "statistician")
    page.goto("/analysis")
    page.wait_for_url("**/trials/*/analysis")
    page.get_by_role("link", name="report archive", exact=True).click()
    page.wait_for_url("**/trials/*/reports")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Reports: DEMO-IPSC-SCI")
    page.get_by_role("button", name="Make the DSMB report").click()
    page.wait_for_url("**/trials/*/reports*")
    row = page.locator("table#reports tbody tr").first
    expect(row).to_contain_text("DSMB report")
    # the job's state at once: queued or running, with a progress bar and its stage in words
    expect(row).to_have_attribute("data-status", re.compile("queued|running"))
    expect(row.get_by_role("progressbar")).to_be_visible()
    # the page reloads itself while the job runs; the report is archived within minutes
    expect(row).to_have_attribute("data-status", "done", timeout=240_000)
    expect(row).to_contain_text("ISNCSCI engine")
    with page.expect_download() as download_info:
        row.get_by_role("link", name="PDF").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    path = download.path()
    assert path is not None and Path(path).read_bytes()[:5] == b"%PDF-"
