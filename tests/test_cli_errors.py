"""Every ``cordtrial`` command, walked from the command tree (new commands are included without
editing this file), run with the mistakes people make: a missing store, a missing output folder,
a bad trial id and bad options. Each ends with a clear message naming the thing and the exit
status of docs/cli.md (2: unusable input or a command-line error), never a traceback, and never
leaves an empty store or a folder behind.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.main import get_command
from typer.testing import CliRunner, Result

from cordtrial.cli import app
from cordtrial.serve_cli import prepare_store
from cordtrial.trial.demo import DEMO_PROTOCOL_ID, DEMO_USERS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
Path_ = tuple[str, ...]


def _walk(command: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield path, command
        return
    for name, sub in subcommands.items():
        yield from _walk(sub, (*path, name))


COMMANDS: dict[Path_, Any] = dict(_walk(get_command(app)))
IDS = [" ".join(path) for path in COMMANDS]

#: Commands that never open the trial store (everything else must take --data-dir and --demo).
STORELESS = (("isncsci",), ("design",), ("report", "example"))
#: Commands whose job is to create a store (a missing one is made, not an error).
CREATORS = {("db", "init"), ("db", "upgrade"), ("restore",), ("serve",)}
#: Never run for real in a test: it serves until stopped.
LONG_RUNNING = {("serve",)}
COORDINATOR = next(name for name, (role, _, _) in DEMO_USERS.items() if role == "coordinator")


def _opens_store(path: Path_) -> bool:
    return not any(path[: len(prefix)] == prefix for prefix in STORELESS)


def _params(path: Path_) -> dict[str, Any]:
    return {param.name: param for param in COMMANDS[path].params}


class Files:
    """The inputs a valid invocation needs (made once per module)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "out").mkdir()
        self.data_dir = root / "data"
        prepare_store(self.data_dir, demo=True, today=date(2026, 11, 25))
        self.results = root / "results.csv"
        ran = CliRunner().invoke(
            app, ["isncsci", "classify", str(EXAMPLES / "exams.csv"), "-o", str(self.results)]
        )
        assert ran.exit_code == 0, ran.output
        exams = pd.read_csv(EXAMPLES / "exams.csv", dtype=str, keep_default_na=False).head(2)
        self.to_import = root / "to_import.csv"
        exams.assign(
            participant="A-001", visit="", examined_on="2026-11-20", examiner="Dr Example"
        ).to_csv(self.to_import, index=False)
        self.backup = root / "demo.backup"
        ran = CliRunner().invoke(
            app, ["backup", "--demo", "--data-dir", str(self.data_dir), "-o", str(self.backup)]
        )
        assert ran.exit_code == 0, ran.output


#: A valid value for each required parameter, by name (and command where it differs).
SAMPLES: dict[str, Callable[[Path_, Files], str]] = {
    "input": lambda path, f: str(EXAMPLES / "exams.csv"),
    "old": lambda path, f: str(f.results),
    "new": lambda path, f: str(f.results),
    "exam_id": lambda path, f: "EX01",
    "username": lambda path, f: "new_coordinator",
    "role": lambda path, f: "coordinator",
    "file": lambda path, f: str(f.backup if path == ("restore",) else f.to_import),
    "trial": lambda path, f: DEMO_PROTOCOL_ID,
    "output": lambda path, f: str(f.root / "out" / OUTPUT_NAMES[path[0]]),
    "user": lambda path, f: COORDINATOR,
    "reason": lambda path, f: "forgotten password",
    "p0": lambda path, f: "0.2",
    "p1": lambda path, f: "0.4",
    "n_max": lambda path, f: "10",
    "prior_experimental": lambda path, f: "0.6,1.4",
    "prior_standard": lambda path, f: "15,35",
    "treated": lambda path, f: "0.6",
    "control": lambda path, f: "0.2",
    "path": lambda path, f: str(f.root),
    "participant": lambda path, f: "A-001",
    "rule": lambda path, f: "jp_asrm_60_day",
    "period": lambda path, f: "1",
    "reference": lambda path, f: "REF-1",
    "jurisdictions": lambda path, f: "us_ind",
    "table": lambda path, f: "troughs" if path[0] == "immunosuppression" else "contact_attempts",
}
#: The output file (or folder) name each command writes, by the first word of the command.
OUTPUT_NAMES = {
    "report": "report.pdf",
    "design": "design.json",
    "isncsci": "results.csv",
    "export": "export",
    "backup": "store.backup",
    "follow-up": "follow-up",
    "medications": "medications.csv",
    "immunosuppression": "immunosuppression",
}


