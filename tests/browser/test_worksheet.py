"""The ISNCSCI worksheet in Chromium: a full exam entered by keyboard only (fill-down included),
the AIS appearing live, saving, and the exam on the participant's page; an invalid value shows
an inline error and saves nothing. Against ``cordtrial serve --demo`` (synthetic data)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn

FILL_DOWN = "Control+d"


def _open_new_exam(page: Page, study_id: str) -> None:
    page.get_by_role("link", name=study_id).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Participant {study_id}")
    page.get_by_role("link", name="New ISNCSCI exam").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("New ISNCSCI exam")


def _sensory_column_with_sacral_sparing(page: Page) -> None:
    """C2-T4 normal (2), T5 down absent (0, filled down), then S4-5 back to 1."""
    page.keyboard.type("2" * 11)  # C2 ... T4
    page.keyboard.type("0")  # T5, moves to T6
    page.keyboard.press(FILL_DOWN)  # T6 ... S4_5 = 0, on to the next column
    page.keyboard.press("ArrowUp")  # back to S4_5 of this column
    page.keyboard.type("1")  # S4_5 light touch / pin prick 1, on to the next column


def test_full_exam_by_keyboard_classifies_live_and_saves(page: Page, login: LoginFn) -> None:
    login(page, "coordinator_a")
    _open_new_exam(page, "A-002")
    page.locator("#cell-r_c5_motor").focus()
    # right motor: C5-T1 normal, L2 0 and filled down to S1
    page.keyboard.type("55555")
    page.keyboard.type("0")
    page.keyboard.press("ArrowUp")
    page.keyboard.press(FILL_DOWN)
    expect(page.locator("#cell-r_s1_motor")).to_have_value("0")
    for _ in range(4):  # right LT, right PP, left LT, left PP
        _sensory_column_with_sacral_sparing(page)
    expect(page.locator("#cell-l_c2_motor")).to_have_count(0)
    page.keyboard.type("55555")  # left motor C5-T1
    page.keyboard.type("0")
    page.keyboard.press("ArrowUp")
    page.keyboard.press(FILL_DOWN)  # L2-S1 0; focus moves on to VAC
    expect(page.locator("#cell-vac")).to_be_focused()
    page.keyboard.press("N")  # VAC: No
    page.keyboard.press("Tab")
    page.keyboard.press("N")  # DAP: No
    expect(page.locator("#cell-dap")).to_have_value("No")
    # the classification appears as the last value is entered
    expect(page.locator('[data-result="ais"]')).to_have_text("B")
    expect(page.locator('[data-result="nli"]')).to_have_text("T4")
    expect(page.locator('[data-result="uems"]')).to_have_text("50")
    expect(page.locator('[data-reason="ais"]')).to_contain_text("sensory incomplete")
    expect(page.locator('[data-total="lt_right"]')).to_have_text("23")
    page.get_by_role("button", name="Save exam").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Exam saved.")
    expect(page.locator('[data-stored="ais"]')).to_have_text("B")
    exam_id = re.search(r"/exams/(\d+)", page.url)
    assert exam_id is not None
    page.get_by_role("link", name="Participant A-002").click()
    row = page.locator("tr", has=page.locator(f'a[href="/exams/{exam_id.group(1)}"]'))
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text("B")
    expect(row.locator("td").nth(3)).to_have_text("T4")


def _exam_links(page: Page) -> int:
    return page.locator('#main a[href^="/exams/"]').count()


def test_invalid_value_shows_inline_error_and_saves_nothing(page: Page, login: LoginFn) -> None:
    login(page, "coordinator_a")
    page.get_by_role("link", name="A-001").first.click()
    before = _exam_links(page)
    page.get_by_role("link", name="New ISNCSCI exam").click()
    page.locator("#cell-r_c5_motor").focus()
    page.keyboard.type("5")
    page.keyboard.type("N")  # Right C6 motor: "N", half of NT, is not a motor grade; stays put
    cell = page.locator("#cell-r_c6_motor")
    expect(cell).to_be_focused()
    expect(cell).to_have_attribute("aria-invalid", "true")
    inline = page.locator("#ws-active-error")
    expect(inline).to_contain_text("Right C6 motor: N is not a motor grade (0-5 or NT")
    expect(page.locator('[data-error-field="r_c6_motor"]')).to_be_visible()
    page.get_by_role("button", name="Save exam").click()
    expect(page.get_by_role("heading", name="Nothing was saved")).to_be_visible()
    expect(page.locator("#cell-r_c6_motor")).to_have_value("N")
    page.get_by_role("link", name="Participant A-001").click()
    assert _exam_links(page) == before


def test_star_key_flags_the_value_just_typed_and_asks_for_a_reason(
    page: Page, login: LoginFn
) -> None:
    login(page, "coordinator_a")
    _open_new_exam(page, "A-001")
    page.locator("#cell-r_c5_motor").focus()
    page.keyboard.type("3*")
    expect(page.locator("#cell-r_c5_motor")).to_have_value("3*")
    expect(page.locator("#cell-r_c6_motor")).to_have_value("")
    page.keyboard.type("*")
    expect(page.locator("#cell-r_c5_motor")).to_have_value("3**")
    reason = page.get_by_label("Right C5 motor (elbow flexors) =")
    expect(reason).to_be_visible()
    reason.fill("brachial plexus injury (synthetic)")
