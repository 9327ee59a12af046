"""Settings of the web application, read from the environment when asked, never at import.

* the trial store's settings (``CORDTRIAL_DATABASE_URL``, ``CORDTRIAL_DATA_DIR``; the report
  archive is DATA_DIR/reports);
* ``CORDTRIAL_TOKEN_MINUTES`` -- how long an API token or page session lasts (default 480, a
  working day);
* ``CORDTRIAL_MAX_BODY_BYTES`` -- the largest request body accepted (default 1048576, 1 MiB;
  larger ones are answered 413);
* ``CORDTRIAL_SECURE_COOKIES`` -- ``auto`` (default: cookies are ``Secure`` when the request came
  over HTTPS, directly or through a trusted proxy), ``always`` or ``never``;
* ``CORDTRIAL_TRUSTED_PROXIES`` -- comma-separated addresses of reverse proxies whose
  ``X-Forwarded-Proto`` and ``X-Forwarded-For`` are believed (``*``: any); empty: none;
* ``CORDTRIAL_DB_POOL_SIZE`` and ``CORDTRIAL_DB_MAX_OVERFLOW`` -- PostgreSQL connections each
  server process keeps open (default 5) and may open beyond those under load (default 10); with
  ``serve --workers N``, each of the N workers has its own pool (docs/scaling.md).
"""

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cordtrial.trial.settings import load_settings

__all__ = ["WebSettings", "load_web_settings"]

_ENVIRONMENT = {
    "token_minutes": "CORDTRIAL_TOKEN_MINUTES",
    "max_body_bytes": "CORDTRIAL_MAX_BODY_BYTES",
    "secure_cookies": "CORDTRIAL_SECURE_COOKIES",
    "trusted_proxies": "CORDTRIAL_TRUSTED_PROXIES",
    "db_pool_size": "CORDTRIAL_DB_POOL_SIZE",
    "db_max_overflow": "CORDTRIAL_DB_MAX_OVERFLOW",
}


class WebSettings(BaseModel):
    """Validated settings of the web application."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str
    token_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    #: The app runs on the synthetic demo trial (pages show a banner and the demo logins).
    demo: bool = False
    #: The largest request body accepted, in bytes.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024**3)
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    #: Reverse proxies whose forwarded headers are trusted ("" none, "*" any).
    trusted_proxies: str = ""
    #: PostgreSQL connections a server process keeps open (SQLAlchemy's ``pool_size``).
    db_pool_size: int = Field(default=5, ge=1, le=200)
    #: Connections it may open beyond those under load (SQLAlchemy's ``max_overflow``).
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    #: The report archive's folder (owner-only); default ``reports`` in the data directory.
    reports_dir: Path | None = None

    @property
    def report_folder(self) -> Path:
        """Where archived reports are written: :attr:`reports_dir`, else DATA_DIR/reports."""
        if self.reports_dir is not None:
            return self.reports_dir
        return load_settings().data_dir / "reports"

    @property
    def token_lifetime(self) -> timedelta:
        """How long an issued token lasts."""
        return timedelta(minutes=self.token_minutes)


def load_web_settings(environ: Mapping[str, str] | None = None) -> WebSettings:
    """Build the settings from ``environ`` (default: the process environment).

    Raises
    ------
    ValueError
        When a variable holds an unusable value; the message names the variable.
    """
    import os

    env = os.environ if environ is None else environ
    store = load_settings(env)
    values: dict[str, object] = {"database_url": store.database_url}
    for field, variable in _ENVIRONMENT.items():
        if env.get(variable):
            values[field] = env[variable].strip()
    try:
        return WebSettings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_ENVIRONMENT.get(str(e['loc'][0]), e['loc'][0])}={values.get(str(e['loc'][0]))!r}: "
            f"{e['msg']}"
            for e in exc.errors()
        )
        raise ValueError(f"web settings: {problems}") from exc
