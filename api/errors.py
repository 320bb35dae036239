"""Every error the API answers is JSON `{"error": {"code", "message"}}` with the right status.

Messages name the problem (a field, a header, a rule) and never repeat the request's content:
a rejected lead document must not echo the customer's name or address into logs or proxies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger("api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorDetail


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def describe_validation(errors: list[Any], skip: int = 0) -> str:
    """'customer.email: String should have at most 200 characters; kind: Input should be …'
    from pydantic's errors, without their `input` (which may be personal data)."""
    parts = []
    for error in errors:
        location = ".".join(str(p) for p in error.get("loc", ())[skip:]) or "(body)"
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    return "; ".join(dict.fromkeys(parts))


def invalid(error: ValidationError, what: str = "body") -> ApiError:
    return ApiError(422, "invalid_" + what, describe_validation(error.errors()))


# Statuses FastAPI/Starlette raise themselves, as codes a client can switch on.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_body",
    429: "throttled",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", describe_validation(list(error.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(error.status_code, "error")
        message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
        return error_response(error.status_code, code, message)

    @app.middleware("http")
    async def _unexpected(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # Caught here rather than by an `Exception` handler, which Starlette re-raises so the
        # server logs the whole traceback: an exception's text can carry request content.
        try:
            return await call_next(request)
        except Exception as error:
            log.error("unexpected_error", error_type=type(error).__name__)
            return error_response(500, "internal", "internal error; the request may be retried")
