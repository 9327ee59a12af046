"""The trial store as every ``cordtrial`` command opens it: ``--data-dir`` and ``--demo``.

One meaning for every command (``serve``, ``db``, ``user``, ``audit``, ``import``, ``export``,
``backup``, ``restore``, ``report``):

* ``--demo``: the synthetic demo trial's SQLite store, ``DATA_DIR/demo/cordtrial.db`` (the one
  ``cordtrial serve --demo`` seeds);
* ``--data-dir DIR``: the SQLite store ``DIR/cordtrial.db``;
* neither: ``CORDTRIAL_DATABASE_URL``, else ``cordtrial.db`` in ``CORDTRIAL_DATA_DIR`` (default
  ``~/.local/share/cordtrial``).

:func:`existing_store` opens a store that must already exist and be migrated: a missing store (a
typo in ``--data-dir``, a demo never started) is an error naming the path and the command that
creates it, never a new empty file. Only the commands whose job is to create a store
(``db upgrade``, ``serve``, ``restore``) use :func:`store_location` and create it.

Standard library and Typer only at import: the trial package (SQLAlchemy, pydantic) is imported
when a command runs, so ``cordtrial --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.orm import Session

    from cordtrial.trial.models import User
    from cordtrial.trial.services.common import RowImportReport
    from cordtrial.trial.settings import Settings

__all__ = [
    "DataDirOption",
    "DemoOption",
    "StoreLocation",
    "check_output_folder",
    "creating_store",
    "existing_store",
    "fail",
    "opening_store",
    "run_row_import",
    "store_location",
]

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Data directory: the store DIR/cordtrial.db (default: CORDTRIAL_DATABASE_URL, "
        "else CORDTRIAL_DATA_DIR, else ~/.local/share/cordtrial).",
        show_default=False,
    ),
]
DemoOption = Annotated[
    bool,
    typer.Option(
        "--demo",
        help="The synthetic demo trial's store, DATA_DIR/demo/cordtrial.db (seeded by "
        "`cordtrial serve --demo`).",
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``cordtrial: error: MESSAGE`` on standard error and end with exit status ``code``."""
    typer.echo(f"cordtrial: error: {message}", err=True)
    raise typer.Exit(code)


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """Where a command's trial store is.

    Attributes
    ----------
    url : str
        The SQLAlchemy URL.
    path : Path | None
        The SQLite file (``None`` for a database server).
    demo : bool
        The demo trial's store.
    data_dir : Path | None
        The ``--data-dir`` given, if any (for the hint of how to create the store).
    """

    url: str
    path: Path | None
    demo: bool
    data_dir: Path | None

    def options(self) -> str:
        """The options that name this store again, for messages (`` --demo --data-dir DIR``)."""
        shown = " --demo" if self.demo else ""
        return shown + (f" --data-dir {self.data_dir}" if self.data_dir is not None else "")

    def shown(self) -> str:
        """The store for people: the SQLite file, or the URL without its password."""
        if self.path is not None:
            return str(self.path)
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def creation_hint(self) -> str:
        """The command that creates this store."""
        if self.demo:
            return f"`cordtrial serve{self.options()}` creates and seeds it (scripts/demo runs it)"
        return f"create it with `cordtrial db upgrade{self.options()}`"


def store_location(data_dir: Path | None, *, demo: bool, url: str | None = None) -> StoreLocation:
    """The store named by ``--data-dir`` / ``--demo`` (see the module docstring), or by an
    explicit database ``url`` (``report --database``), which excludes both.

    Unusable settings (a malformed ``CORDTRIAL_DATABASE_URL``) end the command with status 2.
    """
    from cordtrial.trial.settings import DATABASE_FILE, normalize_database_url

    if url is not None:
        if demo or data_dir is not None:
            fail("--database names a store of its own: give it, or --data-dir/--demo, not both")
        try:
            url = normalize_database_url(url)
        except ValueError as exc:
            fail(f"--database: {exc}")
        return StoreLocation(url, _sqlite_file(url), False, None)

    if data_dir is not None:
        data_dir = data_dir.expanduser()
        if data_dir.exists() and not data_dir.is_dir():
            fail(f"--data-dir: {data_dir} is not a folder")
    if demo or data_dir is not None:
        base = data_dir
        if base is None:
            base = _settings().data_dir
        path = (base / "demo" / DATABASE_FILE) if demo else (base / DATABASE_FILE)
        return StoreLocation(f"sqlite:///{path}", path, demo, data_dir)
    url = _settings().database_url
    return StoreLocation(url, _sqlite_file(url), False, None)


