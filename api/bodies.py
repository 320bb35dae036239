"""Reading request bodies within limits: a body over its cap is refused with 413 before it is
parsed, and forms are parsed from the bytes already read.

JSON bodies have one behaviour on every route: not UTF-8 or not JSON is 400 `bad_json`; a
document that does not fit its model, or carries a field the model does not know, is 422
naming the field. The API is the edge where that strictness belongs (leads.models.EDGE); what
it passes on to Temporal is tolerant."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message

from api.errors import ApiError, invalid
from leads.models import EDGE

M = TypeVar("M", bound=BaseModel)

KIB = 1024
MIB = 1024 * KIB
INTAKE_LIMIT = 1 * MIB  # a lead document or ADF file
FORM_LIMIT = 256 * KIB  # Twilio's webhooks, an unsubscribe click
EVENTS_LIMIT = 5 * MIB  # SendGrid batches events
MAIL_LIMIT = 30 * MIB  # SendGrid Inbound Parse: its own limit for a whole message
MAIL_PART_LIMIT = 10 * MIB  # Starlette's default (1 MiB) is too small for real HTML mails


def too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"body larger than {limit // KIB} KiB")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(
    request: Request, limit: int, part_limit: int = MIB, max_files: int = 100
) -> tuple[bytes, FormData]:
    body = await read_body(request, limit)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(
            max_files=max_files, max_fields=1000, max_part_size=part_limit
        )
    except (HTTPException, MultiPartException) as error:  # malformed, or over a part limit
        detail = str(getattr(error, "detail", None) or getattr(error, "message", ""))
        if "maximum size" in detail:
            raise too_large(part_limit) from None
        raise ApiError(400, "bad_form", f"the body is not a readable form: {detail}") from None
    return body, form


def text_fields(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


def parse_json(body: bytes, model: type[M], what: str) -> M:
    """`body` as `model`, strictly. JSON between systems is UTF-8 (RFC 8259 §8.1); a UTF-8
    byte order mark is tolerated, as the RFC allows."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ApiError(
            400, "bad_json", f"the body is not UTF-8 (byte {error.start}): JSON must be UTF-8"
        ) from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise ApiError(400, "bad_json", f"the body is not JSON: {type(error).__name__}") from None
    try:
        return model.model_validate(data, extra=EDGE)
    except ValidationError as error:
        raise invalid(error, what) from None


def json_body(model: type[M], what: str) -> Callable[[Request], Awaitable[M]]:
    """A route dependency: the request's JSON body as `model` (see `parse_json`). Routes
    declare the body's schema with `api.openapi.body_schema`, since FastAPI does not parse it."""

    async def dependency(request: Request) -> M:
        return parse_json(await read_body(request, INTAKE_LIMIT), model, what)

    return dependency