def _invocation(path: Path_, files: Files, **overrides: str) -> list[str]:
    """``path`` with a valid value for every required parameter (``overrides`` by name)."""
    args = list(path)
    for param in COMMANDS[path].params:
        if param.name in overrides:
            value = overrides[param.name]
        elif param.required:
            sample = SAMPLES.get(param.name)
            assert sample is not None, f"{' '.join(path)}: add a sample value of {param.name!r}"
            value = sample(path, files)
        else:
            continue
        args += [value] if param.param_type_name == "argument" else [param.opts[0], value]
    return args


def _invoke(args: list[str], password: str = "a long enough passphrase\n" * 4) -> Result:
    return CliRunner().invoke(app, args, input=password)


def _clean_error(result: Result, code: int, *named: str) -> None:
    """Exit status ``code``, no traceback, and a message naming each of ``named``."""
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == code, result.output
    flat = " ".join(result.output.split()).replace("│", "")  # Rich boxes wrap long lines
    flat = " ".join(flat.split())
    for thing in named:
        assert thing in flat, f"{thing!r} not named in: {result.output}"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("cli-errors"))


@pytest.mark.parametrize("path", COMMANDS, ids=IDS)
def test_unknown_option_is_a_usage_error(path: Path_) -> None:
    result = _invoke([*path, "--no-such-option"])
    _clean_error(result, 2, "No such option", "--no-such-option")


def _typed_options(path: Path_) -> Iterator[Any]:
    for param in COMMANDS[path].params:
        kind = getattr(getattr(param, "type_descriptor", None), "annotation", None)
        numeric = kind in (int, float) or (isinstance(kind, type) and issubclass(kind, Enum))
        if param.param_type_name == "option" and numeric:
            yield param


TYPED = [(path, param.name) for path in COMMANDS for param in _typed_options(path)]


@pytest.mark.parametrize(("path", "name"), TYPED, ids=[f"{' '.join(p)} {n}" for p, n in TYPED])
def test_option_values_of_the_wrong_kind_are_usage_errors(
    path: Path_, name: str, files: Files
) -> None:
    """A number or choice option given a word: status 2 naming the option."""
    result = _invoke(_invocation(path, files, **{name: "not-a-value"}))
    _clean_error(result, 2, "Invalid value", _params(path)[name].opts[0])


@pytest.mark.parametrize("path", [p for p in COMMANDS if _opens_store(p)], ids=" ".join)
def test_store_commands_take_data_dir_and_demo(path: Path_) -> None:
    """The same two options as ``serve`` on every command that opens the store."""
    assert {"data_dir", "demo"} <= set(_params(path)), "add DataDirOption and DemoOption"


MISSING_STORE = [p for p in COMMANDS if _opens_store(p) and p not in CREATORS]


@pytest.mark.parametrize("path", MISSING_STORE, ids=" ".join)
def test_missing_store_is_named_and_not_created(path: Path_, files: Files, tmp_path: Path) -> None:
    typo = tmp_path / "no-such-folder"
    result = _invoke(_invocation(path, files, data_dir=str(typo)))
    _clean_error(result, 2, str(typo / "cordtrial.db"), "cordtrial db upgrade", str(typo))
    assert not typo.exists()


@pytest.mark.parametrize("path", MISSING_STORE, ids=" ".join)
def test_missing_demo_store_says_how_to_start_the_demo(
    path: Path_, files: Files, tmp_path: Path
) -> None:
    result = _invoke([*_invocation(path, files, data_dir=str(tmp_path)), "--demo"])
    _clean_error(result, 2, str(tmp_path / "demo" / "cordtrial.db"), "cordtrial serve --demo")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", sorted(CREATORS - LONG_RUNNING), ids=" ".join)
def test_store_that_cannot_be_created_is_named(path: Path_, files: Files) -> None:
    """A creating command given a folder that cannot be made (under a file)."""
    impossible = files.results / "data"
    result = _invoke(_invocation(path, files, data_dir=str(impossible)))
    _clean_error(result, 2, "cannot create the trial store", str(impossible / "cordtrial.db"))


