"""The engine's public surface is deliberate: a change to it must change this test."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import cordtrial.isncsci as isncsci

EXPECTED = {
    "ENGINE_VERSION", "EXAM_COLUMNS", "ISNCSCI_REVISION", "KEY_MUSCLES", "RESULT_FIELDS",
    "SENSORY_LEVELS", "Cell", "Classification", "Exam", "ExamSide", "Flag", "InvalidExamError",
    "IsncsciError", "Level", "check_cells", "classify", "classify_dask", "classify_frame",
    "field_label", "read_frame",
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


def _imported_top_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_engine_core_modules_import_only_the_standard_library() -> None:
    """Every import statement of the core modules (the package's own files, not batch/ or io/)
    names a standard-library module or cordtrial itself; import-linter checks the same for the
    known third-party packages, this for any."""
    core = Path(isncsci.__file__).parent
    modules = sorted(p for p in core.glob("*.py") if p.name != "__init__.py")
    assert {p.stem for p in modules} >= {"values", "exam", "levels", "impairment", "zpp"}
    for path in modules:
        outside = _imported_top_names(path) - set(sys.stdlib_module_names) - {"cordtrial"}
        assert not outside, (path.name, outside)


def test_batch_and_io_are_subpackages_of_the_engine() -> None:
    """docs/architecture.md: cell codes, tables and walks live in batch/, files in io/."""
    from cordtrial.isncsci import batch, io

    assert batch.__all__ == ["BATCH_FIELDS", "classify_frame"]
    assert isncsci.classify_frame is batch.classify_frame
    assert (Path(io.__file__).parent / "formats.py").exists()
    assert not (Path(isncsci.__file__).parent / "batch_jit.py").exists()


def test_changelog_names_the_current_engine_version() -> None:
    """CHANGELOG.md has an entry for every engine version, saying whether results change."""
    changelog = (Path(__file__).resolve().parents[2] / "CHANGELOG.md").read_text(encoding="utf-8")
    heading = f"### Engine {isncsci.ENGINE_VERSION} (results"
    assert heading in changelog or f"## Engine {isncsci.ENGINE_VERSION} " in changelog
