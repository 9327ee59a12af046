"""The report archive (issue 17) through FastAPI's TestClient, over the synthetic demo trial on
SQLite and PostgreSQL: a report is made in the background by a process of its own (the job's
state in the database), cheap requests answer while it runs, it is made once per data snapshot,
kept with its snapshot hash and engine versions in owner-only files, and opened later; the
analysis page is cached under the data version read from the database."""

from __future__ import annotations

import hashlib
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from builders import acting_as
from cordtrial.analysis.store import load_trial
from cordtrial.trial.database import make_engine, make_session_factory
from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo
from cordtrial.trial.errors import AccessDeniedError
from cordtrial.trial.models import Participant, User
from cordtrial.trial.services.participants import update_participant
from cordtrial.trial.services.reports import list_reports, request_report
from cordtrial.trial.services.tokens import issue_token
from cordtrial.web import WebSettings, create_app
from cordtrial.web.pages.analysis import analysis_view
from cordtrial.web.pages.security import SESSION_COOKIE
from databases import BACKENDS, PostgresDatabases

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
API = f"/api/trials/{DEMO_PROTOCOL_ID}/reports"
#: A report of the demo takes seconds in its own process on a busy 2-core machine; allow for
#: the process to start and the machine to be shared.
_WAIT_S = 240


@dataclass
class Store:
    factory: sessionmaker[Session]
    url: str
    folder: Path

    def app(self):  # type: ignore[no-untyped-def]
        return create_app(
            WebSettings(database_url=self.url, demo=True, reports_dir=self.folder),
            session_factory=self.factory,
            clock=lambda: NOW,
        )

    def token(self, username: str) -> str:
        with self.factory() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            return issue_token(session, user_id=user.id, now=NOW).token

    def api(self, username: str) -> TestClient:
        client = TestClient(self.app(), follow_redirects=False)
        client.headers["Authorization"] = f"Bearer {self.token(username)}"
        return client

    def pages(self, username: str) -> TestClient:
        client = TestClient(self.app(), follow_redirects=False)
        client.cookies.set(SESSION_COOKIE, self.token(username))
        return client


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("archive") / "cordtrial.db"
        shutil.copyfile(template, path)
        url, drop = f"sqlite:///{path}", None
    else:
        databases: PostgresDatabases = request.getfixturevalue("pg_databases")
        name = databases.create(template=databases.template)
        url, drop = databases.url(name), name
    engine = make_engine(url)
    factory = make_session_factory(engine)
    seed_demo(factory, today=NOW.date())
    yield Store(factory, url, tmp_path_factory.mktemp("reports") / "reports")
    engine.dispose()
    if drop is not None:
        request.getfixturevalue("pg_databases").drop(drop)


def _wait_done(client: TestClient, report_id: int) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + _WAIT_S
    while time.monotonic() < deadline:
        body = client.get(f"/api/reports/{report_id}").json()
        if body["status"] in ("done", "failed"):
            return body  # type: ignore[no-any-return]
        time.sleep(0.5)
    raise AssertionError(f"report {report_id} not made in {_WAIT_S} s: {body}")


def test_report_is_made_in_the_background_and_archived(store: Store) -> None:
    client = store.api("statistician")
    asked = client.post(API, json={"kind": "dsmb"})
    assert asked.status_code == 202, asked.text
    job = asked.json()
    assert job["status"] in ("queued", "running") and job["progress"] < 100
    # a cheap call answers at once while the job runs in its own process
    start = time.perf_counter()
    me = client.get("/api/auth/me")
    cheap_s = time.perf_counter() - start
    during = client.get(f"/api/reports/{job['id']}").json()
    assert me.status_code == 200 and during["status"] in ("queued", "running"), during
    assert cheap_s < 1.0, cheap_s
    done = _wait_done(client, job["id"])
    assert done["status"] == "done", done
    with store.factory() as session:
        expected_hash = load_trial(session, DEMO_PROTOCOL_ID).snapshot_hash
    assert done["snapshot_hash"] == expected_hash
    assert done["versions"]["isncsci_engine"] and done["versions"]["cordtrial"]
    assert done["progress"] == 100 and done["peak_rss_mib"] > 0
    # owner-only files, the PDF's hash as recorded
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    pdfs = list(store.folder.glob(f"{job['id']:06d}-*.pdf"))
    assert len(pdfs) == 1 and stat.S_IMODE(pdfs[0].stat().st_mode) == 0o600
    body = pdfs[0].read_bytes()
    assert body.startswith(b"%PDF") and hashlib.sha256(body).hexdigest() == done["pdf_sha256"]
    # opened later from the archive page
    pages = store.pages("monitor")
    archive = pages.get(f"/trials/{DEMO_PROTOCOL_ID}/reports")
    assert archive.status_code == 200
    assert f'id="report-{job["id"]}" data-status="done"' in archive.text
    assert expected_hash[:16] in archive.text
    download = pages.get(f"/reports/{job['id']}.pdf")
    assert download.status_code == 200 and download.content == body
    html = pages.get(f"/reports/{job['id']}.html")
    assert html.status_code == 200 and "Executive summary" in html.text


