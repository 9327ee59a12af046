"""Where the trial store lives: settings read from the environment when asked, never at import.

* ``CORDTRIAL_DATABASE_URL`` -- a SQLAlchemy URL. ``postgresql://...`` (or ``postgres://``) is
  read as ``postgresql+psycopg://...`` (psycopg 3).
* ``CORDTRIAL_DATA_DIR`` -- the data directory for the embedded SQLite file ``cordtrial.db``;
  default ``$XDG_DATA_HOME/cordtrial``, i.e. ``~/.local/share/cordtrial``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["DATABASE_FILE", "Settings", "load_settings", "normalize_database_url"]

#: The SQLite file's name inside the data directory.
DATABASE_FILE = "cordtrial.db"

_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}
_DRIVERS_ALLOWED = "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DATABASE"


def normalize_database_url(url: str) -> str:
    """Check a database URL and name its driver explicitly (PostgreSQL goes through psycopg 3).

    Raises
    ------
    ValueError
        When the URL cannot be parsed or names another database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(
            f"database_url: {url!r} is not a database URL ({_DRIVERS_ALLOWED})"
        ) from exc
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(
            f"database_url: driver {parsed.drivername!r} is not supported ({_DRIVERS_ALLOWED})"
        )
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


class Settings(BaseModel):
    """Validated settings of the trial store."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path
    database_url: str

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite database."""
        return self.database_url.startswith("sqlite")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ`` (default: the process environment).

    Raises
    ------
    pydantic.ValidationError
        When a variable holds an unusable value (the message names the setting).
    """
    env = os.environ if environ is None else environ
    if env.get("CORDTRIAL_DATA_DIR"):
        data_dir = Path(env["CORDTRIAL_DATA_DIR"]).expanduser()
    else:
        base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")) / ".local" / "share")
        data_dir = Path(base).expanduser() / "cordtrial"
    url = env.get("CORDTRIAL_DATABASE_URL") or f"sqlite:///{data_dir / DATABASE_FILE}"
    return Settings(data_dir=data_dir, database_url=url)
