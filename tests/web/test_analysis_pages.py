"""The analysis page and the report downloads through FastAPI's TestClient, over the synthetic
demo trial, on SQLite and PostgreSQL: figures inline as SVG, every number equal to
``cordtrial.analysis`` computed directly on the same store, roles refused (403), site scoping of
the participant-level figures and of the reports, and fresh data shown at once (no stale cache).
"""

from __future__ import annotations

import html
import re
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import acting_as
from cordtrial.analysis import (
    CohortComparison,
    ais_shift_table,
    compare_with_natural_history,
    endpoint_table,
    evaluate_stopping_rule,
    load_trial,
    sensitivity,
)
from cordtrial.analysis.cohort import cohort_levels, schedule_window_since_injury
from cordtrial.analysis.endpoints import LAST
from cordtrial.analysis.safety import StoppingRuleStatus
from cordtrial.analysis.timepoint import time_point_endpoint
from cordtrial.trial.database import make_engine, make_session_factory
from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo
from cordtrial.trial.models import Site, User
from cordtrial.trial.services.safety import report_adverse_event
from cordtrial.trial.services.tokens import issue_token
from cordtrial.trial.services.users import add_user
from cordtrial.web import WebSettings, create_app
from cordtrial.web.pages.security import SESSION_COOKIE
from databases import BACKENDS, PostgresDatabases

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PAGE = f"/trials/{DEMO_PROTOCOL_ID}/analysis"


@dataclass
class Demo:
    factory: sessionmaker[Session]
    url: str

    def client(self, username: str) -> TestClient:
        app = create_app(
            WebSettings(database_url=self.url, demo=True),
            session_factory=self.factory,
            clock=lambda: NOW,
        )
        client = TestClient(app, follow_redirects=False)
        with self.factory() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            client.cookies.set(SESSION_COOKIE, issue_token(session, user_id=user.id, now=NOW).token)
        return client


@pytest.fixture(scope="module", params=BACKENDS)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("analysis") / "cordtrial.db"
        shutil.copyfile(template, path)
        url, drop = f"sqlite:///{path}", None
    else:
        databases: PostgresDatabases = request.getfixturevalue("pg_databases")
        name = databases.create(template=databases.template)
        url, drop = databases.url(name), name
    engine = make_engine(url)
    factory = make_session_factory(engine)
    seed_demo(factory, today=NOW.date())
    with factory() as session:
        site_a = session.scalars(select(Site).where(Site.code == "A")).one()
        add_user(
            session, user=acting_as("test"), username="statistician_a",
            password="a long enough passphrase", role="statistician", site_ids=[site_a.id],
        )  # fmt: skip
    yield Demo(factory, url)
    engine.dispose()
    if drop is not None:
        request.getfixturevalue("pg_databases").drop(drop)


