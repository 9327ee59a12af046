"""``cordtrial db|user|audit`` (the trial store's commands) on a SQLite file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from builders import acting_as, lesion_flat
from cordtrial.isncsci import Level
from cordtrial.trial import make_engine, make_session_factory, upgrade
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial
from cordtrial.trial.services.users import add_user
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
        _app(), ["user", "add", "bob", "--role", "admin"], input="short\nshort\n"
    )
    assert result.exit_code == 1


def _admin_and_coordinator(runner: CliRunner) -> None:
    runner.invoke(_app(), ["db", "upgrade"])
    first = runner.invoke(
        _app(), ["user", "add", "admin1", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        _app(), ["user", "add", "coord1", "--role", "coordinator", "--user", "admin1"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert second.exit_code == 0, second.output


def test_user_add_acts_as_an_existing_administrator(env: str) -> None:
    """Issue 12: the trail names a real account, never free text (``--actor cli`` before)."""
    runner = CliRunner()
    _admin_and_coordinator(runner)
    engine = make_engine(env)
    with engine.connect() as connection:
        actors = dict(
            connection.execute(
                text(
                    "SELECT u.username, a.actor FROM audit_entry a JOIN app_user u "
                    "ON a.entity = 'app_user' AND a.entity_id = CAST(u.id AS TEXT) "
                    "AND a.field = 'username'"
                )
            ).all()
        )
    engine.dispose()
    assert actors == {"admin1": "admin1", "coord1": "admin1"}
    missing = runner.invoke(
        _app(), ["user", "add", "mon1", "--role", "monitor"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert missing.exit_code == 2 and "--user" in missing.output
    for who, why in [
        ("nobody", "user 'nobody' does not exist"),
        ("coord1", "coord1 may not manage users (the role coordinator does not)"),
    ]:
        refused = runner.invoke(
            _app(), ["user", "add", "mon1", "--role", "monitor", "--user", who],
            input=f"{PASSWORD}\n{PASSWORD}\n",
        )  # fmt: skip
        assert refused.exit_code == 1 and why in refused.output, refused.output


def test_first_user_must_be_an_admin(env: str) -> None:
    runner = CliRunner()
    runner.invoke(_app(), ["db", "upgrade"])
    result = runner.invoke(
        _app(), ["user", "add", "mon1", "--role", "monitor"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 1 and "add an admin first" in result.output


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
            add_user(session, user=acting_as("coord1"), username="coord1", password=PASSWORD,
                     role="coordinator", all_sites=True)  # fmt: skip
            create_trial(session, user=acting_as("a"), protocol_id="T1", title="t", phase="1",
                         arms=[ArmSpec("cells", "c")],
                         visits=[VisitSpec("day 0", 0), VisitSpec("week 2", 14, 3, 3)])  # fmt: skip
            add_site(session, user=acting_as("a"), protocol_id="T1", code="S01", name="One")
            enroll_participant(session, user=acting_as("c"), protocol_id="T1", site_code="S01",
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
    command = ["import", "exams", str(source), "--trial", "T1", "--user", "coord1"]
    first = runner.invoke(_data_app(), command)
    assert first.exit_code == 1
    assert "3 rows: 2 exams imported, 0 already present, 1 rejected" in first.output
    errors = pd.read_csv(tmp_path / "exams.import-errors.csv")
    assert list(errors.columns) == ["row", "participant", "field", "value", "reason", "severity"]
    assert (errors.loc[0, "row"], errors.loc[0, "field"]) == (2, "cells.r_c5_motor")
    again = runner.invoke(_data_app(), command)
    assert "0 exams imported, 2 already present, 1 rejected" in again.output
    assert runner.invoke(_app(), ["audit", "verify"]).exit_code == 0


def test_import_acts_as_an_active_account_allowed_to_enter_data(env: str, tmp_path: Path) -> None:
    """Issue 12: ``--actor importer`` wrote rows under a name that was no account."""
    _seed(env)
    engine = make_engine(env)
    with make_session_factory(engine)() as session:
        add_user(session, user=acting_as("coord1"), username="stat1", password=PASSWORD,
                 role="statistician", all_sites=True)  # fmt: skip
    source = _exams_csv(tmp_path / "exams.csv")
    runner = CliRunner()
    base = ["import", "exams", str(source), "--trial", "T1"]
    no_user = runner.invoke(_data_app(), base)
    assert no_user.exit_code == 2 and "--user" in no_user.output
    for who, why in [
        ("importer", "user 'importer' does not exist"),
        ("stat1", "stat1 may not enter data (the role statistician does not)"),
    ]:
        refused = runner.invoke(_data_app(), [*base, "--user", who])
        assert refused.exit_code == 1 and why in refused.output, refused.output
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM isncsci_exam")).scalar() == 0
        connection.execute(text("UPDATE app_user SET active = false WHERE username = 'coord1'"))
        connection.commit()
    inactive = runner.invoke(_data_app(), [*base, "--user", "coord1"])
    assert inactive.exit_code == 1 and "the account is inactive" in inactive.output
    with engine.connect() as connection:
        connection.execute(text("UPDATE app_user SET active = true WHERE username = 'coord1'"))
        connection.commit()
    assert runner.invoke(_data_app(), [*base, "--user", "coord1"]).exit_code == 1  # a bad row
    with engine.connect() as connection:
        actors = (
            connection.execute(
                text("SELECT DISTINCT actor FROM audit_entry WHERE entity = 'isncsci_exam'")
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert actors == ["coord1"]


def test_import_of_an_unreadable_file_or_unknown_trial_exits_2(env: str, tmp_path: Path) -> None:
    _seed(env)
    runner = CliRunner()
    missing = runner.invoke(_data_app(), ["import", "exams", str(tmp_path / "no.csv"),
                                          "--trial", "T1", "--user", "coord1"])  # fmt: skip
    assert missing.exit_code == 2 and "cannot read" in missing.output
    source = _exams_csv(tmp_path / "exams.csv")
    unknown = runner.invoke(
        _data_app(), ["import", "exams", str(source), "--trial", "T9", "--user", "coord1"]
    )
    assert unknown.exit_code == 2 and "T9" in unknown.output


def test_export_writes_tables_and_refuses_a_monitor(env: str, tmp_path: Path) -> None:
    _seed(env)
    runner = CliRunner()
    runner.invoke(_data_app(), ["import", "exams", str(_exams_csv(tmp_path / "e.csv")),
                                "--trial", "T1", "--user", "coord1"])  # fmt: skip
    out = tmp_path / "export"
    result = runner.invoke(_data_app(), ["export", "--trial", "T1", "-o", str(out),
                                         "--format", "parquet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "identified export" in result.output
    assert len(pd.read_parquet(out / "exams.parquet")) == 2
    assert (out / "dataset-json" / "participants.json").exists()
    engine = make_engine(env)
    with make_session_factory(engine)() as session:
        add_user(session, user=acting_as("coord1"), username="mon1", password=PASSWORD,
                 role="monitor", all_sites=True)  # fmt: skip
    engine.dispose()
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


def test_a_store_is_backed_up_before_it_is_migrated(env: str, tmp_path: Path) -> None:
    """The backup every upgrade should start with: a store at an older revision is backed up as
    it is, and restoring the backup migrates the copy to this cordtrial's revision."""
    upgrade(env, "0020")
    runner = CliRunner()
    assert runner.invoke(_data_app(), ["audit", "verify"]).exit_code == 2  # "migrate it"
    output = tmp_path / "before-upgrade.backup"
    made = runner.invoke(_data_app(), ["backup", "-o", str(output)])
    assert made.exit_code == 0, made.output
    assert "backup of revision 0020" in made.output
    target = tmp_path / "restored.db"
    restored = runner.invoke(_data_app(), ["restore", str(output)],
                             env={"CORDTRIAL_DATABASE_URL": f"sqlite:///{target}"})  # fmt: skip
    assert restored.exit_code == 0, restored.output
    engine = make_engine(f"sqlite:///{target}")
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert revision == "0021"


