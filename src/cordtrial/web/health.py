"""``/healthz``: the health check a load balancer or reverse proxy polls.

Open to anyone (no token: it says nothing about the trial), outside the API's schema. ``200
{"status": "ok"}`` when this server process answers and reaches its database (a ``SELECT 1``);
``503 {"status": "unavailable"}`` when it cannot reach the database, so that a proxy takes the
worker or machine out of rotation until it can (docs/scaling.md).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from cordtrial.trial.database import check_connection
from cordtrial.web.deps import SessionDep

__all__ = ["router"]

_log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def health(session: SessionDep) -> JSONResponse:
    """Whether this server process can serve: it answers and reaches its database."""
    try:
        check_connection(session)
    except SQLAlchemyError as exc:
        _log.warning("health check: the database cannot be reached: %s", type(exc).__name__)
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
