"""The ``cordtrial`` command.

Each subcommand parses its arguments, calls the library and renders the result; the rules live in
the library. Exit codes: 0 success, 1 some exams rejected (or the exam asked for is invalid; for
``diff``: the results differ), 2 unusable input (a file that cannot be read, an unknown option
value).
"""

from __future__ import annotations

import enum
import functools
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from cordtrial import __version__
from cordtrial.isncsci import ENGINE_VERSION, ISNCSCI_REVISION, InvalidExamError, classify
from cordtrial.isncsci.exam import Exam

if TYPE_CHECKING:
    import pandas as pd

    from cordtrial.isncsci.io.formats import Dialect
    from cordtrial.isncsci.io.streaming import Engine, StreamProgress

    _ProgressCallback = Callable[[StreamProgress], None]

# pandas, pyarrow and numpy (file formats, the vectorized classifier) are imported inside the
# commands, so `cordtrial --help` and the commands that do not need them start without them.

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


class EngineOption(enum.StrEnum):
    """Where ``classify`` classifies the chunks it reads."""

    local = "local"
    dask = "dask"


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
    ctx: typer.Context,
    input: InputArg,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write result records here (.csv, .json, .jsonl, .parquet); rejected rows go to "
            "OUTPUT.errors.csv, the run's record to OUTPUT.meta.json. Without it, print a table.",
            show_default=False,
        ),
    ] = None,
    dialect: DialectOpt = None,
    chunk_rows: Annotated[
        int,
        typer.Option(
            "--chunk-rows",
            min=1,
            help="Exams read and classified at a time; memory grows with it.",
        ),
    ] = 65_536,  # streaming.DEFAULT_CHUNK_ROWS (not imported here: a test keeps them equal)
    engine_name: Annotated[
        EngineOption,
        typer.Option(
            "--engine", help="local: in this process; dask: on a Dask cluster (the dask extra)."
        ),
    ] = EngineOption.local,
    scheduler: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="With --engine dask: the scheduler (tcp://host:8786); without it, a "
            "LocalCluster on this machine.",
            show_default=False,
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            min=1,
            help="With --engine local: chunks classified at once, each in a thread of its own, "
            "while the next chunk is read and finished ones written; default: one per core.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Classify every exam of INPUT: one result record per exam, rejected rows reported."""
    from cordtrial.isncsci.io.streaming import classify_file

    out, err = Console(), Console(stderr=True)
    engine = _engine(ctx, engine_name, scheduler, threads)
    chosen = _dialect(dialect)
    if output is not None:
        _check_writable(output, input)
        with _progress_bar(err) as on_chunk, _unusable():
            run = classify_file(
                input,
                output,
                dialect=chosen,
                chunk_rows=chunk_rows,
                engine=engine,
                on_chunk=on_chunk,
            )
        summary = _summary(run.classified, run.rejected, Counter(run.ais), output)
        err.print(summary, highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1 if run.rejected else 0)
    results, errors = _classify_in_memory(input, chosen, chunk_rows, engine, err)
    _print_table(out, _results_table(results))
    if len(errors):
        _print_table(err, _table(errors, title="Rejected exams"))
    grades = Counter(str(grade) for grade in results["ais"].tolist())
    err.print(
        _summary(len(results), len(errors), grades, None),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    raise typer.Exit(1 if len(errors) else 0)


def _classify_in_memory(
    input: Path, dialect: Dialect | None, chunk_rows: int, engine: Engine, err: Console
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every result record and rejected row of INPUT, for printing."""
    import pandas as pd

    from cordtrial.isncsci.io.streaming import classify_stream, open_exams

    parts = []
    with (
        _progress_bar(err) as on_chunk,
        _unusable(),
        open_exams(input, dialect, chunk_rows=chunk_rows) as exams,
    ):
        for part in classify_stream(exams, engine):
            parts.append(part)
            on_chunk(exams.progress())
    results = pd.concat([p.results.astype(object) for p in parts], ignore_index=True)
    errors = pd.concat([p.errors for p in parts], ignore_index=True)
    return results, errors


@isncsci_app.command("diff")
def diff_command(
    old: Annotated[
        Path,
        typer.Argument(
            metavar="OLD_RESULTS",
            help="Results of the earlier run (.csv, .json, .jsonl, .parquet).",
            show_default=False,
        ),
    ],
    new: Annotated[
        Path,
        typer.Argument(metavar="NEW_RESULTS", help="Results of the later run.", show_default=False),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the differences here (.csv, .json, .jsonl, .parquet): id, change, field, "
            "old, new. Without it, print a table.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """List the exams whose classification changed between two results files, field by field."""
    from cordtrial.isncsci.io.diff import diff_results, read_results
    from cordtrial.isncsci.io.streaming import engine_stamp

    out, err = Console(), Console(stderr=True)
    if output is not None:
        _check_writable(output, old, new, sidecars=False)
    with _unusable():
        before, after = read_results(old), read_results(new)
    found = diff_results(before, after)
    if output is not None:
        _write(found.changes, output)
    elif len(found.changes):
        _print_table(out, _table(found.changes, title="Changed results"))
    for label, path in (("old", old), ("new", new)):
        stamp = engine_stamp(path)
        made_by = "engine not recorded" if stamp is None else str(stamp)
        err.print(f"{label}: {path} ({made_by})", highlight=False, markup=False, soft_wrap=True)
    fields = " ".join(f"{name}={n}" for name, n in found.fields.items()) or "none"
    lines = [
        f"{found.compared} exams in both: {found.changed} changed, "
        f"{found.compared - found.changed} unchanged; {found.old_only} only in old, "
        f"{found.new_only} only in new. Changed fields: {fields}"
    ]
    if output is not None:
        lines.append(f"differences: {output}")
    err.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(0 if found.identical else 1)


@isncsci_app.command("explain")
def explain_command(
    input: InputArg,
    exam_id: Annotated[
        str, typer.Option("--id", help="The exam's id (its row number if INPUT has no id).")
    ],
    dialect: DialectOpt = None,
) -> None:
    """Explain the classification of one exam of INPUT, reason by reason."""
    import pandas as pd

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
    from cordtrial.isncsci.io.formats import read_frame

    with _unusable():
        return read_frame(path, _dialect(dialect), arrow=False)  # one row read as Python values


def _dialect(option: DialectOption | None) -> Dialect | None:
    if option is None:
        return None
    return "praxis" if option is DialectOption.praxis else "canonical"


@contextmanager
def _unusable() -> Iterator[None]:
    """Unreadable input or an output that cannot be written: one line, exit status 2."""
    from cordtrial.isncsci.io.formats import FileFormatError, UnreadableInputError

    try:
        yield
    except UnreadableInputError as error:
        _fail(f"cannot read {error}", code=2)
    except FileFormatError as error:
        _fail(f"cannot write {error}", code=2)


def _engine(
    ctx: typer.Context, name: EngineOption, scheduler: str | None, threads: int | None
) -> Engine:
    """The chunk classifier; a Dask client lives until the command ends."""
    if name is EngineOption.local:
        if scheduler is not None:
            _fail("--scheduler needs --engine dask", code=2)
        from cordtrial.isncsci.io.streaming import classify_chunks

        return functools.partial(classify_chunks, workers=threads)
    if threads is not None:
        _fail("--threads needs --engine local (Dask workers have threads of their own)", code=2)
    try:
        from cordtrial.isncsci.io.distributed import client_for, dask_engine
    except ImportError as error:
        _fail(str(error), code=2)
    try:
        client = ctx.with_resource(client_for(scheduler))
    except (OSError, TimeoutError) as error:
        _fail(f"cannot reach the Dask scheduler {scheduler}: {error}", code=2)
    return dask_engine(client)


def _check_writable(output: Path, *inputs: Path, sidecars: bool = True) -> None:
    from cordtrial.isncsci.io.formats import FileFormatError, errors_path, format_of
    from cordtrial.isncsci.io.streaming import meta_path

    try:
        format_of(output)
    except FileFormatError as error:
        _fail(f"cannot write {error}", code=2)
    if not output.parent.is_dir():
        _fail(f"cannot write {output}: folder {output.parent} does not exist", code=2)
    targets = [output, errors_path(output), meta_path(output)] if sidecars else [output]
    for target in targets:
        if target.is_dir():
            _fail(f"cannot write {target}: is a directory", code=2)
        for input in inputs:
            if input.resolve() == target.resolve():
                _fail(f"cannot write {output}: it would overwrite the input {input}", code=2)


def _write(table: pd.DataFrame, path: Path) -> None:
    from cordtrial.isncsci.io.formats import FileFormatError, write_results

    try:
        write_results(table, path)
    except FileFormatError as error:
        _fail(f"cannot write {error}", code=2)
    except OSError as error:
        _fail(f"cannot write {path}: {error.strerror or error}", code=2)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"cordtrial: error: {message}", err=True)
    raise typer.Exit(code)


def _summary(classified: int, rejected: int, grades: Counter[str], output: Path | None) -> str:
    from cordtrial.isncsci.io.formats import errors_path
    from cordtrial.isncsci.io.streaming import meta_path

    # single grades A-E first, then the ranges NT leaves open (A,C) and starred grades
    ordered = sorted(grades, key=lambda grade: (len(grade), grade))
    distribution = " ".join(f"{grade}={grades[grade]}" for grade in ordered) or "none"
    lines = [
        f"{classified + rejected} exams: {classified} classified, {rejected} rejected. "
        f"AIS: {distribution}"
    ]
    if output is not None:
        lines.append(
            f"results: {output}; rejected rows: {errors_path(output)}; "
            f"run record: {meta_path(output)}"
        )
    return "\n".join(lines)


@contextmanager
def _progress_bar(console: Console) -> Iterator[_ProgressCallback]:
    """A callback for each chunk that shows a progress bar on ``console`` (a terminal) once the
    input proves longer than ``PROGRESS_THRESHOLD`` exams: exams done and exams per second,
    against the exams in the file where known (Parquet, JSON), else against its bytes."""
    progress: Progress | None = None
    task: TaskID | None = None
    started = time.perf_counter()

    def on_chunk(done: StreamProgress) -> None:
        nonlocal progress, task
        by_bytes = done.total_exams is None and done.total_bytes is not None
        completed = done.bytes_read if by_bytes else done.exams
        rate = done.exams / max(time.perf_counter() - started, 1e-9)
        if progress is None:
            if not console.is_terminal or _expected_exams(done) <= PROGRESS_THRESHOLD:
                return
            progress = Progress(
                TextColumn("classifying"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[exams]:,} exams"),
                TextColumn("{task.fields[rate]:,.0f} exams/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
            )
            total = done.total_bytes if by_bytes else done.total_exams
            task = progress.add_task(
                "classify", total=total, completed=completed or 0, exams=done.exams, rate=rate
            )
            progress.start()
        assert task is not None
        progress.update(task, completed=completed, exams=done.exams, rate=rate)

    try:
        yield on_chunk
    finally:
        if progress is not None:
            progress.stop()


def _expected_exams(done: StreamProgress) -> float:
    if done.total_exams is not None:
        return done.total_exams
    if done.total_bytes and done.bytes_read:
        return done.exams * done.total_bytes / done.bytes_read
    return done.exams


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


def _mount_trial_commands() -> None:
    # the trial store's commands (database, users, audit) live beside the trial package
    from cordtrial.trial_cli import audit_app, db_app, mount_data_commands, user_app

    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")
    mount_data_commands(app)
    from cordtrial.serve_cli import serve

    app.command("serve")(serve)
    from cordtrial.report_cli import report_app

    app.add_typer(report_app, name="report")
    from cordtrial.design_cli import design_app

    app.add_typer(design_app, name="design")
    from cordtrial.imaging_cli import imaging_app

    app.add_typer(imaging_app, name="imaging")  # MRI surveillance (issue 14)
    from cordtrial.reporting_cli import reporting_app

    app.add_typer(reporting_app, name="reporting")
    from cordtrial.follow_up_cli import follow_up_app, product_app

    app.add_typer(follow_up_app, name="follow-up")
    app.add_typer(product_app, name="product")
    from cordtrial.medications_cli import medications_app

    app.add_typer(medications_app, name="medications")  # concomitant medication (issue 15)
    from cordtrial.immunosuppression_cli import immunosuppression_app

    app.add_typer(immunosuppression_app, name="immunosuppression")  # issue 15
    from cordtrial.lab_cli import import_labs_command
    from cordtrial.trial_cli import import_app

    import_app.command("labs")(import_labs_command)  # issue 15: lab results from a lab system


_mount_trial_commands()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
