"""``cordtrial medications export|import|flagged`` on the demo store: the export imports back as
nothing new; a file with bad rows imports the good ones and reports each bad one by row number,
with a neutralized error file; a statistician's export has no calendar date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cordtrial.cli import app
from cordtrial.serve_cli import prepare_store

TRIAL = "DEMO-IPSC-SCI"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("medications_cli") / "data"
    prepare_store(root, demo=True, today=date(2026, 11, 25))
    return root


def _run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--demo", "--data-dir", str(data_dir)])
    return result.exit_code, result.stdout, result.stderr


def test_export_then_import_stores_nothing_twice(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "meds.csv"
    code, stdout, _ = _run(data_dir, "medications", "export", "--trial", TRIAL, "-o", str(out),
                           "--user", "admin")  # fmt: skip
    assert code == 0, stdout
    meds = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert {"A-001", "A-002", "B-001", "B-002"} == set(meds["study_id"])
    fluconazole = meds[meds["name"] == "fluconazole"].iloc[0]
    assert (fluconazole["atc_code"], fluconazole["interaction_review"]) == ("J02AC01", "flagged")
    code, stdout, _ = _run(data_dir, "medications", "import", str(out), "--trial", TRIAL,
                           "--user", "admin")  # fmt: skip
    assert code == 0, stdout
    assert f"0 imported, {len(meds)} already stored, 0 refused" in stdout


def test_import_reports_each_bad_row_and_imports_the_others(data_dir: Path, tmp_path: Path) -> None:
    rows = tmp_path / "meds.csv"
    pd.DataFrame(
        {"study_id": ["B-001", "B-002", "X-999", "B-001", "B-002"],
         "name": ["rifampicin", "=HYPERLINK(\"http://x\")", "baclofen", "tizanidine", "oxybutynin"],
         "atc_code": ["", "", "", "M03BX02", "G4BD04"],
         "dose": ["600", "1", "10", "2", "5"], "dose_unit": ["mg"] * 5,
         "route": ["Oral", "oral", "oral", "by mouth", "oral"],
         "frequency": ["once daily"] * 5, "indication": ["test"] * 5,
         "start_date": ["2026-11-01", "2026-11-01", "2026-11-01", "2026-11-02", "2026-11-02"],
         "stop_date": ["", "", "", "", ""]}
    ).to_csv(rows, index=False)  # fmt: skip
    errors = tmp_path / "errors.csv"
    code, stdout, stderr = _run(data_dir, "medications", "import", str(rows), "--trial", TRIAL,
                                "--user", "coordinator_b", "--errors", str(errors))  # fmt: skip
    assert code == 1
    assert "2 imported, 0 already stored, 3 refused" in stdout
    assert "row 3 (X-999): Participant DEMO-IPSC-SCI/X-999 does not exist" in stderr
    assert "row 4 (B-001): Route: by mouth is not allowed" in stderr
    assert "row 5 (B-002): ATC code: G4BD04 is not allowed" in stderr
    refused = pd.read_csv(errors, dtype=str)
    assert list(refused["row"]) == ["3", "4", "5"]
    code, stdout, _ = _run(data_dir, "medications", "flagged", "--trial", TRIAL,
                           "--user", "coordinator_b")  # fmt: skip
    assert code == 0
    assert "B-001 (site B): rifampicin from 2026-11-01 [flagged]: May lower tacrolimus" in stdout
    assert "A-002" not in stdout  # site A is not coordinator_b's
    # the formula-like name was stored as text; the export neutralizes it
    out = tmp_path / "again.csv"
    _run(data_dir, "medications", "export", "--trial", TRIAL, "-o", str(out), "--user", "admin")
    assert "'=HYPERLINK" in out.read_text(encoding="utf-8")


def test_a_statisticians_export_has_study_days_and_no_reviewer(
    data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pseudo.csv"
    code, stdout, _ = _run(data_dir, "medications", "export", "--trial", TRIAL, "-o", str(out),
                           "--user", "statistician")  # fmt: skip
    assert code == 0, stdout
    meds = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert "start_day" in meds.columns and "start_date" not in meds.columns
    assert "reviewed_by" not in meds.columns
    text = out.read_text(encoding="utf-8")
    assert "A-001" not in text and "2026-" not in text
