"""The trial store's errors as HTTP responses; the only place that knows the status codes.

=========================  ====  ==========================================================
error                      code  body
=========================  ====  ==========================================================
AuthenticationError        401   ``detail``; ``WWW-Authenticate: Bearer``
AccessDeniedError          403   ``detail``
NotFoundError              404   ``detail`` (also for records at sites the user may not see)
ConflictError              409   ``detail``, ``entity``, ``expected_version``,
                                 ``current_version``
InvalidValueError          422   ``detail``: ``[{loc, msg, type, input, allowed}]``, like
                                 FastAPI's own validation errors
ReasonRequiredError        422   ``detail``: ``[{loc: ["body", "reason"], ...}]``
RuleViolationError         422   ``detail``: one ``{loc: ["body"], type: "rule_violation",
                                 rule, msg}`` per reason
other TrialError           422   ``detail``
a number the database      422   ``detail``: ``[{loc: ["body"], type: "out_of_range"}]``
cannot store (overflow)
=========================  ====  ==========================================================
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError

from cordtrial.trial.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConflictError,
    InvalidValueError,
    NotFoundError,
    ReasonRequiredError,
    RuleViolationError,
    TrialError,
)

__all__ = ["ERROR_RESPONSES", "ConflictRead", "ErrorRead", "InvalidRead", "install_error_handlers"]


class ErrorRead(BaseModel):
    """The body of a 401, 403 or 404 answer."""

    detail: str


class ConflictRead(BaseModel):
    """The body of a 409 answer: the version the client sent and the stored one."""

    detail: str
    entity: str
    expected_version: int | None
    current_version: int | None


class InvalidItem(BaseModel):
    """One problem of a 422 answer (FastAPI's own items, or the store's with ``allowed``)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class InvalidRead(BaseModel):
    """The body of a 422 answer: field-level items (or, for another refusal, a message)."""

    detail: list[InvalidItem] | str


#: The error answers of every route, for the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorRead, "description": "No valid bearer token (or login refused)"},
    403: {"model": ErrorRead, "description": "The role does not allow it"},
    404: {"model": ErrorRead, "description": "Not found, or at a site the user may not see"},
    409: {"model": ConflictRead, "description": "The record changed since that version"},
    422: {"model": InvalidRead, "description": "A value, a reason or a trial rule refused"},
}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=jsonable_encoder(body), headers=headers)


def _safe(value: object) -> object:
    try:
        return jsonable_encoder(value)
    except (TypeError, ValueError):
        return repr(value)


async def _authentication(request: Request, exc: Exception) -> JSONResponse:
    return _json(401, {"detail": str(exc)}, {"WWW-Authenticate": "Bearer"})


async def _access_denied(request: Request, exc: Exception) -> JSONResponse:
    return _json(403, {"detail": str(exc)})


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return _json(404, {"detail": str(exc)})


async def _conflict(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConflictError)
    return _json(
        409,
        {
            "detail": str(exc),
            "entity": exc.entity,
            "expected_version": exc.expected,
            "current_version": exc.current,
        },
    )


async def _invalid_value(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidValueError)
    item = {
        "loc": ["body", *exc.field.split(".")],
        "msg": f"{exc.problem} ({exc.allowed})",
        "type": "value_error",
        "input": _safe(exc.value),
        "allowed": exc.allowed,
    }
    return _json(422, {"detail": [item]})


async def _reason_required(request: Request, exc: Exception) -> JSONResponse:
    item = {"loc": ["body", "reason"], "msg": str(exc), "type": "missing", "input": None}
    return _json(422, {"detail": [item]})


async def _rule_violation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RuleViolationError)
    items = [
        {"loc": ["body"], "msg": reason, "type": "rule_violation", "rule": exc.rule}
        for reason in exc.reasons
    ]
    return _json(422, {"detail": items})


async def _trial_error(request: Request, exc: Exception) -> JSONResponse:
    return _json(422, {"detail": str(exc)})


async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
    # A safety net: the schemas bound every integer, so a value the database's columns cannot
    # hold (SQLite: 64-bit, PostgreSQL: 32-bit integers) should not get this far.
    item = {
        "loc": ["body"],
        "msg": "a number is out of the range the database stores",
        "type": "out_of_range",
    }
    return _json(422, {"detail": [item]})


def install_error_handlers(app: FastAPI) -> None:
    """Map the trial store's errors to responses (the most specific class wins)."""
    app.add_exception_handler(AuthenticationError, _authentication)
    app.add_exception_handler(AccessDeniedError, _access_denied)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(InvalidValueError, _invalid_value)
    app.add_exception_handler(ReasonRequiredError, _reason_required)
    app.add_exception_handler(RuleViolationError, _rule_violation)
    app.add_exception_handler(TrialError, _trial_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)
