"""Pages of the long-term follow-up: the timeline page, disposition, consent and contact forms
(refusals beside the form, in words), re-consent due on the participant page and dashboard, and
the look-back page (SQLite and PostgreSQL)."""

from __future__ import annotations

import html
import re
from datetime import date

from cordtrial.trial.models import User
from cordtrial.trial.rules.consent import ConsentVersionFacts
from cordtrial.trial.rules.follow_up import yearly_visits
from cordtrial.trial.services.consent import add_consent_version, record_consent
from cordtrial.trial.services.trials import add_long_term_visits
from cordtrial.web.pages.security import SESSION_COOKIE
from web.conftest import PROTOCOL, World

LEAKS = re.compile(r"\b[a-z]+_[a-z_]+\b|datetime\.|\bNone\b")


def _login(world: World, username: str) -> None:
    world.client.cookies.set(SESSION_COOKIE, world.tokens[username])


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def _text(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _user(world: World, name: str) -> User:
    user = world.session.get(User, world.user_ids[name])
    assert user is not None
    return user


def _setup(world: World) -> None:
    admin = _user(world, "admin")
    add_long_term_visits(
        world.session,
        user=admin,
        protocol_id=PROTOCOL,
        visits=yearly_visits(2, 3, contact_mode="phone"),
        reason="amendment",
    )
    add_consent_version(world.session, user=admin, protocol_id=PROTOCOL, facts=ConsentVersionFacts(
        "1.0", date(2026, 1, 1), ("long_term_contact", "autopsy")))  # fmt: skip


def test_long_term_page_shows_timeline_and_records_a_disposition(world: World) -> None:
    _setup(world)
    _login(world, "coordinator")
    url = f"/participants/{world.participant_id}/long-term"
    page = world.client.get(url)
    assert page.status_code == 200
    text = _text(page.text)
    assert "year 2 (phone)" in text and "Disposition active" in text
    assert LEAKS.findall(text) == []
    response = world.client.post(
        f"/participants/{world.participant_id}/disposition",
        data={"csrf_token": _csrf(page.text), "status": "completed_main_study",
              "effective_on": "2026-02-10"},
        follow_redirects=True,
    )  # fmt: skip
    assert response.status_code == 200
    text = _text(response.text)
    assert "completed main study since 2026-02-10" in text
    assert LEAKS.findall(text) == []  # the disposition in words, never its code
    # the long-term visits are no longer expected: not in long-term follow-up
    assert "not in long-term follow-up" in text


def test_refusals_are_shown_in_words_beside_the_form(world: World) -> None:
    _setup(world)
    _login(world, "coordinator")
    url = f"/participants/{world.participant_id}/long-term"
    token = _csrf(world.client.get(url).text)
    refused = world.client.post(
        f"/participants/{world.participant_id}/long-term-visits/year 2",
        data={"csrf_token": token, "done_on": "2028-01-26"},
    )
    assert refused.status_code == 422
    assert "has not consented to long-term contact" in _text(refused.text)
    refused = world.client.post(
        f"/participants/{world.participant_id}/disposition",
        data={"csrf_token": token, "status": "lost_to_follow_up", "effective_on": "2026-02-10"},
    )
    assert refused.status_code == 422
    assert "3 unsuccessful contact attempts" in _text(refused.text)
    refused = world.client.post(
        f"/participants/{world.participant_id}/disposition",
        data={"csrf_token": token, "status": "withdrawn", "effective_on": "2026-02-10",
              "reason": "moved", "data_use_allowed": "yes"},
    )  # fmt: skip
    assert refused.status_code == 422
    assert "Recontact allowed: (missing) is required" in _text(refused.text)


def test_monitor_sees_the_page_without_forms_and_cannot_post(world: World) -> None:
    _setup(world)
    _login(world, "monitor")
    page = world.client.get(f"/participants/{world.participant_id}/long-term")
    assert page.status_code == 200 and "Record disposition" not in page.text
    response = world.client.post(
        f"/participants/{world.participant_id}/contact-attempts",
        data={"csrf_token": _csrf(page.text), "attempted_on": "2026-02-10", "method": "phone",
              "outcome": "no_answer"},
    )  # fmt: skip
    assert response.status_code == 403


def test_reconsent_due_shows_on_participant_page_and_dashboard(world: World) -> None:
    _setup(world)
    coordinator = _user(world, "coordinator")
    record_consent(world.session, user=coordinator, participant_id=world.participant_id,
                   version="1.0", signed_on=date(2026, 1, 10),
                   items={"long_term_contact": True, "autopsy": False})  # fmt: skip
    add_consent_version(world.session, user=_user(world, "admin"), protocol_id=PROTOCOL,
                        facts=ConsentVersionFacts("2.0", date(2026, 2, 1), ("long_term_contact",),
                                                  True))  # fmt: skip
    _login(world, "coordinator")
    text = _text(world.client.get(f"/participants/{world.participant_id}").text)
    assert "re-consent due: form 2.0" in text
    dashboard = _text(world.client.get("/").text)
    assert "Re-consent due P001 : consent form 2.0 (effective 2026-02-01)" in dashboard


def test_look_back_page_lists_recipients_of_the_users_sites(world: World) -> None:
    _login(world, "coordinator")
    page = world.client.get("/look-back", params={"lot": "L001"})
    assert page.status_code == 200 and "0 recipients" in _text(page.text)
    page = world.client.get("/look-back", params={"lot": "NOPE"})
    assert page.status_code == 422 and "Lot NOPE does not exist" in _text(page.text)
