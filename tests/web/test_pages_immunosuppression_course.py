"""Starting and stopping an immunosuppression course on the pages (issue 15): the audit trail
has the rows under the user's name, a role that may not stop is refused in words, a bad value
is named beside its field and nothing is saved."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from cordtrial.trial.models import AuditEntry, ImmunosuppressionCourse
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


def _audit(world: World, entity_id: int, field: str, action: str = "update") -> list[AuditEntry]:
    """The course's audit rows of ``field`` (the changes, or another ``action``)."""
    world.session.rollback()
    return list(
        world.session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "immunosuppression_course",
                AuditEntry.entity_id == str(entity_id),
                AuditEntry.field == field,
                AuditEntry.action == action,
            )
        )
    )


def test_a_course_is_started_on_the_page(world: World) -> None:
    _login(world, "other_site")  # an investigator at S02, whose participant has no course
    p = world.other_participant_id
    page = world.client.get(f"/participants/{p}").text
    assert f'href="/participants/{p}/immunosuppression-courses/new"' in page
    form = world.client.get(f"/participants/{p}/immunosuppression-courses/new").text
    assert '<option value="tacrolimus" selected>Tacrolimus</option>' in form
    data = {"csrf_token": _csrf(form), "drug": "tacrolimus", "started_on": "2026-02-30",
            "start_dose": "6", "dose_unit": "mg/d"}  # fmt: skip
    url = f"/participants/{p}/immunosuppression-courses"
    bad = world.client.post(url, data=data)
    assert bad.status_code == 422
    assert 'id="started_on-error"' in bad.text
    assert "Start date: 2026-02-30 is not a date (a date (YYYY-MM-DD))" in _text(bad.text)
    unknown = world.client.post(url, data={**data, "started_on": "2026-02-01", "drug": "aspirin"})
    assert unknown.status_code == 422
    assert "Drug: aspirin is not allowed (a drug of the protocol: Tacrolimus)" in _text(
        unknown.text
    )
    world.session.rollback()
    mine = select(ImmunosuppressionCourse).where(ImmunosuppressionCourse.participant_id == p)
    assert world.session.scalars(mine).first() is None
    saved = world.client.post(url, data={**data, "started_on": "2026-02-01"},
                              follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303
    world.session.rollback()
    course = world.session.scalars(mine).one()
    assert (str(course.started_on), course.start_dose) == ("2026-02-01", 6)
    [row] = _audit(world, course.id, "started_on", "create")
    assert (row.actor, row.action, row.new_value) == ("other_site", "create", '"2026-02-01"')
    text = _text(world.client.get(f"/participants/{p}").text)
    assert "Course started." not in text  # the notice shows after the redirect only
    assert "Started 2026-02-01 at 6 mg/d" in text
    again = world.client.post(url, data={**data, "started_on": "2026-02-01"})
    assert again.status_code == 422 and "Tacrolimus is already started" in _text(again.text)


def test_a_coordinator_may_not_stop_and_is_told_so(world: World) -> None:
    _login(world, "coordinator")
    p = world.participant_id
    page = world.client.get(f"/participants/{p}").text
    assert "/immunosuppression-courses/tacrolimus/stop" not in page
    url = f"/participants/{p}/immunosuppression-courses/tacrolimus/stop"
    refused = world.client.get(url)
    assert refused.status_code == 403
    assert "coordinator may not stop immunosuppression" in _text(refused.text)
    posted = world.client.post(
        url, data={"csrf_token": _csrf(page), "version": "1", "stopped_on": "2026-03-01",
                   "stop_reason": "planned", "stop_note": ""},
    )  # fmt: skip
    assert posted.status_code == 403
    assert "coordinator may not stop immunosuppression" in _text(posted.text)
    assert _audit(world, world.course_id, "stopped_on") == []


def test_an_investigator_stops_the_course_on_the_page(world: World) -> None:
    _login(world, "investigator")
    p = world.participant_id
    page = world.client.get(f"/participants/{p}").text
    url = f"/participants/{p}/immunosuppression-courses/tacrolimus/stop"
    assert f'href="{url}"' in page
    form = world.client.get(url).text
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version is not None
    data = {"csrf_token": _csrf(form), "version": version.group(1), "stopped_on": "2026-03-01",
            "stop_reason": "toxicity", "stop_note": "tremor"}  # fmt: skip
    early = world.client.post(url, data={**data, "stopped_on": "2026-01-01"})
    assert early.status_code == 422 and 'id="stopped_on-error"' in early.text
    assert "Stop date: 2026-01-01 is too early" in _text(early.text)
    odd = world.client.post(url, data={**data, "stop_reason": "bored"})
    assert odd.status_code == 422
    assert (
        "Reason: bored is not a reason to stop (one of: planned (end of the protocol's course), "
        "toxicity, infection, suspected rejection, other)" in _text(odd.text)
    )
    no_note = world.client.post(url, data={**data, "stop_reason": "other", "stop_note": ""})
    assert no_note.status_code == 422 and 'id="stop_note-error"' in no_note.text
    assert "Note: (missing) is empty (text of 1-500 characters)" in _text(no_note.text)
    assert _audit(world, world.course_id, "stopped_on") == []
    saved = world.client.post(url, data=data, follow_redirects=False)
    assert saved.status_code == 303
    [row] = _audit(world, world.course_id, "stopped_on")
    assert (row.actor, row.new_value, row.reason) == ("investigator", "\"2026-03-01\"",
                                                      "stopped: toxicity")  # fmt: skip
    text = _text(world.client.get(f"/participants/{p}").text)
    assert "stopped 2026-03-01: toxicity (tremor)" in text
    stale = world.client.post(
        url, data={**data, "stopped_on": "2026-03-02", "correction_reason": "x"}
    )
    assert stale.status_code == 409 and "changed since this form was opened" in stale.text
    # changing the recorded stop is a correction: it needs its reason
    form = world.client.get(url).text
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version is not None and 'id="correction_reason"' in form
    fresh = {**data, "version": version.group(1), "stopped_on": "2026-03-02"}
    unexplained = world.client.post(url, data=fresh)
    assert unexplained.status_code == 422
    assert "Reason for the correction: (missing) is missing" in _text(unexplained.text)
    corrected = world.client.post(
        url, data={**fresh, "correction_reason": "date misread"}, follow_redirects=False
    )
    assert corrected.status_code == 303
    rows = _audit(world, world.course_id, "stopped_on")
    assert [r.reason for r in rows] == ["stopped: toxicity", "date misread"]
