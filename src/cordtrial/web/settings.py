"""Settings of the web application, read from the environment when asked, never at import.

* the trial store's settings (``CORDTRIAL_DATABASE_URL``, ``CORDTRIAL_DATA_DIR``);
* ``CORDTRIAL_TOKEN_MINUTES`` -- how long an API token lasts (default 480, a working day).
"""

from collections.abc import Mapping
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from cordtrial.trial.settings import load_settings

__all__ = ["WebSettings", "load_web_settings"]


class WebSettings(BaseModel):
    """Validated settings of the web application."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str
    token_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    #: The app runs on the synthetic demo trial (pages show a banner and the demo logins).
    demo: bool = False

    @property
    def token_lifetime(self) -> timedelta:
        """How long an issued token lasts."""
        return timedelta(minutes=self.token_minutes)


def load_web_settings(environ: Mapping[str, str] | None = None) -> WebSettings:
    """Build the settings from ``environ`` (default: the process environment)."""
    import os

    env = os.environ if environ is None else environ
    store = load_settings(env)
    minutes = env.get("CORDTRIAL_TOKEN_MINUTES")
    if minutes:
        return WebSettings(database_url=store.database_url, token_minutes=int(minutes))
    return WebSettings(database_url=store.database_url)