def test_same_data_gives_the_same_report_and_a_change_a_new_one(store: Store) -> None:
    client = store.api("investigator")
    first = client.post(API, json={"kind": "efficacy"})
    assert first.status_code == 202
    again = client.post(API, json={"kind": "efficacy"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    _wait_done(client, first.json()["id"])
    with store.factory() as session:
        p = session.scalars(select(Participant).order_by(Participant.id)).first()
        assert p is not None
        update_participant(session, user=acting_as("test"), participant_id=p.id,
                           expected_version=p.version, reason="correction",
                           age_at_injury=p.age_at_injury + 1)  # fmt: skip
    changed = client.post(API, json={"kind": "efficacy"})
    assert changed.status_code == 202 and changed.json()["id"] != first.json()["id"]
    assert changed.json()["data_version"] != first.json()["data_version"]
    assert _wait_done(client, changed.json()["id"])["status"] == "done"


@pytest.mark.parametrize("username", ["coordinator_a"])
def test_report_archive_refused_to_roles_that_do_not_report(store: Store, username: str) -> None:
    client = store.api(username)
    assert client.get(API).status_code == 403
    assert client.post(API, json={"kind": "dsmb"}).status_code == 403
    assert store.pages(username).get(f"/trials/{DEMO_PROTOCOL_ID}/reports").status_code == 403


def test_a_silent_job_is_shown_interrupted_and_may_be_asked_again(store: Store) -> None:
    with store.factory() as session:
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        later = NOW + timedelta(days=30)
        job, created = request_report(session, admin, protocol_id=DEMO_PROTOCOL_ID,
                                      kind="dsmb", now=later)  # fmt: skip
        if not created:  # a report of these data exists already: this test needs a job
            pytest.skip("covered by the job of another test")
        shown = list_reports(session, admin, protocol_id=DEMO_PROTOCOL_ID,
                             now=later + timedelta(minutes=11))  # fmt: skip
        assert next(r for r in shown if r.id == job.id).status == "failed"
        again, created = request_report(session, admin, protocol_id=DEMO_PROTOCOL_ID,
                                        kind="dsmb", now=later + timedelta(minutes=12))  # fmt: skip
        assert created and again.id != job.id


def test_site_scoped_user_may_not_read_reports(store: Store) -> None:
    from cordtrial.trial.services.users import add_user

    with store.factory() as session:
        from cordtrial.trial.models import Site

        site_a = session.scalars(select(Site).where(Site.code == "A")).one()
        scoped = add_user(session, user=acting_as("test"), username="monitor_a",
                          password="a long enough passphrase", role="monitor",
                          site_ids=[site_a.id])  # fmt: skip
        with pytest.raises(AccessDeniedError):
            list_reports(session, scoped, protocol_id=DEMO_PROTOCOL_ID, now=NOW)


def test_analysis_view_repeated_reads_only_the_data_version(store: Store) -> None:
    """The cached view is keyed by the audit trail's head, read from the database on every
    request: a repeat runs a handful of statements (not the trial's load), and a change made
    through another session -- as another worker process would -- gives a fresh view."""
    with store.factory() as session:
        user = session.scalars(select(User).where(User.username == "statistician")).one()
        first = analysis_view(session, user, DEMO_PROTOCOL_ID)
        statements: list[str] = []
        bind = session.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(bind, "before_cursor_execute", listener)
        try:
            repeat = analysis_view(session, user, DEMO_PROTOCOL_ID)
        finally:
            event.remove(bind, "before_cursor_execute", listener)
        assert repeat is first
        assert len(statements) <= 4, statements
    with store.factory() as other:
        p = other.scalars(select(Participant).order_by(Participant.id)).first()
        assert p is not None
        update_participant(other, user=acting_as("test"), participant_id=p.id,
                           expected_version=p.version, reason="correction",
                           age_at_injury=p.age_at_injury + 1)  # fmt: skip
    with store.factory() as session:
        user = session.scalars(select(User).where(User.username == "statistician")).one()
        fresh = analysis_view(session, user, DEMO_PROTOCOL_ID)
        assert fresh is not first and fresh.snapshot_hash != first.snapshot_hash


def test_analysis_view_leaves_the_garbage_collector_as_it_found_it(store: Store) -> None:
    """The view is computed with the cyclic collector paused; it runs again afterwards, and
    stays off where it was off (a caller's choice is not overridden)."""
    import gc

    for i, enabled in enumerate((True, False)):
        with store.factory() as other:  # new data: the view is computed, not taken from the cache
            p = other.scalars(select(Participant).order_by(Participant.id)).first()
            assert p is not None
            update_participant(other, user=acting_as("test"), participant_id=p.id,
                               expected_version=p.version, reason="correction",
                               age_at_injury=p.age_at_injury + (1 if i == 0 else -1))  # fmt: skip
        if not enabled:
            gc.disable()
        try:
            with store.factory() as session:
                user = session.scalars(select(User).where(User.username == "statistician")).one()
                analysis_view(session, user, DEMO_PROTOCOL_ID)
            assert gc.isenabled() is enabled
        finally:
            gc.enable()
