"""The medications to review (issue 15): the concomitant medications flagged for an interaction
with the immunosuppressant, listed at the user's sites only, linked to each participant's page,
marked reviewed from the list; a few of them on the dashboard."""

from __future__ import annotations

import html
import re
from datetime import date

from sqlalchemy import select

from builders import acting_as
from cordtrial.trial.models import Participant
from cordtrial.trial.services.medications import record_medication
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


def _other_sites_medication(world: World) -> tuple[str, str]:
    """A flagged medication of the S02 participant; its and the S01 participant's study ids."""
    record_medication(
        world.session, acting_as("setup"), participant_id=world.other_participant_id,
        name="voriconazole", route="oral", frequency="twice daily", indication="aspergillosis",
        start_date=date(2026, 2, 5),
    )  # fmt: skip
    study = dict(world.session.execute(select(Participant.id, Participant.study_id)).all())
    return study[world.participant_id], study[world.other_participant_id]


def test_the_list_shows_only_the_users_sites(world: World) -> None:
    mine, theirs = _other_sites_medication(world)
    _login(world, "investigator")  # at S01
    page = world.client.get("/medications/to-review")
    assert page.status_code == 200
    text = _text(page.text)
    assert f"{mine} S01 fluconazole" in text and "at your sites" in text
    assert "voriconazole" not in text and theirs not in text
    assert f'href="/participants/{world.participant_id}#medication-{world.medication_id}"' in (
        page.text
    )
    _login(world, "other_site")  # at S02
    text = _text(world.client.get("/medications/to-review").text)
    assert f"{theirs} S02 voriconazole" in text and "fluconazole" not in text


def test_an_investigator_marks_reviewed_from_the_list(world: World) -> None:
    _login(world, "coordinator")
    page = world.client.get("/medications/to-review").text
    assert "fluconazole" in _text(page) and "Mark reviewed" not in page
    _login(world, "investigator")
    page = world.client.get("/medications/to-review").text
    assert "Mark reviewed" in page
    done = world.client.post(
        f"/medications/{world.medication_id}/review",
        data={"csrf_token": _csrf(page), "back": "to-review", "trial": "IPSC-SCI-01"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/medications/to-review?trial=IPSC-SCI-01")
    text = _text(world.client.get(done.headers["location"]).text)
    assert "Medication marked reviewed." in text and "No medication to review." in text
    participant = _text(world.client.get(f"/participants/{world.participant_id}").text)
    assert "reviewed by investigator" in participant


def test_the_dashboard_lists_the_medications_to_review(world: World) -> None:
    mine, _ = _other_sites_medication(world)
    _login(world, "investigator")
    text = _text(world.client.get("/").text)
    assert "Medications to review" in text
    assert f"Medications to review {mine} : fluconazole May raise tacrolimus" in text
    assert "voriconazole" not in text
    assert "Every medication to review" in text
