"""``cordtrial serve``: migrate the trial store and run the web application (pages and API).

Mounted into :mod:`cordtrial.cli`. ``--demo`` runs on a separate SQLite store,
``DATA_DIR/demo/cordtrial.db``, seeded once with the synthetic demo trial
(:func:`cordtrial.trial.demo.seed_demo`); running it again reuses that store as it is.

The web settings come from the environment (:func:`cordtrial.web.settings.load_web_settings`:
``CORDTRIAL_TOKEN_MINUTES``, ``CORDTRIAL_MAX_BODY_BYTES``, ``CORDTRIAL_SECURE_COOKIES``,
``CORDTRIAL_TRUSTED_PROXIES``, ``CORDTRIAL_DB_POOL_SIZE``, ``CORDTRIAL_DB_MAX_OVERFLOW``); the
access log (one line per request, with the worker's process id) goes to standard error.

``--workers N`` runs N worker processes on one listening socket (uvicorn's process manager: it
restarts a worker that dies). Every worker is a whole server: sessions, lockout counters and
token revocation live in the database, so a request may reach any worker
(docs/scaling.md). More than one worker needs PostgreSQL: SQLite lets one process write at a
time, so ``--workers`` above 1 on SQLite (and with ``--demo``) is refused.
"""

from __future__ import annotations

import os
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
    from fastapi import FastAPI

    from cordtrial.web import WebSettings

__all__ = ["ServeTarget", "check_workers", "prepare_store", "serve", "serve_settings", "worker_app"]

#: The most worker processes ``serve --workers`` starts.
MAX_WORKERS = 64


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
    workers: Annotated[
        int,
        typer.Option(
            help="Worker processes serving on the one port (more than 1 needs PostgreSQL: "
            "CORDTRIAL_DATABASE_URL=postgresql://...).",
            min=1,
            max=MAX_WORKERS,
        ),
    ] = 1,
) -> None:
    """Run the web application: pages for people, the REST API under /api.

    Migrates the store first (creating it if missing); with --demo, seeds the demo trial once.
    """
    import uvicorn

    from cordtrial.trial.demo import DEMO_USERS
    from cordtrial.web import create_app

    location = store_location(data_dir, demo=demo)
    check_workers(workers, location.url, demo=demo)
    with creating_store(location):
        target = prepare_store(data_dir, demo=demo, today=date.today())
    if target.demo is not None:
        state = "seeded" if target.demo.created else "already seeded"
        typer.echo(f"demo trial {target.demo.protocol_id} ({state}; SYNTHETIC data)")
        typer.echo("demo logins (user / password):")
        for name, (role, sites, password) in DEMO_USERS.items():
            where = ", ".join(sites) if sites else "all sites"
            typer.echo(f"  {name:<14} {password}   ({role}, {where})")
    typer.echo(f"database: {_without_password(target.database_url)}")
    typer.echo(f"open http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    settings = serve_settings(target, demo=demo)
    beside = store_location(data_dir, demo=demo).path
    if settings.reports_dir is None and beside is not None:
        # the report archive beside the SQLite store it documents
        settings = settings.model_copy(update={"reports_dir": beside.parent / "reports"})
    if workers > 1:
        typer.echo(f"{workers} worker processes")
        # each worker builds its app from the environment (worker_app), on the prepared store
        os.environ["CORDTRIAL_DATABASE_URL"] = target.database_url
        uvicorn.run(
            f"{__name__}:worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=False,
        )
        return
    _preload()
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


def check_workers(workers: int, database_url: str, *, demo: bool) -> None:
    """Refuse (``typer.BadParameter``) more than one worker on SQLite or the demo store."""
    if workers == 1:
        return
    if demo or database_url.startswith("sqlite"):
        store = "the demo store (SQLite)" if demo else "a SQLite store"
        raise typer.BadParameter(
            f"{workers} workers on {store}: more than one worker process needs PostgreSQL "
            "(set CORDTRIAL_DATABASE_URL=postgresql://USER@HOST/DATABASE), since SQLite lets "
            "one process write at a time; use 1 worker on SQLite",
            param_hint="--workers",
        )


def worker_app() -> FastAPI:
    """The application of one worker process of ``serve --workers N`` (uvicorn's factory).

    The parent process has migrated the store, checked the settings and put the store's URL in
    ``CORDTRIAL_DATABASE_URL``; each worker reads the same environment.
    """
    from cordtrial.web import create_app, load_web_settings

    _preload()
    _log_access_to_stderr()
    app = create_app(load_web_settings())
    typer.echo(f"worker process {os.getpid()} ready", err=True)
    return app


def _preload() -> None:
    # the dashboard's stopping rule needs pandas and scipy: load them now, not on the first page
    import cordtrial.analysis.safety
    import cordtrial.analysis.store  # noqa: F401


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


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
        handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] access %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
