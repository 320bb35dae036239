"""Reading request bodies within limits: a body over its cap is refused with 413 before it is
parsed, and forms are parsed from the bytes already read."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message

from api.errors import ApiError

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
