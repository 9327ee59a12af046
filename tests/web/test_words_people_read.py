"""Every page, every form's error path and the PDFs, over the demo trial, read in clinical words:
field labels, dates as dates, vocabulary as words; never a column name, an enum name or a
Python value (``r_c6_motor``, ``not_recovered``, ``datetime.date(...)``, ``None``, ``'74'``)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import acting_as
from cordtrial.trial.database import make_engine, make_session_factory
from cordtrial.trial.demo import DEMO_PROTOCOL_ID, DEMO_USERS, seed_demo
from cordtrial.trial.models import AdverseEvent, IsncsciExam, Lot, User
from cordtrial.trial.services.tokens import issue_token
from cordtrial.trial.services.users import unlock_user
from cordtrial.web import WebSettings, create_app
from cordtrial.web.pages.security import SESSION_COOKIE, session_csrf_token

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

#: An identifier: two or more lower-case words joined by ``_`` (a column or an enum name).
SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
#: Python values where a plain value is meant.
PYTHON = re.compile(
    r"datetime\.|\bNone\b|[:=] (?:True|False)\b|(?<![A-Za-z])'[^']*'(?![A-Za-z])|\[\]|\{\}"
)
#: Snake-case words people do read: the demo's account names (what a user types to log in).
ACCOUNT_NAMES = frozenset(DEMO_USERS)


class _Text(HTMLParser):
    """The text a person reads: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "svg"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "svg"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


class _Forms(HTMLParser):
    """Each form's action, method and fields with their current values (as a browser sends)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, dict[str, str]]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("action", ""), a.get("method", "get").lower(), {}))
        elif tag == "option" and self._select and "selected" in a:
            self.forms[-1][2][self._select] = a.get("value", "")
        elif not self.forms or "name" not in a:
            return
        elif tag == "input":
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.forms[-1][2][a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
            self.forms[-1][2].setdefault(a["name"], "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.forms[-1][2][a["name"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            self.forms[-1][2][self._textarea] += data


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def pdf_text(data: bytes) -> str:
    document = pdfium.PdfDocument(data)
    try:
        return " ".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def leaks(text: str) -> list[str]:
    """The identifiers and Python values in ``text`` (none on a page people read)."""
    found = [m for m in SNAKE.findall(text) if m not in ACCOUNT_NAMES]
    return found + PYTHON.findall(text)


def test_leaks_finds_what_the_issue_quotes() -> None:
    # the check itself: each message a clinician read before this test existed is caught
    for bad in (
        "r_c6_motor: '74' is not a motor grade",
        "l_t1_motor = 4**",
        "resolution_date: datetime.date(2026, 11, 25) is too early",
        "Seriousness: life_threatening",
        "Outcome: not_recovered",
        "Resolution date: None",
        "sterility: no growth (required 'no growth')",
    ):
        assert leaks(bad), bad
    assert leaks("Right C6 motor: 74 is not a motor grade (0-5 or NT)") == []
    assert leaks("Signed by coordinator_a on 2026-11-25") == []


@dataclass
class Demo:
    factory: sessionmaker[Session]
    url: str

    def unlock(self, username: str) -> None:
        """Lift the lockout that five wrong signing passwords in a row set off."""
        with self.factory() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            if user.failed_logins or user.locked_until is not None:
                unlock_user(session, user=acting_as(), user_id=user.id, reason="test", now=NOW)

    def client(self, username: str) -> TestClient:
        app = create_app(
            WebSettings(database_url=self.url, demo=True),
            session_factory=self.factory,
            clock=lambda: NOW,
        )
        client = TestClient(app, follow_redirects=False)
        with self.factory() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            token = issue_token(session, user_id=user.id, now=NOW).token
        client.cookies.set(SESSION_COOKIE, token)
        client.headers["x-test-csrf"] = session_csrf_token(token)
        return client


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    path = tmp_path_factory.mktemp("words") / "cordtrial.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    factory = make_session_factory(engine)
    seed_demo(factory, today=NOW.date())
    yield Demo(factory, url)
    engine.dispose()


def _pages(demo: Demo) -> list[str]:
    """Every page of the workspace, with the demo's records for the pages of one record."""
    with demo.factory() as session:
        participant_ids = list(session.scalars(select(IsncsciExam.participant_id).distinct()))
        exam_ids = list(session.scalars(select(IsncsciExam.id)))
        event_ids = list(session.scalars(select(AdverseEvent.id)))
        lots = list(session.scalars(select(Lot.lot_number)))
    # Not the audit log: it shows the trail as stored (table, column and stored value, the
    # record's identity for a monitor), in the words of the database by design.
    pages = ["/", "/adverse-events", "/reporting", "/lots", "/users", "/account/password",
             "/calculator", "/analysis/design", f"/trials/{DEMO_PROTOCOL_ID}/analysis"]  # fmt: skip
    pages += [f"/participants/{p}" for p in participant_ids]
    pages += [f"/participants/{p}/exams/new" for p in participant_ids[:2]]
    pages += [f"/participants/{p}/adverse-events/new" for p in participant_ids[:2]]
    # issue 15: the course's start form and the medications to review
    pages += [f"/participants/{p}/immunosuppression-courses/new" for p in participant_ids[:2]]
    pages += ["/medications/to-review"]
    pages += [f"/exams/{e}" for e in exam_ids]
    pages += [f"/adverse-events/{e}" for e in event_ids]
    assert lots and event_ids and exam_ids  # the demo has a record of each kind
    return pages


