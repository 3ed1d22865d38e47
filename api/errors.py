"""One JSON shape for every error, and handlers so that no request ends in a stack trace.

Every 4xx/5xx body is ``{"error": <code>, "message": <what to fix>}`` (validation errors add
``detail``, the fields at fault). Unexpected exceptions are logged server-side and answered with a
plain 500 message; the trace never reaches the client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from limits.errors import StorageError
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from api.auth import AuthError
from api.throttling import QueueFull, RateLimited
from assistant.records import InvalidTransition, RecordNotFound

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    error: str
    message: str
    detail: list[dict[str, Any]] | None = None


def _body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": _CODES.get(status, "error"), "message": message, **extra}


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(_body(status, message), status_code=status, headers=headers)


def error_doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


_doc = error_doc


# Documented on every /v1 route so clients (and schemathesis) know the error shapes.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("The request cannot be processed as sent"),
    401: _doc("Missing, expired or invalid credentials"),
    403: _doc("The caller's role may not use this route"),
    404: _doc("The named conversation, answer or hand-off does not exist"),
    413: _doc("The request body is too large"),
    422: _doc("The body or parameters do not match the schema"),
    429: _doc("The caller's rate limit is spent; see Retry-After"),
    503: _doc("Too many questions are waiting, or the service is not ready"),
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err["type"]}
            for err in exc.errors()
        ]
        first = detail[0] if detail else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"]) or "request"
        return JSONResponse(_body(422, f"{where}: {first['msg']}", detail=detail), status_code=422)

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> JSONResponse:
        return error_response(401, str(exc), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RecordNotFound)
    async def _missing(request: Request, exc: RecordNotFound) -> JSONResponse:
        return error_response(404, str(exc).strip("'\""))

    @app.exception_handler(InvalidTransition)
    async def _conflict(request: Request, exc: InvalidTransition) -> JSONResponse:
        return error_response(409, str(exc))

    @app.exception_handler(PermissionError)
    async def _forbidden(request: Request, exc: PermissionError) -> JSONResponse:
        return error_response(403, str(exc))

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, exc: RateLimited) -> JSONResponse:
        return error_response(429, str(exc), headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(QueueFull)
    async def _full(request: Request, exc: QueueFull) -> JSONResponse:
        return error_response(
            503,
            "the assistant is busy; please retry shortly",
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(StorageError)
    async def _shared_state_down(request: Request, exc: StorageError) -> JSONResponse:
        log.error("shared state (Redis) unavailable: %s", exc.storage_error)
        return error_response(
            503,
            "the service cannot check rate limits right now; please retry shortly",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; the request was not completed")
