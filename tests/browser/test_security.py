"""Issue 12 in Chromium: the Content-Security-Policy breaks no page (no inline script runs, none
is needed), /docs works offline, and a password reset leads the user to change it."""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import ConsoleMessage, Page, Route, expect

from browser.conftest import LoginFn, log_in

NEW_PASSWORD = "my own quiet lighthouse"
TEMPORARY = "temporary granite harbour"


def _offline(page: Page, base: str) -> list[str]:
    """Abort every request to another origin; return the list of those aborted."""
    origin = urlparse(base).netloc
    outside: list[str] = []

    def handle(route: Route) -> None:
        if urlparse(route.request.url).netloc == origin:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    return outside


def _csp_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            errors.append(message.text)

    page.on("console", on_console)
    return errors


def test_docs_render_offline_under_the_policy(page: Page, live_server: str) -> None:
    outside = _offline(page, live_server)
    errors = _csp_errors(page)
    page.goto("/docs")
    expect(page.locator(".swagger-ui .information-container")).to_contain_text("cordtrial")
    expect(page.locator(".opblock-summary-path", has_text="/api/auth/login")).to_be_visible()
    assert outside == [] and errors == []


def test_worksheet_page_runs_without_policy_violations(
    page: Page, live_server: str, login: LoginFn
) -> None:
    errors = _csp_errors(page)
    login(page, "investigator")
    page.get_by_role("link", name="A-001").first.click()
    page.get_by_role("link", name="open").first.click()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    page.goto("/calculator")
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    assert errors == []


def test_reset_password_must_be_changed_at_next_login(page: Page, live_server: str) -> None:
    log_in(page, "admin")
    page.get_by_role("link", name="Users").click()
    row = page.locator("tr", has=page.get_by_text("monitor", exact=True))
    row.get_by_label("Temporary password").fill(TEMPORARY)
    row.get_by_label("Reason").fill("forgot it")
    row.get_by_role("button", name="Reset password").click()
    expect(page.get_by_role("status")).to_contain_text("must change it at the next login")
    page.get_by_role("button", name="Log out").click()
    log_in(page, "monitor", TEMPORARY)
    expect(page.get_by_role("heading", level=1)).to_have_text("Change your password")
    page.get_by_label("Current password").fill(TEMPORARY)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("SYNTHETIC DEMO")
