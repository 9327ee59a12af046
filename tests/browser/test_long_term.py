"""The long-term follow-up in Chromium, against ``cordtrial serve --demo``: the timeline of a
participant lost to follow-up, and recording a disposition."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn


def _open_long_term(page: Page, study_id: str) -> None:
    page.get_by_role("link", name=study_id).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Participant {study_id}")
    page.get_by_role("link", name="long-term follow-up").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"Long-term follow-up · {study_id}"
    )


def test_long_term_timeline_of_a_participant_lost_in_year_4(page: Page, login: LoginFn) -> None:
    """Expected: the demo's A-002 (demo_follow_up): years 2 and 3 done, three failed contact
    attempts in year 4, then lost to follow-up; year 4 still overdue (the site keeps trying)."""
    login(page, "coordinator_a")
    _open_long_term(page, "A-002")
    expect(page.locator("#disposition-now")).to_have_text("lost to follow-up")
    timeline = page.get_by_label("Long-term timeline")
    expect(timeline.locator("li[data-kind='contact attempt']")).to_have_count(3)
    expect(timeline.locator("li[data-kind='disposition']")).to_have_count(3)
    expect(timeline).to_contain_text("letter: returned undelivered")
    year4 = page.locator("#visits tr[data-visit='year 4']")
    expect(year4).to_contain_text("overdue")
    expect(page.locator("#contacts tbody tr")).to_have_count(3)
    expect(page.locator("#product")).to_contain_text("DONOR-DEMO-01")


def test_recording_a_disposition_updates_page_and_timeline(page: Page, login: LoginFn) -> None:
    login(page, "coordinator_a")
    _open_long_term(page, "A-001")
    expect(page.locator("#reconsent-due")).to_contain_text("consent form 2.1")
    page.locator("#disposition summary").click()
    page.get_by_label("New disposition").select_option("withdrawn")
    page.get_by_label("Reason (required for a withdrawal)").fill("moved abroad (synthetic)")
    page.get_by_label("Data already collected may be used").select_option("yes")
    page.get_by_label("Participant may be contacted again (remote follow-up)").select_option("yes")
    page.get_by_role("button", name="Record disposition").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved")
    expect(page.locator("#disposition-now")).to_have_text(
        "withdrawn (re-contact allowed; data may be used)"
    )
    timeline = page.get_by_label("Long-term timeline")
    expect(timeline.locator("li[data-kind='disposition']")).to_have_count(3)
    # remote contact only: the phone visits stay to be recorded
    expect(page.locator("#visits tr[data-visit='year 6']")).to_contain_text("phone")


def test_refused_disposition_is_explained_beside_the_form(page: Page, login: LoginFn) -> None:
    login(page, "coordinator_b")
    _open_long_term(page, "B-002")
    page.locator("#disposition summary").click()
    page.get_by_label("New disposition").select_option("lost_to_follow_up")
    page.get_by_role("button", name="Record disposition").click()
    expect(page.locator("#disposition-error")).to_contain_text(
        "needs 3 unsuccessful contact attempts recorded first (0 so far)"
    )
