"""``cordtrial import labs`` on the demo store: a lab system's file imported, each bad row in
the error report with its number and reason, the rest stored; importing again stores nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cordtrial.cli import app
from cordtrial.serve_cli import prepare_store


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lab_cli") / "data"
    prepare_store(root, demo=True, today=date(2026, 11, 25))
    return root


def _import(data_dir: Path, file: Path, user: str = "coordinator_b") -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        ["import", "labs", str(file), "--trial", "DEMO-IPSC-SCI", "--user", user,
         "--demo", "--data-dir", str(data_dir)],
    )  # fmt: skip
    return result.exit_code, result.stdout, result.stderr


def test_import_labs_reports_bad_rows_and_imports_the_others(
    data_dir: Path, tmp_path: Path
) -> None:
    file = tmp_path / "lab-export.csv"
    file.write_text(
        "Subject,Sample Time,Test Code,Result,Units,Ref Low,Ref High\n"
        "B-001,2026-11-20T07:45,777-3,198,x10^9/L,150,400\n"
        "B-001,2026-11-20T07:45,CREA,0.95,mg/dL,0.7,1.24\n"
        "B-001,2026-11-20T07:45,PLT,abc,x10^9/L,,\n"
        "A-001,2026-11-20T07:45,PLT,200,x10^9/L,,\n",
        encoding="utf-8",
    )
    code, out, err = _import(data_dir, file)
    assert code == 1, out + err
    assert "4 rows: 2 values imported in 1 panel," in out and "2 rejected" in out
    assert "row 3: Value: abc is not a number" in err
    report = pd.read_csv(tmp_path / "lab-export.import-errors.csv", dtype=str)
    rows = report[report["severity"] == "error"]
    assert list(rows["row"]) == ["3", "4"]
    assert list(rows["field"]) == ["value", "study_id"]  # site A, not the user's
    code, out, _ = _import(data_dir, file)
    assert "0 values imported" in out and "2 already present" in out


def test_import_labs_of_a_file_without_a_unit_column_is_unusable_input(
    data_dir: Path, tmp_path: Path
) -> None:
    file = tmp_path / "bad.csv"
    file.write_text("study_id,collected_at,analyte,value\nB-001,2026-11-20,PLT,200\n")
    code, _, err = _import(data_dir, file)
    assert code == 2 and "unit" in err
