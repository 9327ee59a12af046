"""Visit completion, adverse-event follow-up and expedited-report submission in Chromium, against
``cordtrial serve --demo`` (synthetic data)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn

FILL_DOWN = "Control+d"


def _open_participant(page: Page, study_id: str) -> None:
    page.get_by_role("link", name=study_id).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Participant {study_id}")


def _visit(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'li[data-visit="{name}"]')


def _type_exam_but_dap(page: Page) -> None:
    """A complete T4 AIS B exam by keyboard, DAP left empty (see test_worksheet.py)."""
    page.locator("#cell-r_c5_motor").focus()
    page.keyboard.type("55555")
    page.keyboard.type("0")
    page.keyboard.press("ArrowUp")
    page.keyboard.press(FILL_DOWN)
    for _ in range(4):
        page.keyboard.type("2" * 11)
        page.keyboard.type("0")
        page.keyboard.press(FILL_DOWN)
        page.keyboard.press("ArrowUp")
        page.keyboard.type("1")
    page.keyboard.type("55555")
    page.keyboard.type("0")
    page.keyboard.press("ArrowUp")
    page.keyboard.press(FILL_DOWN)
    page.keyboard.press("N")  # VAC: No


def _long_term_visit(page: Page, name: str):  # type: ignore[no-untyped-def]
    page.get_by_role("link", name="long-term follow-up").first.click()
    return page.locator(f"#visits tr[data-visit='{name}']")


def test_saving_the_visit_exam_completes_the_visit(page: Page, login: LoginFn) -> None:
    """Issue 16: after the exam the participant's pages still said the exam was outstanding. An
    incomplete exam is saved only once confirmed, with what is missing listed. The demo's B-002
    has its year 5 visit due (ISNCSCI exam and SCIM III, demo_follow_up): after the exam the
    visit is partly done and only the SCIM is outstanding."""
    login(page, "coordinator_b")
    _open_participant(page, "B-002")
    expect(_visit(page, "week 12")).to_contain_text("missed: participant admitted")
    year5 = _long_term_visit(page, "year 5")
    expect(year5).to_contain_text("due")
    expect(year5).to_contain_text("outstanding: ISNCSCI exam, SCIM III")
    page.get_by_role("heading", level=1).get_by_role("link", name="B-002").click()
    page.get_by_role("link", name="New ISNCSCI exam").click()
    page.locator('select[name="visit_name"]').select_option("year 5")
    _type_exam_but_dap(page)
    page.get_by_role("button", name="Save exam").click()
    alert = page.locator(".ws-save-errors")
    expect(alert).to_contain_text("This exam is incomplete (not recorded: DAP)")
    page.locator("#cell-dap").focus()
    page.keyboard.press("N")
    page.get_by_role("button", name="Save exam").click()
    expect(page.get_by_role("status")).to_have_text("Exam saved.")
    page.get_by_role("link", name="Participant B-002").click()
    year5 = _long_term_visit(page, "year 5")
    expect(year5.locator(".badge")).to_have_text("partly done")
    expect(year5).to_contain_text("outstanding: SCIM III")
    expect(year5).not_to_contain_text("ISNCSCI exam")


def test_adverse_event_follow_up_with_reason_shows_in_history(page: Page, login: LoginFn) -> None:
    login(page, "investigator")
    page.get_by_role("link", name="Adverse events").first.click()
    page.get_by_role("link", name="Raised serum creatinine on tacrolimus (synthetic)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Raised serum creatinine")
    expect(page.locator("#h-facts + dl")).to_contain_text("probable")
    form = page.locator("#follow-up")
    form.get_by_label("Outcome").select_option("recovered")
    form.get_by_label("Resolution date").fill(
        page.evaluate("new Date().toISOString().slice(0, 10)")
    )
    form.get_by_label("Reason for the change").fill("creatinine back to baseline (synthetic)")
    form.get_by_role("button", name="Save follow-up").click()
    expect(page.get_by_role("status")).to_have_text("Follow-up saved.")
    history = page.locator("#history")
    expect(history).to_contain_text("creatinine back to baseline (synthetic)")
    expect(history).to_contain_text("recovered")
    reports = page.locator("#follow-up-reports")
    reports.get_by_label("What was learned").fill("Tacrolimus dose reduced (synthetic).")
    reports.get_by_role("button", name="Add follow-up report").click()
    expect(page.locator("#follow-up-reports")).to_contain_text("Tacrolimus dose reduced")


def test_a_susar_report_is_submitted_and_the_deadline_met(page: Page, login: LoginFn) -> None:
    login(page, "coordinator_a")
    _open_participant(page, "A-002")
    page.get_by_role("link", name="Report adverse event").click()
    page.get_by_label("Event term").fill("Meningitis after the procedure (synthetic)")
    page.get_by_label("Category").select_option("infection")
    page.get_by_label("CTCAE grade").select_option("3")
    page.get_by_label("hospitalisation").check()
    page.get_by_label("Related to the cell product").select_option("not_related")
    page.get_by_label("Related to the procedure").select_option("probable")
    page.get_by_label("Related to immunosuppression").select_option("possible")
    page.get_by_label("Expectedness (Investigator's Brochure)").select_option("unexpected")
    page.get_by_label("Outcome").select_option("recovering")
    page.get_by_label("Narrative").fill("Fever and neck stiffness on day 3; CSF culture positive.")
    page.get_by_role("button", name="Report adverse event").click()
    expect(page.get_by_role("status")).to_contain_text("Adverse event reported")
    page.get_by_role("link", name="Meningitis after the procedure (synthetic)").click()
    # the demo reports under the US and Japanese rules: one clock each (issue 15)
    expect(page.locator("#expedited-state")).to_contain_text("(15 days left)")
    expect(page.locator("#clock-us_ind_15_day")).to_contain_text("21 CFR 312.32(c)(1)(i)")
    expect(page.locator("#clock-jp_asrm_15_day")).to_contain_text("Enforcement Ordinance")
    us = page.locator("#form-us_ind_15_day")
    us.get_by_label("Reference").fill("SUSAR-E2E-1")
    us.get_by_role("button", name="Record submission").click()
    expect(page.get_by_role("status")).to_contain_text("Submission of the expedited report")
    expect(page.locator("#clock-us_ind_15_day")).to_contain_text("on time")
    expect(page.locator("#expedited-state")).to_contain_text("left")  # Japan's still open
    jp = page.locator("#form-jp_asrm_15_day")
    jp.get_by_label("Reference").fill("JP-E2E-1")
    jp.get_by_role("button", name="Record submission").click()
    expect(page.locator("#expedited")).to_contain_text("SUSAR-E2E-1")
    expect(page.locator("#expedited")).to_contain_text("JP-E2E-1")
    expect(page.locator("#expedited-state")).not_to_contain_text("left")
