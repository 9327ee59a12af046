"""Concomitant medication in Chromium (issue 15): a coordinator adds an interacting medication
picked by name from the ATC list, sees its flag in words; the investigator marks it reviewed."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn


def _open_participant(page: Page, study_id: str) -> None:
    page.get_by_role("link", name=study_id).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Participant {study_id}")


def test_an_interacting_medication_is_flagged_then_reviewed(page: Page, login: LoginFn) -> None:
    login(page, "coordinator_b")
    _open_participant(page, "B-002")
    page.get_by_role("link", name="New concomitant medication").click()
    page.get_by_label("Medication").fill("clarithromycin")
    page.get_by_label("Dose", exact=True).fill("500")
    page.get_by_label("Dose unit").fill("mg")
    page.get_by_label("Route").select_option("oral")
    page.get_by_label("Frequency").fill("twice daily")
    page.get_by_label("Indication").fill("chest infection (synthetic)")
    page.get_by_role("button", name="Save medication").click()
    expect(page.get_by_role("status")).to_contain_text("Medication saved")
    section = page.locator("#medications")
    row = section.locator("tr", has_text="clarithromycin")
    expect(row).to_contain_text("ATC J01FA09")  # coded from the list by its name
    expect(row).to_contain_text("May raise tacrolimus and ciclosporin levels: check trough")
    expect(row).to_contain_text("flagged for review")
    expect(row.get_by_role("button", name="Mark reviewed")).to_have_count(0)  # coordinators

    page.context.clear_cookies()
    login(page, "investigator")
    _open_participant(page, "B-002")
    row = page.locator("#medications tr", has_text="clarithromycin")
    row.get_by_role("button", name="Mark reviewed").click()
    row = page.locator("#medications tr", has_text="clarithromycin")
    expect(row).to_contain_text("reviewed by investigator")
    expect(row.get_by_role("button", name="Mark reviewed")).to_have_count(0)
