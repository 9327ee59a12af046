"""What every request and response goes through: a cap on request bodies, security headers and
an access log. Plain ASGI middleware (no buffering of bodies).

* :class:`BodyLimitMiddleware` answers ``413 Request Entity Too Large`` to a body over
  ``max_body_bytes`` (1 MiB by default): at once when ``Content-Length`` says so, or as soon as a
  streamed body passes the limit.
* :class:`SecurityHeadersMiddleware` adds to every response a Content-Security-Policy that allows
  scripts only from this site (no inline script, no ``eval``), ``X-Frame-Options: DENY``,
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``; and
  ``Cache-Control: no-store`` on everything but the static assets, since pages and API answers
  may hold participant data.
* :class:`AccessLogMiddleware` logs one line per request to the ``cordtrial.access`` logger:
  method, path (no query string), status, user (``-`` when none) and duration. Never a body, a
  header or a query string, so no password, token or cookie reaches the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

__all__ = [
    "ACCESS_LOGGER",
    "CONTENT_SECURITY_POLICY",
    "AccessLogMiddleware",
    "BodyLimitMiddleware",
    "SecurityHeadersMiddleware",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The logger of the access log.
ACCESS_LOGGER: Final = "cordtrial.access"
#: Scripts, fonts and connections only from this site; styles may be inline (the worksheet grid
#: places cells with style attributes), never scripts.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS: Final = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
# Assets without participant data: the browser may keep them.
_CACHEABLE_PREFIXES: Final = ("/static/",)


def _printable(text: str) -> str:
    # one line per request: a path cannot forge log lines
    return "".join(c if c.isprintable() and c != " " else f"\\x{ord(c):02x}" for c in text)


async def _send_413(send: Send, limit: int) -> None:
    body = (
        f'{{"detail": "The request body is larger than the {limit} bytes this server '
        f'accepts (setting CORDTRIAL_MAX_BODY_BYTES)."}}'
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_body_bytes`` with 413."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _send_413(send, limit)
                    return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not started:
                    # answer now; the app sees the client gone and its answer is dropped
                    refused = True
                    await _send_413(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not refused:
                raise


class SecurityHeadersMiddleware:
    """Add the security headers (and ``Cache-Control: no-store``) to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith(_CACHEABLE_PREFIXES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                ] if not cacheable else list(message.get("headers", []))  # fmt: skip
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in _HEADERS if k not in present]
                if not cacheable:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class AccessLogMiddleware:
    """Log method, path, status, user and duration of every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.logger = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            state = scope.get("state") or {}
            self.logger.info(
                "%s %s %d user=%s %.1fms",
                scope.get("method", "-"),
                _printable(str(scope.get("path", "-"))),
                status,
                _printable(str(state.get("username") or "-")),
                (time.perf_counter() - start) * 1000,
            )
