"""``cordtrial immunosuppression import|export`` on the demo store: a bad row is reported with
its number and the batch goes on; importing twice stores once; a statistician's export has
study days, not dates."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cordtrial.cli import app
from cordtrial.serve_cli import prepare_store
from cordtrial.trial.database import make_engine
from cordtrial.trial.models import Participant


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("immunosuppression_cli") / "data"
    prepare_store(root, demo=True, today=date(2026, 11, 25))
    return root


def _run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--demo", "--data-dir", str(data_dir)])
    return result.exit_code, result.output


def test_import_reports_the_bad_row_and_imports_the_others(data_dir: Path, tmp_path: Path) -> None:
    csv = tmp_path / "troughs.csv"
    pd.DataFrame(
        [["B-002", "tacrolimus", "2026-11-20T08:00:00Z", "12", "18.2", "ng/mL"],
         ["B-002", "tacrolimus", "2026-11-21T08:00:00Z", "12", "9", "U/L"],
         ["B-002", "tacrolimus", "2026-11-22T08:00:00+00:00", "11.5", "9.1", "ug/L"]],
        columns=["study_id", "drug", "sampled_at", "hours_since_dose", "value", "unit"],
    ).to_csv(csv, index=False)  # fmt: skip
    args = ("immunosuppression", "import", "troughs", str(csv), "--trial", "DEMO-IPSC-SCI",
            "--user", "coordinator_b")  # fmt: skip
    code, out = _run(data_dir, *args)
    assert code == 1, out
    assert "troughs: 2 imported, 0 already stored, 1 refused" in out
    assert "row 2 (B-002): Unit: U/L is another kind of unit" in out
    code, out = _run(data_dir, *args)
    assert "0 imported, 2 already stored, 1 refused" in out
    code, out = _run(data_dir, "immunosuppression", "import", "troughs", str(csv), "--trial",
                     "DEMO-IPSC-SCI", "--user", "coordinator_a")  # fmt: skip
    assert "0 imported" in out and "row 1 (B-002)" in out  # another site's participant


def test_dose_changes_import_and_pseudonymized_export(data_dir: Path, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'demo' / 'cordtrial.db'}")
    with engine.connect() as connection:
        day0 = connection.scalar(
            select(Participant.transplant_date).where(Participant.study_id == "B-002")
        )
    engine.dispose()
    during = (day0 + timedelta(days=30)).isoformat()  # inside B-002's six-month course
    csv = tmp_path / "doses.csv"
    pd.DataFrame(
        [["B-002", "tacrolimus", during, "6", "trough above target"],
         ["B-009", "tacrolimus", during, "6", "no such participant"]],
        columns=["study_id", "drug", "changed_on", "dose", "reason"],
    ).to_csv(csv, index=False)  # fmt: skip
    code, out = _run(data_dir, "immunosuppression", "import", "dose_changes", str(csv),
                     "--trial", "DEMO-IPSC-SCI", "--user", "investigator")  # fmt: skip
    assert code == 1 and "1 imported" in out and "row 2 (B-009)" in out
    folder = tmp_path / "out"
    code, out = _run(data_dir, "immunosuppression", "export", "--trial", "DEMO-IPSC-SCI",
                     "-o", str(folder), "--user", "statistician")  # fmt: skip
    assert code == 0, out
    troughs = (folder / "trough_levels.csv").read_text()
    assert "sampled_day" in troughs and not re.search(r"\d{4}-\d{2}-\d{2}", troughs)
    changes = pd.read_csv(folder / "dose_changes.csv")
    assert "reason" not in changes.columns and "changed_day" in changes.columns
    assert "B-002" not in (folder / "immunosuppression_courses.csv").read_text()
