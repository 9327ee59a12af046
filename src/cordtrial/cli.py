"""The ``cordtrial`` command.

Each subcommand parses its arguments, calls the library and renders the result; the rules live in
the library. Exit codes: 0 success, 1 some exams rejected (or the exam asked for is invalid), 2
unusable input (a file that cannot be read, an unknown option value).
"""

from __future__ import annotations

import enum
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, NoReturn

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from cordtrial import __version__
from cordtrial.isncsci import ENGINE_VERSION, ISNCSCI_REVISION, InvalidExamError, classify
from cordtrial.isncsci.exam import Exam
from cordtrial.isncsci.formats import (
    FileFormatError,
    classify_rows,
    errors_path,
    format_of,
    read_frame,
    write_results,
)

#: Inputs with more exams than this get a progress bar (on a terminal).
PROGRESS_THRESHOLD = 1000

app = typer.Typer(
    name="cordtrial",
    help="Run and analyse clinical trials of regenerative therapies for spinal cord injury.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold participants' data
)
isncsci_app = typer.Typer(
    help="ISNCSCI 2019 classification: levels, AIS grade, ZPP and totals.",
    no_args_is_help=True,
)
app.add_typer(isncsci_app, name="isncsci")


class DialectOption(enum.StrEnum):
    """Column-name dialects of flat exam files."""

    canonical = "canonical"
    praxis = "praxis"


InputArg = Annotated[
    Path,
    typer.Argument(
        metavar="INPUT", help="Exams: .csv, .json, .jsonl or .parquet.", show_default=False
    ),
]
DialectOpt = Annotated[
    DialectOption | None,
    typer.Option(help="Column names of the input; detected when not given.", show_default=False),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cordtrial {__version__} (ISNCSCI {ISNCSCI_REVISION}, engine {ENGINE_VERSION})")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Run and analyse clinical trials of regenerative therapies for spinal cord injury."""


@isncsci_app.command("classify")
def classify_command(
    input: InputArg,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write result records here (.csv, .json, .jsonl, .parquet); rejected rows go to "
            "OUTPUT.errors.csv. Without it, print a table.",
            show_default=False,
        ),
    ] = None,
    dialect: DialectOpt = None,
) -> None:
    """Classify every exam of INPUT: one result record per exam, rejected rows reported."""
    out, err = Console(), Console(stderr=True)
    if output is not None:
        _check_writable(output, input)
    frame = _read(input, dialect)
    with Progress(
        TextColumn("classifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=len(frame) <= PROGRESS_THRESHOLD or not err.is_terminal,
    ) as progress:
        task = progress.add_task("classify", total=len(frame))
        results, errors = classify_rows(frame, on_row=lambda: progress.advance(task))
    if output is None:
        _print_table(out, _results_table(results))
        if len(errors):
            _print_table(err, _table(errors, title="Rejected exams"))
    else:
        _write(results, output)
        _write(errors, errors_path(output))
    err.print(_summary(results, errors, output), highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(1 if len(errors) else 0)


@isncsci_app.command("explain")
def explain_command(
    input: InputArg,
    exam_id: Annotated[
        str, typer.Option("--id", help="The exam's id (its row number if INPUT has no id).")
    ],
    dialect: DialectOpt = None,
) -> None:
    """Explain the classification of one exam of INPUT, reason by reason."""
    frame = _read(input, dialect)
    ids = frame["id"] if "id" in frame.columns else pd.Series(range(1, len(frame) + 1)).astype(str)
    matches = [int(i) for i in ids.index[ids == exam_id]]
    if not matches:
        _fail(f"{input}: no exam with id {exam_id!r}", code=2)
    for position in matches:
        try:
            exam = Exam.from_flat({str(k): v for k, v in frame.iloc[position].items()})
            explanation = classify(exam).explain()
        except InvalidExamError as error:
            _fail(f"exam {exam_id} (row {position + 1}) is invalid: {error}", code=1)
        typer.echo(f"Exam {exam_id} (row {position + 1} of {input})")
        typer.echo(str(explanation))


def _read(path: Path, dialect: DialectOption | None) -> pd.DataFrame:
    try:
        return read_frame(path, None if dialect is None else dialect.value)
    except FileFormatError as error:
        _fail(f"cannot read {error}", code=2)


def _check_writable(output: Path, input: Path) -> None:
    try:
        format_of(output)
    except FileFormatError as error:
        _fail(f"cannot write {error}", code=2)
    if not output.parent.is_dir():
        _fail(f"cannot write {output}: folder {output.parent} does not exist", code=2)
    if input.resolve() in (output.resolve(), errors_path(output).resolve()):
        _fail(f"cannot write {output}: it would overwrite the input {input}", code=2)


def _write(table: pd.DataFrame, path: Path) -> None:
    try:
        write_results(table, path)
    except FileFormatError as error:
        _fail(f"cannot write {error}", code=2)
    except OSError as error:
        _fail(f"cannot write {path}: {error.strerror or error}", code=2)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"cordtrial: error: {message}", err=True)
    raise typer.Exit(code)


def _summary(results: pd.DataFrame, errors: pd.DataFrame, output: Path | None) -> str:
    grades = Counter(results["ais"])
    # single grades A-E first, then the ranges NT leaves open (A,C) and starred grades
    ordered = sorted(grades, key=lambda grade: (len(grade), grade))
    distribution = " ".join(f"{grade}={grades[grade]}" for grade in ordered) or "none"
    lines = [
        f"{len(results) + len(errors)} exams: {len(results)} classified, {len(errors)} rejected. "
        f"AIS: {distribution}"
    ]
    if output is not None:
        lines.append(f"results: {output}; rejected rows: {errors_path(output)}")
    return "\n".join(lines)


_TABLE_COLUMNS: dict[str, str] = {
    "id": "id",
    "nli": "NLI",
    "ais": "AIS",
    "complete": "C/I",
    "sensory_right": "sensory\nright",
    "sensory_left": "sensory\nleft",
    "motor_right": "motor\nright",
    "motor_left": "motor\nleft",
    "zpp_sensory_right": "ZPP sens\nright",
    "zpp_sensory_left": "ZPP sens\nleft",
    "zpp_motor_right": "ZPP mot\nright",
    "zpp_motor_left": "ZPP mot\nleft",
    "uems": "UEMS",
    "lems": "LEMS",
    "lt": "LT",
    "pp": "PP",
}


def _print_table(console: Console, table: Table) -> None:
    if not console.is_terminal:  # a file or a pipe: keep rows whole rather than fold them
        wide = console.options.update_width(10_000)
        console.width = max(console.width, console.measure(table, options=wide).maximum)
    console.print(table)


def _results_table(results: pd.DataFrame) -> Table:
    table = _table(
        results[list(_TABLE_COLUMNS)].rename(columns=_TABLE_COLUMNS),
        title="ISNCSCI classification",
    )
    table.caption = (
        "Per-side totals: write every field with -o FILE (.csv, .json, .jsonl, .parquet)"
    )
    return table


def _table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD)
    for column in frame.columns:
        table.add_column(Text(str(column)), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(Text("" if value is None else str(value)) for value in row))
    return table


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
