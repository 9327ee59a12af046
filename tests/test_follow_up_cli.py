"""``cordtrial follow-up export|import`` and ``cordtrial product look-back`` on the demo store."""

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
    root = tmp_path_factory.mktemp("follow_up_cli") / "data"
    prepare_store(root, demo=True, today=date(2026, 11, 25))
    return root


def _run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--demo", "--data-dir", str(data_dir)])
    return result.exit_code, result.output


def test_look_back_from_the_donor_lists_recipients_of_the_users_sites(data_dir: Path) -> None:
    code, out = _run(data_dir, "product", "look-back", "--donor", "DONOR-DEMO-01",
                     "--user", "admin")  # fmt: skip
    assert code == 0, out
    assert "4 recipient(s)" in out and "B-002 (site B)" in out
    assert "A-002 (site A): 2,000,000 cells" in out and "lost to follow-up" in out
    code, out = _run(data_dir, "product", "look-back", "--lot", "DEMO-LOT-001",
                     "--user", "coordinator_a")  # fmt: skip
    assert code == 0 and "2 recipient(s)" in out and "B-00" not in out
    code, out = _run(data_dir, "product", "look-back", "--lot", "NOPE", "--user", "admin")
    assert code == 1 and "Lot NOPE does not exist" in out


def test_follow_up_export_then_import_stores_nothing_twice(data_dir: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "follow-up"
    code, out = _run(data_dir, "follow-up", "export", "--trial", "DEMO-IPSC-SCI",
                     "-o", str(out_dir), "--user", "admin")  # fmt: skip
    assert code == 0, out
    dispositions = pd.read_csv(out_dir / "dispositions.csv", dtype=str, keep_default_na=False)
    assert list(dispositions["status"]).count("lost_to_follow_up") == 1
    attempts = pd.read_csv(out_dir / "contact_attempts.csv", dtype=str)
    assert set(attempts["study_id"]) == {"A-002"} and len(attempts) == 3
    consents = pd.read_csv(out_dir / "consent_signatures.csv", dtype=str)
    assert list(consents[consents["study_id"] == "A-001"]["version"]) == ["1.0", "2.0"]
    for table in ("dispositions", "contact_attempts", "consent_signatures"):
        code, out = _run(data_dir, "follow-up", "import", table, str(out_dir / f"{table}.csv"),
                         "--trial", "DEMO-IPSC-SCI", "--user", "admin")  # fmt: skip
        assert code == 0, out
        assert "0 imported" in out and "0 refused" in out


def test_follow_up_import_reports_refused_rows_and_imports_the_others(
    data_dir: Path, tmp_path: Path
) -> None:
    rows = tmp_path / "attempts.csv"
    pd.DataFrame(
        {"study_id": ["B-001", "B-002", "X-999"], "attempted_on": ["2026-11-01", "2026-11-02",
         "2026-11-02"], "method": ["phone", "carrier pigeon", "phone"],
         "outcome": ["reached", "no_answer", "no_answer"], "note": ["", "", ""]}
    ).to_csv(rows, index=False)  # fmt: skip
    result = CliRunner().invoke(
        app,
        ["follow-up", "import", "contact_attempts", str(rows), "--trial", "DEMO-IPSC-SCI",
         "--user", "coordinator_b", "--demo", "--data-dir", str(data_dir)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "1 imported" in result.stdout and "2 refused" in result.stdout
    assert "row 2 (B-002): Method: carrier pigeon is not allowed" in result.stderr
    assert "row 3 (X-999): Participant DEMO-IPSC-SCI/X-999 does not exist" in result.stderr
