"""Fixtures of the analysis tests: exams classified by the engine, and the trial store's
databases (SQLite, and PostgreSQL where ``CORDTRIAL_TEST_POSTGRES_URL`` names a server)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cordtrial.isncsci import classify_frame
from cordtrial.trial.database import make_engine, make_session_factory, upgrade

#: The day the synthetic demo is seeded as of in these tests.
DEMO_TODAY = date(2026, 11, 25)


def classified(rows: list[tuple[str, str, dict[str, str]]], **extra: Any) -> pd.DataFrame:
    """Exams (participant, visit, cells) with their classification, as the store gives them."""
    cells = pd.DataFrame([c for _, _, c in rows], dtype=object)
    result = classify_frame(cells).drop(columns=["id", "error", "error_field"])
    assert len(result) == len(rows)
    frame = pd.concat([cells.reset_index(drop=True), result.reset_index(drop=True)], axis=1)
    frame.insert(0, "participant", [p for p, _, _ in rows])
    frame.insert(1, "visit", [v for _, v, _ in rows])
    for key, values in extra.items():
        frame[key] = values
    return frame


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The synthetic demo trial, seeded into a SQLite store and loaded (once per session)."""
    from cordtrial.analysis.store import load_trial
    from cordtrial.trial.demo import DEMO_PROTOCOL_ID, seed_demo

    path: Path = tmp_path_factory.mktemp("demo") / "demo.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    eng = make_engine(url)
    factory = make_session_factory(eng)
    seed_demo(factory, today=DEMO_TODAY)
    with factory() as s:
        data = load_trial(s, DEMO_PROTOCOL_ID)
    yield data
    eng.dispose()
