"""Main flows of the trial workspace in Chromium, against ``cordtrial serve --demo``."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn


def test_login_shows_dashboard_with_demo_trial(page: Page, login: LoginFn) -> None:
    login(page, "investigator")
    expect(page.get_by_role("heading", level=1)).to_contain_text("SYNTHETIC DEMO")
    expect(page.get_by_role("link", name="A-001")).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("Synthetic demo data")


def test_login_with_wrong_password_stays_on_login_page(page: Page, login: LoginFn) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill("monitor")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