def test_backup_of_a_store_without_schema_is_refused(env: str, tmp_path: Path) -> None:
    Path(env.removeprefix("sqlite:///")).touch()
    output = tmp_path / "empty.backup"
    result = CliRunner().invoke(_data_app(), ["backup", "-o", str(output)])
    assert result.exit_code == 2
    assert "has no schema" in result.output and "cordtrial db upgrade" in result.output
    assert not output.exists() and not output.with_name("empty.backup.partial").exists()


def test_import_error_report_is_owner_only_and_neutralizes_formulas(
    env: str, tmp_path: Path
) -> None:
    """Issue 12: the rejected value goes into FILE.import-errors.csv; a spreadsheet must not run
    it, and the report (participant data) is readable by its owner only."""
    _seed(env)
    source = tmp_path / "exams.csv"
    row = {"participant": "P001", "visit": "", "examined_on": "2026-02-10", "examiner": "Dr X",
           **lesion_flat(Level.C5), "r_c5_motor": "=1+1"}  # fmt: skip
    pd.DataFrame([row]).to_csv(source, index=False)
    result = CliRunner().invoke(
        _data_app(), ["import", "exams", str(source), "--trial", "T1", "--user", "coord1"]
    )
    assert result.exit_code == 1
    report = tmp_path / "exams.import-errors.csv"
    errors = pd.read_csv(report, dtype=str)
    assert errors.loc[0, "field"] == "cells.r_c5_motor"
    assert errors.loc[0, "value"] == "'=1+1"
    assert report.stat().st_mode & 0o777 == 0o600
