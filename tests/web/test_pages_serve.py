"""``cordtrial serve``'s store preparation: migrate, seed the demo once, never touch the real
store with ``--demo``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cordtrial.serve_cli import prepare_store
from cordtrial.trial.database import current_revision, head_revision, make_engine
from cordtrial.trial.demo import DEMO_PROTOCOL_ID
from cordtrial.trial.models import Participant

TODAY = date(2026, 11, 25)


@pytest.fixture(autouse=True)
def _no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORDTRIAL_DATABASE_URL", raising=False)


def _participants(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(Participant)) or 0)
    finally:
        engine.dispose()


def test_demo_store_is_seeded_once_in_its_own_folder(tmp_path: Path) -> None:
    first = prepare_store(tmp_path, demo=True, today=TODAY)
    assert first.database_url == f"sqlite:///{tmp_path / 'demo' / 'cordtrial.db'}"
    assert first.demo is not None and first.demo.created
    assert first.demo.protocol_id == DEMO_PROTOCOL_ID
    again = prepare_store(tmp_path, demo=True, today=date(2027, 1, 1))
    assert again.demo is not None and not again.demo.created
    assert again.demo.participant_ids == first.demo.participant_ids
    assert _participants(again.database_url) == 4
    assert not (tmp_path / "cordtrial.db").exists()  # the real store is left alone


def test_store_without_demo_is_migrated_and_empty(tmp_path: Path) -> None:
    target = prepare_store(tmp_path, demo=False, today=TODAY)
    assert target.demo is None
    assert target.database_url == f"sqlite:///{tmp_path / 'cordtrial.db'}"
    assert current_revision(target.database_url) == head_revision()
    assert _participants(target.database_url) == 0
