"""Every log line of a scripted lead, at DEBUG, carries ids and no personal data.

`worker.py` and `python -m api` run as processes, as an operator runs them, with
BLANCO_LOG_LEVEL=DEBUG and both output streams captured whole. The worker sends through the
real `sendgrid` and `twilio` clients to the local fakes, which answer with errors that quote
the customer's address and number. One customer goes through it all: a signed intake; the
first touch, which cannot go out on WhatsApp (no template), fails on e-mail once for a while
and then for good, and goes out by SMS on its second attempt; their SMS reply with text
through the signed Twilio webhook; the reply task and its alerts; the salesperson claiming it
and recording outcomes until the lead closes. Then every
captured line must be JSON, name none of the customer's data in any spelling, and carry the
bound ids: activity lines their lead, dealer, workflow, run, activity and attempt, workflow
lines their lead, workflow and run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator

from processes import stop
from tests.api.conftest import signed
from tests.conftest import eventually
from tests.fakes.sendgrid import FakeSendGrid, error_reply
from tests.fakes.twilio import FakeTwilio
from tests.fakes.twilio import error_reply as twilio_error
from tests.ports import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEALER = "autohuis-noord"
SECRET = "whsec_bG9ncy10ZXN0LXNlY3JldC1mb3ItYmxhbmNv"
DEALER_SMS = "+3197010000055"
JAN_TOKEN = "jan-token-for-the-log-test"
OPERATOR = "operator-token-for-the-log-test"

NAME = "Zwaantje Bloemhof-Kwakkelstein"
EMAIL = "zwaantje.bloemhof@kwakkelmail.nl"
PHONE_TYPED = "06-3817 2649"
PHONE_E164 = "+31638172649"
MESSAGE = "Heeft de Kuga nog een trekhaak voor onze caravan?"
REPLY = "Zaterdagochtend om tien uur past mij prima voor een proefrit"

# Everything that would identify the customer or repeat what they wrote, in the spellings a
# log line could carry it (compared case-insensitively).
PERSONAL = [
    NAME,
    "Zwaantje",
    "Bloemhof",
    "Kwakkelstein",
    EMAIL,
    "zwaantje.bloemhof",
    "kwakkelmail",
    PHONE_TYPED,
    "3817 2649",
    PHONE_E164,
    "0638172649",
    "31638172649",
    "638172649",
    "38172649",
    MESSAGE,
    "trekhaak voor onze caravan",
    REPLY,
    "proefrit",
    "Zaterdagochtend",
]


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def config_toml(task_queue: str, public_base_url: str) -> str:
    return f"""
[temporal]
task_queue = "{task_queue}"

[api]
public_base_url = "{public_base_url}"

[[dealers]]
id = "{DEALER}"
name = "Autohuis Noord"
timezone = "Europe/Amsterdam"
locale = "nl"
webhook_secret = "{SECRET}"
email_from = "verkoop@autohuis-noord.nl"
reply_domain = "reply.autohuis-noord.nl"
sms_from = "{DEALER_SMS}"
whatsapp_from = "whatsapp:+3197010000056"
contact_window = "always"
business_hours = "always"
cadence = ["0s", "1d"]
grace = "2d"

[[dealers.salespeople]]
id = "jan"
name = "Jan"
email = "jan@autohuis-noord.nl"
role = "sales"
token_sha256 = "{sha(JAN_TOKEN)}"

