"""``/healthz``, the check a reverse proxy or load balancer polls (issue 17, docs/scaling.md):
200 when the server reaches its database, 503 when it cannot; no token needed, not in the API's
schema."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from cordtrial.web import WebSettings, create_app


def test_health_is_ok_when_the_database_answers(tmp_path: Path) -> None:
    app = create_app(WebSettings(database_url=f"sqlite:///{tmp_path / 'cordtrial.db'}"))
    with TestClient(app) as client:
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert response.headers["cache-control"] == "no-store"
        assert "/healthz" not in client.get("/openapi.json").json()["paths"]


def test_health_is_unavailable_when_the_database_cannot_be_reached() -> None:
    # port 1 on the loopback: nothing listens there, the connection is refused at once
    app = create_app(WebSettings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/cordtrial"))
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
