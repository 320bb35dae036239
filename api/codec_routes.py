"""The codec endpoint (Temporal's codec-server protocol) for operators: the Temporal UI and
`temporal … --codec-endpoint` send encrypted payloads here and show them decoded.

POST /v1/codec/decode and /v1/codec/encode take and return `{"payloads": [...]}` (the JSON
form of `temporal.api.common.v1.Payloads`). Only with the operator token (BLANCO_OPERATOR_TOKEN):
as `Authorization: Bearer <token>` (the CLI's `--codec-auth`), or in the path,
`/v1/codec/op/<token>/decode`, for the Web UI, which cannot add a header of its own.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from api.bodies import EVENTS_LIMIT, read_body
from api.errors import ApiError
from api.openapi import ERRORS, body_schema
from codec import EncryptionCodec

router = APIRouter(prefix="/v1/codec", tags=["operators"], responses=ERRORS)


def check_operator(request: Request, token: str | None) -> None:
    expected: str | None = request.app.state.operator_token
    if not expected:
        raise ApiError(401, "unauthorized", "the codec endpoint is off: set BLANCO_OPERATOR_TOKEN")
    if not token:
        raise ApiError(401, "unauthorized", "missing operator token")
    given = hashlib.sha256(token.encode()).digest()
    if not hmac.compare_digest(given, hashlib.sha256(expected.encode()).digest()):
        raise ApiError(401, "unauthorized", "wrong operator token")


def bearer_operator(
    request: Request,
    authorization: Annotated[str | None, Header(max_length=1000)] = None,
    x_namespace: Annotated[str | None, Header(alias="X-Namespace", max_length=200)] = None,
) -> None:
    scheme, _, token = (authorization or "").partition(" ")
    check_operator(request, token.strip() if scheme.lower() == "bearer" else None)


def path_operator(request: Request, token: Annotated[str, Path(max_length=200)]) -> None:
    check_operator(request, token)


async def convert(request: Request, decode: bool) -> JSONResponse:
    codec: EncryptionCodec = request.app.state.codec
    body = await read_body(request, EVENTS_LIMIT)
    payloads = Payloads()
    try:
        json_format.Parse(body or b"{}", payloads)
    except (json_format.ParseError, ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_payloads", 'the body is not {"payloads": [...]}') from None
    try:
        done = await (codec.decode if decode else codec.encode)(list(payloads.payloads))
    except (InvalidTag, ValueError) as error:
        reason = "tampered or another key" if isinstance(error, InvalidTag) else str(error)
        raise ApiError(422, "undecodable", f"a payload cannot be decrypted: {reason}") from None
    answer: dict[str, Any] = json_format.MessageToDict(Payloads(payloads=done))
    return JSONResponse(answer or {"payloads": []})


PAYLOADS = body_schema("application/json", None)


@router.post("/decode", dependencies=[Depends(bearer_operator)], openapi_extra=PAYLOADS)
async def decode(request: Request) -> JSONResponse:
    return await convert(request, decode=True)


@router.post("/encode", dependencies=[Depends(bearer_operator)], openapi_extra=PAYLOADS)
async def encode(request: Request) -> JSONResponse:
    return await convert(request, decode=False)


@router.post("/op/{token}/decode", dependencies=[Depends(path_operator)], openapi_extra=PAYLOADS)
async def decode_for_ui(request: Request) -> JSONResponse:
    return await convert(request, decode=True)


@router.post("/op/{token}/encode", dependencies=[Depends(path_operator)], openapi_extra=PAYLOADS)
async def encode_for_ui(request: Request) -> JSONResponse:
    return await convert(request, decode=False)
