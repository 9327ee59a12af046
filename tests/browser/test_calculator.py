"""The standalone calculator in Chromium: no login, a whole exam by keyboard with fill-down, the
classification and its reasons live; NT and missing cells."""

from __future__ import annotations

from playwright.sync_api import Page, expect

FILL_DOWN = "Control+d"


def _normal_exam_by_keyboard(page: Page) -> None:
    page.locator("#cell-r_c5_motor").focus()
    for value in ("5", "2", "2", "2", "2", "5"):  # one value and fill-down per column
        page.keyboard.type(value)
        page.keyboard.press("ArrowUp")
        page.keyboard.press(FILL_DOWN)
    page.keyboard.press("Y")  # VAC Yes
    page.keyboard.press("Tab")
    page.keyboard.press("Y")  # DAP Yes


def test_calculator_classifies_without_login(page: Page) -> None:
    page.goto("/calculator")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    _normal_exam_by_keyboard(page)
    expect(page.locator('[data-result="ais"]')).to_have_text("E")
    expect(page.locator('[data-result="nli"]')).to_have_text("INT")
    expect(page.locator('[data-result="lt"]')).to_have_text("112")
    expect(page.locator('[data-reason="ais"]')).to_contain_text("AIS E")


def test_calculator_nt_leaves_the_result_open_and_empty_cells_say_what_is_missing(
    page: Page,
) -> None:
    page.goto("/calculator")
    _normal_exam_by_keyboard(page)
    expect(page.locator('[data-result="ais"]')).to_have_text("E")
    page.locator("#cell-l_s1_motor").focus()
    page.keyboard.type("NT")
    expect(page.locator("#cell-l_s1_motor")).to_have_value("NT")
    expect(page.locator('[data-result="lems"]')).to_have_text("ND")
    page.locator("#cell-r_t7_pp").focus()
    page.keyboard.press("Backspace")
    expect(page.locator(".ws-missing")).to_contain_text("Right pin prick: T7")
    expect(page.locator('[data-result="ais"]')).to_have_count(0)
