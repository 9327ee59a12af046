"""Issue 15: the regulators' clocks in Chromium: the dashboard lists the periodic reports due,
the reporting page shows both jurisdictions' rules, and a filing is recorded."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn


def test_dashboard_lists_the_reports_due_and_a_filing_meets_one(page: Page, login: LoginFn) -> None:
    login(page, "admin")
    due = page.locator("#reports-due")
    expect(due).to_contain_text("Reports due to regulators")
    first = due.locator("li").first
    # the demo's last finished 60-day period: not filed, due in four days (see demo)
    expect(first).to_contain_text("Periodic disease report (60 days)")
    expect(first).to_contain_text("(4 days left)")
    first.get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile("Regulatory reporting"))).to_be_visible()
    rules = page.locator("#jurisdictions")
    expect(rules).to_contain_text("21 CFR 312.32(c)(2)")
    expect(rules).to_contain_text("Enforcement Ordinance Art. 35 (3)")
    form = page.locator("#file-periodic")
    form.get_by_label("Reference").fill("DEMO-E2E-60D")
    form.get_by_role("button", name="Record filing").click()
    expect(page.get_by_role("status")).to_have_text("Filing of the periodic report recorded.")
    expect(page.locator("#periodic")).to_contain_text("DEMO-E2E-60D")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#reports-due")).not_to_contain_text("(4 days left)")


def test_a_coordinator_reads_the_rules_but_files_nothing(page: Page, login: LoginFn) -> None:
    login(page, "coordinator_a")
    page.get_by_role("link", name="Reporting", exact=True).click()
    expect(page.locator("#periodic")).to_contain_text("Annual provision-status report")
    expect(page.locator("#file-periodic")).to_have_count(0)
    expect(page.get_by_role("button", name="Save jurisdictions")).to_have_count(0)
