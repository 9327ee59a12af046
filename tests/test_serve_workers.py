"""``cordtrial serve --workers 4`` on PostgreSQL behaves as one server (issue 17): a login made
on one worker process is valid on every other, a logout ends the session on all of them, and 48
parallel wrong passwords spread over the workers lock the account, every one answered 401.

Each request goes over a connection of its own, so the kernel hands it to any worker; the access
log names the worker's process id, which is how the tests know which worker answered."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from browser.conftest import _free_port
from builders import acting_as
from cordtrial.cli import app
from cordtrial.trial.database import make_engine, make_session_factory
from cordtrial.trial.models import AuthEvent, User
from cordtrial.trial.services.users import add_user
from cordtrial.web.pages.security import CSRF_COOKIE, CSRF_FIELD, session_csrf_token
from databases import PostgresDatabases

WORKERS = 4
PARALLEL = 48
PASSWORD = "a long enough passphrase"
USERS = ("alice", "bruno", "chloe", "target")
STARTUP_SECONDS = 180
#: Rounds of parallel requests before concluding that some worker never answered.
MAX_ROUNDS = 40


@dataclass
class Workers:
    url: str
    log: Path
    database_url: str
    pids: frozenset[int]

    def access(self, pattern: str) -> list[tuple[int, str]]:
        """(worker pid, line) of the access log lines matching ``pattern``."""
        found = []
        for line in self.log.read_text().splitlines():
            match = re.search(r"\[(\d+)\] access (.*)", line)
            if match and re.fullmatch(pattern, match[2]):
                found.append((int(match[1]), match[2]))
        return found


@pytest.mark.parametrize("demo", [False, True])
def test_several_workers_on_sqlite_are_refused(tmp_path: Path, demo: bool) -> None:
    env = {"CORDTRIAL_DATABASE_URL": ""}
    arguments = ["serve", "--workers", "2", "--data-dir", str(tmp_path)] + ["--demo"] * demo
    result = CliRunner().invoke(app, arguments, env=env)
    assert result.exit_code == 2
    words = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())  # Rich's box, unwrapped
    assert "2 workers on" in words
    assert "more than one worker process needs PostgreSQL" in words
    assert ("the demo store (SQLite)" if demo else "a SQLite store") in words
    assert not list(tmp_path.iterdir())  # refused before creating a store


def _seed(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            for name in USERS:
                add_user(session, user=acting_as("setup"), username=name, password=PASSWORD,
                         role="monitor", all_sites=True)  # fmt: skip
    finally:
        engine.dispose()


def _ready_pids(log: Path) -> frozenset[int]:
    return frozenset(int(p) for p in re.findall(r"worker process (\d+) ready", log.read_text()))


@pytest.fixture(scope="module")
def workers(
    pg_databases: PostgresDatabases,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Workers]:
    name = pg_databases.create(template=pg_databases.template)
    database_url = pg_databases.url(name)
    _seed(database_url)
    data_dir = tmp_path_factory.mktemp("workers")
    log = data_dir / "serve.log"
    port = _free_port()
    env = dict(os.environ, CORDTRIAL_DATABASE_URL=database_url, CORDTRIAL_DATA_DIR=str(data_dir))
    command = [sys.executable, "-m", "cordtrial.cli", "serve", "--workers", str(WORKERS),
               "--port", str(port)]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while len(_ready_pids(log)) < WORKERS:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{WORKERS} workers did not start:\n{log.read_text()}")
            time.sleep(0.5)
        while httpx.get(f"{url}/healthz").status_code != 200:  # pragma: no cover (a moment)
            time.sleep(0.2)
        yield Workers(url, log, database_url, _ready_pids(log))
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        pg_databases.drop(name)


def _on_every_worker(
    server: Workers, request: Callable[[], int], pattern: str
) -> tuple[Counter[int], frozenset[int]]:
    """Send ``request`` in parallel rounds until every worker has answered one (as the access
    log lines matching ``pattern`` show); the statuses seen and the pids that answered."""
    statuses: Counter[int] = Counter()
    before = len(server.access(pattern))
    answered: frozenset[int] = frozenset()
    with ThreadPoolExecutor(8) as pool:
        for _ in range(MAX_ROUNDS):
            statuses.update(pool.map(lambda _: request(), range(8)))
            answered = frozenset(pid for pid, _ in server.access(pattern)[before:])
            if answered >= server.pids:
                break
    return statuses, answered


def _logged(server: Workers, pattern: str, seconds: float = 20.0) -> list[tuple[int, str]]:
    """The access log lines matching ``pattern``, waiting until there is one: a worker writes
    its line just after it answers, so a busy machine may show it a moment later."""
    deadline = time.monotonic() + seconds
    while True:
        found = server.access(pattern)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _api_login(server: Workers, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/auth/login",
        json={"username": username, "password": password},
        timeout=120,
    )


def test_workers_are_separate_processes_on_one_port(workers: Workers) -> None:
    assert len(workers.pids) == WORKERS
    assert httpx.get(f"{workers.url}/healthz").json() == {"status": "ok"}


def test_api_token_from_one_worker_is_valid_on_every_worker(workers: Workers) -> None:
    login = _api_login(workers, "alice")
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    [(login_pid, _)] = _logged(workers, r"POST /api/auth/login 200 user=- \S+")[-1:]

    def me() -> int:
        return httpx.get(f"{workers.url}/api/auth/me", headers=headers).status_code

    statuses, answered = _on_every_worker(workers, me, r"GET /api/auth/me 200 user=alice \S+")
    assert statuses.keys() == {200}
    assert answered == workers.pids
    assert answered - {login_pid}  # workers other than the one that issued the token


def test_api_logout_on_one_worker_ends_the_token_on_every_worker(workers: Workers) -> None:
    token = _api_login(workers, "bruno").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    logout = httpx.post(f"{workers.url}/api/auth/logout", headers=headers)
    assert logout.status_code == 204

    def me() -> int:
        return httpx.get(f"{workers.url}/api/auth/me", headers=headers).status_code

    before = len(workers.access(r"GET /api/auth/me 401 user=- \S+"))
    statuses, answered = _on_every_worker(workers, me, r"GET /api/auth/me 401 user=- \S+")
    assert statuses.keys() == {401}
    assert answered == workers.pids
    deadline = time.monotonic() + 20  # the last lines may be written a moment after the answers
    while (
        len(workers.access(r"GET /api/auth/me 401 user=- \S+")) - before < statuses[401]
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert len(workers.access(r"GET /api/auth/me 401 user=- \S+")) - before == statuses[401]


def test_page_session_is_valid_and_logged_out_on_every_worker(workers: Workers) -> None:
    form = httpx.get(f"{workers.url}/login")
    csrf = form.cookies[CSRF_COOKIE]
    login = httpx.post(
        f"{workers.url}/login",
        data={"username": "chloe", "password": PASSWORD, CSRF_FIELD: csrf, "next": "/"},
        cookies={CSRF_COOKIE: csrf},
    )
    assert login.status_code == 303
    session = login.cookies["cordtrial_session"]
    cookies = {"cordtrial_session": session}

    def page() -> int:
        return httpx.get(f"{workers.url}/account/password", cookies=cookies).status_code

    statuses, answered = _on_every_worker(
        workers, page, r"GET /account/password 200 user=chloe \S+"
    )
    assert statuses.keys() == {200}
    assert answered == workers.pids

    logout = httpx.post(
        f"{workers.url}/logout", data={CSRF_FIELD: session_csrf_token(session)}, cookies=cookies
    )
    assert logout.status_code == 303
    statuses, answered = _on_every_worker(workers, page, r"GET /account/password 303 user=- \S+")
    assert statuses.keys() == {303}  # to the login page: the session is gone everywhere
    assert answered == workers.pids


def test_parallel_wrong_passwords_over_workers_lock_the_account(workers: Workers) -> None:
    before = len(workers.access(r"POST /api/auth/login 401 user=- \S+"))

    def attempt(_: int) -> int:
        return _api_login(workers, "target", "not the password at all").status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = Counter(pool.map(attempt, range(PARALLEL)))
    assert statuses == {401: PARALLEL}
    answered = Counter(
        pid for pid, _ in workers.access(r"POST /api/auth/login 401 user=- \S+")[before:]
    )
    assert sum(answered.values()) == PARALLEL
    assert len(answered) >= 2, f"the attempts were not spread over the workers: {answered}"

    assert _api_login(workers, "target").status_code == 401  # locked, even the right password
    engine = make_engine(workers.database_url)
    try:
        with make_session_factory(engine)() as session:
            user = session.scalars(select(User).where(User.username == "target")).one()
            events = Counter(
                dict(
                    session.execute(
                        select(AuthEvent.kind, func.count())
                        .where(AuthEvent.user_id == user.id)
                        .group_by(AuthEvent.kind)
                    ).all()
                )
            )
    finally:
        engine.dispose()
    assert user.locked_until is not None
    # every attempt was counted once (wrong password, or refused as locked), none lost
    assert events["wrong_password"] + events["locked_account"] == PARALLEL + 1
    assert events["wrong_password"] == user.failed_logins >= 5
    assert events["lockout"] == 1
