"""The API over real HTTP: a uvicorn server on 127.0.0.1 serving `create_app` without a
client, so the app connects to Temporal itself at start-up (lazily, from TEMPORAL_ADDRESS)
the way `python -m api` does; a worker in the test process works the leads."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator

from activities.senders import Senders
from api.app import create_app
from api.bodies import INTAKE_LIMIT
from leads.config import Config
from providers.outbox import OutboxProvider
from tests.api.conftest import (
    PARSE_AUTH,
    PUBLIC_BASE,
    TOKENS,
    TWILIO_TOKEN,
    SendGridKeys,
    api_config,
    assert_error,
    customer_lead,
    inbound_secrets,
    signed,
)
from tests.api.served import serve
from tests.conftest import eventually
from tests.ports import free_port
from worker import build_worker

INTAKE = "/v1/dealers/autohuis-test/leads"
SMS = "/v1/inbound/twilio/messages"
STATUS = "/v1/inbound/twilio/status"
PARSE = "/v1/inbound/sendgrid/parse"
# str.isdigit() holds for superscript digits, int() refuses them: found by test_schema.py.
UNICODE_DIGITS = "06 ¹²³⁴⁵⁶⁷⁸"
ETHIOPIC_ONE = "\u1369"  # a digit to str.isdigit(), to int() not; NFKC leaves it
TIMEOUT = httpx.Timeout(15.0)


@dataclass(frozen=True)
class Served:
    base_url: str
    config: Config
    outbox: Path

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=TIMEOUT)

    def lines(self) -> list[dict[str, Any]]:
        if not self.outbox.exists():
            return []
        return [json.loads(line) for line in self.outbox.read_text().splitlines()]


def temporal_env(address: str, namespace: str = "default") -> dict[str, str]:
    return {"TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": namespace}


@pytest.fixture(scope="module")
async def served(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    task_queue = f"uvicorn-{uuid.uuid4()}"
    config = api_config(task_queue)
    outbox = tmp_path_factory.mktemp("uvicorn") / "outbox.jsonl"
    secrets = inbound_secrets(SendGridKeys())
    app = create_app(config, client=None, secrets=secrets)
    senders = Senders(outbox=OutboxProvider(outbox))
    address = dev_env.client.service_client.config.target_host
    async with build_worker(dev_env.client, config, senders, task_queue=task_queue):
        with serve(app, env=temporal_env(address, dev_env.client.namespace)) as base_url:
            yield Served(base_url, config, outbox)


@pytest.fixture(scope="module")
def temporal_down() -> Iterator[str]:
    """The same API whose Temporal address is a port on 127.0.0.1 that nobody listens on."""
    app = create_app(api_config(f"down-{uuid.uuid4()}"))
    with serve(app, env=temporal_env(f"127.0.0.1:{free_port()}")) as base_url:
        yield base_url


async def test_healthz(served: Served) -> None:
    async with served.http() as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_a_signed_lead_is_accepted_once_and_followed_up(served: Served) -> None:
    body = json.dumps(customer_lead()).encode()
    headers = signed(body)
    async with served.http() as http:
        first = await http.post(INTAKE, content=body, headers=headers)
        assert first.status_code == 202, first.text
        accepted = first.json()
        assert accepted["duplicate"] is False
        lead_id = accepted["lead_id"]
        assert lead_id.startswith("lead-autohuis-test-")

        async def mine() -> list[dict[str, Any]]:
            return [line for line in served.lines() if line["lead_id"] == lead_id]

        await eventually(mine, lambda found: len(found) >= 1, deadline=20)

        again = await http.post(INTAKE, content=body, headers=headers)  # the same delivery
    assert again.status_code == 202, again.text
    assert again.json()["lead_id"] == lead_id
    assert again.json()["duplicate"] is True


async def test_an_unsigned_lead_is_refused(served: Served) -> None:
    async with served.http() as http:
        response = await http.post(
            INTAKE, json=customer_lead(), headers={"content-type": "application/json"}
        )
    assert_error(response, 401, "unauthorized")


async def test_the_task_list_needs_a_bearer_token(served: Served) -> None:
    async with served.http() as http:
        listed = await http.get("/v1/tasks", headers={"Authorization": f"Bearer {TOKENS['jan']}"})
        refused = await http.get("/v1/tasks")
    assert listed.status_code == 200, listed.text
    assert listed.headers["content-type"].startswith("application/json")
    assert isinstance(listed.json()["tasks"], list)
    assert_error(refused, 401, "unauthorized")


async def test_a_body_over_one_mib_is_refused_before_it_is_read(served: Served) -> None:
    body = b'{"pad": "' + b"x" * INTAKE_LIMIT + b'"}'
    async with served.http() as http:
        response = await http.post(INTAKE, content=body, headers=signed(body))
    assert_error(response, 413, "too_large")


async def test_a_streamed_body_over_one_mib_is_refused(served: Served) -> None:
    """Without a Content-Length the limit is counted while the body arrives."""
    chunk = b"x" * (64 * 1024)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(INTAKE_LIMIT // len(chunk) + 1):
            yield chunk

    async with served.http() as http:
        response = await http.post(INTAKE, content=chunks(), headers=signed(b"{}"))
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "too_large")


async def test_the_openapi_document_is_served(served: Served) -> None:
    async with served.http() as http:
        response = await http.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "post" in document["paths"][INTAKE.replace("autohuis-test", "{dealer_id}")]
    assert "/v1/tasks" in document["paths"]


async def test_temporal_down_answers_503_not_a_hang(temporal_down: str) -> None:
    body = json.dumps(customer_lead()).encode()
    async with httpx.AsyncClient(base_url=temporal_down, timeout=TIMEOUT) as http:
        alive = await http.get("/healthz")
        response = await http.post(INTAKE, content=body, headers=signed(body))
    assert alive.status_code == 200  # it serves while Temporal is away
    assert_error(response, 503, "temporal_unavailable", "temporal_timeout")


async def test_temporal_down_an_erasure_answers_503(temporal_down: str) -> None:
    """The erasure workflow's start goes through the same mapping as every Temporal call."""
    lead_id = "lead-autohuis-test-" + "0" * 24
    manager = {"Authorization": f"Bearer {TOKENS['marieke']}"}
    async with httpx.AsyncClient(base_url=temporal_down, timeout=TIMEOUT) as http:
        response = await http.delete(f"/v1/leads/{lead_id}", headers=manager)
    assert_error(response, 503, "temporal_unavailable", "temporal_timeout")


