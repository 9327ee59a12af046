"""``cordtrial db|user|audit`` (the trial store's commands) on a SQLite file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from builders import lesion_flat
from cordtrial.isncsci import Level
from cordtrial.trial import make_engine, make_session_factory, upgrade
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial
from cordtrial.trial_cli import audit_app, db_app, mount_data_commands, user_app

PASSWORD = "a long enough passphrase"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cordtrial.db'}"
    monkeypatch.setenv("CORDTRIAL_DATABASE_URL", url)
    return url


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")
    return app


def test_db_init_user_add_and_audit_verify(env: str) -> None:
    runner = CliRunner()
    assert "was empty" in runner.invoke(_app(), ["db", "init"]).output
    added = runner.invoke(
        _app(), ["user", "add", "admin1", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert added.exit_code == 0, added.output
    verified = runner.invoke(_app(), ["audit", "verify"])
    assert verified.exit_code == 0 and "intact" in verified.output


def test_audit_verify_fails_after_tampering(env: str) -> None:
    runner = CliRunner()
    runner.invoke(_app(), ["db", "upgrade"])
    runner.invoke(
        _app(), ["user", "add", "admin1", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    engine = make_engine(env)
    with engine.begin() as connection:
        connection.execute(text("UPDATE app_user SET role = 'monitor'"))
    engine.dispose()
    assert runner.invoke(_app(), ["audit", "verify"]).exit_code == 1


def test_user_add_refuses_a_short_password(env: str) -> None:
    runner = CliRunner()
    runner.invoke(_app(), ["db", "upgrade"])
    result = runner.invoke(
        _app(), ["user", "add", "bob", "--role", "monitor"], input="short\nshort\n"
    )
    assert result.exit_code == 1


# --- import, export, backup, restore -------------------------------------------------------------


def _data_app() -> typer.Typer:
    app = _app()
    mount_data_commands(app)
    return app


def _seed(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            create_trial(session, actor="a", protocol_id="T1", title="t", phase="1",
                         arms=[ArmSpec("cells", "c")],
                         visits=[VisitSpec("day 0", 0), VisitSpec("week 2", 14, 3, 3)])  # fmt: skip
            add_site(session, actor="a", protocol_id="T1", code="S01", name="One")
            enroll_participant(session, actor="c", protocol_id="T1", site_code="S01",
                               study_id="P001", injury_date=date(2026, 1, 5),
                               injury_level="C5", injury_mechanism="fall", age_at_injury=30,
                               sex="M", transplant_date=date(2026, 1, 26))  # fmt: skip
    finally:
        engine.dispose()


def _exams_csv(path: Path) -> Path:
    cells = lesion_flat(Level.C5)
    rows = [
        {"participant": "P001", "visit": "week 2", "examined_on": "2026-02-09",
         "examiner": "Dr X", **cells},
        {"participant": "P001", "visit": "", "examined_on": "2026-02-10", "examiner": "Dr X",
         **cells, "r_c5_motor": "9"},
        {"participant": "P001", "visit": "", "examined_on": "2026-02-11", "examiner": "Dr X",
         **cells},
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_import_exams_reports_rejected_rows_and_is_idempotent(env: str, tmp_path: Path) -> None:
    _seed(env)
    source = _exams_csv(tmp_path / "exams.csv")
    runner = CliRunner()
    first = runner.invoke(_data_app(), ["import", "exams", str(source), "--trial", "T1"])
    assert first.exit_code == 1
    assert "3 rows: 2 exams imported, 0 already present, 1 rejected" in first.output
    errors = pd.read_csv(tmp_path / "exams.import-errors.csv")
    assert list(errors.columns) == ["row", "participant", "field", "value", "reason", "severity"]
    assert (errors.loc[0, "row"], errors.loc[0, "field"]) == (2, "cells.r_c5_motor")
    again = runner.invoke(_data_app(), ["import", "exams", str(source), "--trial", "T1"])
    assert "0 exams imported, 2 already present, 1 rejected" in again.output
    assert runner.invoke(_app(), ["audit", "verify"]).exit_code == 0


def test_import_of_an_unreadable_file_or_unknown_trial_exits_2(env: str, tmp_path: Path) -> None:
    _seed(env)
    runner = CliRunner()
    missing = runner.invoke(_data_app(), ["import", "exams", str(tmp_path / "no.csv"),
                                          "--trial", "T1"])  # fmt: skip
    assert missing.exit_code == 2 and "cannot read" in missing.output
    source = _exams_csv(tmp_path / "exams.csv")
    unknown = runner.invoke(_data_app(), ["import", "exams", str(source), "--trial", "T9"])
    assert unknown.exit_code == 2 and "T9" in unknown.output


def test_export_writes_tables_and_refuses_a_monitor(env: str, tmp_path: Path) -> None:
    _seed(env)
    runner = CliRunner()
    runner.invoke(_data_app(), ["import", "exams", str(_exams_csv(tmp_path / "e.csv")),
                                "--trial", "T1"])  # fmt: skip
    out = tmp_path / "export"
    result = runner.invoke(_data_app(), ["export", "--trial", "T1", "-o", str(out),
                                         "--format", "parquet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "identified export" in result.output
    assert len(pd.read_parquet(out / "exams.parquet")) == 2
    assert (out / "dataset-json" / "participants.json").exists()
    runner.invoke(_app(), ["user", "add", "mon1", "--role", "monitor", "--all-sites"],
                  input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    refused = runner.invoke(_data_app(), ["export", "--trial", "T1", "-o", str(tmp_path / "m"),
                                          "--user", "mon1"])  # fmt: skip
    assert refused.exit_code == 1 and "export" in refused.output


def test_backup_then_restore_into_an_empty_database(env: str, tmp_path: Path) -> None:
    _seed(env)
    runner = CliRunner()
    output = tmp_path / "cordtrial.backup"
    made = runner.invoke(_data_app(), ["backup", "-o", str(output)])
    assert made.exit_code == 0, made.output
    assert runner.invoke(_data_app(), ["backup", "-o", str(output)]).exit_code == 2
    refused = runner.invoke(_data_app(), ["restore", str(output)])
    assert refused.exit_code == 2 and "--force" in refused.output
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = runner.invoke(_data_app(), ["restore", str(output)],
                             env={"CORDTRIAL_DATABASE_URL": target})  # fmt: skip
    assert restored.exit_code == 0, restored.output
    assert "chain intact" in restored.output
    forced = runner.invoke(_data_app(), ["restore", str(output), "--force"])
    assert forced.exit_code == 0 and "chain intact" in forced.output
