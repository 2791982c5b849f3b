"""One error shape for every failure: ``{"error": message, ...}`` with the right status.

Input: exceptions raised while serving a request (ours, FastAPI's validation
errors, Starlette's routing errors, and real bugs). Output: JSON error
responses. Stage: shell (the HTTP API).

Routes raise ``ApiError`` with the status and message; this module turns it,
and everything the framework raises, into the documented error JSON. A
contract store that cannot be reached or used (``StoreUnavailable``, or a
database migrated by a newer version) is a 503 with ``Retry-After``: the
request may succeed later; the reason is logged in one line (it names the
database, without its password) and the client is told only that the store
is unavailable. A real
bug becomes a 500 whose log line names the exception type and the route, and
never the request's headers (the bearer token) or body.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from nomotic_dsl.runtime.contracts.backend import StoreSchemaError, StoreUnavailable

LOG = logging.getLogger("nomotic_dsl.http")
STORE_RETRY_SECONDS = 5


class ApiError(Exception):
    """A request the API refuses: an HTTP status, a message, and optional extra fields."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        """The response body: the message first, then the extra fields."""
        return {"error": self.message, **self.extra}


def error_response(
    status_code: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A JSON error response with ``error`` and any extra fields."""
    headers = dict(headers or {})
    if status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": message, **extra}, status_code=status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every failure the documented error JSON."""
    for exc_class, handler in _handlers().items():
        app.add_exception_handler(exc_class, handler)


ErrorHandler = Callable[[Request, Exception], Awaitable[JSONResponse]]


def error_handler_for(exc: Exception) -> ErrorHandler:
    """The handler ``install_error_handlers`` registers for ``exc`` (its nearest class)."""
    handlers = _handlers()
    for exc_class in type(exc).__mro__:
        if exc_class in handlers:
            return handlers[exc_class]
    return _unexpected_error  # pragma: no cover - Exception is registered


def _handlers() -> dict[type[Exception], ErrorHandler]:
    return {
        ApiError: _api_error,
        RequestValidationError: _validation_error,
        StarletteHTTPException: _http_error,
        StoreUnavailable: _store_unavailable,
        StoreSchemaError: _store_unavailable,
        Exception: _unexpected_error,
    }


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.message, headers=exc.headers, **exc.extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(error) for error in exc.errors()]
    summary = problems[0]["message"] if len(problems) == 1 else f"{len(problems)} problems"
    return error_response(422, f"invalid request: {summary}", problems=problems)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's only 400 is a body it cannot decode; the API calls every
        # unusable input 422.
        return error_response(422, "invalid request: the body is not UTF-8 JSON text")
    return error_response(exc.status_code, str(exc.detail))


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    LOG.warning("%s %s: %s", request.method, request.url.path, exc)  # one line, no traceback
    return error_response(
        503,
        "the contract store is unavailable; try again later",
        headers={"Retry-After": str(STORE_RETRY_SECONDS)},
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The method, path and exception are enough to find the bug; headers and
    # body may hold the bearer token or user data, so they are never logged.
    LOG.error(
        "unhandled %s on %s %s",
        type(exc).__name__,
        request.method,
        request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return error_response(500, "internal server error")


def _problem(error: Any) -> dict[str, str]:
    """One pydantic/FastAPI validation error as ``{"location", "message"}``."""
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "malformed")
        return {"location": "body", "message": f"body is not valid JSON: {reason}"}
    location = _location(error.get("loc", ()))
    message = str(error.get("msg", "invalid value"))
    return {"location": location, "message": f"{location}: {message}" if location else message}


def _location(parts: Sequence[Any]) -> str:
    return ".".join(str(part) for part in parts)
