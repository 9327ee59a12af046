"""Web controls of issue 12, on SQLite and PostgreSQL: security headers, the request body cap,
bounded reasons, the access log, Secure cookies, offline /docs, passwords by API and pages,
tokens dying with the account, version-less page forms and URL-safe path ids."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from builders import acting_as
from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.models import AuthEvent, IsncsciExam
from cordtrial.trial.services.product import register_lot
from cordtrial.trial.services.tokens import issue_token
from cordtrial.web import WebSettings, create_app
from cordtrial.web.middleware import ACCESS_LOGGER
from cordtrial.web.pages.security import CSRF_COOKIE, SESSION_COOKIE, session_csrf_token

from .conftest import NOW, PASSWORD, World

NEW_PASSWORD = "my own quiet lighthouse"
TEMPORARY = "temporary granite harbour"


def _app_client(
    world: World, base_url: str = "http://testserver", **settings: object
) -> TestClient:
    app = create_app(
        WebSettings(database_url="sqlite://", **settings),  # type: ignore[arg-type]
        session_factory=world.client.app.state.session_factory,  # type: ignore[attr-defined]
        clock=lambda: NOW,
    )
    return TestClient(app, base_url=base_url, follow_redirects=False)


def _page_client(world: World, username: str) -> tuple[TestClient, str]:
    client = _app_client(world)
    token = issue_token(world.session, user_id=world.user_ids[username], now=NOW).token
    client.cookies.set(SESSION_COOKIE, token)
    return client, session_csrf_token(token)


# --- security headers ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/api/auth/me", "/docs", "/", "/calculator"])
def test_every_answer_carries_the_security_headers(world: World, path: str) -> None:
    client, _ = _page_client(world, "coordinator")
    response = client.get(path, headers=world.headers("coordinator"))
    assert response.status_code in (200, 303), response.text[:200]  # /login: on to /
    csp = response.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]*)", csp)
    assert script_src is not None and script_src.group(1) == "'self'"
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"


def test_participant_pages_are_not_stored(world: World) -> None:
    client, _ = _page_client(world, "coordinator")
    response = client.get(f"/participants/{world.participant_id}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    static = client.get("/static/app.css")
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"


def test_pages_hold_no_inline_script(world: World) -> None:
    client, _ = _page_client(world, "investigator")
    for path in ["/", "/login", f"/exams/{world.exam_id}", "/calculator", "/docs"]:
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path


# --- request bodies and free text ------------------------------------------------------------


def test_request_body_over_one_mebibyte_is_refused_with_413(world: World) -> None:
    reason = "x" * (1024 * 1024)
    response = world.client.patch(
        f"/api/participants/{world.participant_id}",
        json={"version": 1, "reason": reason, "age_at_injury": 35},
        headers=world.headers("coordinator"),
    )
    assert response.status_code == 413
    assert "1048576 bytes" in response.json()["detail"]


def test_body_limit_is_a_setting(world: World) -> None:
    client = _app_client(world, max_body_bytes=2048)
    response = client.post("/api/auth/login", json={"username": "a" * 3000, "password": "p"})
    assert response.status_code == 413
    assert response.headers["x-frame-options"] == "DENY"


def test_streamed_body_over_the_limit_is_refused_with_413(world: World) -> None:
    """No Content-Length (chunked): counted as it arrives."""

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    client = _app_client(world, max_body_bytes=2048)
    for path, kind in [("/api/auth/login", "application/json"),
                       ("/login", "application/x-www-form-urlencoded")]:  # fmt: skip
        response = client.post(path, content=chunks(), headers={"content-type": kind})
        assert response.status_code == 413, (path, response.text)


def test_long_reason_is_refused_with_a_clear_error(world: World) -> None:
    response = world.client.patch(
        f"/api/participants/{world.participant_id}",
        json={"version": 1, "reason": "x" * 5000, "age_at_injury": 35},
        headers=world.headers("coordinator"),
    )
    assert response.status_code == 422
    assert "reason" in response.text and "1000" in response.text


def test_one_megabyte_reason_is_refused_by_the_store(world: World) -> None:
    """Below the web layer too: a use case refuses it, naming the field and its limit, and the
    message does not repeat the megabyte."""
    from cordtrial.trial.services.participants import update_participant

    with pytest.raises(InvalidValueError) as error:
        update_participant(
            world.session, user=acting_as("coordinator"), participant_id=world.participant_id,
            reason="x" * (1024 * 1024), age_at_injury=35,
        )  # fmt: skip
    assert error.value.field == "reason"
    assert "text of 1-1000 characters" in str(error.value) and len(str(error.value)) < 200


# --- access log ------------------------------------------------------------------------------


def test_access_log_names_method_path_status_user_and_time(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        world.client.get("/api/auth/me", headers=world.headers("monitor"))
        world.client.post("/api/auth/login", json={"username": "monitor", "password": PASSWORD})
        world.client.get("/api/users", params={"secret": "s3cr3t"}, headers=world.headers("admin"))
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    assert re.fullmatch(r"GET /api/auth/me 200 user=monitor \d+\.\dms", lines[0])
    assert re.fullmatch(r"POST /api/auth/login 200 user=- \d+\.\dms", lines[1])
    assert re.fullmatch(r"GET /api/users 200 user=admin \d+\.\dms", lines[2])
    text = "\n".join(lines)
    assert PASSWORD not in text and "s3cr3t" not in text
    assert world.tokens["monitor"] not in text


# --- cookies ---------------------------------------------------------------------------------


def _login_cookie_headers(client: TestClient, **headers: str) -> list[str]:
    page = client.get("/login", headers=headers)
    csrf = page.cookies[CSRF_COOKIE]
    client.cookies.clear()  # sent by hand: the client keeps a Secure cookie from plain http
    response = client.post(
        "/login",
        data={"username": "monitor", "password": PASSWORD, "csrf_token": csrf},
        headers={**headers, "cookie": f"{CSRF_COOKIE}={csrf}"},
    )
    assert response.status_code == 303
    return page.headers.get_list("set-cookie") + response.headers.get_list("set-cookie")


def test_cookies_are_secure_over_https(world: World) -> None:
    cookies = _login_cookie_headers(_app_client(world, base_url="https://testserver"))
    assert len(cookies) == 2 and all("secure" in c.lower() for c in cookies)
    plain = _login_cookie_headers(_app_client(world))
    assert not any("secure" in c.lower() for c in plain)


def test_cookies_are_secure_behind_a_trusted_https_proxy_only(world: World) -> None:
    proxied = _app_client(world, trusted_proxies="*")
    cookies = _login_cookie_headers(proxied, **{"x-forwarded-proto": "https"})
    assert all("secure" in c.lower() for c in cookies)
    untrusted = _login_cookie_headers(_app_client(world), **{"x-forwarded-proto": "https"})
    assert not any("secure" in c.lower() for c in untrusted)
    always = _login_cookie_headers(_app_client(world, secure_cookies="always"))
    assert all("secure" in c.lower() for c in always)


# --- offline /docs ---------------------------------------------------------------------------


def test_docs_load_only_local_assets(world: World) -> None:
    html = world.client.get("/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/static/") for s in sources)
    for source in sources:
        assert world.client.get(source).status_code == 200, source
    bundle = world.client.get("/static/swagger-ui/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle


# --- passwords by the API --------------------------------------------------------------------


def test_admin_reset_forces_a_password_change_before_any_work(world: World) -> None:
    client = world.client
    monitor = world.user_ids["monitor"]
    reset = client.post(
        f"/api/users/{monitor}/password-reset",
        json={"password": TEMPORARY, "reason": "forgotten"},
        headers=world.headers("admin"),
    )
    assert reset.status_code == 200 and reset.json()["must_change_password"]
    assert client.get("/api/auth/me", headers=world.headers("monitor")).status_code == 401
    token = client.post(
        "/api/auth/login", json={"username": "monitor", "password": TEMPORARY}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    refused = client.get("/api/trials", headers=auth)
    assert refused.status_code == 403 and "password" in refused.json()["detail"]
    weak = client.post(
        "/api/auth/password",
        json={"current_password": TEMPORARY, "new_password": "password1234"},
        headers=auth,
    )
    assert weak.status_code == 422 and "too easy to guess" in weak.text
    changed = client.post(
        "/api/auth/password",
        json={"current_password": TEMPORARY, "new_password": NEW_PASSWORD},
        headers=auth,
    )
    assert changed.status_code == 200 and not changed.json()["must_change_password"]
    assert client.get("/api/trials", headers=auth).status_code == 200
    world.session.expire_all()
    kinds = set(world.session.scalars(select(AuthEvent.kind)))
    assert {"password_reset", "tokens_revoked", "password_changed"} <= kinds


def test_deactivating_a_user_ends_their_api_token(world: World) -> None:
    response = world.client.patch(
        f"/api/users/{world.user_ids['monitor']}",
        json={"version": 1, "reason": "left the study", "active": False},
        headers=world.headers("admin"),
    )
    assert response.status_code == 200
    world.client.patch(
        f"/api/users/{world.user_ids['monitor']}",
        json={"version": 2, "reason": "back", "active": True},
        headers=world.headers("admin"),
    )
    assert world.client.get("/api/auth/me", headers=world.headers("monitor")).status_code == 401


def test_look_alike_user_name_is_refused_by_the_api(world: World) -> None:
    response = world.client.post(
        "/api/users",
        json={"username": "m\u043enitor", "password": PASSWORD, "role": "monitor"},
        headers=world.headers("admin"),
    )
    assert response.status_code == 422 and "mixes scripts" in response.text


# --- passwords by the pages ------------------------------------------------------------------


def test_page_login_after_reset_leads_to_the_password_page(world: World) -> None:
    admin, csrf = _page_client(world, "admin")
    users = admin.get("/users")
    assert users.status_code == 200 and "monitor" in users.text
    reset = admin.post(
        f"/users/{world.user_ids['monitor']}/password-reset",
        data={"password": TEMPORARY, "reason": "forgotten", "csrf_token": csrf},
    )
    assert reset.status_code == 200 and "must change it" in reset.text
    client = _app_client(world)
    csrf_cookie = client.get("/login").cookies[CSRF_COOKIE]
    login = client.post(
        "/login",
        data={"username": "monitor", "password": TEMPORARY, "csrf_token": csrf_cookie},
    )
    assert login.status_code == 303
    assert login.headers["location"].startswith("/account/password")
    token = login.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/").headers["location"].startswith("/account/password")
    changed = client.post(
        "/account/password",
        data={"current_password": TEMPORARY, "new_password": NEW_PASSWORD,
              "repeat_password": NEW_PASSWORD, "next": "/",
              "csrf_token": session_csrf_token(token)},
    )  # fmt: skip
    assert changed.status_code == 303 and changed.headers["location"] == "/"
    assert client.get("/").status_code == 200


def test_page_password_change_refuses_a_guessable_password(world: World) -> None:
    client, csrf = _page_client(world, "coordinator")
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "coordinator12345",
              "repeat_password": "coordinator12345", "csrf_token": csrf},
    )  # fmt: skip
    assert response.status_code == 422
    assert "user name" in response.text


# --- optimistic lock on page forms -----------------------------------------------------------


def test_exam_correction_form_without_version_is_refused(world: World) -> None:
    """Before: a form without ``version`` skipped the check and overwrote a newer version."""
    client, csrf = _page_client(world, "coordinator")
    page = client.get(f"/exams/{world.exam_id}")
    assert page.status_code == 200
    form = {
        k: v
        for k, v in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text)
        if k not in ("version", "csrf_token")
    }
    form.update({"examiner": "Dr Late", "reason": "stale form", "csrf_token": csrf})
    response = client.post(f"/exams/{world.exam_id}", data=form)
    assert response.status_code == 422 and "version" in response.text
    world.session.expire_all()
    exam = world.session.get(IsncsciExam, world.exam_id)
    assert exam is not None and exam.examiner == "Dr Exam" and exam.version == 1


# --- path ids --------------------------------------------------------------------------------


@pytest.mark.parametrize("lot_number", ["L/002", "L 002", "L?2", "L#2", "L%2F", "..", "L\u200b2"])
def test_lot_numbers_that_a_url_path_changes_are_refused(world: World, lot_number: str) -> None:
    with pytest.raises(InvalidValueError) as error:
        register_lot(
            world.session, user=acting_as("setup"), lot_number=lot_number, ipsc_line="iPSC-01",
            spec_version="v1", manufactured_on=NOW.date(), expiry_date=NOW.date(),
        )  # fmt: skip
    assert error.value.field == "lot_number"


def test_lot_number_round_trips_through_its_url(world: World) -> None:
    lot = register_lot(
        world.session, user=acting_as("setup"), lot_number="LOT-2026.07_b", ipsc_line="iPSC-01",
        spec_version="v1", manufactured_on=NOW.date(), expiry_date=NOW.date(),
    )  # fmt: skip
    response = world.client.get(f"/api/lots/{lot.lot_number}", headers=world.headers("admin"))
    assert response.status_code == 200 and response.json()["lot_number"] == "LOT-2026.07_b"


@pytest.mark.parametrize("name", ["week 2/3", "week\\2", "..", "."])
def test_visit_names_that_cannot_be_a_path_segment_are_refused(name: str) -> None:
    from cordtrial.trial.rules.schedule import VisitSpec

    with pytest.raises(InvalidValueError) as error:
        VisitSpec(name, 14)
    assert error.value.field == "visit.name"


def test_visit_name_with_a_space_round_trips_through_its_url(world: World) -> None:
    response = world.client.put(
        f"/api/participants/{world.participant_id}/visits/day%200",
        json={"done_on": "2026-01-26", "reason": "done"},
        headers=world.headers("coordinator"),
    )
    assert response.status_code == 200, response.text
    done = [v for v in response.json() if v["done_on"] == "2026-01-26"]
    assert [v["name"] for v in done] == ["day 0"]
