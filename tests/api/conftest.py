"""The API against the real dev server and a real worker: requests go through httpx into the
ASGI app, signed by the providers' own libraries (standardwebhooks, Twilio's
RequestValidator, an ECDSA key pair signing SendGrid events the way SendGrid does)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from standardwebhooks.webhooks import Webhook
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator

from activities.senders import Senders
from api.app import create_app
from api.deps import InboundSecrets
from leads.config import Config, parse_config, webhook_key
from leads.models import LeadState
from providers.outbox import OutboxProvider
from tests.conftest import dealer_dict, eventually
from worker import build_worker
from workflows.lead_follow_up import LeadFollowUp

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
PUBLIC_BASE = "https://blanco.example"
TWILIO_TOKEN = "twilio-auth-token-for-tests"
PARSE_AUTH = "parse:parse-secret"
TOKENS = {"jan": "jan-token", "marieke": "marieke-token", "piet": "piet-token"}
SECRET = "whsec_dGVzdC1zZWNyZXQtZm9yLWJsYW5jbw=="
OTHER_SECRET = "whsec_b3RoZXItZGVhbGVyLXNlY3JldA=="
PREFIX_SECRET = "whsec_cHJlZml4LWRlYWxlci1zZWNyZXQ="


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_config(task_queue: str) -> Config:
    people = [
        {"id": "jan", "name": "Jan", "role": "sales", "token_sha256": sha(TOKENS["jan"])},
        {"id": "marieke", "name": "M", "role": "manager", "token_sha256": sha(TOKENS["marieke"])},
    ]
    other = dealer_dict(
        id="autohuis-oost",
        name="Autohuis Oost",
        webhook_secret=OTHER_SECRET,
        email_from="verkoop@autohuis-oost.nl",
        reply_domain="reply.autohuis-oost.nl",
        sms_from="+3197010000077",
        whatsapp_from=None,
        salespeople=[{"id": "piet", "name": "Piet", "token_sha256": sha(TOKENS["piet"])}],
    )
    return parse_config(
        {
            "temporal": {"task_queue": task_queue},
            "api": {"public_base_url": PUBLIC_BASE},
            "dealers": [
                dealer_dict(
                    webhook_secret=SECRET,
                    contact_window="always",
                    business_hours="always",
                    salespeople=people,
                ),
                other,
                # An id that is a prefix of another dealer's: lead ids must be checked whole.
                dealer_dict(
                    id="autohuis",
                    name="Autohuis",
                    webhook_secret=PREFIX_SECRET,
                    email_from="verkoop@autohuis.nl",
                    reply_domain="reply.autohuis.nl",
                    sms_from="+3197010000066",
                    whatsapp_from=None,
                    salespeople=[],
                ),
            ],
        }
    )


def signed(
    body: bytes,
    secret: str = SECRET,
    msg_id: str | None = None,
    at: datetime | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Standard Webhooks headers, signed with the library dealer platforms use; a body that is
    not UTF-8 (which the library cannot sign) over its bytes, as the spec says."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    try:
        signature = Webhook(secret).sign(msg_id, at, body.decode())
    except UnicodeDecodeError:
        signature = signature_over_bytes(body, secret, msg_id, at)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": content_type,
    }


def signature_over_bytes(body: bytes, secret: str, msg_id: str, at: datetime) -> str:
    """`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.` and the raw body: what a platform
    signing an ISO-8859-1 or UTF-16 document sends (held to the library's own signatures on
    UTF-8 bodies by test_intake)."""
    key = webhook_key(secret)
    signed_content = f"{msg_id}.{int(at.timestamp())}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed_content, hashlib.sha256).digest()).decode()


def assert_error(response: httpx.Response, status: int, *codes: str) -> dict[str, Any]:
    """The API's error shape: JSON `{"error": {"code", "message"}}` with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    if codes:
        assert body["error"]["code"] in codes, body
    return body


@dataclass
class SendGridKeys:
    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def public_base64(self) -> str:
        """As SendGrid shows the verification key: base64 of the DER public key."""
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        signature = self.private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "Content-Type": "application/json",
        }


def inbound_secrets(keys: SendGridKeys) -> InboundSecrets:
    """The providers' webhook credentials every API test runs with."""
    return InboundSecrets(
        twilio_auth_token=TWILIO_TOKEN,
        sendgrid_event_public_key=keys.public_base64,
        sendgrid_parse_basic_auth=PARSE_AUTH,
    )


