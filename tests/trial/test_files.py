"""Issue 12: databases, backups and exports are owner-only (0600 files, 0700 directories it
creates) whatever the umask, and every CSV the trial side writes neutralizes formula cells."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from builders import acting_as
from cordtrial.trial.backup import backup
from cordtrial.trial.database import make_engine, make_session_factory, upgrade
from cordtrial.trial.files import write_csv
from cordtrial.trial.models import Participant
from cordtrial.trial.services.exports import build_export, write_export
from cordtrial.trial.services.safety import report_adverse_event

from .conftest import PROTOCOL


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The usual umask (files 0644, directories 0755): what cordtrial must not rely on."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_new_sqlite_database_and_its_directory_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new" / "store" / "cordtrial.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    before = _mode(tmp_path)
    try:
        with make_session_factory(engine)() as session:
            session.connection()  # opens the database and its WAL
            modes = {p.name: _mode(p) for p in path.parent.iterdir()}
    finally:
        engine.dispose()
    assert set(modes) >= {"cordtrial.db", "cordtrial.db-wal", "cordtrial.db-shm"}
    assert modes == dict.fromkeys(modes, 0o600)
    assert _mode(path.parent) == _mode(path.parent.parent) == 0o700
    assert _mode(tmp_path) == before  # an existing directory keeps its mode


def test_backup_is_owner_only_on_each_backend(
    database_url: str, participant: Participant, tmp_path: Path
) -> None:
    output = tmp_path / "backups" / "cordtrial.backup"
    backup(database_url, output)
    assert _mode(output) == 0o600
    assert _mode(output.parent) == 0o700
    assert [p.name for p in output.parent.iterdir()] == ["cordtrial.backup"]


def test_backup_is_on_the_disk_before_it_has_its_name(
    database_url: str, participant: Participant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backup's data are synced (fsync) while it is still the partial file, and its folder
    after the rename, so a power cut never leaves a named backup that is incomplete. The real
    ``os.fsync`` runs; the test records what it was given."""
    synced: list[tuple[str, bool]] = []
    real_fsync = os.fsync
    output = tmp_path / "cordtrial.backup"

    def recording_fsync(descriptor: int) -> None:
        synced.append((os.readlink(f"/proc/self/fd/{descriptor}"), output.exists()))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    backup(database_url, output)
    partial = str(output.with_name("cordtrial.backup.partial"))
    assert synced == [(partial, False), (str(tmp_path), True)]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_files_are_owner_only_and_csv_cells_neutralized(
    session: Session, participant: Participant, tmp_path: Path, fmt: str
) -> None:
    report_adverse_event(
        session, user=acting_as("c"), participant_id=participant.id, term="=HYPERLINK(\"http://x\")",
        category="neuropathic_pain", onset_date=date(2026, 2, 1), awareness_date=date(2026, 2, 2),
        ctcae_grade=2, serious_criteria=[], related_to_cells="possible",
        related_to_procedure="not_related", related_to_immunosuppression="not_related",
        expectedness="expected", outcome="not_recovered",
    )  # fmt: skip
    export = build_export(session, protocol_id=PROTOCOL, pseudonymize=True, key=b"k" * 32)
    out = tmp_path / "exports" / "today"
    written = write_export(export, out, fmt=fmt)
    assert {_mode(p) for p in written} == {0o600}
    assert {_mode(d) for d in (out, out / "dataset-json", out.parent)} == {0o700}
    if fmt == "csv":
        events = pd.read_csv(out / "adverse_events.csv", dtype=str)
        assert events.loc[0, "term"] == '\'=HYPERLINK("http://x")'
        days = pd.read_csv(out / "adverse_events.csv")["onset_day"]
        assert days.dtype.kind in "if"  # numbers stay numbers


def test_write_csv_neutralizes_text_but_not_numbers(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"value": ["=1+1", "+cmd", "-2", "@A1", "\tx", "plain"], "n": [-1, 2, -3, 4, 5, 6]}
    )
    path = tmp_path / "errors.csv"
    write_csv(frame, path)
    back = pd.read_csv(path, dtype={"value": str})
    assert list(back["value"]) == ["'=1+1", "'+cmd", "-2", "'@A1", "'\tx", "plain"]
    assert list(back["n"]) == [-1, 2, -3, 4, 5, 6]
    assert _mode(path) == 0o600
