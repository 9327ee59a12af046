"""Files the trial store writes: owner-only, and CSV cells that no spreadsheet runs.

Databases, backups and exports hold participant data, so they are created readable by their
owner only, whatever the process's umask: files ``0600``, directories cordtrial creates
``0700``. A directory that already exists keeps its mode (it may be shared on purpose, e.g.
``/tmp``); the files in it are still ``0600``. Files are created with these modes from the
start (``os.open`` with the mode), never made first and narrowed after, so no other user can
open them in between.

Every CSV written by the trial side (exports, import error reports) passes its text cells
through :func:`cordtrial.isncsci.io.csv_safety.neutralize_csv_frame` (OWASP "CSV injection":
a cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading ``'``; numbers stay
numbers).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cordtrial.isncsci.io.csv_safety import neutralize_csv_frame

if TYPE_CHECKING:  # pandas is imported by whoever builds the frame, not by the store's commands
    import pandas as pd

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "create_private_file",
    "durable_replace",
    "open_private",
    "private_directory",
    "write_csv",
]

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_directory(path: Path) -> Path:
    """Create ``path`` and any missing parents as owner-only directories (existing ones are
    left as they are)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(directory, PRIVATE_DIR_MODE)  # mkdir's mode is narrowed by the umask only
    return path


def durable_replace(source: Path, target: Path) -> None:
    """Give the finished file ``source`` the name ``target``, durably: its data are flushed to
    the disk (``fsync``) before the rename and the folder's entry after it, so a crash or power
    cut leaves either no ``target`` or all of it (as ``pg_dump`` syncs what it writes)."""
    descriptor = os.open(source, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(source, target)
    folder = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def create_private_file(path: Path, *, exclusive: bool = False) -> None:
    """Create ``path`` empty and owner-only if it does not exist (``exclusive``: refuse an
    existing file with FileExistsError)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else 0)
    os.close(os.open(path, flags, PRIVATE_FILE_MODE))


@contextmanager
def open_private(path: Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open ``path`` for writing (truncated), created owner-only; ``mode`` ``w`` or ``wb``."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.fchmod(descriptor, PRIVATE_FILE_MODE)  # an existing file keeps its mode otherwise
    with os.fdopen(descriptor, mode, **kwargs) as stream:
        yield stream


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV (no index), owner-only, formula cells neutralized."""
    with open_private(path, "w", encoding="utf-8", newline="") as stream:
        neutralize_csv_frame(frame).to_csv(stream, index=False)
