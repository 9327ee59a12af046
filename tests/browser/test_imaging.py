"""MRI reading and adjudication in Chromium against ``cordtrial serve --demo`` (synthetic data):
a blinded central read from the worklist, and an adjudication of two reads that disagree."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import Page, expect

from browser.conftest import LoginFn
from cordtrial.trial.demo import DEMO_PASSWORD, DEMO_PROTOCOL_ID

STABLE = {"impression": "stable", "new_mass": False, "contrast_enhancement": False,
          "mass_effect": False, "haemorrhage": False, "cord_compression": False, "oedema": False,
          "syrinx_present": False}  # fmt: skip


def _api(page: Page, username: str) -> dict[str, str]:
    response = page.request.post(
        "/api/auth/login", data={"username": username, "password": DEMO_PASSWORD}
    )
    assert response.ok, response.text()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_reader_reads_blinded_from_the_worklist(page: Page, login: LoginFn) -> None:
    login(page, "reader_2")
    expect(page).to_have_url(re.compile(r"/imaging$"))
    row = page.locator("tr[data-read]", has_text="A-001")
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Read").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Central read")
    # blinded: reader_1 has locked their read of this MRI, but it is not shown
    expect(page.locator("body")).not_to_contain_text("reader_1")
    page.get_by_label("Graft / lesion length (mm)").fill("fifteen")
    page.get_by_role("button", name="Submit and lock").click()
    expect(page.get_by_role("alert").first).to_contain_text("Not saved")
    expect(page.locator("#graft_length_mm-error")).to_contain_text("is not a number")
    page.get_by_label("Overall impression").select_option("stable")
    page.get_by_label("Graft / lesion length (mm)").fill("15.5")
    page.get_by_role("button", name="Submit and lock").click()
    expect(page.get_by_role("status")).to_contain_text("Read submitted and locked")
    expect(page.locator("tr[data-read]", has_text="A-001")).to_have_count(0)


def test_disagreement_is_adjudicated_by_a_third_reader(page: Page, login: LoginFn) -> None:
    investigator = _api(page, "investigator")
    people = page.request.get(
        f"/api/trials/{DEMO_PROTOCOL_ID}/participants", headers=investigator
    ).json()
    pid = next(p["id"] for p in people if p["study_id"] == "B-002")
    mri = page.request.post(
        f"/api/participants/{pid}/mris", headers=investigator,
        data={"acquired_on": date.today().isoformat(), "imaging_site": "Site B radiology",
              "field_strength_t": 1.5, "sequences": ["sagittal T2", "T1 post-contrast"]},
    )  # fmt: skip
    assert mri.status == 201, mri.text()
    mri_id = mri.json()["id"]
    reads = page.request.post(
        f"/api/mris/{mri_id}/readers", headers=investigator,
        data={"readers": ["reader_1", "reader_2"]},
    ).json()  # fmt: skip
    changed = STABLE | {"impression": "changed", "contrast_enhancement": True,
                        "finding": "faint enhancement"}  # fmt: skip
    for read, facts in zip(reads, (STABLE, changed), strict=True):
        done = page.request.post(
            f"/api/reads/{read['id']}", headers=_api(page, read["reader"]), data=facts
        )
        assert done.ok, done.text()
    login(page, "investigator")
    page.goto(f"/mris/{mri_id}")
    heading = page.get_by_role("heading", name="Adjudication")
    expect(heading).to_contain_text("impression, contrast enhancement")
    page.get_by_label("Third reader").select_option("reader_3")
    page.get_by_role("button", name="Assign adjudicator").click()
    expect(page.locator("[data-reading]")).to_have_text("adjudicating")
    page.get_by_role("button", name="Log out").click()
    login(page, "reader_3")
    page.locator("tr[data-read]", has_text="B-002").get_by_role("link", name="Adjudicate").click()
    both = page.get_by_role("table")
    expect(both).to_contain_text("central read · reader_1")
    expect(both).to_contain_text("central read · reader_2")
    page.get_by_label("Overall impression").select_option("stable")
    page.get_by_role("button", name="Submit and lock").click()
    expect(page.get_by_role("status")).to_contain_text("Read submitted and locked")
    page.get_by_role("button", name="Log out").click()
    login(page, "investigator")
    page.goto(f"/mris/{mri_id}")
    expect(page.locator("[data-reading]")).to_have_text("final: stable")
