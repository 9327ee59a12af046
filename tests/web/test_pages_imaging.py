"""Imaging pages: the reader's blinded worklist and read form, the MRI page with assignment and
adjudication, the participant's MRI list and the dashboard's surveillance status."""

from __future__ import annotations

import re

from sqlalchemy import select

from builders import acting_as
from cordtrial.trial.models import MriRead
from cordtrial.web.pages.security import SESSION_COOKIE
from web.conftest import World

from .test_pages_visits_adverse_events import LEAKS, _csrf, _text

STABLE = {"impression": "stable"}


def _login(world: World, username: str) -> None:
    world.client.cookies.set(SESSION_COOKIE, world.tokens[username])


def _submit(world: World, read_id: int, form: dict[str, str]) -> object:
    page = world.client.get(f"/imaging/reads/{read_id}").text
    return world.client.post(
        f"/imaging/reads/{read_id}", data={"csrf_token": _csrf(page), **form},
        follow_redirects=False,
    )  # fmt: skip


def test_reader_lands_on_the_worklist_and_sees_no_clinical_data(world: World) -> None:
    _login(world, "reader")
    home = world.client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/imaging"
    page = world.client.get("/imaging").text
    assert "P001" in page and f"/imaging/reads/{world.read_id}" in page
    assert world.client.get(f"/participants/{world.participant_id}").status_code == 403
    assert world.client.get(f"/mris/{world.mri_id}").status_code == 404


def test_read_form_refuses_with_the_field_in_words_then_locks(world: World) -> None:
    _login(world, "reader")
    refused = _submit(world, world.read_id, {"impression": "stable", "new_mass": "yes"})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    text = _text(refused.text)  # type: ignore[attr-defined]
    assert "Overall impression" in text and not LEAKS.findall(text)
    done = _submit(world, world.read_id, STABLE)
    assert done.status_code == 303  # type: ignore[attr-defined]
    read = world.session.get(MriRead, world.read_id)
    world.session.refresh(read)
    assert read is not None and read.status == "locked" and read.impression == "stable"


def test_adjudication_page_shows_both_reads_to_the_third_reader(world: World) -> None:
    from cordtrial.trial.services.users import add_user

    add_user(world.session, user=acting_as("setup"), username="reader_c",
             password="a long enough passphrase", role="reader",
             site_ids=[world.site_ids["S01"]])  # fmt: skip
    _login(world, "reader")
    _submit(world, world.read_id, STABLE)
    other = world.session.scalars(select(MriRead).where(MriRead.reader == "reader_b")).one()
    world.session.rollback()
    token = world.client.post(
        "/api/auth/login", json={"username": "reader_b", "password": "a long enough passphrase"}
    ).json()["access_token"]
    world.client.cookies.set(SESSION_COOKIE, token)
    _submit(world, other.id, {"impression": "changed", "mass_effect": "yes", "finding": "swelling"})
    _login(world, "investigator")
    mri_page = world.client.get(f"/mris/{world.mri_id}").text
    assert "readers differ on impression, mass effect" in _text(mri_page)
    assigned = world.client.post(
        f"/mris/{world.mri_id}/adjudicator",
        data={"csrf_token": _csrf(mri_page), "reader": "reader_c"}, follow_redirects=False,
    )  # fmt: skip
    assert assigned.status_code == 303
    token = world.client.post(
        "/api/auth/login", json={"username": "reader_c", "password": "a long enough passphrase"}
    ).json()["access_token"]
    world.client.cookies.set(SESSION_COOKIE, token)
    worklist = world.client.get("/imaging").text
    [read_id] = re.findall(r'href="/imaging/reads/(\d+)">Adjudicate', worklist)
    page = _text(world.client.get(f"/imaging/reads/{read_id}").text)
    assert "central read · reader" in page and "central read · reader_b" in page


def test_participant_page_and_dashboard_show_mri_surveillance(world: World) -> None:
    _login(world, "monitor")
    participant = world.client.get(f"/participants/{world.participant_id}").text
    assert f'data-mri="{world.mri_id}"' in participant and "reading (0 of 2" in participant
    dashboard = world.client.get("/").text
    row = re.search(r'<tr data-participant="P001">.*?</tr>', dashboard, re.S)
    assert row is not None and "2026-02-10" in row.group(0)
