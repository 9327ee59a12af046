"""The engine's public surface is deliberate: a change to it must change this test."""

from __future__ import annotations

import subprocess
import sys

import cordtrial.isncsci as isncsci

EXPECTED = {
    "ENGINE_VERSION", "EXAM_COLUMNS", "ISNCSCI_REVISION", "KEY_MUSCLES", "RESULT_FIELDS",
    "SENSORY_LEVELS", "Cell", "Classification", "Exam", "ExamSide", "Flag", "InvalidExamError",
    "IsncsciError", "Level", "classify", "classify_dask", "classify_frame", "read_frame",
}  # fmt: skip


def test_public_names_match_all() -> None:
    assert set(isncsci.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(isncsci, name) is not None


def test_engine_imports_no_third_party_module() -> None:
    """STYLE.md: the pure engine imports only the standard library (pandas loads on demand)."""
    code = (
        "import sys, cordtrial.isncsci as m; m.classify;"
        "print(sorted(k for k in ('numpy', 'pandas', 'pyarrow', 'dask') if k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_result_record_columns_are_design_contract() -> None:
    assert isncsci.RESULT_FIELDS[:8] == (
        "id", "sensory_right", "sensory_left", "motor_right", "motor_left", "nli", "ais",
        "complete",
    )  # fmt: skip
    assert len(isncsci.RESULT_FIELDS) == 26
