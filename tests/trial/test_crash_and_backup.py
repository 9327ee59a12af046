"""A bulk import killed with SIGKILL in the middle, and backup / restore, on SQLite and
PostgreSQL: real subprocesses of the installed ``cordtrial`` command, real databases."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from builders import acting_as, lesion_flat
from cordtrial.isncsci import Level
from cordtrial.trial import make_engine, make_session_factory, verify_audit
from cordtrial.trial.backup import BackupError, backup, backup_kind, restore
from cordtrial.trial.models import AuditEntry, IsncsciExam, Participant
from cordtrial.trial.services.imports import import_exams
from cordtrial.trial.services.participants import enroll_participant
from cordtrial.trial.services.users import add_user

from .conftest import INJURY, PROTOCOL

CORDTRIAL = str(Path(sys.executable).with_name("cordtrial"))
ROWS, BATCH = 100, 10


def _exam_file(path: Path, participants: int = 4, per_participant: int = ROWS // 4) -> Path:
    cells = lesion_flat(Level.C5)
    rows = [
        {"participant": f"P{p:03d}", "visit": None,
         "examined_on": (date(2026, 2, 1) + timedelta(days=d)).isoformat(),
         "examiner": "Dr Exam", **cells}
        for p in range(1, participants + 1)
        for d in range(per_participant)
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _enrol(session: Session, count: int = 4) -> None:
    for p in range(2, count + 1):
        enroll_participant(session, user=acting_as("c"), protocol_id=PROTOCOL, site_code="S01",
                           study_id=f"P{p:03d}", injury_date=INJURY, injury_level="C5",
                           injury_mechanism="fall", age_at_injury=30 + p, sex="F")  # fmt: skip


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(IsncsciExam.__table__)) or 0


def test_import_killed_mid_batch_leaves_whole_batches_and_rerun_completes_it(
    session: Session, participant: Participant, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    _enrol(session)
    add_user(session, user=acting_as(), username="importer", password="a long enough passphrase",
             role="coordinator", all_sites=True)  # fmt: skip
    session.close()
    source = _exam_file(tmp_path / "exams.csv")
    command = [CORDTRIAL, "import", "exams", str(source), "--trial", PROTOCOL, "--user", "importer",
               "--batch-size", str(BATCH), "--errors", str(tmp_path / "errors.csv")]  # fmt: skip
    env = {**os.environ, "CORDTRIAL_DATABASE_URL": database_url}
    log = tmp_path / "import.log"
    with (
        log.open("wb") as out,
        subprocess.Popen(command, env=env, stdout=out, stderr=out) as process,
    ):
        deadline = time.monotonic() + 120
        # Kill as soon as two batches are committed: the third is being written then.
        while _count(engine) < 2 * BATCH:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the import never committed two batches"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    stored = _count(engine)
    assert 2 * BATCH <= stored < ROWS, "killed after the end: nothing was interrupted"
    assert stored % BATCH == 0, f"{stored} exams: a batch was half-written"
    with make_session_factory(engine)() as check:
        report = verify_audit(check)
        assert report.ok, str(report)
        audited = check.scalar(
            select(func.count(func.distinct(AuditEntry.entity_id))).where(
                AuditEntry.entity == "isncsci_exam"
            )
        )
        assert audited == stored
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{ROWS - stored} exams imported, {stored} already present, 0 rejected" in rerun.stdout
    assert _count(engine) == ROWS
    with engine.connect() as connection:
        keys = connection.execute(
            text(
                "SELECT participant_id, examined_on, COUNT(*) FROM isncsci_exam "
                "GROUP BY participant_id, examined_on HAVING COUNT(*) > 1"
            )
        ).all()
    assert keys == []
    with make_session_factory(engine)() as check:
        assert verify_audit(check).ok


def _seeded(session: Session, tmp_path: Path) -> None:
    _enrol(session, 2)
    frame = pd.read_csv(_exam_file(tmp_path / "few.csv", 2, 3), dtype=object)
    frame = frame.astype(object).where(frame.notna(), None)
    report = import_exams(session, actor="i", protocol_id=PROTOCOL, frame=frame)
    assert report.inserted == 6


def test_backup_restores_into_an_empty_database_with_the_audit_chain_intact(
    session: Session,
    participant: Participant,
    database_url: str,
    empty_database_url: str,
    tmp_path: Path,
) -> None:
    _seeded(session, tmp_path)
    head = verify_audit(session)
    session.close()
    output = tmp_path / "backup.bin"
    info = backup(database_url, output)
    assert backup_kind(output) == ("sqlite" if database_url.startswith("sqlite") else "dump")
    assert info.tables["isncsci_exam"] == 6
    restored, report = restore(empty_database_url, output)
    assert report.ok, str(report)
    assert (report.entries, report.head_hash) == (head.entries, head.head_hash)
    assert restored.tables == info.tables
    engine = make_engine(empty_database_url)
    try:
        assert _count(engine) == 6
        # New records get fresh ids after the restored ones (PostgreSQL sequences are set).
        with make_session_factory(engine)() as s:
            new = enroll_participant(
                s, user=acting_as("c"), protocol_id=PROTOCOL, site_code="S01", study_id="P900",
                injury_date=INJURY, injury_level="C5", injury_mechanism="fall",
                age_at_injury=40, sex="M",
            )  # fmt: skip
            assert new.id > max(s.scalars(select(Participant.id).where(Participant.id != new.id)))
            assert verify_audit(s).ok
    finally:
        engine.dispose()


def test_restore_refuses_a_database_with_data_unless_forced(
    session: Session, participant: Participant, database_url: str, tmp_path: Path
) -> None:
    _seeded(session, tmp_path)
    output = tmp_path / "backup.bin"
    backup(database_url, output)
    with pytest.raises(BackupError, match="not empty"):
        restore(database_url, output)
    _enrol_more = enroll_participant(
        session, user=acting_as("c"), protocol_id=PROTOCOL, site_code="S01", study_id="P777",
        injury_date=INJURY, injury_level="C5", injury_mechanism="fall", age_at_injury=40, sex="M",
    )  # fmt: skip
    session.close()
    _, report = restore(database_url, output, force=True)
    assert report.ok, str(report)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as s:
            ids = set(s.scalars(select(Participant.study_id)))
        assert "P777" not in ids and "P001" in ids
    finally:
        engine.dispose()
    assert _enrol_more.study_id == "P777"


def test_backup_never_overwrites_and_restore_refuses_other_files(
    database_url: str, tmp_path: Path
) -> None:
    existing = tmp_path / "exists.bin"
    existing.write_text("keep me")
    with pytest.raises(BackupError, match="exists"):
        backup(database_url, existing)
    assert existing.read_text() == "keep me"
    with pytest.raises(BackupError, match="not a cordtrial backup"):
        restore(database_url, existing)


def test_restore_refuses_a_backup_of_an_unknown_revision(
    database_url: str, empty_database_url: str, tmp_path: Path
) -> None:
    """A backup written by a newer cordtrial (a later migration) is refused, not half-restored."""
    output = tmp_path / "backup.bin"
    backup(database_url, output)
    if backup_kind(output) == "sqlite":
        with sqlite3.connect(output) as connection:
            connection.execute("UPDATE alembic_version SET version_num = '9999'")
        connection.close()
    else:
        with gzip.open(output, "rt", encoding="utf-8") as stream:
            lines = stream.readlines()
        header = json.loads(lines[0]) | {"revision": "9999"}
        with gzip.open(output, "wt", encoding="utf-8") as stream:
            stream.writelines([json.dumps(header) + "\n", *lines[1:]])
    with pytest.raises(BackupError, match="9999"):
        restore(empty_database_url, output)