async def test_a_lead_whose_phone_has_unicode_digits_is_no_server_error(served: Served) -> None:
    lead = customer_lead(customer={"name": "Pieter", "phone": UNICODE_DIGITS})
    body = json.dumps(lead).encode()
    async with served.http() as http:
        response = await http.post(INTAKE, content=body, headers=signed(body))
    assert response.status_code in (202, 422), response.text


async def test_an_sms_from_unicode_digits_is_no_server_error(served: Served) -> None:
    params = {"From": UNICODE_DIGITS, "To": "+3197010000099", "Body": "hallo", "MessageSid": "SM1"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_BASE + SMS, params)
    async with served.http() as http:
        response = await http.post(SMS, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code in (200, 422), response.text


async def test_a_failed_status_with_an_odd_error_code_is_acknowledged(served: Served) -> None:
    """ErrorCode "²" (a digit to str.isdigit(), not to int()) once answered 500."""
    touch = f"lead-autohuis-test-{'a' * 24}:1:sms"  # well formed; no such lead runs
    url = f"{STATUS}?touch={quote(touch, safe='')}"
    params = {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "²"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_BASE + url, params)
    async with served.http() as http:
        response = await http.post(url, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ignored"


async def test_an_auto_reply_with_odd_digits_in_its_date_is_no_server_error(
    served: Served,
) -> None:
    form = {
        "from": "klant@example.nl",
        "to": "verkoop@autohuis-test.nl",
        "subject": "Out of office",
        "text": f"I am back on {ETHIOPIC_ONE} December.",
        "headers": "Auto-Submitted: auto-replied\n",
    }
    auth = "Basic " + base64.b64encode(PARSE_AUTH.encode()).decode()
    async with served.http() as http:
        response = await http.post(
            PARSE, data=form, files={"attachment1": ("a.txt", b"")}, headers={"Authorization": auth}
        )
    assert response.status_code == 200, response.text
