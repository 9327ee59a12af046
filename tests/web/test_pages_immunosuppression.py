"""Immunosuppression pages (issue 15): a trough entered on the form is converted, flagged on the
participant page and listed as out of range (page and dashboard); a unit of another kind is
refused beside its field; a dose change shows on the chart's dose line."""

from __future__ import annotations

import html
import re
from datetime import date

from builders import acting_as
from cordtrial.trial.models import TroughLevel
from cordtrial.trial.services.immunosuppression import stop_course
from cordtrial.web.pages.security import SESSION_COOKIE
from web.conftest import World


def _login(world: World, username: str) -> None:
    world.client.cookies.set(SESSION_COOKIE, world.tokens[username])


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def _text(page: str) -> str:
    body = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_a_trough_out_of_range_is_flagged_and_listed(world: World) -> None:
    _login(world, "coordinator")
    url = f"/participants/{world.participant_id}/immunosuppression/troughs"
    form = world.client.get(f"{url}/new").text
    data = {
        "csrf_token": _csrf(form),
        "course": str(world.course_id),
        "sampled_on": "2026-02-03",
        "sampled_time": "08:00",
        "hours_since_dose": "12",
    }
    bad = world.client.post(url, data={**data, "value": "9", "unit": "U/L"})
    assert bad.status_code == 422
    assert 'id="unit-error"' in bad.text
    assert "Unit: U/L is another kind of unit" in html.unescape(bad.text)
    assert world.session.query(TroughLevel).count() == 0
    saved = world.client.post(url, data={**data, "value": "24.5", "unit": "ng/mL"},
                              follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303
    page = world.client.get(f"/participants/{world.participant_id}").text
    text = _text(page)
    assert "24.5 ng/mL" in text and "7\u201320 ng/mL" in text and "above target" in text
    assert "Tacrolimus: trough level and dose over time" in page
    assert "day 8 24.5 (out of range)" in page  # the chart's description
    listed = _text(world.client.get("/immunosuppression/out-of-range").text)
    assert "P001" in listed and "above target" in listed
    dashboard = _text(world.client.get("/").text)
    assert "Out-of-range troughs" in dashboard
    card = dashboard[dashboard.index("Out-of-range troughs") :]
    assert card.startswith("Out-of-range troughs Of courses still running, newest first. P001 :")
    assert "24.5 ng/mL on 2026-02-03 above target" in card
    # once the course is stopped, the trough is history: on the list, no longer on the dashboard
    world.session.rollback()
    stop_course(
        world.session, acting_as(),
        course_id=world.course_id, stopped_on=date(2026, 2, 20), reason="planned",
    )  # fmt: skip
    dashboard = _text(world.client.get("/").text)
    assert "24.5 ng/mL on 2026-02-03" not in dashboard
    assert "Out-of-range troughs No out-of-range trough on a course still running." in dashboard
    listed = _text(world.client.get("/immunosuppression/out-of-range").text)
    assert "P001" in listed and "above target" in listed


def test_a_dose_change_shows_on_the_course(world: World) -> None:
    _login(world, "coordinator")
    url = f"/participants/{world.participant_id}/immunosuppression/dose-changes"
    form = world.client.get(f"{url}/new").text
    saved = world.client.post(
        url, data={"csrf_token": _csrf(form), "course": str(world.course_id),
                   "changed_on": "2026-02-02", "dose": "5", "reason": "trough above target"},
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303
    page = world.client.get(f"/participants/{world.participant_id}").text
    assert "trough above target" in _text(page)
    assert "dose: 7 from day 0, 5 from day 7" in page


def test_the_other_sites_investigator_sees_no_trough_of_this_site(world: World) -> None:
    _login(world, "other_site")
    assert (
        world.client.get(
            f"/participants/{world.participant_id}/immunosuppression/troughs/new"
        ).status_code
        == 404
    )
