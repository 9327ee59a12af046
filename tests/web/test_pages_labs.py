"""Laboratory pages (issue 15): a panel entered in lab units shows converted and graded on the
participant page; a bad unit refuses the panel with the error at its row; a graded value opens
the adverse-event form prefilled and the saved event is linked to it."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from cordtrial.trial.models import AdverseEvent, LabResult
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


def test_a_panel_is_graded_and_reported_as_an_adverse_event(world: World) -> None:
    _login(world, "investigator")
    form = world.client.get(f"/participants/{world.participant_id}/labs/new").text
    bad = world.client.post(
        f"/participants/{world.participant_id}/labs",
        data={"csrf_token": _csrf(form), "collected_on": "2026-02-09",
              "analyte-0": "neutrophils", "value-0": "900", "unit-0": "/uL",
              "analyte-1": "platelets", "value-1": "150", "unit-1": "g/L"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert 'id="unit-1-error"' in bad.text and "Platelet count" in _text(bad.text)
    neutrophils = select(LabResult).where(LabResult.analyte == "neutrophils")
    assert world.session.scalars(neutrophils).first() is None
    saved = world.client.post(
        f"/participants/{world.participant_id}/labs",
        data={"csrf_token": _csrf(form), "collected_on": "2026-02-09",
              "analyte-0": "neutrophils", "value-0": "900", "unit-0": "/uL"},
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303
    page = world.client.get(f"/participants/{world.participant_id}").text
    text = _text(page)
    assert "900 /uL" in text and "0.9 x10^9/L" in text
    assert "Neutrophil count decreased, grade 3" in text
    # the cumulative table: the neutrophils' row, the value graded, in its date's column
    cumulative = page[page.index('id="lab-cumulative"') : page.index('id="lab-every"')]
    assert '<th scope="col" class="num">2026-02-09</th>' in cumulative
    row = cumulative[cumulative.index('<tr data-analyte="neutrophils">') :]
    row = _text(row[: row.index("</tr>")])
    # no reference range at this site: graded by CTCAE's absolute limits, not marked high or low
    assert row == "Neutrophil count (x10^9/L) — 0.9 G3 report"
    world.session.rollback()  # end the snapshot read above
    lab = world.session.scalars(neutrophils).one()
    link = f"/participants/{world.participant_id}/adverse-events/new?lab={lab.id}"
    assert link.replace("&", "&amp;") in page or link in page
    prefilled = world.client.get(link).text
    assert 'value="Neutrophil count decreased"' in prefilled
    assert "From a laboratory result" in _text(prefilled)
    posted = world.client.post(
        f"/participants/{world.participant_id}/adverse-events",
        data={"csrf_token": _csrf(prefilled), "lab_result_id": str(lab.id),
              "term": "Neutrophil count decreased", "category": "immunosuppression_effect",
              "onset_date": "2026-02-09", "awareness_date": "2026-02-10", "ctcae_grade": "3",
              "related_to_cells": "not_related", "related_to_procedure": "not_related",
              "related_to_immunosuppression": "possible", "expectedness": "expected",
              "outcome": "recovering", "resolution_date": "", "narrative": ""},
        follow_redirects=False,
    )  # fmt: skip
    assert posted.status_code == 303, _text(posted.text)[:500]
    world.session.rollback()
    lab = world.session.scalars(neutrophils).one()
    event = world.session.get(AdverseEvent, lab.adverse_event_id)
    assert event is not None and event.term == "Neutrophil count decreased"
    again = world.client.get(link)
    assert again.status_code == 422 and "already reported" in _text(again.text)


def test_a_monitor_cannot_enter_a_panel(world: World) -> None:
    _login(world, "monitor")
    assert world.client.get(f"/participants/{world.participant_id}/labs/new").status_code == 403
