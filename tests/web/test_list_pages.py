"""The participant list and the adverse-event list (issue 17): 50 a page, filtered and sorted,
page links that keep the filters, site scope, and filter values refused in words."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest

from builders import acting_as
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.safety import report_adverse_event
from cordtrial.web.pages.security import SESSION_COOKIE

from .conftest import PROTOCOL, World


def _login(world: World, username: str) -> None:
    world.client.cookies.set(SESSION_COOKIE, world.tokens[username])


def _study_ids(page: str) -> list[str]:
    return re.findall(r'<a href="/participants/\d+">([^<]+)</a>', page)


def _links(page: str, rel: str) -> set[str]:
    """The pager's links of a kind (the pager is shown above and below the list)."""
    return {html.unescape(h) for h in re.findall(rf'href="([^"]+)" rel="{rel}"', page)}


@pytest.fixture
def crowd(world: World) -> World:
    """58 more participants (60 in all): Q001..Q058, alternately at S01 and S02; the even
    ones without a day 0."""
    for i in range(1, 59):
        enroll_participant(
            world.session, user=acting_as("setup"), protocol_id=PROTOCOL,
            site_code="S01" if i % 2 else "S02", study_id=f"Q{i:03d}",
            injury_date=date(2026, 1, 5), injury_level="T4", injury_mechanism="fall",
            age_at_injury=30, sex="F", transplant_date=date(2026, 1, 26) if i % 2 else None,
        )  # fmt: skip
    return world


def test_participant_list_pages_by_50_and_next_link_keeps_filters(crowd: World) -> None:
    _login(crowd, "admin")
    first = crowd.client.get("/participants").text
    ids = _study_ids(first)
    assert len(ids) == 50 and ids == sorted(ids)
    assert "1\u201350 of 60" in first
    (following,) = _links(first, "next")
    second = crowd.client.get(following).text
    assert len(_study_ids(second)) == 10 and not set(_study_ids(second)) & set(ids)
    filtered = crowd.client.get("/participants?q=Q0&status=no+day+0&order=desc").text
    assert _study_ids(filtered) == [f"Q{i:03d}" for i in range(58, 0, -2)]
    assert "1\u201329 of 29" in filtered and not _links(filtered, "next")


def test_participant_list_filters_by_site_ais_and_status(crowd: World) -> None:
    _login(crowd, "admin")
    at_s02 = _study_ids(crowd.client.get("/participants?site=S02").text)
    assert at_s02 == ["P002", *[f"Q{i:03d}" for i in range(2, 59, 2)]]
    # P001's exam is AIS A (complete C5 lesion); nobody else has a classified exam
    assert _study_ids(crowd.client.get("/participants?ais=A").text) == ["P001"]
    assert _study_ids(crowd.client.get("/participants?ais=B").text) == []
    treated = _study_ids(crowd.client.get("/participants?status=treated&site=S01").text)
    assert treated == ["P001", *[f"Q{i:03d}" for i in range(1, 59, 2)]]


def test_participant_list_sorts_by_ais_then_study_id(crowd: World) -> None:
    _login(crowd, "admin")
    ids = _study_ids(crowd.client.get("/participants?sort=ais").text)
    assert ids[0] == "P001"  # the only one with a grade comes first


def test_participant_list_shows_only_the_users_sites(crowd: World) -> None:
    _login(crowd, "coordinator")  # at S01
    page = crowd.client.get("/participants?site=").text
    ids = _study_ids(page)
    assert "P002" not in ids and "Q002" not in ids and "P001" in ids
    refused = crowd.client.get("/participants?site=S02")
    assert refused.status_code == 422
    assert "Site: S02 is not one of S01" in refused.text


def test_participant_list_refuses_unknown_values_in_words(crowd: World) -> None:
    _login(crowd, "admin")
    response = crowd.client.get("/participants?ais=F&status=asleep&page=zero")
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "AIS grade: F is not one of A, B, C, D, E" in text
    assert "Status: asleep is not one of no day 0, day 0 planned, treated" in text
    assert "Page: zero is not a page number" in text


def _event(world: World, participant_id: int, term: str, grade: int, serious: bool) -> None:
    report_adverse_event(
        world.session, user=acting_as("setup"), participant_id=participant_id, term=term,
        category="other", onset_date=date(2026, 2, grade), awareness_date=date(2026, 2, 10),
        ctcae_grade=grade, serious_criteria=["hospitalisation"] if serious else [],
        related_to_cells="not_related", related_to_procedure="unlikely",
        related_to_immunosuppression="not_related", expectedness="expected",
        outcome="recovering", narrative="Synthetic." if serious else "",
    )  # fmt: skip


def _terms(page: str) -> list[str]:
    return re.findall(r'<a href="/adverse-events/\d+">([^<]+)</a>', page)


def test_adverse_event_list_pages_filters_and_sorts(world: World) -> None:
    for i in range(55):
        _event(world, world.participant_id, f"Event {i:02d}", 1 + i % 3, serious=i % 5 == 0)
    _event(world, world.other_participant_id, "Elsewhere", 4, serious=True)
    _login(world, "admin")
    first = world.client.get("/adverse-events?sort=term&order=asc").text
    assert _terms(first)[:2] == ["Elsewhere", "Event 00"] and len(_terms(first)) == 50
    assert "1\u201350 of 57" in first
    (following,) = _links(first, "next")
    assert "sort=term" in following and "order=asc" in following
    assert len(_terms(world.client.get(following).text)) == 7
    serious = _terms(world.client.get("/adverse-events?serious=yes&sort=term&order=asc").text)
    assert serious == ["Elsewhere", *[f"Event {i:02d}" for i in range(0, 55, 5)]]
    grade = _terms(world.client.get("/adverse-events?grade=4").text)
    assert grade == ["Elsewhere"]
    at_s01 = _terms(world.client.get("/adverse-events?site=S01&participant=P00&page=2").text)
    assert len(at_s01) == 6  # 56 events of P001: 50 on page 1
    by_grade = _terms(world.client.get("/adverse-events?sort=grade").text)
    assert by_grade[0] == "Elsewhere"  # grade 4, the highest


def test_adverse_event_list_is_scoped_to_the_users_sites(world: World) -> None:
    _event(world, world.other_participant_id, "Elsewhere", 2, serious=False)
    _login(world, "monitor")  # at S01
    assert "Elsewhere" not in _terms(world.client.get("/adverse-events").text)
    _login(world, "other_site")  # at S02
    assert _terms(world.client.get("/adverse-events").text) == ["Elsewhere"]
