"""``cordtrial reporting show|set|file`` on a SQLite store seeded with the demo (issue 15)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cordtrial.reporting_cli import reporting_app
from cordtrial.trial import make_engine, make_session_factory, upgrade
from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo
from cordtrial.trial.models import AuditEntry, PeriodicReportSubmission, Trial

TODAY = date(2026, 11, 25)


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cordtrial.db'}"
    monkeypatch.setenv("CORDTRIAL_DATABASE_URL", url)
    upgrade(url)
    engine = make_engine(url)
    seed_demo(make_session_factory(engine), today=TODAY)
    engine.dispose()
    return url


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(reporting_app, list(args))
    return result.exit_code, result.output


def test_show_lists_both_rule_sets_and_the_reports_due(url: str) -> None:
    code, out = _run("show", "--trial", DEMO_PROTOCOL_ID, "--user", "monitor", "--on", "2026-11-25")
    assert code == 0, out
    assert "21 CFR 312.32(c)(2)" in out and "Enforcement Ordinance Art. 35 (2)" in out
    due = [line for line in out.splitlines() if "days left" in line]
    assert any("Periodic disease report (60 days)" in line for line in due)


def test_file_records_a_period_and_set_needs_a_reason_to_change(url: str) -> None:
    code, out = _run("show", "--trial", DEMO_PROTOCOL_ID, "--user", "admin", "--on", "2026-11-25")
    line = next(x for x in out.splitlines() if "60 days" in x and "days left" in x)
    period = line.split("period ")[1].split(" ")[0]
    code, out = _run(
        "file", "--trial", DEMO_PROTOCOL_ID, "--user", "admin", "--rule", "jp_asrm_60_day",
        "--period", period, "--reference", "CLI-1", "--on", "2026-11-25",
    )  # fmt: skip
    assert code == 0, out
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        filed = session.scalars(
            select(PeriodicReportSubmission).where(PeriodicReportSubmission.reference == "CLI-1")
        ).one()
        assert filed.period_number == int(period)
        trail = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "periodic_report_submission")
        ).all()
        assert {e.actor for e in trail} == {"admin"}
    code, out = _run(
        "set", "--trial", DEMO_PROTOCOL_ID, "--user", "admin", "--jurisdictions", "us_ind"
    )
    assert code == 1 and "reason" in out.lower()
    code, out = _run(
        "set", "--trial", DEMO_PROTOCOL_ID, "--user", "admin", "--jurisdictions", "us_ind",
        "--reason", "the Japanese site closed",
    )  # fmt: skip
    assert code == 0, out
    with make_session_factory(engine)() as session:
        trial = session.scalars(select(Trial)).one()
        assert trial.jurisdictions == ["us_ind"] and trial.provision_plan_submitted_on is None
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "--jurisdictions", "us_ind,eu", "--user", "admin"], "eu is no jurisdiction"),
        (["file", "--rule", "jp_asrm_60_day", "--period", "1", "--reference", "R",
          "--user", "coordinator_a"], "coordinator_a may not manage trial"),
        (["show", "--user", "nobody"], "User nobody does not exist"),
        (["file", "--rule", "us_ind_7_day", "--period", "1", "--reference", "R",
          "--user", "admin"], "is no such report"),
    ],
)  # fmt: skip
def test_refusals_name_what_is_wrong_and_exit_1(url: str, args: list[str], message: str) -> None:
    code, out = _run(*args[:1], "--trial", DEMO_PROTOCOL_ID, *args[1:])
    assert code == 1 and message in out, out
    assert "Traceback" not in out
