"""The reference ISNCSCI implementation (npm ``isncsci``, pinned) as a test oracle.

The reference is only *run* here, never copied: ``run.js`` loads it with the machine's Node.js,
classifies a JSON array of exams in one process, and prints flat result records whose keys are
cordtrial's result record (without ``id``). This module converts canonical flat exams to the
reference's nested format and drives ``run.js`` through a subprocess.

Deliberately independent of ``cordtrial``: the column layout is declared again below so that a
mistake in the engine's tables cannot hide in the oracle too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ORACLE_DIR = Path(__file__).resolve().parent
RUNNER = ORACLE_DIR / "run.js"
PINNED_VERSION = "2.0.6"
PACKAGE = "isncsci"

#: Key muscles (canonical lower-case level names), in worksheet order.
MOTOR_LEVELS: tuple[str, ...] = ("c5", "c6", "c7", "c8", "t1", "l2", "l3", "l4", "l5", "s1")
#: Sensory dermatomes C2..S4_5, in worksheet order.
SENSORY_LEVELS: tuple[str, ...] = (
    "c2", "c3", "c4", "c5", "c6", "c7", "c8",
    *(f"t{i}" for i in range(1, 13)),
    "l1", "l2", "l3", "l4", "l5",
    "s1", "s2", "s3", "s4_5",
)  # fmt: skip
SIDES: tuple[tuple[str, str], ...] = (("r", "right"), ("l", "left"))

#: Every cell column of the canonical dialect (same order as ``cordtrial.isncsci.EXAM_COLUMNS``).
CELL_COLUMNS: tuple[str, ...] = (
    *(
        col
        for p, _ in SIDES
        for col in (
            *(f"{p}_{lv}_motor" for lv in MOTOR_LEVELS),
            *(f"{p}_{lv}_lt" for lv in SENSORY_LEVELS),
            *(f"{p}_{lv}_pp" for lv in SENSORY_LEVELS),
        )
    ),
    "vac",
    "dap",
)
NKM_COLUMNS: tuple[str, ...] = ("r_nkm", "l_nkm")
#: Every column of a canonical flat exam.
ALL_COLUMNS: tuple[str, ...] = (*CELL_COLUMNS, *NKM_COLUMNS)

#: The classification result record, without ``id`` (keys written by ``run.js``).
RESULT_KEYS: tuple[str, ...] = (
    "sensory_right", "sensory_left", "motor_right", "motor_left", "nli", "ais", "complete",
    "zpp_sensory_right", "zpp_sensory_left", "zpp_motor_right", "zpp_motor_left",
    "uems_right", "uems_left", "lems_right", "lems_left", "motor_right_total", "motor_left_total",
    "uems", "lems", "lt_right", "lt_left", "pp_right", "pp_left", "lt", "pp",
)  # fmt: skip


class OracleUnavailableError(RuntimeError):
    """Node.js or npm is missing, or the pinned package could not be installed."""


def node_executable() -> str:
    """Path of the Node.js binary (``$CORDTRIAL_NODE``, else ``node`` on PATH)."""
    node = os.environ.get("CORDTRIAL_NODE") or shutil.which("node")
    if not node:
        raise OracleUnavailableError("Node.js (node) is not on PATH")
    return node


def installed_version() -> str | None:
    """Version of the installed reference package, or None when it is not installed."""
    manifest = ORACLE_DIR / "node_modules" / PACKAGE / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])


def ensure_installed() -> Path:
    """Install the pinned reference with ``npm ci`` when missing; return its package folder.

    Raises
    ------
    OracleUnavailableError
        npm is missing or failed, or the installed version is not the pinned one.
    """
    package_dir = ORACLE_DIR / "node_modules" / PACKAGE
    if installed_version() is None:
        npm = shutil.which("npm")
        if not npm:
            raise OracleUnavailableError("npm is not on PATH; cannot install the oracle")
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=ORACLE_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise OracleUnavailableError(f"npm ci failed ({proc.returncode}):\n{proc.stderr}")
    version = installed_version()
    if version != PINNED_VERSION:
        raise OracleUnavailableError(
            f"{PACKAGE} {version} is installed in {package_dir}, expected {PINNED_VERSION}; "
            f"remove {ORACLE_DIR / 'node_modules'} and run again"
        )
    return package_dir


def _side_keys(prefix: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """(nested block, ((reference level, flat column), ...)) for one side."""
    return (
        ("motor", tuple((lv.upper(), f"{prefix}_{lv}_motor") for lv in MOTOR_LEVELS)),
        ("lightTouch", tuple((lv.upper(), f"{prefix}_{lv}_lt") for lv in SENSORY_LEVELS)),
        ("pinPrick", tuple((lv.upper(), f"{prefix}_{lv}_pp") for lv in SENSORY_LEVELS)),
    )


_SIDE_KEYS = tuple((prefix, side, f"{prefix}_nkm", _side_keys(prefix)) for prefix, side in SIDES)


def to_reference(flat: dict[str, str]) -> dict[str, Any]:
    """Convert a canonical flat exam to the reference's nested ``Exam`` object.

    ``lowestNonKeyMuscleWithMotorFunction`` is omitted on a side whose ``{side}_nkm`` is empty
    or absent. Cell values are passed through unchanged (the reference does its own checks).
    """
    exam: dict[str, Any] = {}
    for _prefix, side, nkm_column, blocks in _SIDE_KEYS:
        nested: dict[str, Any] = {
            block: {level: flat[column] for level, column in pairs} for block, pairs in blocks
        }
        nkm = (flat.get(nkm_column) or "").strip()
        if nkm:
            nested["lowestNonKeyMuscleWithMotorFunction"] = nkm.upper()
        exam[side] = nested
    exam["voluntaryAnalContraction"] = flat["vac"]
    exam["deepAnalPressure"] = flat["dap"]
    return exam


def _run_node(payload: str, *args: str) -> str:
    proc = subprocess.run(
        [node_executable(), str(RUNNER), *args],
        cwd=ORACLE_DIR,
        input=payload,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise OracleUnavailableError(f"run.js failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def run_reference(nested_exams: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Run ``run.js`` once on exams already in the reference's nested format."""
    ensure_installed()
    out = json.loads(_run_node(json.dumps(nested_exams, separators=(",", ":"))))
    if not isinstance(out, list) or len(out) != len(nested_exams):
        raise OracleUnavailableError(f"run.js returned no record per exam: {str(out)[:200]}")
    return out


def classify_reference(
    exams: Sequence[dict[str, str]], batch_size: int = 5000
) -> list[dict[str, str]]:
    """Classify canonical flat exams with the reference; one Node process per batch.

    Returns one flat record per exam, in order: the keys of :data:`RESULT_KEYS`, or
    ``{"error": message}`` where the reference threw.
    """
    results: list[dict[str, str]] = []
    for start in range(0, len(exams), batch_size):
        results.extend(run_reference([to_reference(f) for f in exams[start : start + batch_size]]))
    return results


def bench_reference(exams: Iterable[dict[str, str]]) -> dict[str, float]:
    """Time the reference's classification loop alone; ``{"exams": n, "seconds": s}``."""
    ensure_installed()
    payload = json.dumps([to_reference(flat) for flat in exams], separators=(",", ":"))
    return dict(json.loads(_run_node(payload, "--bench")))
