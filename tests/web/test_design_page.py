"""The trial-design page (/analysis/design) through FastAPI's TestClient on SQLite: every number
equal to cordtrial.analysis.designs computed directly, bad input shown on the page (422) in
words, and roles outside the analysis roles refused (403)."""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import acting_as
from cordtrial.analysis.designs.boundaries import operating_characteristics
from cordtrial.analysis.designs.fleming import fleming_design
from cordtrial.analysis.designs.simon import simon_two_stage
from cordtrial.trial.database import make_engine, make_session_factory
from cordtrial.trial.models import User
from cordtrial.trial.services.tokens import issue_token
from cordtrial.trial.services.users import add_user
from cordtrial.web import WebSettings, create_app
from cordtrial.web.pages.security import SESSION_COOKIE

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def factory(
    sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[sessionmaker[Session], str]]:
    path = tmp_path_factory.mktemp("design") / "cordtrial.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    made = make_session_factory(engine)
    with made() as session:
        for name, role in (("stat", "statistician"), ("coord", "coordinator")):
            add_user(session, user=acting_as("test"), username=name,
                     password="a long enough passphrase", role=role, site_ids=[])  # fmt: skip
    yield made, url
    engine.dispose()


def _client(factory: tuple[sessionmaker[Session], str], username: str) -> TestClient:
    made, url = factory
    app = create_app(WebSettings(database_url=url), session_factory=made, clock=lambda: NOW)
    client = TestClient(app, follow_redirects=False)
    with made() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        client.cookies.set(SESSION_COOKIE, issue_token(session, user_id=user.id, now=NOW).token)
    return client


def _rows(page: str, table_id: str) -> list[list[str]]:
    match = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', page, re.S)
    assert match is not None, f"no table #{table_id}"
    return [
        [html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)
    ]


def test_simon_page_shows_the_designs_and_exact_operating_characteristics(factory):
    """Source of the expected numbers: simon_two_stage and operating_characteristics called
    directly (themselves checked against Simon 1989 in tests/analysis)."""
    client = _client(factory, "stat")
    response = client.get("/analysis/design", params={
        "method": "simon", "p0": "0.1", "p1": "0.3", "alpha": "0.05", "power": "0.8",
        "n_max": "100", "rates": "0.1,0.3", "run": "1"})  # fmt: skip
    assert response.status_code == 200
    page = response.text
    direct = simon_two_stage(0.1, 0.3, alpha=0.05, power=0.8)
    designs = _rows(page, "designs")
    assert designs[0][:5] == ["optimal", "1", "10", "5", "29"]
    assert designs[1][:5] == ["minimax", "1", "15", "5", "25"]
    oc = operating_characteristics(direct.optimal.boundaries, [0.1, 0.3])
    rows = _rows(page, "oc-optimal")
    assert [r[0] for r in rows] == ["0.1000", "0.3000"]
    assert rows[1][1] == f"{oc['p_active'][1]:.4f}"
    assert rows[0][-1] == f"{oc['expected_n'][0]:.4f}"
    assert "Expected participants" in page and "P(declare active)" in page


def test_fleming_page_reproduces_the_calculator_example(factory):
    """Source: the medsci Fleming calculator example (designs.md section 2)."""
    client = _client(factory, "stat")
    response = client.get("/analysis/design", params={
        "method": "fleming", "p0": "0.2", "p1": "0.4", "alpha": "0.05", "power": "0.8",
        "stages": "15,10", "n_stages": "2", "rates": "", "run": "1"})  # fmt: skip
    assert response.status_code == 200
    assert _rows(response.text, "boundaries") == [["15", "3", "7"], ["25", "8", "9"]]
    assert f"{fleming_design(0.2, 0.4, [15, 10]).alpha:.4f}" in response.text


@pytest.mark.parametrize("method", ["bayes", "predictive", "two-arm"])
def test_every_method_computes_with_its_defaults(factory, method):
    client = _client(factory, "stat")
    form = client.get("/analysis/design", params={"method": method})
    assert form.status_code == 200 and 'id="design-result"' not in form.text
    values = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.text))
    if method == "predictive":
        values["n_max"] = "30"  # a fixed size: the search is tested in tests/analysis
    response = client.get("/analysis/design", params={**values, "run": "1"})
    assert response.status_code == 200, response.text
    assert 'id="design-result"' in response.text


def test_json_gives_the_same_result(factory):
    client = _client(factory, "stat")
    response = client.get("/analysis/design.json", params={
        "method": "simon", "p0": "0.1", "p1": "0.3", "alpha": "0.05", "power": "0.8",
        "n_max": "100", "run": "1"})  # fmt: skip
    assert response.status_code == 200
    assert response.json()["optimal"] == simon_two_stage(0.1, 0.3).to_dict()["optimal"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"method": "simon", "p0": "abc"}, ["Response rate of no interest (p0)", "abc",
                                            "a number"]),
        ({"method": "simon", "p0": "0.5", "p1": "0.3"}, ["Response rate worth pursuing (p1)",
                                                         "above p0"]),
        ({"method": "simon", "alpha": "1.5"}, ["Type I error (one-sided)", "between 0 and 1"]),
        ({"method": "fleming", "stages": "15,x"}, ["Participants added at each stage",
                                                   "whole numbers"]),
        ({"method": "bayes", "prior_s": "15"}, ["Prior of the standard", "two numbers"]),
        ({"method": "two-arm", "test": "chi2"}, ["Exact test", "chi2", "fisher"]),
    ],
)  # fmt: skip
def test_bad_input_is_shown_on_the_page_in_words(factory, params, words):
    client = _client(factory, "stat")
    response = client.get("/analysis/design", params={**params, "run": "1"})
    assert response.status_code == 422
    match = re.search(r'id="design-error">(.*?)</p>', response.text, re.S)
    assert match is not None
    message = html.unescape(match.group(1))
    for word in words:
        assert word in message
    assert "Traceback" not in response.text and "AnalysisInputError" not in response.text


def test_coordinator_is_refused(factory):
    client = _client(factory, "coord")
    assert client.get("/analysis/design").status_code == 403


def test_login_required(factory):
    made, url = factory
    app = create_app(WebSettings(database_url=url), session_factory=made, clock=lambda: NOW)
    response = TestClient(app, follow_redirects=False).get("/analysis/design")
    assert response.status_code == 303 and "/login" in response.headers["location"]


def test_analysis_page_links_to_the_design_page(factory):
    client = _client(factory, "stat")
    response = client.get("/analysis")
    assert response.status_code == 200
    assert 'href="/analysis/design"' in response.text
