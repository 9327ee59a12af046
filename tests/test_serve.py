"""``cordtrial serve`` as a real server (issue 12): it honours ``CORDTRIAL_TOKEN_MINUTES``,
writes an access log without secrets, and its lockout holds under 40 parallel wrong passwords
over HTTP (every one answered 401, never 409)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from browser.conftest import _free_port, _wait_until_up
from cordtrial.trial.demo import DEMO_PASSWORD

TOKEN_MINUTES = 7
PARALLEL = 40


@dataclass
class Server:
    url: str
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("serve")
    port = _free_port()
    log = data_dir / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "CORDTRIAL_DATABASE_URL"}
    env["CORDTRIAL_TOKEN_MINUTES"] = str(TOKEN_MINUTES)
    command = [sys.executable, "-m", "cordtrial.cli", "serve", "--demo",
               "--data-dir", str(data_dir), "--port", str(port)]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield Server(url, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _post(url: str, body: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_serve_honours_the_token_lifetime_setting(server: Server) -> None:
    before = datetime.now(UTC)
    status, body = _post(
        f"{server.url}/api/auth/login", {"username": "monitor", "password": DEMO_PASSWORD}
    )
    assert status == 200
    expires = datetime.fromisoformat(str(body["expires_at"]))
    assert before + timedelta(minutes=TOKEN_MINUTES - 1) < expires
    assert expires <= datetime.now(UTC) + timedelta(minutes=TOKEN_MINUTES)


def test_serve_writes_an_access_log_without_secrets(server: Server) -> None:
    _post(f"{server.url}/api/auth/login", {"username": "statistician", "password": DEMO_PASSWORD})
    access = "\n".join(line for line in server.log.read_text().splitlines() if " access " in line)
    assert re.search(r"access POST /api/auth/login 200 user=- \d+\.\dms", access)
    assert DEMO_PASSWORD not in access


def test_parallel_wrong_passwords_over_http_lock_the_account(server: Server) -> None:
    def attempt(_: int) -> int:
        status, _body = _post(
            f"{server.url}/api/auth/login",
            {"username": "coordinator_b", "password": "not the password at all"},
        )
        return status

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = Counter(pool.map(attempt, range(PARALLEL)))
    assert statuses == {401: PARALLEL}
    status, _ = _post(
        f"{server.url}/api/auth/login", {"username": "coordinator_b", "password": DEMO_PASSWORD}
    )
    assert status == 401  # locked, even with the right password
