"""The worksheet's keyboard grammar, first focus and print stylesheet in Chromium.

A cell refuses keystrokes its grammar cannot become (motor 0-5, sensory 0-2, NT, then * or **),
keeping its last valid value; focus starts on the first cell; printing hides the navigation and
the audit history and fits the exam on one or two A4 pages.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn


def _new_exam(page: Page, study_id: str) -> None:
    page.get_by_role("link", name=study_id).first.click()
    page.get_by_role("link", name="New ISNCSCI exam").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("New ISNCSCI exam")


def test_focus_starts_on_the_first_cell(page: Page, login: LoginFn) -> None:
    login(page, "coordinator_a")
    _new_exam(page, "A-002")
    expect(page.locator("#cell-r_c5_motor")).to_be_focused()
    expect(page.locator("#cell-r_c5_motor")).to_have_attribute("inputmode", "tel")


def test_cells_refuse_keystrokes_outside_the_grammar(page: Page, login: LoginFn) -> None:
    login(page, "coordinator_a")
    _new_exam(page, "A-002")
    c5, c6, c7 = (page.locator(f"#cell-r_{level}_motor") for level in ("c5", "c6", "c7"))
    expect(c5).to_be_focused()  # the worksheet's script has run: keys now reach the grammar
    page.keyboard.type("74")  # 7 is refused; 4 is a grade and moves on
    expect(c5).to_have_value("4")
    expect(c6).to_be_focused()
    page.keyboard.type("3X")  # 3 is a grade and moves on; X is refused in C7
    expect(c6).to_have_value("3")
    expect(c7).to_be_focused()
    expect(c7).to_have_value("")
    # a filled cell keeps its value when a refused key replaces it
    c5.click()
    page.keyboard.type("9")
    expect(c5).to_have_value("4")
    # a sensory cell takes 0-2 only; # is NT (a tablet's number pad)
    lt = page.locator("#cell-r_c2_lt")
    lt.click()
    page.keyboard.type("3")
    expect(lt).to_have_value("")
    page.keyboard.type("#")
    expect(lt).to_have_value("NT")
    # NT then flags, but no third *
    nt = page.locator("#cell-l_c5_motor")
    nt.click()
    page.keyboard.type("nt")
    expect(nt).to_have_value("NT")
    # and a paste of something else is refused as a whole
    c7.fill("12")
    expect(c7).to_have_value("")


def test_print_is_a_worksheet_without_navigation_or_audit_table(page: Page, login: LoginFn) -> None:
    login(page, "coordinator_a")
    page.get_by_role("link", name="A-001").first.click()
    page.locator('#main a[href^="/exams/"]').first.click()
    expect(page).to_have_url(re.compile(r"/exams/\d+$"))
    history = page.locator(".ws-history")
    expect(history).to_be_visible()
    page.emulate_media(media="print")
    expect(history).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator(".ws-grid")).to_be_visible()
    expect(page.locator("#ws-classification")).to_be_visible()
    pdf = page.pdf(format="A4", print_background=False)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 2, f"the printed exam takes {pages} pages"
