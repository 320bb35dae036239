"""A property-based run of the OpenAPI document (schemathesis) against the API served by
uvicorn: whatever a client sends, the API answers no 5xx, only documented statuses and
content types, and bodies that match the documented schemas.

Generated requests alone mostly stop at the door (a random signature is a 401, a random lead
id a 404). So every valid generated case is sent a second time made real: signed the way
its sender signs (Standard Webhooks, Twilio, SendGrid), its path naming things that exist
(the configured dealer, a lead delivered for that operation, the lead's unsubscribe link),
its message addressed to the dealer. Salesperson routes always carry jan's Bearer token,
the reports the manager marieke's.
That second request is what reaches the workflows: random leads are started, random calls
and outcomes are recorded, random SMS and e-mails become replies or new leads."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator

from activities.senders import Senders
from api.app import create_app
from client import connect
from leads.identity import task_id, unsubscribe_token
from providers.outbox import OutboxProvider
from tests.api.conftest import (
    PARSE_AUTH,
    PUBLIC_BASE,
    SECRET,
    TOKENS,
    TWILIO_TOKEN,
    SendGridKeys,
    api_config,
    customer_lead,
    inbound_secrets,
    signed,
)
from tests.api.served import serve
from worker import build_worker

ApiCase = Case[Any]  # a case of any operation of the OpenAPI schema
DEALER = "autohuis-test"
DEALER_SMS = "+3197010000099"
DEALER_EMAIL = "verkoop@autohuis-test.nl"
BEARER = {"Authorization": f"Bearer {TOKENS['jan']}"}
MANAGER = {"Authorization": f"Bearer {TOKENS['marieke']}"}
OPERATOR = "operator-token-for-the-schema-run"


def credentials(case: ApiCase) -> dict[str, str]:
    """Salesperson routes carry jan's token, the reports (managers only) marieke's, the codec
    endpoint the operator's."""
    tags = case.operation.tags or []
    if "operators" in tags and case.operation.path.startswith("/v1/codec/"):
        return {"Authorization": f"Bearer {OPERATOR}"}
    if "reports" in tags:
        return dict(MANAGER)
    return dict(BEARER) if "salespeople" in tags else {}


CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def standard_webhook_headers(raw: bytes) -> dict[str, str]:
    headers = signed(raw)
    del headers["content-type"]  # the generated case sets its own
    return headers


@dataclass(frozen=True)
class RealLead:
    lead_id: str
    document: dict[str, Any]