def _by_id(page: str, element_id: str) -> str:
    """The text of the element with ``id`` (tags removed)."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:span|strong|table|dl)>', page, re.S)
    assert match is not None, f"no element #{element_id}"
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def _table_rows(page: str, table_id: str) -> list[list[str]]:
    match = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', page, re.S)
    assert match is not None, f"no table #{table_id}"
    return [
        [html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)
    ]


@dataclass
class Direct:
    """The analysis computed directly with cordtrial.analysis on the store (all sites)."""

    converted: int
    assessed: int
    shift_last: pd.DataFrame
    shift_week52: pd.DataFrame
    comparison: CohortComparison
    sensitivity: pd.DataFrame
    stopping: StoppingRuleStatus
    snapshot_hash: str


def _direct(demo: Demo) -> Direct:
    with demo.factory() as session:
        data = load_trial(session, DEMO_PROTOCOL_ID)
    ep = endpoint_table(data.exams, participants=data.participants, baseline_visit="screening",
                        schedule=data.schedule, data_cut=data.last_data_date)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample caveats
        # the page compares at the protocol time point (week 52), not the last observation
        end = time_point_endpoint(ep, "week 52")
        k, n = end.yes, end.assessed
        assessed = list(end.participants.query("status == 'assessed'")["participant"])
        return Direct(
            k, n, ais_shift_table(ep, LAST), ais_shift_table(ep, "week 52"),
            compare_with_natural_history(k, n),
            sensitivity(k, n, outcome_window=schedule_window_since_injury(data.participants,
                                                                          data.schedule),
                        levels=cohort_levels(data.participants, assessed)),
            evaluate_stopping_rule(data.adverse_events, data.participants,
                                   as_of=data.last_data_date), data.snapshot_hash,
        )  # fmt: skip


def test_analysis_link_redirects_to_the_dashboards_trial(demo: Demo) -> None:
    response = demo.client("statistician").get("/analysis")
    assert response.status_code == 303
    assert response.headers["location"] == PAGE


def test_analysis_page_shows_the_three_figures_as_inline_svg(demo: Demo) -> None:
    page = demo.client("statistician").get(PAGE)
    assert page.status_code == 200
    for figure_id in ("fig-ais-shift", "fig-motor", "fig-ae-timeline"):
        figure = re.search(rf'<figure[^>]*id="{figure_id}".*?</figure>', page.text, re.S)
        assert figure is not None and "<svg" in figure.group(0), figure_id
    # the published change's legend, drawn for the cervical AIS A participants (issue 13)
    assert "published mean change" in page.text
    assert "What these data can and cannot show" in page.text
    # the protocol time point, with the participants who have not reached it (issue 13): after
    # five years of follow-up the demo has none, as the analysis of the same store says
    with demo.factory() as session:
        data = load_trial(session, DEMO_PROTOCOL_ID)
    ep = endpoint_table(data.exams, participants=data.participants, baseline_visit="screening",
                        schedule=data.schedule, data_cut=data.last_data_date)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample caveats
        pending = time_point_endpoint(ep, "week 52").pending
    assert _by_id(page.text, "pending") == (", ".join(pending) or "none")


def test_analysis_numbers_equal_cordtrial_analysis_on_the_same_store(demo: Demo) -> None:
    """Expected: cordtrial.analysis (endpoint_table, ais_shift_table, compare_with_natural_history,
    sensitivity, evaluate_stopping_rule) run directly on the same store."""
    page = demo.client("investigator").get(PAGE).text
    direct = _direct(demo)
    c = direct.comparison
    assert _by_id(page, "assessed") == str(direct.assessed)
    assert _by_id(page, "converted") == str(direct.converted)
    for table_id, frame in (("shift-last", direct.shift_last),
                            ("shift-final", direct.shift_week52)):  # fmt: skip
        expected = [[str(i), *(str(int(v)) for v in r)] for i, r in zip(frame.index, frame.values,
                                                                          strict=True)]  # fmt: skip
        assert _table_rows(page, table_id) == expected, table_id
    dl = re.search(r'id="comparison-1".*?</dl>', page, re.S)
    assert dl is not None
    shown = {
        cls: html.unescape(value)
        for cls, value in re.findall(r'<span class="([a-z-]+)">([^<]*)</span>', dl.group(0))
    }
    assert shown["p-value"] == f"{c.test.p_value:.3f}"
    assert shown["ci-low"] == f"{c.test.ci_low:.3f}"
    assert shown["ci-high"] == f"{c.test.ci_high:.3f}"
    assert shown["prob-exceeds"] == f"{c.posterior.prob_exceeds:.3f}"
    assert shown["expected"] == f"{c.expected:.2f}"
    sens = direct.sensitivity
    rows = _table_rows(page, "sensitivity")
    assert [r[0] for r in rows] == list(sens["source"])
    assert [r[6] for r in rows] == [f"{p:.3f}" for p in sens["p_value"]]
    stopping = direct.stopping
    assert _by_id(page, "stopping-counting") == str(stopping.counting)
    assert _by_id(page, "stopping-posterior") == stopping.posterior_text
    assert direct.snapshot_hash[:16] in page


@pytest.mark.parametrize("username", ["coordinator_a", "coordinator_b"])
def test_analysis_page_and_reports_refused_to_coordinators(demo: Demo, username: str) -> None:
    client = demo.client(username)
    assert client.get(PAGE).status_code == 403
    assert client.get("/analysis").status_code == 403
    assert client.get(f"/trials/{DEMO_PROTOCOL_ID}/reports/dsmb.pdf").status_code == 403
    assert 'href="/analysis"' not in client.get("/").text


@pytest.mark.parametrize("username", ["admin", "investigator", "monitor", "statistician"])
def test_analysis_nav_link_shown_to_analysis_roles(demo: Demo, username: str) -> None:
    assert 'href="/analysis"' in demo.client(username).get("/").text


def test_dsmb_report_download_is_a_pdf(demo: Demo) -> None:
    response = demo.client("monitor").get(f"/trials/{DEMO_PROTOCOL_ID}/reports/dsmb.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response.headers["content-disposition"].startswith("attachment;")


def test_efficacy_report_download_as_html_has_its_sections(demo: Demo) -> None:
    response = demo.client("statistician").get(f"/trials/{DEMO_PROTOCOL_ID}/reports/efficacy.html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "3. Comparison with natural recovery" in response.text
    assert _direct(demo).snapshot_hash in response.text


def test_report_download_refuses_an_unknown_format(demo: Demo) -> None:
    response = demo.client("statistician").get(f"/trials/{DEMO_PROTOCOL_ID}/reports/dsmb.docx")
    assert response.status_code == 422
    assert "fmt" in response.text and "pdf" in response.text


def test_analysis_of_an_unknown_trial_is_not_found(demo: Demo) -> None:
    assert demo.client("statistician").get("/trials/NO-SUCH-TRIAL/analysis").status_code == 404


def test_site_scoped_user_sees_trial_wide_aggregates_but_only_their_participants(
    demo: Demo,
) -> None:
    client = demo.client("statistician_a")
    page = client.get(PAGE).text
    direct = _direct(demo)
    assert _by_id(page, "assessed") == str(direct.assessed)  # trial-wide
    assert _by_id(page, "stopping-treated") == str(direct.stopping.treated)
    timeline = re.search(r'id="d-fig-ae-timeline"[^>]*>(.*?)</p>', page, re.S)
    assert timeline is not None
    assert "A-001" in timeline.group(1) and "B-001" not in timeline.group(1)
    assert "/reports/dsmb.pdf" not in page
    assert client.get(f"/trials/{DEMO_PROTOCOL_ID}/reports/dsmb.pdf").status_code == 403


def test_analysis_page_shows_new_data_at_once(database_url: str) -> None:
    """Expected: any tumour / graft-overgrowth finding crosses the default stopping rule by
    itself (cordtrial.analysis.safety, tumour_stops); the page must show it on the next view."""
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    try:
        seeded = seed_demo(factory, today=NOW.date())
        client = Demo(factory, database_url).client("statistician")
        before = client.get(PAGE).text
        assert "Safety stopping rule: not crossed" in before
        with factory() as session:
            report_adverse_event(
                session, user=acting_as("test"), participant_id=seeded.participant_ids["B-002"],
                term="Graft overgrowth on MRI (synthetic)", category="tumour_or_graft_overgrowth",
                onset_date=NOW.date(), awareness_date=NOW.date(), ctcae_grade=2,
                serious_criteria=[], related_to_cells="probable",
                related_to_procedure="not_related", related_to_immunosuppression="not_related",
                expectedness="unexpected", outcome="not_recovered",
            )  # fmt: skip
        after = client.get(PAGE).text
        assert "Safety stopping rule: CROSSED" in after
        assert "Graft overgrowth on MRI" in after  # in the AE timeline's description
    finally:
        engine.dispose()
