"""Every workspace page issues a number of SQL statements that does not grow with the trial: the
same pages, as the same users, over a trial of 50 and one of 500 participants (10 sites), on
SQLite and PostgreSQL, must issue the same number of statements (counted with SQLAlchemy's
``before_cursor_execute`` event on the app's engine). A page that queries once per participant
(or per visit, exam or event of the list) fails here.

The analysis page and the report downloads are left out: they read the whole trial on purpose
(issue 17, the analysis cache).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from cordtrial.trial.database import make_engine, make_session_factory
from cordtrial.trial.models import User
from cordtrial.trial.services.tokens import issue_token
from cordtrial.web import WebSettings, create_app
from cordtrial.web.pages.security import SESSION_COOKIE, session_csrf_token
from databases import BACKENDS, PostgresDatabases
from scale_trial import SCALE_NOW, SCALE_PROTOCOL, ScaleTrial, seed_scale_trial

#: Seeding 550 participants through the use cases takes 20-60 s: not in the quick run.
pytestmark = pytest.mark.slow
SIZES = (50, 500)
SITES = 10


@dataclass
class Store:
    engine: Engine
    factory: sessionmaker[Session]
    seeded: ScaleTrial
    url: str
    statements: list[str]

    def client(self, username: str) -> TestClient:
        app = create_app(
            WebSettings(database_url=self.url), session_factory=self.factory,
            clock=lambda: SCALE_NOW,
        )  # fmt: skip
        client = TestClient(app, follow_redirects=False)
        with self.factory() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            token = issue_token(session, user_id=user.id, now=SCALE_NOW).token
        client.cookies.set(SESSION_COOKIE, token)
        client.headers["x-test-csrf"] = session_csrf_token(token)
        return client

    def count(self, client: TestClient, path: str) -> int:
        self.statements.clear()
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return len(self.statements)


@pytest.fixture(scope="module", params=BACKENDS)
def stores(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[int, Store]]:
    made: dict[int, Store] = {}
    dropped: list[str] = []
    for size in SIZES:
        if request.param == "sqlite":
            template: Path = request.getfixturevalue("sqlite_template")
            path = tmp_path_factory.mktemp(f"scale{size}") / "cordtrial.db"
            shutil.copyfile(template, path)
            url = f"sqlite:///{path}"
        else:
            databases: PostgresDatabases = request.getfixturevalue("pg_databases")
            name = databases.create(template=databases.template)
            url = databases.url(name)
            dropped.append(name)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with factory() as session:
            seeded = seed_scale_trial(session, size, SITES)
        statements: list[str] = []

        def count(*args: Any, _into: list[str] = statements) -> None:
            _into.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count)
        made[size] = Store(engine, factory, seeded, url, statements)
    yield made
    for store in made.values():
        store.engine.dispose()
    for name in dropped:
        request.getfixturevalue("pg_databases").drop(name)


def _first(store: Store) -> int:
    return store.seeded.participant_ids["P0001"]


PAGES: dict[str, Callable[[Store], str]] = {
    "dashboard": lambda s: "/",
    "participant list": lambda s: "/participants",
    "participant list, filtered": lambda s: "/participants?site=S01&ais=A&status=treated&q=P00",
    "participant list, page 2": lambda s: "/participants?page=2&sort=study_id&order=desc",
    "participant": lambda s: f"/participants/{_first(s)}",
    "adverse events": lambda s: "/adverse-events",
    "adverse events, filtered": lambda s: "/adverse-events?site=S01&serious=yes&grade=3",
    "adverse events, page 2": lambda s: "/adverse-events?page=2&sort=grade",
    "adverse event": lambda s: f"/adverse-events/{s.seeded.adverse_event_id}",
    "exam": lambda s: f"/exams/{s.seeded.exam_id}",
    "new exam": lambda s: f"/participants/{_first(s)}/exams/new",
    "lots": lambda s: "/lots",
    "audit log": lambda s: "/audit",
    "audit log of a participant": lambda s: f"/audit?participant={_first(s)}",
    "users": lambda s: "/users",
    "out-of-range troughs": lambda s: "/immunosuppression/out-of-range",  # issue 15
    "medications to review": lambda s: "/medications/to-review",  # issue 15
}
#: Who reads each page: the admin sees every site, the others are scoped to site S01.
READERS = {"users": ("scale_admin",), "new exam": ("scale_admin", "scale_coordinator"),
           "dashboard": ("scale_admin", "scale_coordinator", "scale_monitor")}  # fmt: skip
DEFAULT_READERS = ("scale_admin", "scale_monitor")


@pytest.mark.parametrize("page", list(PAGES))
def test_page_statements_do_not_grow_with_participants(stores: dict[int, Store], page: str) -> None:
    for username in READERS.get(page, DEFAULT_READERS):
        counts = {}
        for size, store in stores.items():
            client = store.client(username)
            path = PAGES[page](store)
            store.count(client, path)  # warm: caches of the first request aside
            counts[size] = store.count(client, path)
        assert counts[SIZES[0]] == counts[SIZES[1]], (
            f"{page} as {username}: {counts} SQL statements at {SIZES} participants"
        )


def test_dashboard_statement_count_is_small(stores: dict[int, Store]) -> None:
    """The dashboard of a 500-participant trial reads in a few dozen statements, not thousands."""
    store = stores[SIZES[1]]
    assert store.count(store.client("scale_admin"), "/") < 60
    assert SCALE_PROTOCOL in store.client("scale_admin").get("/").text