def test_missing_store_from_the_environment_is_not_created(
    files: Files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORDTRIAL_DATABASE_URL", raising=False)
    monkeypatch.setenv("CORDTRIAL_DATA_DIR", str(tmp_path / "data"))
    result = _invoke(["audit", "verify"])
    _clean_error(result, 2, str(tmp_path / "data" / "cordtrial.db"), "cordtrial db upgrade")
    assert list(tmp_path.iterdir()) == []


def test_unreachable_database_server_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Nothing listens on port 1: the store is named (password hidden) with the reason, by a
    command that checks the store first and by ``backup``, which opens it itself; ``backup``
    leaves no file."""
    monkeypatch.setenv("CORDTRIAL_DATABASE_URL", "postgresql://trial:s3cret@127.0.0.1:1/cordtrial")
    for command in (["audit", "verify"], ["backup", "-o", str(tmp_path / "store.backup")]):
        result = _invoke(command)
        _clean_error(result, 2, "cannot open the trial store", "127.0.0.1:1/cordtrial", "refused")
        assert "s3cret" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_empty_file_is_a_store_without_schema(files: Files, tmp_path: Path) -> None:
    """What the old commands left behind: named, with the command that migrates it."""
    (tmp_path / "cordtrial.db").touch()
    result = _invoke(["audit", "head", "--data-dir", str(tmp_path)])
    _clean_error(result, 2, str(tmp_path / "cordtrial.db"), "no schema", "cordtrial db upgrade")


WRITERS = [p for p in COMMANDS if "output" in _params(p) and p not in LONG_RUNNING]


@pytest.mark.parametrize("path", WRITERS, ids=" ".join)
def test_missing_output_folder_is_named_and_not_created(
    path: Path_, files: Files, tmp_path: Path
) -> None:
    folder = tmp_path / "no-such-folder"
    name = OUTPUT_NAMES.get(path[0])
    assert name is not None, f"{' '.join(path)}: add its output's name to OUTPUT_NAMES"
    store = ["--demo", "--data-dir", str(files.data_dir)] if _opens_store(path) else []
    result = _invoke([*_invocation(path, files, output=str(folder / name)), *store])
    _clean_error(result, 2, str(folder))
    assert not folder.exists()


@pytest.mark.parametrize("path", [p for p in COMMANDS if "trial" in _params(p)], ids=" ".join)
def test_unknown_trial_is_named(path: Path_, files: Files, tmp_path: Path) -> None:
    overrides = {"trial": "NO-SUCH-TRIAL", "data_dir": str(files.data_dir)}
    if "output" in _params(path):
        overrides["output"] = str(tmp_path / OUTPUT_NAMES[path[0]])
    if "errors" in _params(path):
        overrides["errors"] = str(tmp_path / "errors.csv")
    result = _invoke([*_invocation(path, files, **overrides), "--demo"])
    _clean_error(result, 2, "NO-SUCH-TRIAL")


def test_dsmb_report_of_the_demo(files: Files, tmp_path: Path) -> None:
    """The command of the README, after `cordtrial serve --demo` made the demo store."""
    output = tmp_path / "dsmb.pdf"
    result = _invoke(
        ["report", "dsmb", "--demo", "--data-dir", str(files.data_dir),
         "--trial", DEMO_PROTOCOL_ID, "-o", str(output)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert output.read_bytes().startswith(b"%PDF")


def test_audit_verify_of_the_demo(files: Files) -> None:
    result = _invoke(["audit", "verify", "--demo", "--data-dir", str(files.data_dir)])
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.output


def test_data_dir_and_database_together_are_refused(files: Files, tmp_path: Path) -> None:
    result = _invoke(
        ["report", "dsmb", "--trial", DEMO_PROTOCOL_ID, "-o", str(tmp_path / "r.pdf"),
         "--data-dir", str(files.data_dir), "--database", "sqlite:///x.db"]
    )  # fmt: skip
    _clean_error(result, 2, "--database", "--data-dir")


def test_data_dir_that_is_a_file_is_named(files: Files) -> None:
    result = _invoke(["audit", "head", "--data-dir", str(files.results)])
    _clean_error(result, 2, "--data-dir", str(files.results), "not a folder")


#: What ``import cordtrial.cli`` must not load: each costs a noticeable part of a second.
HEAVY = ("pandas", "numpy", "pyarrow", "scipy", "matplotlib", "sqlalchemy", "alembic", "pydantic",
         "cordtrial.trial.database", "cordtrial.trial.models", "cordtrial.analysis")  # fmt: skip


def test_importing_the_command_loads_no_heavy_module() -> None:
    """`cordtrial --help` builds the whole command tree: it must not import the libraries the
    commands use (they are imported when a command runs)."""
    code = (
        "import sys, cordtrial.cli\n"
        "from typer.main import get_command\n"
        "get_command(cordtrial.cli.app)\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""


def test_help_defaults_equal_the_library_constants() -> None:
    """Defaults restated in the command (so it need not import the library) stay in step."""
    from cordtrial.isncsci.io.streaming import DEFAULT_CHUNK_ROWS
    from cordtrial.trial.rules.access import ROLES
    from cordtrial.trial.services.imports import DEFAULT_BATCH_SIZE
    from cordtrial.trial_cli import _ROLES_HELP

    assert _params(("isncsci", "classify"))["chunk_rows"].default == DEFAULT_CHUNK_ROWS
    assert _params(("import", "exams"))["batch_size"].default == DEFAULT_BATCH_SIZE
    assert ", ".join(sorted(ROLES)) == _ROLES_HELP
