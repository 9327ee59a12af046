"""Concomitant-medication pages (issue 15): a medication picked by name from the ATC list gets
its code; an interacting one shows its flag in words on the participant page and an
investigator marks it reviewed; a bad value is shown beside its field, nothing saved."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from cordtrial.trial.models import ConcomitantMedication
from cordtrial.web.pages.security import SESSION_COOKIE
from web.conftest import World


def _login(world: World, username: str) -> None:
    world.client.cookies.set(SESSION_COOKIE, world.tokens[username])


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def _text(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _form(**values: str) -> dict[str, str]:
    data = {"name": "voriconazole", "atc_code": "", "dose": "200", "dose_unit": "mg",
            "route": "oral", "frequency": "twice daily", "indication": "aspergillosis",
            "start_date": "2026-02-12", "stop_date": ""}  # fmt: skip
    data.update(values)
    return data


def test_an_interacting_medication_is_flagged_and_marked_reviewed(world: World) -> None:
    _login(world, "investigator")
    url = f"/participants/{world.participant_id}"
    form = world.client.get(f"{url}/medications/new").text
    assert '<datalist id="atc-names">' in form and '<option value="baclofen">' in form
    saved = world.client.post(
        f"{url}/medications", data={"csrf_token": _csrf(form), **_form()}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    world.session.rollback()
    med = world.session.scalars(
        select(ConcomitantMedication).where(ConcomitantMedication.name == "voriconazole")
    ).one()
    assert med.atc_code == "J02AC03"  # picked by name from the ATC list
    text = _text(world.client.get(url).text)
    assert "May raise tacrolimus and ciclosporin levels: check trough" in text
    assert "flagged for review" in text
    page = world.client.get(url).text
    reviewed = world.client.post(
        f"/medications/{med.id}/review", data={"csrf_token": _csrf(page)}, follow_redirects=False
    )
    assert reviewed.status_code == 303
    text = _text(world.client.get(url).text)
    assert "reviewed by investigator" in text


def test_a_coordinator_sees_the_flag_but_not_the_review_action(world: World) -> None:
    _login(world, "coordinator")
    page = world.client.get(f"/participants/{world.participant_id}").text
    assert "May raise tacrolimus and ciclosporin levels" in _text(page)  # the world's fluconazole
    assert f'action="/medications/{world.medication_id}/review"' not in page
    refused = world.client.post(
        f"/medications/{world.medication_id}/review", data={"csrf_token": _csrf(page)}
    )
    assert refused.status_code == 403


def test_a_bad_value_is_shown_beside_its_field(world: World) -> None:
    _login(world, "coordinator")
    url = f"/participants/{world.participant_id}"
    form = world.client.get(f"{url}/medications/new").text
    bad = world.client.post(
        f"{url}/medications",
        data={"csrf_token": _csrf(form), **_form(name="baclofen", atc_code="M3BX1")},
    )
    assert bad.status_code == 422 and 'id="atc_code-error"' in bad.text
    assert "ATC code: M3BX1 is not allowed" in _text(bad.text)
    stop = world.client.post(
        f"{url}/medications",
        data={"csrf_token": _csrf(form), **_form(name="baclofen", stop_date="2026-01-01")},
    )
    assert stop.status_code == 422 and 'id="stop_date-error"' in stop.text
    world.session.rollback()
    names = world.session.scalars(select(ConcomitantMedication.name)).all()
    assert "baclofen" not in names


def test_an_ongoing_medication_is_stopped_from_the_page(world: World) -> None:
    _login(world, "coordinator")
    url = f"/participants/{world.participant_id}"
    page = world.client.get(url).text
    assert f'action="/medications/{world.medication_id}/stop"' in page
    stopped = world.client.post(
        f"/medications/{world.medication_id}/stop",
        data={"csrf_token": _csrf(page), "stop_date": "2026-02-20"},
        follow_redirects=False,
    )
    assert stopped.status_code == 303
    row = re.search(
        rf'<tr id="medication-{world.medication_id}">.*?</tr>', world.client.get(url).text, re.S
    )
    assert row is not None and "2026-02-20" in row.group(0) and "ongoing" not in row.group(0)
