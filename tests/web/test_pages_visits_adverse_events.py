"""Pages of visits (state, outstanding items, missed with a reason) and of adverse-event
follow-up (edit with a reason, narrative, history, follow-up reports, expedited submission),
in clinical words."""

from __future__ import annotations

import html
import re

from builders import acting_as
from cordtrial.trial.services.safety import update_adverse_event
from cordtrial.web.pages.security import SESSION_COOKIE
from web.conftest import World

#: Identifiers that must not reach a reader (snake_case vocabulary, Python reprs).
LEAKS = re.compile(r"\b[a-z]+_[a-z_]+\b|datetime\.|\bNone\b")


def _login(world: World, username: str) -> None:
    world.client.cookies.set(SESSION_COOKIE, world.tokens[username])


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, "no CSRF field on the page"
    return match.group(1)


def _text(page: str) -> str:
    """The page's visible text (no tags, scripts or attribute values)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _participant(world: World) -> str:
    response = world.client.get(f"/participants/{world.participant_id}")
    assert response.status_code == 200
    return response.text


def test_participant_page_shows_each_visit_state_and_what_is_outstanding(world: World) -> None:
    _login(world, "coordinator")
    text = _text(_participant(world))
    assert "out of window (1 day late)" in text  # screening exam a day after its window
    assert "outstanding: ISNCSCI exam" in text
    assert not LEAKS.findall(text.split("Course")[0]), LEAKS.findall(text)


def test_coordinator_marks_a_visit_missed_with_a_reason(world: World) -> None:
    _login(world, "coordinator")
    page = _participant(world)
    url = f"/participants/{world.participant_id}/visits/week%202/missed"
    refused = world.client.post(url, data={"csrf_token": _csrf(page), "reason": " "})
    assert refused.status_code == 422
    assert "Reason: is empty" in _text(refused.text)
    done = world.client.post(
        url, data={"csrf_token": _csrf(page), "reason": "in hospital elsewhere"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    assert "missed: in hospital elsewhere" in _text(_participant(world))


def test_a_monitor_cannot_mark_a_visit_missed(world: World) -> None:
    _login(world, "monitor")
    page = _participant(world)
    assert "Mark week 2 missed" not in page
    url = f"/participants/{world.participant_id}/visits/week%202/missed"
    assert (
        world.client.post(url, data={"csrf_token": _csrf(page), "reason": "x"}).status_code == 403
    )


def _event_page(world: World) -> str:
    response = world.client.get(f"/adverse-events/{world.adverse_event_id}")
    assert response.status_code == 200
    return response.text


def _follow_up(world: World, page: str, **change: str) -> object:
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    form = {
        "csrf_token": _csrf(page), "version": version.group(1), "ctcae_grade": "2",
        "related_to_cells": "possible", "related_to_procedure": "not_related",
        "related_to_immunosuppression": "not_related", "outcome": "not_recovered",
        "resolution_date": "", "narrative": "", "reason": "", **change,
    }  # fmt: skip
    criteria = form.pop("serious_criteria", "")
    data: dict[str, object] = dict(form)
    if criteria:
        data["serious_criteria"] = [criteria]
    return world.client.post(
        f"/adverse-events/{world.adverse_event_id}", data=data, follow_redirects=False
    )


def test_adverse_event_page_shows_relatedness_per_cause_in_words(world: World) -> None:
    _login(world, "monitor")
    text = _text(_event_page(world))
    assert "Related to the cell product possible" in " ".join(text.split())
    assert "Related to the procedure not related" in " ".join(text.split())
    assert "Save follow-up" not in text  # a monitor reads, does not edit


def test_follow_up_needs_a_reason_and_a_narrative_once_serious(world: World) -> None:
    _login(world, "investigator")
    page = _event_page(world)
    no_reason = _follow_up(world, page, ctcae_grade="3")
    assert no_reason.status_code == 422  # type: ignore[attr-defined]
    assert "Reason for the change: is missing" in _text(no_reason.text)  # type: ignore[attr-defined]
    no_narrative = _follow_up(
        world, page, serious_criteria="hospitalisation", reason="admitted for pain control"
    )
    assert no_narrative.status_code == 422  # type: ignore[attr-defined]
    message = _text(no_narrative.text)  # type: ignore[attr-defined]
    assert "Narrative: (empty) is required for a serious event" in message
    saved = _follow_up(
        world, page, serious_criteria="hospitalisation", reason="admitted for pain control",
        narrative="Admitted on day 7 for intravenous analgesia.", ctcae_grade="3",
    )  # fmt: skip
    assert saved.status_code == 303  # type: ignore[attr-defined]
    text = " ".join(_text(_event_page(world)).split())
    assert "hospitalisation (or prolonged)" in text
    assert "admitted for pain control" in text  # the reason, in the history
    assert "CTCAE grade 2 3" in text  # history: field, from, to


def test_expedited_report_submission_is_recorded_and_the_deadline_met(world: World) -> None:
    update_adverse_event(
        world.session, user=acting_as("setup"), event_id=world.adverse_event_id, reason="SUSAR",
        serious_criteria=["hospitalisation"], expectedness="unexpected",
        narrative="Admitted with new pain (test).",
    )  # fmt: skip
    _login(world, "investigator")
    page = _event_page(world)
    assert "due 2026-02-17 (5 days left)" in _text(page)
    response = world.client.post(
        f"/adverse-events/{world.adverse_event_id}/submission",
        data={"csrf_token": _csrf(page), "submitted_on": "2026-02-10",
              "authority": "MHRA", "reference": "SUSAR-2026-7"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    text = _text(_event_page(world))
    assert "submitted 2026-02-10, on time" in text and "SUSAR-2026-7" in text
    assert "days left" not in text


def test_follow_up_report_is_added_and_listed(world: World) -> None:
    _login(world, "coordinator")
    page = _event_page(world)
    response = world.client.post(
        f"/adverse-events/{world.adverse_event_id}/follow-ups",
        data={"csrf_token": _csrf(page), "reported_on": "2026-02-08",
              "text": "Pain settling on pregabalin."},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    assert "Pain settling on pregabalin." in _text(_event_page(world))


def test_dashboard_lists_unsigned_exams_as_work_to_do(world: World) -> None:
    _login(world, "coordinator")
    text = " ".join(_text(world.client.get("/").text).split())
    assert "Exams to complete or sign" in text
    assert "Not signed by an investigator P001 — screening (2026-01-20)" in text
    _login(world, "monitor")
    assert "Exams to query" in world.client.get("/").text
