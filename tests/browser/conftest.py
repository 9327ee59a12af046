"""Browser tests: Playwright (sync API) driving Debian's Chromium (``/usr/bin/chromium``, never a
downloaded browser) against ``cordtrial serve --demo``, started once per test session on a free
127.0.0.1 port over a temporary data directory (so a temporary SQLite store seeded with the
synthetic demo trial).

Fixtures: ``live_server`` (the base URL), ``browser`` (session-scoped Chromium), ``page`` (a fresh
context at 1280 x 900 for each test) and ``login`` (``login(page, username)`` logs a demo user in
and waits for the dashboard).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from cordtrial.trial.demo import DEMO_USERS

CHROMIUM = "/usr/bin/chromium"
STARTUP_SECONDS = 60
LoginFn = Callable[..., None]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"cordtrial serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"cordtrial serve did not answer within {STARTUP_SECONDS}s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``cordtrial serve --demo`` on a free port over a temporary data directory."""
    data_dir = tmp_path_factory.mktemp("serve")
    port = _free_port()
    log = data_dir / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "CORDTRIAL_DATABASE_URL"}
    command = [sys.executable, "-m", "cordtrial.cli", "serve", "--demo",
               "--data-dir", str(data_dir), "--port", str(port)]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the Debian package."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (scripts/chromium installs Debian's Chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A fresh browser context (no cookies) at laptop width, with the server as base URL."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def log_in(page: Page, username: str, password: str | None = None) -> None:
    """Log ``username`` (a demo user) in through the login form and wait for the dashboard."""
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password or DEMO_USERS[username][2])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def login() -> LoginFn:
    """``login(page, username)``: log a demo user in (see :func:`log_in`)."""
    return log_in
