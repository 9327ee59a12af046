"""The application factory."""

import gc
import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cordtrial import __version__
from cordtrial.trial.database import make_engine, make_session_factory
from cordtrial.web.api import api_router
from cordtrial.web.docs import SWAGGER_STATIC_DIR
from cordtrial.web.docs import router as docs_router
from cordtrial.web.errors import install_error_handlers
from cordtrial.web.health import router as health_router
from cordtrial.web.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
)
from cordtrial.web.pages import STATIC_DIR, install_page_error_handlers
from cordtrial.web.pages import router as pages_router
from cordtrial.web.settings import WebSettings, load_web_settings

__all__ = ["create_app"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _engine(settings: WebSettings) -> Engine:
    if settings.database_url.startswith("sqlite"):
        return make_engine(settings.database_url)
    return make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )


#: Whether this process has frozen its start-up objects (:func:`_lifespan`).
_FROZEN: list[bool] = []


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At start-up: load what the dashboard needs (the stopping rule's modules, with scipy),
    then move every object loaded so far (modules, routes, templates) to the cyclic collector's
    permanent generation (``gc.freeze``), so that a full collection walks only what requests
    made. Without it, a full collection walks about 365,000 start-up objects (260 ms here) and
    lands on one request in ten or twenty (see docs/benchmarks.md, "Pauses of the cyclic
    garbage collector"). Garbage is collected first, so nothing unreachable is frozen; done once
    per process (a process that starts several apps, as the tests do, freezes at the first)."""
    if not _FROZEN:
        importlib.import_module("cordtrial.analysis.safety")
        importlib.import_module("cordtrial.analysis.store")
        gc.collect()
        gc.freeze()
        _FROZEN.append(True)
    yield


def create_app(
    settings: WebSettings | None = None,
    *,
    session_factory: sessionmaker[Session] | None = None,
    clock: Callable[[], datetime] = _utc_now,
) -> FastAPI:
    """The cordtrial web application.

    Parameters
    ----------
    settings : WebSettings, optional
        Default: :func:`load_web_settings` (the environment), read now.
    session_factory : sessionmaker, optional
        Sessions on the trial store; default: an engine on ``settings.database_url`` (the
        schema must be migrated: ``cordtrial db upgrade``).
    clock : callable, optional
        Returns the current moment (aware); tests pass a fixed one.
    """
    settings = settings if settings is not None else load_web_settings()
    if session_factory is None:
        session_factory = make_session_factory(_engine(settings))
    app = FastAPI(
        title="cordtrial",
        version=__version__,
        summary="Trial store of cell therapies for spinal cord injury: REST API",
        # /docs is served from local assets by cordtrial.web.docs (no CDN, no inline script)
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.clock = clock
    install_error_handlers(app)
    install_page_error_handlers(app)
    app.include_router(api_router, prefix="/api")
    app.include_router(pages_router)
    app.include_router(docs_router)
    app.include_router(health_router)
    app.mount("/static/swagger-ui", StaticFiles(directory=SWAGGER_STATIC_DIR), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # each added one wraps the ones before: the access log sees every answer, and the 413s of
    # the body limit get the security headers too
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.trusted_proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.add_middleware(AccessLogMiddleware)
    return app
