"""Main flows of the trial workspace in Chromium, against ``cordtrial serve --demo``."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn


def test_login_shows_dashboard_with_demo_trial(page: Page, login: LoginFn) -> None:
    login(page, "investigator")
    expect(page.get_by_role("heading", level=1)).to_contain_text("SYNTHETIC DEMO")
    expect(page.get_by_role("link", name="A-001").first).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("Synthetic demo data")


def test_login_with_wrong_password_stays_on_login_page(page: Page, login: LoginFn) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill("monitor")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")


def _open_participant(page: Page, study_id: str) -> None:
    page.get_by_role("link", name=study_id).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Participant {study_id}")


def test_participant_page_shows_timeline_and_charts(page: Page, login: LoginFn) -> None:
    login(page, "investigator")
    _open_participant(page, "A-001")
    timeline = page.get_by_label("Visit timeline")
    expect(timeline.get_by_role("listitem")).to_have_count(7)
    expect(timeline).to_contain_text("week 52")
    expect(page.get_by_role("img", name="AIS grade")).to_be_visible()
    expect(page.get_by_role("img", name="WISCI II level (0-20)")).to_be_visible()
    # five course charts and the tacrolimus course (issue 15)
    expect(page.locator("figure.chart svg")).to_have_count(6)


def test_adverse_event_entry_by_keyboard_and_mouse(page: Page, login: LoginFn) -> None:
    login(page, "coordinator_a")
    _open_participant(page, "A-002")
    page.get_by_role("link", name="Report adverse event").click()
    page.get_by_label("Event term").fill("Pressure sore, sacrum (synthetic)")
    page.get_by_label("Category").select_option("other")
    page.get_by_label("CTCAE grade").select_option("2")
    page.get_by_label("hospitalisation").check()
    page.get_by_label("Related to the cell product").select_option("not_related")
    page.get_by_label("Related to the procedure").select_option("not_related")
    page.get_by_label("Related to immunosuppression").select_option("unlikely")
    page.get_by_label("Expectedness (Investigator's Brochure)").select_option("expected")
    page.get_by_label("Outcome").select_option("recovering")
    page.get_by_label("Narrative").fill("Admitted for wound care (synthetic).")
    page.get_by_role("button", name="Report adverse event").click()
    expect(page.get_by_role("status")).to_contain_text("Adverse event reported")
    events = page.locator("#adverse-events")
    expect(events).to_contain_text("Pressure sore, sacrum (synthetic)")
    expect(events).to_contain_text("hospitalisation")


def test_adverse_event_with_missing_term_shows_error_and_saves_nothing(
    page: Page, login: LoginFn
) -> None:
    login(page, "coordinator_a")
    _open_participant(page, "A-002")
    page.get_by_role("link", name="Report adverse event").click()
    page.get_by_label("Category").select_option("other")
    page.get_by_role("button", name="Report adverse event").click()
    expect(page.locator("#term-error")).to_contain_text("term")
    expect(page.get_by_label("Event term")).to_have_attribute("aria-invalid", "true")


def test_coordinator_of_site_b_cannot_open_site_a_participant(page: Page, login: LoginFn) -> None:
    login(page, "investigator")
    _open_participant(page, "A-001")
    url = page.url
    page.context.clear_cookies()
    login(page, "coordinator_b")
    expect(page.get_by_role("link", name="A-001")).to_have_count(0)
    response = page.goto(url)
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")


def test_pages_fit_a_tablet_width(page: Page, login: LoginFn) -> None:
    page.set_viewport_size({"width": 768, "height": 1024})
    login(page, "admin")
    for path in ("/", "/adverse-events", "/lots", "/audit"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 768px"


_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
    .filter(el => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
    .map(el => el.name || el.id)"""


def test_every_input_has_a_label(page: Page, login: LoginFn) -> None:
    page.goto("/login")
    assert page.evaluate(_UNLABELLED) == []
    login(page, "admin")
    _open_participant(page, "A-001")
    for path in (page.url + "/adverse-events/new", "/audit", "/lots"):
        page.goto(path)
        assert page.evaluate(_UNLABELLED) == [], path


def test_keyboard_focus_follows_the_form_order(page: Page, login: LoginFn) -> None:
    login(page, "coordinator_a")
    _open_participant(page, "A-002")
    page.get_by_role("link", name="Report adverse event").click()
    page.get_by_label("Event term").focus()
    order: list[str] = []
    for _ in range(20):  # a date input takes one Tab per part (month, day, year)
        page.keyboard.press("Tab")
        name = page.evaluate("document.activeElement.name")
        if not order or order[-1] != name:
            order.append(name)
    assert order[:5] == [
        "category",
        "onset_date",
        "awareness_date",
        "ctcae_grade",
        "serious_criteria",
    ]