def existing_store(
    data_dir: Path | None, *, demo: bool, url: str | None = None, any_revision: bool = False
) -> StoreLocation:
    """The store named by the options, which must exist and be at the code's schema revision.

    Checked before anything connects, so a missing SQLite file is never created: the command
    ends with status 2 and a message naming the store and how to create it. With
    ``any_revision`` (``backup``: a store is backed up before it is migrated) only the SQLite
    file's existence is checked here; the command opens the store itself, inside
    :func:`opening_store`, and refuses a store without a schema.
    """
    location = store_location(data_dir, demo=demo, url=url)
    if location.path is not None and not location.path.is_file():
        fail(f"no trial store at {location.path}: {location.creation_hint()}")
    if any_revision:
        return location
    from sqlalchemy.exc import SQLAlchemyError

    from cordtrial.trial.database import current_revision, head_revision

    try:
        revision = current_revision(location.url)
    except SQLAlchemyError as exc:
        fail(f"cannot open the trial store {location.shown()}: {_reason(exc)}")
    if revision is None:
        fail(f"the trial store {location.shown()} has no schema: {location.creation_hint()}")
    head = head_revision()
    if revision != head:
        fail(
            f"the trial store {location.shown()} is at schema revision {revision}, this "
            f"cordtrial needs {head}: migrate it with `cordtrial db upgrade{location.options()}`"
        )
    return location


@contextmanager
def opening_store(location: StoreLocation) -> Iterator[None]:
    """For a command that opens an existing store itself: a database that cannot be reached ends
    the command with status 2, naming the store (its password hidden) and the driver's reason."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as exc:
        fail(f"cannot open the trial store {location.shown()}: {_reason(exc)}")


@contextmanager
def creating_store(location: StoreLocation) -> Iterator[None]:
    """For the commands that create or migrate a store: a folder that cannot be made or a
    database that cannot be reached ends the command with status 2, naming the store."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except OSError as exc:
        fail(f"cannot create the trial store {location.shown()}: {exc.strerror or exc}")
    except SQLAlchemyError as exc:
        fail(f"cannot open the trial store {location.shown()}: {_reason(exc)}")


def check_output_folder(output: Path, option: str = "--output") -> None:
    """End with status 2 unless the folder that is to hold ``output`` exists (a typo in a path
    never creates folders)."""
    folder = output.expanduser().parent
    if not folder.is_dir():
        fail(f"{option}: cannot write {output}: the folder {folder} does not exist")


def _settings() -> Settings:
    from pydantic import ValidationError

    from cordtrial.trial.settings import load_settings

    try:
        return load_settings()
    except ValidationError as exc:
        fail("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()))


def _sqlite_file(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _reason(exc: Exception) -> str:
    # the driver's own message (first line), not SQLAlchemy's wrapper with the SQL and a link
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__


def run_row_import(
    file: Path,
    *,
    trial: str,
    user: str,
    data_dir: Path | None,
    demo: bool,
    columns_hint: str,
    run: Callable[[Session, User, pd.DataFrame], RowImportReport],
) -> None:
    """A record import's command: read ``file`` as text, open the store, check the trial and
    the ``study_id`` column, act as ``user`` (``enter_data``), ``run`` the import, print the
    report and each refused row (row number, study id, reason) and exit 1 when a row was
    refused; an unreadable file, an unknown trial or a missing column exit 2."""
    import pandas as pd

    from cordtrial.trial import NotFoundError, TrialError, make_engine, make_session_factory
    from cordtrial.trial.services.acting import acting_user
    from cordtrial.trial.services.common import get_trial

    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        fail(f"cannot read {file}: {exc}", 2)
    engine = make_engine(existing_store(data_dir, demo=demo).url)
    try:
        with make_session_factory(engine)() as session:
            get_trial(session, trial)
            if "study_id" not in frame.columns:
                fail(f"{file} has no study_id column ({columns_hint})", 2)
            report = run(session, acting_user(session, user, "enter_data"), frame)
    except NotFoundError as exc:  # an unknown trial is unusable input; an unknown user, refused
        fail(exc.human, 2 if exc.entity == "trial" else 1)
    except TrialError as exc:
        fail(exc.human, 1)
    finally:
        engine.dispose()
    typer.echo(str(report))
    for row, study_id, reason in report.errors:
        typer.echo(f"  row {row} ({study_id or 'no study id'}): {reason}", err=True)
    if report.errors:
        raise typer.Exit(1)
