"""Immunosuppression in Chromium against ``cordtrial serve --demo`` (synthetic data): a trough
entered above the protocol's target is flagged on the participant page and listed for the
investigator."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn


def test_a_trough_above_target_is_flagged_and_listed(page: Page, login: LoginFn) -> None:
    login(page, "investigator")
    page.get_by_role("link", name="B-002").first.click()
    expect(page).to_have_url(re.compile(r"/participants/\d+"))
    section = page.locator("#immunosuppression")
    expect(section).to_contain_text("Tacrolimus")
    section.get_by_role("link", name="New trough level").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trough level")
    # the demo's courses are years back (five-year follow-up): a late-entered result of day 100
    started = re.search(r"started (\d{4}-\d{2}-\d{2})", page.locator("#course").inner_text())
    assert started, page.locator("#course").inner_text()
    day_100 = date.fromisoformat(started.group(1)) + timedelta(days=100)
    page.get_by_label("Sample date").fill(day_100.isoformat())
    page.get_by_label("Sample time (UTC)").fill("08:00")
    page.get_by_label("Hours since the last dose").fill("12")
    page.get_by_label("Trough level").fill("9")
    page.get_by_label("Unit (as the laboratory reported it)").select_option("U/L")
    page.get_by_role("button", name="Save trough level").click()
    expect(page.locator("#unit-error")).to_contain_text("is another kind of unit")
    # day 100 is past day 91: the month 4-12 target (5-15 ng/mL, demo protocol) is in force
    page.get_by_label("Trough level").fill("18.2")
    page.get_by_label("Unit (as the laboratory reported it)").select_option("ng/mL")
    page.get_by_role("button", name="Save trough level").click()
    expect(page.get_by_role("status").first).to_contain_text("Trough level saved")
    row = page.locator("#troughs tbody tr", has_text="18.2 ng/mL").first
    expect(row).to_contain_text("above target")
    expect(row).to_contain_text("5\u201315 ng/mL")
    page.goto("/immunosuppression/out-of-range")
    listed = page.locator("#out-of-range tbody tr", has_text="B-002")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("above target")


def test_an_investigator_corrects_a_courses_stop_on_the_page(page: Page, login: LoginFn) -> None:
    """After the trough test (same file, same server): B-002's course, stopped as planned years
    ago in the demo, is corrected to a stop for toxicity; "other" without a note and a
    correction without its reason are refused beside their fields first."""
    login(page, "investigator")
    page.get_by_role("link", name="B-002").first.click()
    section = page.locator("#immunosuppression")
    expect(section.locator("#immunosuppression-stop")).to_contain_text("planned")
    section.get_by_role("link", name="Correct the stop").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Stop Tacrolimus")
    recorded = re.search(r"A stop is recorded on (\d{4}-\d{2}-\d{2})", page.content())
    assert recorded, "the form names the stop already recorded"
    page.get_by_label("Stop date (the first day without the drug)").fill(recorded.group(1))
    page.get_by_label("Reason", exact=True).select_option(label="other")
    page.get_by_role("button", name="Record stop").click()
    expect(page.locator("#correction_reason-error")).to_contain_text("Reason for the correction")
    page.get_by_label("Reason for the correction").fill("tremor noted in the source documents")
    page.get_by_role("button", name="Record stop").click()
    expect(page.locator("#stop_note-error")).to_contain_text("Note")
    page.get_by_label("Reason", exact=True).select_option(label="toxicity")
    page.get_by_label("Note (required when the reason is other)").fill("tremor")
    page.get_by_role("button", name="Record stop").click()
    expect(page.get_by_role("status").first).to_contain_text("Stop recorded")
    expect(section.locator("#immunosuppression-stop")).to_contain_text("toxicity (tremor)")
    expect(section.get_by_role("link", name="Correct the stop")).to_be_visible()
