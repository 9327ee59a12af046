"""``/docs``: the API's Swagger UI, working offline.

The Swagger UI assets (5.32.6) come from the ``fastapi-offline`` package, pinned in
pyproject.toml, and are served under ``/static/swagger-ui``; the page loads them and one small
script of ours (``/static/swagger-init.js``) -- no CDN, and no inline script, so the
Content-Security-Policy of :mod:`cordtrial.web.middleware` holds here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

__all__ = ["SWAGGER_STATIC_DIR", "router"]


def _swagger_static_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"


#: Where the pinned Swagger UI assets are.
SWAGGER_STATIC_DIR: Final = _swagger_static_dir()

_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>cordtrial API · Swagger UI</title>
  <link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
  <link rel="icon" href="/static/swagger-ui/favicon.png">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="/openapi.json"></div>
  <script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/swagger-init.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    """The interactive API documentation."""
    return HTMLResponse(_PAGE)
