"""Issue 15 in Chromium: a laboratory panel entered on the page with a graded abnormal value
turns into an adverse event in one step from the cumulative table (the form prefilled from the
result), and the saved event and the result link to each other. (The dashboard's reports due to
regulators are covered by test_reporting.py.)"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn


def test_a_graded_lab_value_becomes_a_linked_adverse_event(page: Page, login: LoginFn) -> None:
    login(page, "investigator")
    page.get_by_role("link", name="Participants", exact=True).first.click()
    page.get_by_role("link", name="A-001", exact=True).click()
    page.get_by_role("link", name="New laboratory panel").click()
    today = page.evaluate("new Date().toISOString().slice(0, 10)")
    page.get_by_label("Collected on").fill(today)
    page.get_by_label("Analyte 1", exact=True).select_option("platelets")
    page.get_by_label("Value 1", exact=True).fill("62000")
    page.get_by_label("Unit 1", exact=True).select_option("/uL")
    page.get_by_label("Analyte 2", exact=True).select_option("haemoglobin")
    page.get_by_label("Value 2", exact=True).fill("14.1")
    page.get_by_label("Unit 2", exact=True).select_option("g/dL")
    page.get_by_role("button", name="Save panel").click()
    # 62,000/uL = 62 x10^9/L: CTCAE v5.0 platelet count decreased grade 2 (<75-50 x10^9/L)
    cumulative = page.locator("#lab-cumulative")
    expect(cumulative.locator("thead th").last).to_have_text(today)  # the newest date last
    platelets = cumulative.locator('tr[data-analyte="platelets"]')
    expect(platelets.locator("td").last).to_contain_text("62 ↓")
    expect(platelets.locator("td").last.locator(".badge")).to_have_text("G2")
    # 14.1 g/dL = 141 g/L: within the site's range, neither marked nor graded
    haemoglobin = cumulative.locator('tr[data-analyte="haemoglobin"]').locator("td").last
    expect(haemoglobin).to_have_text("141")
    # every result as reported, on demand: the unit entered, the grade in words
    page.locator("#lab-every summary").click()
    row = page.locator("#lab-every tr", has_text="62000 /uL")
    expect(row).to_contain_text("Platelet count decreased, grade 2")
    expect(page.locator("#lab-every tr", has_text="14.1 g/dL")).to_contain_text("within limits")
    platelets.locator("td").last.get_by_role("link", name="report", exact=True).click()
    expect(page.locator("#from-lab")).to_contain_text("The event is linked to it")
    expect(page.get_by_label("Event term")).to_have_value("Platelet count decreased")
    expect(page.get_by_label("Onset date")).to_have_value(today)
    expect(page.get_by_label("CTCAE grade")).to_have_value("2")
    page.get_by_label("Sponsor aware on").fill(today)
    page.get_by_label("Category").select_option("immunosuppression_effect")
    page.get_by_label("Related to the cell product").select_option("not_related")
    page.get_by_label("Related to the procedure").select_option("not_related")
    page.get_by_label("Related to immunosuppression").select_option("possible")
    page.get_by_label("Expectedness (Investigator's Brochure)").select_option("expected")
    page.get_by_label("Outcome").select_option("not_recovered")
    page.get_by_role("button", name="Report adverse event").click()
    expect(page.get_by_role("status")).to_have_text("Adverse event reported.")
    newest = page.locator('#lab-cumulative tr[data-analyte="platelets"] td').last
    expect(newest.get_by_role("link", name="report", exact=True)).to_have_count(0)
    page.locator("#lab-every summary").click()
    row = page.locator("#lab-every tr", has_text="62000 /uL")
    expect(row.get_by_role("link", name="Report as adverse event")).to_have_count(0)
    expect(row.get_by_role("link", name="reported")).to_have_attribute(
        "href", re.compile(r"^/adverse-events/\d+$")
    )
    newest.get_by_role("link", name="AE", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Platelet count decreased")
    expect(page.locator("#from-lab-results")).to_contain_text(
        re.compile(r"Platelet count 62 x10\^9/L on \d{4}-\d\d-\d\d")
    )