[[dealers.salespeople]]
id = "marieke"
name = "Marieke"
email = "marieke@autohuis-noord.nl"
role = "manager"
"""


@dataclass
class Stack:
    api: str
    worker_log: Path
    api_log: Path

    def lines(self) -> list[str]:
        return [
            line
            for path in (self.worker_log, self.api_log)
            for line in path.read_text(errors="replace").splitlines()
            if line.strip()
        ]

    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.lines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def stack(
    dev_env: WorkflowEnvironment,
    fake_sendgrid: FakeSendGrid,
    fake_twilio: FakeTwilio,
    tmp_path: Path,
) -> Iterator[Stack]:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    config = tmp_path / "blanco.toml"
    config.write_text(config_toml(f"logs-{uuid.uuid4()}", api))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SENDGRID_", "TWILIO_", "BLANCO_"))
    }
    env.update(
        BLANCO_CODEC_KEY=os.environ["BLANCO_CODEC_KEY"],
        BLANCO_CONFIG=str(config),
        BLANCO_LOG_LEVEL="DEBUG",
        BLANCO_OUTBOX=str(tmp_path / "outbox.jsonl"),
        BLANCO_RESULTS_URL=f"sqlite:///{tmp_path / 'results.db'}",
        BLANCO_OPERATOR_TOKEN=OPERATOR,
        BLANCO_WORKER_METRICS=f"127.0.0.1:{free_port()}",
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        SENDGRID_API_KEY=str(fake_sendgrid.api_key),
        SENDGRID_API_HOST=fake_sendgrid.host,
        TWILIO_ACCOUNT_SID=fake_twilio.account_sid,
        TWILIO_AUTH_TOKEN=fake_twilio.auth_token,
        TWILIO_API_BASE_URL=fake_twilio.base_url,
    )
    stack = Stack(api, tmp_path / "worker.log", tmp_path / "api.log")
    worker = start(["worker.py"], env, stack.worker_log)
    server = start(["-m", "api", "--port", str(port)], env, stack.api_log)
    try:
        yield stack
    finally:
        stop([worker, server])


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.api, timeout=15) as client:
        await eventually(lambda: _healthy(client), bool, deadline=30)
        yield client


async def _healthy(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/healthz")).status_code == 200
    except httpx.TransportError:
        return False


LEAD = {
    "source": "marktplaats",
    "external_id": "mp-logs-1",
    "kind": "offer",
    "customer": {
        "name": NAME,
        "email": EMAIL,
        "phone": PHONE_TYPED,
        "preferred_channel": "whatsapp",
    },
    "vehicle": {"make": "Ford", "model": "Kuga"},
    "message": MESSAGE,
    "offer_amount": 14500,
}


async def test_no_log_line_carries_personal_data(
    stack: Stack,
    http: httpx.AsyncClient,
    fake_sendgrid: FakeSendGrid,
    fake_twilio: FakeTwilio,
) -> None:
    # The providers' errors quote the address and the number, as theirs do.
    fake_sendgrid.script(
        error_reply(500, f"could not deliver to {EMAIL} right now"),
        error_reply(400, f"Does not contain a valid address: {EMAIL}", "to"),
    )
    fake_twilio.script(twilio_error(20503, 503, f"Service unavailable for {PHONE_E164}"))
    jan = {"Authorization": f"Bearer {JAN_TOKEN}"}

    # A stranger's path and an invalid document carry personal data: neither is logged.
    assert (await http.get(f"/v1/leads/{EMAIL}", headers=jan)).status_code == 404
    bad = json.dumps({**LEAD, "kind": NAME}).encode()
    answer = await http.post(
        f"/v1/dealers/{DEALER}/leads", content=bad, headers=signed(bad, SECRET)
    )
    assert answer.status_code == 422

    body = json.dumps(LEAD).encode()
    answer = await http.post(
        f"/v1/dealers/{DEALER}/leads", content=body, headers=signed(body, SECRET)
    )
    assert answer.status_code == 202, answer.text
    lead_id = answer.json()["lead_id"]

    async def lead() -> dict[str, Any]:
        found: dict[str, Any] = (await http.get(f"/v1/leads/{lead_id}", headers=jan)).json()
        return found

    # WhatsApp has no template outside its window; e-mail fails (retried), then for good; SMS
    # fails once and is retried.
    state = await eventually(lead, lambda s: len(s.get("touches", [])) >= 1, deadline=30)
    assert [t["channel"] for t in state["touches"]] == ["sms"], state["touches"]
    assert len(fake_sendgrid.mails) == 2 and len(fake_twilio.messages) == 2

    # The customer answers by SMS, through Twilio's signed webhook.
    path = "/v1/inbound/twilio/messages"
    params = {"From": PHONE_E164, "To": DEALER_SMS, "Body": REPLY, "MessageSid": "SM" + "1" * 32}
    signature = RequestValidator(fake_twilio.auth_token).compute_signature(stack.api + path, params)
    answer = await http.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200, answer.text

    async def tasks() -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = (await http.get("/v1/tasks", headers=jan)).json()["tasks"]
        return listed

    (task,) = await eventually(tasks, lambda found: len(found) == 1, deadline=30)
    claimed = await http.post(f"/v1/tasks/{task['task_id']}/claim", headers=jan)
    assert claimed.status_code == 200, claimed.text
    outcome = f"/v1/leads/{lead_id}/outcome"
    appointment = {"outcome": "appointment", "appointment_at": "2030-01-05T10:00:00+01:00"}
    assert (await http.post(outcome, json=appointment, headers=jan)).status_code == 200
    assert (await http.post(outcome, json={"outcome": "won"}, headers=jan)).status_code == 200
    # Asking a closed lead replays its history on the worker: that must log nothing again.
    assert (await eventually(lead, lambda s: s.get("status") == "won"))["status"] == "won"

    def closed(events: list[dict[str, Any]]) -> bool:
        names = {e.get("event") for e in events}
        return {"lead_closed", "task_done"} <= names

    await eventually(lambda: asyncio.to_thread(stack.events), closed, deadline=30)
    events = stack.events()
    lines = stack.lines()

    # JSON, one object per line: structlog's lines and stdlib's (Temporal, uvicorn, …).
    assert len(events) == len(lines), [line for line in lines if not line.startswith("{")]
    assert all({"timestamp", "level", "event", "logger"} <= set(e) for e in events)
    # The scan covers every source of lines, at DEBUG, and plenty of them.
    sources = {e["logger"] for e in events}
    assert sources >= {
        "worker",  # structlog, the worker's own
        "activities.sending",  # structlog, in activities
        "activities.alerts",
        "temporalio.activity",  # stdlib, the SDK's activity logger
        "temporalio.worker._activity",  # stdlib, DEBUG
        "temporalio.workflow",  # stdlib, workflow.logger
        "api",  # structlog, the API's own
        "api.access",  # structlog, one line per request
        "uvicorn.error",  # stdlib, the server
    }, sources
    assert {e["level"] for e in events} >= {"debug", "info", "warning"}
    assert len(lines) >= 60, len(lines)

    # Nothing personal, in any spelling.
    for line in lines:
        lowered = line.lower()
        leaked = [needle for needle in PERSONAL if needle.lower() in lowered]
        assert not leaked, f"{leaked} in {line}"
    secrets = (JAN_TOKEN, fake_twilio.auth_token, str(fake_sendgrid.api_key), OPERATOR)
    assert not [line for line in lines if any(secret in line for secret in secrets)]

    # Every activity line carries the activity's whole context; the retries their attempt.
    activity_lines = [e for e in events if "activity" in e]
    for event in activity_lines:
        missing = {"lead_id", "workflow_id", "run_id", "activity", "attempt", "dealer"} - set(event)
        assert not missing, (missing, event)
        assert (event["lead_id"], event["dealer"]) == (lead_id, DEALER), event
    assert {e["activity"] for e in activity_lines} == {
        "open_lead",  # the plan and the opt-out look-up, in one (patch lean-history)
        "send_touch",
        "send_message",  # the appointment's confirmation
        "alert_salespeople",
        "record_conversation",  # the results store's figures
    }
    sent = [
        e for e in activity_lines if e["event"] == "touch_sent" and e["activity"] == "send_touch"
    ]
    conversation = sent[0]["run_id"]  # the first run of the lead: its conversation
    assert [(e["attempt"], e["touch_key"]) for e in sent] == [
        (2, f"{lead_id}:{conversation}:1:sms")
    ]

    # Every workflow line carries its workflow's ids: the lead's and its task's lines, each
    # once (asking the closed lead replayed it: nothing was logged again).
    workflow_lines = [e for e in events if e["logger"] == "temporalio.workflow"]
    for event in workflow_lines:
        assert {"lead_id", "workflow_id", "run_id", "dealer"} <= set(event), event
        assert (event["lead_id"], event["dealer"]) == (lead_id, DEALER), event
    assert {e["workflow_id"] for e in workflow_lines} == {lead_id, task["task_id"]}
    names = [e["event"] for e in workflow_lines]
    for name in ("lead_started", "customer_replied", "task_opened", "task_claimed", "lead_closed"):
        assert names.count(name) == 1, (name, names)
    assert names.count("touch_recorded") == 1 and names.count("touch_failed") == 2, names
    assert names.count("outcome_recorded") == 2, names

    # The API: one access line per request, with the route's template, never the path.
    requests = [e for e in events if e["event"] == "request"]
    assert {e["route"] for e in requests} == {
        "/healthz",
        "/v1/dealers/{dealer_id}/leads",
        "/v1/inbound/twilio/messages",
        "/v1/leads/{lead_id}",
        "/v1/leads/{lead_id}/outcome",
        "/v1/tasks",
        "/v1/tasks/{task_id}/claim",
    }
    stranger = next(e for e in requests if e["status"] == 404)
    assert stranger["route"] == "/v1/leads/{lead_id}" and "lead_id" not in stranger
    claim_line = next(e for e in requests if e["route"] == "/v1/tasks/{task_id}/claim")
    assert claim_line["lead_id"] == lead_id and claim_line["dealer"] == DEALER
    assert claim_line["status"] == 200 and claim_line["method"] == "POST"
    assert claim_line["task_id"] == task["task_id"] and claim_line["duration_ms"] > 0
    accepted = next(e for e in events if e["event"] == "lead_accepted")
    assert accepted["route"] == "/v1/dealers/{dealer_id}/leads" and accepted["lead_id"] == lead_id
