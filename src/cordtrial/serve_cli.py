"""``cordtrial serve``: migrate the trial store and run the web application (pages and API).

Mounted into :mod:`cordtrial.cli`. ``--demo`` runs on a separate SQLite store,
``DATA_DIR/demo/cordtrial.db``, seeded once with the synthetic demo trial
(:func:`cordtrial.trial.demo.seed_demo`); running it again reuses that store as it is.

The web settings come from the environment (:func:`cordtrial.web.settings.load_web_settings`:
``CORDTRIAL_TOKEN_MINUTES``, ``CORDTRIAL_MAX_BODY_BYTES``, ``CORDTRIAL_SECURE_COOKIES``,
``CORDTRIAL_TRUSTED_PROXIES``); the access log (one line per request) goes to standard error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cordtrial.cli_store import DataDirOption, DemoOption, creating_store, store_location

if TYPE_CHECKING:
    from cordtrial.trial.demo import DemoTrial

# the trial store, the web app and uvicorn are imported when `serve` runs, not by `cordtrial --help`

if TYPE_CHECKING:
    from cordtrial.web import WebSettings

__all__ = ["ServeTarget", "prepare_store", "serve", "serve_settings"]


@dataclass(frozen=True, slots=True)
class ServeTarget:
    """The database the app will run on, and the demo seeded into it (if any)."""

    database_url: str
    demo: DemoTrial | None


def prepare_store(data_dir: Path | None, *, demo: bool, today: date) -> ServeTarget:
    """Choose the database, migrate it to the latest revision and, for the demo, seed it.

    Without ``demo``: ``CORDTRIAL_DATABASE_URL``, or the SQLite file in ``data_dir`` (default:
    the settings' data directory). With ``demo``: ``DATA_DIR/demo/cordtrial.db``, always SQLite.
    """
    from cordtrial.trial.database import make_engine, make_session_factory, upgrade
    from cordtrial.trial.demo import seed_demo

    url = store_location(data_dir, demo=demo).url
    upgrade(url)
    if not demo:
        return ServeTarget(url, None)
    engine = make_engine(url)
    try:
        seeded = seed_demo(make_session_factory(engine), today=today)
    finally:
        engine.dispose()
    return ServeTarget(url, seeded)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    demo: DemoOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Run the web application: pages for people, the REST API under /api.

    Migrates the store first (creating it if missing); with --demo, seeds the demo trial once.
    """
    import uvicorn

    from cordtrial.trial.demo import DEMO_USERS
    from cordtrial.web import create_app

    with creating_store(store_location(data_dir, demo=demo)):
        target = prepare_store(data_dir, demo=demo, today=date.today())
    if target.demo is not None:
        state = "seeded" if target.demo.created else "already seeded"
        typer.echo(f"demo trial {target.demo.protocol_id} ({state}; SYNTHETIC data)")
        typer.echo("demo logins (user / password):")
        for name, (role, sites, password) in DEMO_USERS.items():
            where = ", ".join(sites) if sites else "all sites"
            typer.echo(f"  {name:<14} {password}   ({role}, {where})")
    typer.echo(f"database: {target.database_url}")
    typer.echo(f"open http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    # the dashboard's stopping rule needs pandas and scipy: load them now, not on the first page
    import cordtrial.analysis.safety
    import cordtrial.analysis.store  # noqa: F401

    settings = serve_settings(target, demo=demo)
    beside = store_location(data_dir, demo=demo).path
    if settings.reports_dir is None and beside is not None:
        # the report archive beside the SQLite store it documents
        settings = settings.model_copy(update={"reports_dir": beside.parent / "reports"})
    _log_access_to_stderr()
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        # the app's middleware handles forwarded headers, from the trusted proxies only
        proxy_headers=False,
    )


def serve_settings(target: ServeTarget, *, demo: bool) -> WebSettings:
    """The web settings of ``cordtrial serve``: the environment's, on the prepared store."""
    from cordtrial.web import load_web_settings

    try:
        settings = load_web_settings()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return settings.model_copy(update={"database_url": target.database_url, "demo": demo})


def _log_access_to_stderr() -> None:
    import logging
    import sys

    from cordtrial.web.middleware import ACCESS_LOGGER

    logger = logging.getLogger(ACCESS_LOGGER)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s access %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
