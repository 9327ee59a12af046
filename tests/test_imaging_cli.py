"""``cordtrial imaging import-dicom`` and ``import-reads`` on a SQLite file store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from builders import acting_as
from cordtrial.cli import app
from cordtrial.trial import make_engine, make_session_factory, upgrade
from cordtrial.trial.models import User
from cordtrial.trial.rules.schedule import VisitSpec
from cordtrial.trial.services.imaging import assign_readers
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.trials import ArmSpec, add_site, create_trial
from cordtrial.trial.services.users import add_user
from trial.dicom_files import PATIENT_ID, PATIENT_NAME, STUDY_UID, write_study

PASSWORD = "a long enough passphrase"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cordtrial.db'}"
    monkeypatch.setenv("CORDTRIAL_DATABASE_URL", url)
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        create_trial(session, user=acting_as("admin"), protocol_id="T1", title="t", phase="1",
                     arms=[ArmSpec("cells", "Cells")], visits=[VisitSpec("day 0", 0)])  # fmt: skip
        site = add_site(session, user=acting_as("admin"), protocol_id="T1", code="S01", name="One")
        enroll_participant(
            session, user=acting_as("admin"), protocol_id="T1", site_code="S01", study_id="P001",
            injury_date=date(2026, 1, 5), injury_level="C5", injury_mechanism="fall",
            age_at_injury=30, sex="F",
        )  # fmt: skip
        for name, role in (("inv", "investigator"), ("reader1", "reader"), ("reader2", "reader")):
            add_user(session, user=acting_as("admin"), username=name, password=PASSWORD, role=role,
                     site_ids=[site.id])  # fmt: skip
    engine.dispose()
    return url


def test_import_dicom_then_reads_from_csv(store: str, tmp_path: Path) -> None:
    runner = CliRunner()
    folder = write_study(tmp_path / "study")
    result = runner.invoke(
        app, ["imaging", "import-dicom", str(folder), "--participant", "P001", "--user", "inv"]
    )
    assert result.exit_code == 0, result.output
    assert STUDY_UID in result.output and "3 T, 3 sequences" in result.output
    engine = make_engine(store)
    with make_session_factory(engine)() as session:
        dump = " ".join(str(r) for r in session.execute(text("SELECT * FROM audit_entry")))
        assert PATIENT_NAME not in dump and PATIENT_ID not in dump
        mri_id = session.execute(text("SELECT id FROM mri_exam")).scalar_one()
        inv = session.query(User).filter_by(username="inv").one()
        assign_readers(session, inv, mri_id=mri_id, readers=["reader1", "reader2"])
    engine.dispose()
    header = ("study_instance_uid,impression,new_mass,contrast_enhancement,mass_effect,"
              "haemorrhage,cord_compression,oedema,syrinx_present,syrinx_length_mm,"
              "syrinx_change,graft_length_mm,graft_volume_mm3,basic_score,finding\n")  # fmt: skip
    csv = tmp_path / "reads.csv"
    csv.write_text(header + f"{STUDY_UID},stable,no,no,no,no,no,no,no,,,12.5,,,\n"
                   f"{STUDY_UID},stable,perhaps,no,no,no,no,no,no,,,,,,\n")  # fmt: skip
    result = runner.invoke(app, ["imaging", "import-reads", str(csv), "--user", "reader1"])
    assert result.exit_code == 1
    assert "1 read(s) imported" in result.output
    assert "row 2: New mass: perhaps is not allowed (yes or no)" in result.output