def _check(text: str, where: str) -> None:
    assert not leaks(text), f"{where}: {leaks(text)[:10]} in {text[:300]!r}"


@pytest.mark.parametrize("username", ["admin", "investigator", "coordinator_a", "monitor"])
def test_every_page_reads_in_clinical_words(demo: Demo, username: str) -> None:
    client = demo.client(username)
    for page in _pages(demo):
        response = client.get(page)
        assert response.status_code in (200, 403, 404), (page, response.status_code)
        _check(visible_text(response.text), f"{username} GET {page}")


def _forms(client: TestClient, page: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Forms()
    parser.feed(client.get(page).text)
    return [(action, fields) for action, method, fields in parser.forms if method == "post"]


#: Bad values for each form field (the rest of the form keeps its current values): a motor
#: grade of 74, a date before the event, a missing reason, words where a number belongs.
BAD = {
    "r_c6_motor": "74", "l_t1_motor": "3X", "r_c5_lt": "9", "vac": "maybe",
    "examined_on": "2031-02-30", "examiner": "", "reason": "", "resolution_date": "2000-01-01",
    "onset_date": "2030-01-01", "awareness_date": "1999-12-31", "term": "", "ctcae_grade": "9",
    "outcome": "not_a_word", "serious_criteria": "not_a_criterion", "submitted_on": "someday",
    "reported_on": "2000-01-01", "text": "", "authority": "", "password": "x",
    "new_password": "short", "repeat_password": "other", "version": "1",
    "related_to_cells": "maybe_yes", "narrative": "", "reference": "",
    "provision_plan_submitted_on": "someday", "jurisdictions": "eu_ctr", "period": "x|y",
}  # fmt: skip


def _post_bad(demo: Demo, client: TestClient, action: str, fields: dict[str, str]) -> Iterator[str]:
    """Post the form once per bad field it has, and once with every bad field at once."""
    spoiled = {k: BAD[k] for k in fields if k in BAD}
    tries = [{**fields, k: v} for k, v in spoiled.items()] + [{**fields, **spoiled}]
    for data in tries:
        data["csrf_token"] = client.headers["x-test-csrf"]
        response = client.post(action, data=data)
        demo.unlock("investigator")
        assert response.status_code < 500, (action, data, response.text[:500])
        if response.headers.get("content-type", "").startswith("text/html"):
            yield visible_text(response.text)


def test_every_form_error_reads_in_clinical_words(demo: Demo) -> None:
    client = demo.client("investigator")
    pages = [p for p in _pages(demo) if p.startswith(("/participants/", "/exams/", "/adverse"))]
    pages += ["/lots", "/account/password"]
    posted = 0
    seen_errors = 0
    for page in pages:
        for action, fields in _forms(client, page):
            if action in ("/logout",) or not fields:
                continue
            for text in _post_bad(demo, client, action, fields):
                posted += 1
                seen_errors += "not" in text or "required" in text
                _check(text, f"POST {action} (from {page})")
    # the reporting forms are an administrator's (issue 15)
    admin = demo.client("admin")
    for action, fields in _forms(admin, "/reporting"):
        for text in _post_bad(demo, admin, action, fields):
            posted += 1
            seen_errors += "not" in text or "required" in text or "Reason" in text
            _check(text, f"POST {action} (from /reporting)")
    assert posted > 20 and seen_errors > 10


def test_the_issues_examples_read_as_words(demo: Demo) -> None:
    client = demo.client("investigator")
    with demo.factory() as session:
        participant = session.scalars(select(IsncsciExam.participant_id)).first()
        event = session.scalars(select(AdverseEvent).order_by(AdverseEvent.id)).first()
    assert participant is not None and event is not None
    page = f"/participants/{participant}/exams/new"
    [(action, fields)] = [f for f in _forms(client, page) if "/exams" in f[0]]
    data = {**fields, "r_c6_motor": "74", "examined_on": "2026-11-24", "examiner": "Dr A",
            "csrf_token": client.headers["x-test-csrf"]}  # fmt: skip
    text = visible_text(client.post(action, data=data).text)
    assert "Right C6 motor: 74 is not a motor grade" in text
    [(action, fields)] = [
        f for f in _forms(client, f"/adverse-events/{event.id}") if f[0].endswith(f"/{event.id}")
    ]
    data = {**fields, "outcome": "recovered", "resolution_date": "2000-01-01",
            "reason": "follow-up call", "csrf_token": client.headers["x-test-csrf"]}  # fmt: skip
    text = visible_text(client.post(action, data=data).text)
    assert "Resolution date: 2000-01-01 is too early" in text
    _check(text, "AE follow-up")


def test_the_pdfs_read_in_clinical_words(demo: Demo) -> None:
    client = demo.client("investigator")
    with demo.factory() as session:
        exam_ids = list(session.scalars(select(IsncsciExam.id)))[:3]
    for exam_id in exam_ids:
        response = client.get(f"/exams/{exam_id}/worksheet.pdf")
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
        text = pdf_text(response.content)
        assert "motor" in text.lower()  # the text layer is read, not an empty page
        _check(text, f"/exams/{exam_id}/worksheet.pdf")