@dataclass
class Api:
    http: httpx.AsyncClient
    client: Client
    config: Config
    outbox: Path
    sendgrid: SendGridKeys

    # --- signing ------------------------------------------------------------------------

    signed = staticmethod(signed)

    async def deliver(
        self, lead: Mapping[str, Any], dealer: str = "autohuis-test", **sign: Any
    ) -> httpx.Response:
        body = json.dumps(lead).encode()
        secret = OTHER_SECRET if dealer == "autohuis-oost" else SECRET
        return await self.http.post(
            f"/v1/dealers/{dealer}/leads", content=body, headers=self.signed(body, secret, **sign)
        )

    async def twilio(
        self, path: str, params: dict[str, str], token: str = TWILIO_TOKEN
    ) -> httpx.Response:
        signature = RequestValidator(token).compute_signature(PUBLIC_BASE + path, params)
        return await self.http.post(path, data=params, headers={"X-Twilio-Signature": signature})

    async def sms(self, sender: str, text: str, to: str = "+3197010000099") -> httpx.Response:
        params = {"From": sender, "To": to, "Body": text, "MessageSid": f"SM{uuid.uuid4().hex}"}
        return await self.twilio("/v1/inbound/twilio/messages", params)

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKENS[who]}"}

    # --- looking ------------------------------------------------------------------------

    async def state(self, lead_id: str) -> LeadState:
        handle = self.client.get_workflow_handle_for(LeadFollowUp.run, lead_id)
        result: LeadState = await handle.query(LeadFollowUp.state)
        return result

    async def state_when(self, lead_id: str, accept: Any, deadline: float = 10) -> LeadState:
        """Poll the lead's state. A run that is still starting (its dealer plan loading, as
        when a reply has just started a new one) has no state yet: asked again."""

        async def probe() -> LeadState | None:
            try:
                return await self.state(lead_id)
            except WorkflowQueryFailedError:
                return None

        found = await eventually(probe, lambda s: s is not None and accept(s), deadline=deadline)
        assert found is not None
        return found

    async def exists(self, workflow_id: str) -> bool:
        try:
            await self.client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            return False
        return True

    async def exists_running(self, workflow_id: str) -> bool:
        try:
            described = await self.client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            return False
        return described.status == WorkflowExecutionStatus.RUNNING

    def lines(self) -> list[dict[str, Any]]:
        if not self.outbox.exists():
            return []
        return [json.loads(line) for line in self.outbox.read_text().splitlines()]

    async def lines_for(self, lead_id: str, count: int = 1) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]]:
            return [line for line in self.lines() if line["lead_id"] == lead_id]

        return await eventually(probe, lambda found: len(found) >= count, deadline=10)


@pytest.fixture(scope="module")
async def api(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Api]:
    async with served(dev_env.client, tmp_path_factory.mktemp("api")) as found:
        yield found


@asynccontextmanager
async def served(
    client: Client, folder: Path, wrap: Callable[[Any], Any] | None = None
) -> AsyncIterator[Api]:
    """The app and a worker on a task queue of their own, the outbox in `folder`; `wrap`:
    passed to `build_worker` (a test's failure injection at an activity's boundary)."""
    task_queue = f"api-{uuid.uuid4()}"
    config = api_config(task_queue)
    outbox = folder / "outbox.jsonl"
    keys = SendGridKeys()
    secrets = inbound_secrets(keys)
    app = create_app(config, client, secrets)
    senders = Senders(outbox=OutboxProvider(outbox))
    async with (
        build_worker(client, config, senders, task_queue=task_queue, wrap=wrap),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api.test"
        ) as http,
    ):
        yield Api(http, client, config, outbox, keys)


def in_days(days: int) -> str:
    """An appointment time to come: 10:00 in Amsterdam, `days` from now (ISO 8601)."""
    day = datetime.now(AMSTERDAM) + timedelta(days=days)
    return day.replace(hour=10, minute=0, second=0, microsecond=0).isoformat()


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def customer_lead(**overrides: Any) -> dict[str, Any]:
    """A lead with a fresh customer (unique e-mail and mobile), so tests never share one."""
    n = uuid.uuid4().int
    lead: dict[str, Any] = {
        "source": "marktplaats",
        "external_id": unique("mp-"),
        "kind": "offer",
        "customer": {
            "name": "Pieter",
            "email": f"pieter.{n % 10**9}@example.nl",
            "phone": f"+3161{n % 10**7:07d}",
        },
        "vehicle": {"make": "Volkswagen", "model": "Golf"},
        "message": "Wat is uw laagste prijs?",
        "offer_amount": 9500,
    }
    lead.update(overrides)
    return lead
