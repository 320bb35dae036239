"""The codec endpoint: the Temporal codec-server protocol, for operators only."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from google.protobuf import json_format
from httpx import ASGITransport, AsyncClient
from temporalio.api.common.v1 import Payload, Payloads

from api.app import create_app
from codec import Keyring, parse_key
from tests.api.conftest import Api, assert_error
from tests.conftest import TEST_CODEC_KEY

OPERATOR = "operator-token-for-tests"
UI = "http://localhost:8233"


@pytest.fixture
async def http(api: Api) -> AsyncIterator[AsyncClient]:
    app = create_app(
        api.config, api.client, keys=Keyring(parse_key(TEST_CODEC_KEY)), operator_token=OPERATOR
    )
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://api.test") as client:
        yield client


def body(*payloads: Payload) -> dict[str, object]:
    return json_format.MessageToDict(Payloads(payloads=list(payloads)))


PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'"Pieter"')


async def test_encode_then_decode_with_the_operator_token(http: AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {OPERATOR}", "X-Namespace": "default"}
    encoded = await http.post("/v1/codec/encode", json=body(PLAIN), headers=auth)
    assert encoded.status_code == 200
    assert "Pieter" not in encoded.text
    assert base64.b64decode(encoded.json()["payloads"][0]["metadata"]["encoding"]) == (
        b"binary/encrypted"
    )
    decoded = await http.post("/v1/codec/decode", json=encoded.json(), headers=auth)
    assert decoded.status_code == 200
    assert base64.b64decode(decoded.json()["payloads"][0]["data"]) == b'"Pieter"'
    # the Web UI's form: the token in the path
    via_ui = await http.post(f"/v1/codec/op/{OPERATOR}/decode", json=encoded.json())
    assert via_ui.json() == decoded.json()


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/codec/decode", {}),
        ("/v1/codec/decode", {"Authorization": "Bearer wrong"}),
        ("/v1/codec/encode", {"Authorization": f"Basic {OPERATOR}"}),
        ("/v1/codec/op/wrong/decode", {}),
    ],
)
async def test_the_codec_endpoint_refuses_without_the_operator_token(
    http: AsyncClient, path: str, headers: dict[str, str]
) -> None:
    assert_error(await http.post(path, json=body(PLAIN), headers=headers), 401, "unauthorized")


async def test_off_without_a_configured_token(api: Api) -> None:
    app = create_app(
        api.config, api.client, keys=Keyring(parse_key(TEST_CODEC_KEY)), operator_token=""
    )
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        response = await http.post(
            "/v1/codec/decode", json=body(PLAIN), headers={"Authorization": "Bearer "}
        )
    assert_error(response, 401)


async def test_the_ui_origin_may_call_it(http: AsyncClient) -> None:
    preflight = await http.options(
        "/v1/codec/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == UI
    other = await http.options(
        "/v1/codec/decode",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert other.headers.get("access-control-allow-origin") != "https://evil.example"


async def test_garbage_is_a_400(http: AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {OPERATOR}"}
    response = await http.post("/v1/codec/decode", content=b"{nope", headers=auth)
    assert_error(response, 400, "bad_payloads")