@dataclass
class World:
    """The served API and what exists in it, to make generated requests real."""

    base_url: str
    sendgrid: SendGridKeys
    leads: dict[str, RealLead] = field(default_factory=dict)

    def lead_for(self, operation: str) -> RealLead:
        """A lead of its own per operation (delivered on first use), so that one operation
        closing its lead (an outcome) leaves the others working on an open one."""
        if operation not in self.leads:
            document = customer_lead()
            raw = json.dumps(document).encode()
            headers = standard_webhook_headers(raw) | {"content-type": "application/json"}
            url = f"{self.base_url}/v1/dealers/{DEALER}/leads"
            response = httpx.post(url, content=raw, headers=headers, timeout=15)
            assert response.status_code == 202, response.text
            self.leads[operation] = RealLead(response.json()["lead_id"], document)
        return self.leads[operation]

    def made_real(self, case: ApiCase) -> tuple[ApiCase, dict[str, str], dict[str, Any]] | None:
        """The case with real path parameters, messages about the operation's own lead, and
        its sender's credentials: (case, headers, keyword arguments for the call). None for
        negative cases: they are invalid on purpose, and made real they would be refused
        before anything is looked up, or turn positive."""
        if case.meta is not None and case.meta.generation.mode.is_negative:
            return None
        real = case.derive()
        path = case.operation.path
        lead = self.lead_for(case.operation.label)
        customer = lead.document["customer"]
        values = {
            "dealer_id": DEALER,
            "lead_id": lead.lead_id,
            "task_id": task_id(lead.lead_id, 1),
            "token": (
                OPERATOR
                if path.startswith("/v1/codec/")
                else unsubscribe_token(SECRET, lead.lead_id, "email")
            ),
        }
        real.path_parameters.update(
            {name: values[name] for name in case.path_parameters if name in values}
        )
        headers = credentials(case)
        kwargs: dict[str, Any] = {}
        body = real.body
        if path == "/v1/dealers/{dealer_id}/chat" and isinstance(body, dict):
            # A reply in the conversation of the lead, named the ways a platform names it.
            mentions = {
                "lead_id": lead.lead_id,
                "external_id": lead.document["external_id"],
                "source": lead.document["source"],
            }
            body = {**body, **{name: value for name, value in mentions.items() if name in body}}
        if path.startswith("/v1/dealers/") and isinstance(body, (dict, list, str)):
            raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            headers |= standard_webhook_headers(raw)
            kwargs["data"] = raw
        elif path.startswith("/v1/inbound/twilio/"):
            fields = body if isinstance(body, dict) else {}
            params = {str(name): str(value) for name, value in fields.items()}
            url = PUBLIC_BASE + path
            if path.endswith("/messages"):  # the customer texting the dealer
                params |= {"From": customer["phone"], "To": DEALER_SMS}
            else:  # a report on the lead's first message, as the send activity keyed it
                query = {"touch": f"{lead.lead_id}:1:sms"}
                url += "?" + urlencode(query)
                kwargs["params"] = query
            validator = RequestValidator(TWILIO_TOKEN)
            headers["X-Twilio-Signature"] = validator.compute_signature(url, params)
            kwargs["data"] = params
        elif path == "/v1/inbound/sendgrid/events" and body is not None:
            if isinstance(body, list):  # events about the lead's first e-mail
                touch = f"{lead.lead_id}:1:email"
                body = [{**e, "blanco_touch": touch} if isinstance(e, dict) else e for e in body]
            raw = json.dumps(body).encode()
            headers |= self.sendgrid.headers(raw)
            kwargs["data"] = raw
        elif path == "/v1/inbound/sendgrid/parse":
            headers["Authorization"] = "Basic " + base64.b64encode(PARSE_AUTH.encode()).decode()
            if isinstance(body, dict):  # the customer mailing the dealer
                real.body = {**body, "from": customer["email"], "to": DEALER_EMAIL}
        return real, headers, kwargs


@pytest.fixture(scope="module")
def world(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The API, and a worker in the server's own event loop: the schemathesis tests are
    synchronous and block the test's loop, so a worker there would stand still."""
    task_queue = f"schema-{uuid.uuid4()}"
    config = api_config(task_queue)
    outbox = tmp_path_factory.mktemp("schema") / "outbox.jsonl"
    keys = SendGridKeys()
    secrets = inbound_secrets(keys)
    address = dev_env.client.service_client.config.target_host
    namespace = dev_env.client.namespace

    @asynccontextmanager
    async def worker() -> AsyncIterator[None]:
        client = await connect(address, namespace)
        senders = Senders(outbox=OutboxProvider(outbox))
        async with build_worker(client, config, senders, task_queue=task_queue):
            yield

    app = create_app(config, client=None, secrets=secrets, operator_token=OPERATOR)
    env = {"TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": namespace}
    with serve(app, env=env, alongside=worker) as base_url:
        yield World(base_url, keys)


@pytest.fixture(scope="module")
def api_schema(world: World) -> OpenApiSchema:
    return schemathesis.openapi.from_url(f"{world.base_url}/openapi.json")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32.5's `from_fixture` tests read and rename `item._nodeid`, which
    pytest 9.2 no longer has (node ids live in `_id`): without this the test dies with
    AttributeError before sending anything. The renaming then only labels its own output."""
    vars(request.node).setdefault("_nodeid", request.node.nodeid)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_documented_promises(case: ApiCase, world: World) -> None:
    headers = credentials(case)
    case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)
    made_real = world.made_real(case)
    if made_real is not None:
        real, real_headers, kwargs = made_real
        response = real.call_and_validate(headers=real_headers, checks=CHECKS, timeout=30, **kwargs)
        # The credentials are right by construction: a 401 means this run lost its point.
        assert response.status_code != 401, f"{case.operation.label}: {response.text}"
