"""The trial store's errors as HTML pages for the page routes (the API keeps its JSON)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.responses import Response

from cordtrial.trial.errors import AccessDeniedError, NotFoundError, TrialError
from cordtrial.web.pages.rendering import render

__all__ = ["install_page_error_handlers"]

_PAGES = {
    NotFoundError: (404, "Not found"),
    AccessDeniedError: (403, "Not allowed"),
}


def _is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def install_page_error_handlers(app: FastAPI) -> None:
    """Render NotFoundError (404) and AccessDeniedError (403) as pages outside ``/api``; call
    after :func:`cordtrial.web.errors.install_error_handlers` (whose handlers ``/api`` keeps)."""
    for cls, (code, title) in _PAGES.items():
        api_handler = app.exception_handlers.get(cls)

        async def handler(
            request: Request,
            exc: Exception,
            api_handler: Callable[..., Any] | None = api_handler,
            code: int = code,
            title: str = title,
        ) -> Response:
            if _is_api(request) and api_handler is not None:
                result: Any = api_handler(request, exc)
                if inspect.isawaitable(result):
                    result = await result
                return cast(Response, result)
            detail = exc.human if isinstance(exc, TrialError) else str(exc)
            return render(
                request, "error.html", user=None, status_code=code, title=title, detail=detail
            )

        app.add_exception_handler(cls, handler)
