"""The worker's business series on its Prometheus endpoint, next to the SDK's own: a real
worker on the dev server whose client runs on `worker.metrics_runtime` (one Runtime for this
module: it is process-wide and heavy), three leads taken through a touch, a reply and a won
outcome, two opt-outs, and an automatic `unreachable`. Every count is exact, replaying the
histories adds nothing, and no label holds what a customer wrote or a lead id."""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.senders import Senders
from client import start_lead
from leads.config import Config, parse_config
from leads.models import (
    Channel,
    CustomerReplied,
    Lead,
    LeadState,
    LeadStatus,
    OptedOut,
    Outcome,
    RecordOutcome,
)
from providers.outbox import OutboxProvider
from tests.conftest import TEST_CONVERTER, dealer_dict, eventually
from tests.ports import free_port
from tests.prometheus import Sample, assert_nothing_personal, samples, value
from worker import build_worker, metrics_runtime, workflow_runner
from workflows.lead_follow_up import LeadFollowUp
from workflows.metrics import FIRST_RESPONSE_BUCKETS
from workflows.sales_task import SalesTask

DEALER = "autohuis-test"
FAST = "autohuis-snel"  # one touch, then unreachable a second later
SENT = "blanco_touches_sent_total"
FIRST = "blanco_first_response_seconds"
REPLIES = "blanco_replies_total"
OPT_OUTS = "blanco_opt_outs_total"
OUTCOMES = "blanco_lead_outcomes_total"
LABELS = {
    *("dealer", "channel", "kind", "outcome", "le"),
    *("namespace", "task_queue", "workflow_type", "activity_type", "service_name"),
}


def metrics_config(task_queue: str) -> Config:
    fast = dealer_dict(
        id=FAST,
        name="Autohuis Snel",
        webhook_secret="whsec_c25lbC1kZWFsZXItc2VjcmV0",
        email_from="verkoop@autohuis-snel.nl",
        reply_domain="reply.autohuis-snel.nl",
        sms_from=None,
        whatsapp_from=None,
        cadence=["0s"],
        grace="1s",
        contact_window="always",
        salespeople=[],
    )
    return parse_config(
        {
            "temporal": {"task_queue": task_queue},
            "api": {"public_base_url": "http://127.0.0.1:9"},
            "dealers": [dealer_dict(contact_window="always", business_hours="always"), fast],
        }
    )


@dataclass
class Worker:
    client: Client
    runtime: Runtime
    config: Config
    outbox: Path
    url: str

    async def start(self, dealer: str, **fields: Any) -> WorkflowHandle[LeadFollowUp, LeadState]:
        lead = Lead.model_validate({"source": "marktplaats", **fields})
        started = await start_lead(self.client, self.config, self.config.dealer(dealer), lead)
        return self.client.get_workflow_handle_for(LeadFollowUp.run, started.lead_id)

    async def touched(self, handle: WorkflowHandle[Any, Any]) -> None:
        async def lines() -> list[str]:
            text = self.outbox.read_text() if self.outbox.exists() else ""
            return [line for line in text.splitlines() if handle.id in line]

        await eventually(lines, bool, deadline=20)

    async def text(self) -> str:
        async with httpx.AsyncClient() as http:
            response = await http.get(self.url, timeout=5)
        assert response.status_code == 200
        return response.text

    async def scrape(self) -> list[Sample]:
        return samples(await self.text())


@pytest.fixture(scope="module")
async def worker(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Worker]:
    address = f"127.0.0.1:{free_port()}"
    runtime = metrics_runtime(address)
    client = await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        data_converter=TEST_CONVERTER,
        runtime=runtime,
    )
    task_queue = f"metrics-{uuid.uuid4()}"
    config = metrics_config(task_queue)
    outbox = tmp_path_factory.mktemp("metrics") / "outbox.jsonl"
    senders = Senders(outbox=OutboxProvider(outbox))
    async with build_worker(client, config, senders, task_queue=task_queue):
        yield Worker(client, runtime, config, outbox, f"http://{address}/metrics")


def customer(name: str) -> dict[str, str]:
    n = uuid.uuid4().int
    return {"name": name, "email": f"{name.lower()}.{n % 10**9}@example.nl"}


async def test_business_series_are_served_once_each_and_hold_nothing_personal(
    worker: Worker,
) -> None:
    pieter = customer("Pieter")
    replied = await worker.start(
        DEALER,
        external_id=f"mp-{uuid.uuid4().hex[:8]}",
        kind="offer",
        customer=pieter,
        message="Wat is uw laagste prijs?",
    )
    phone = f"+3161{uuid.uuid4().int % 10**7:07d}"
    stopped = await worker.start(
        DEALER,
        kind="test_drive",
        customer={"name": "Sanne", "phone": phone, "preferred_channel": "sms"},
    )
    silent = await worker.start(FAST, kind="brochure_request", customer=customer("Kees"))
    for handle in (replied, stopped, silent):
        await worker.touched(handle)

    reply_text = "Ja, ik kom zaterdag graag langs"
    await replied.signal(
        LeadFollowUp.customer_replied,
        CustomerReplied(channel=Channel.EMAIL, text=reply_text, event_id="reply-1"),
    )
    await replied.execute_update(LeadFollowUp.record_outcome, RecordOutcome(outcome=Outcome.WON))
    await stopped.signal(LeadFollowUp.opted_out, OptedOut(channel=Channel.SMS))
    await stopped.signal(LeadFollowUp.opted_out, OptedOut(channel="all"))
    ended = [await handle.result() for handle in (replied, stopped, silent)]
    assert [s.status for s in ended] == [
        LeadStatus.WON,
        LeadStatus.OPTED_OUT,
        LeadStatus.UNREACHABLE,
    ]

    expected = {
        (SENT, (("dealer", DEALER), ("channel", "email"))): 1,
        (SENT, (("dealer", DEALER), ("channel", "sms"))): 1,
        (SENT, (("dealer", FAST), ("channel", "email"))): 1,
        (FIRST + "_count", (("dealer", DEALER), ("channel", "email"))): 1,
        (FIRST + "_count", (("dealer", DEALER), ("channel", "sms"))): 1,
        (FIRST + "_count", (("dealer", FAST), ("channel", "email"))): 1,
        (REPLIES, (("dealer", DEALER), ("channel", "email"))): 1,
        (OPT_OUTS, (("dealer", DEALER), ("channel", "sms"))): 1,
        (OPT_OUTS, (("dealer", DEALER), ("channel", "all"))): 1,
        (OUTCOMES, (("dealer", DEALER), ("outcome", "won"), ("kind", "offer"))): 1,
        (OUTCOMES, (("dealer", DEALER), ("outcome", "opted_out"), ("kind", "test_drive"))): 1,
        (OUTCOMES, (("dealer", FAST), ("outcome", "unreachable"), ("kind", "brochure_request"))): 1,
    }

    async def counts() -> dict[Any, float]:
        found = await worker.scrape()
        return {key: value(found, key[0], **dict(key[1])) for key in expected}

    await eventually(counts, lambda seen: seen == expected, deadline=20)
    text = await worker.text()
    for name in (SENT, REPLIES, OPT_OUTS, OUTCOMES, FIRST + "_bucket"):
        assert f"\n{name}{{" in text  # named as written: the runtime adds no suffix
    found = samples(text)
    for name in (SENT, REPLIES, OPT_OUTS, OUTCOMES):
        assert value(found, name) == sum(n for (each, _), n in expected.items() if each == name)
    assert value(found, FIRST + "_count") == 3
    assert 0 < value(found, FIRST + "_sum") < 60
    buckets = {float(s.labels["le"]) for s in found if s.name == FIRST + "_bucket"}
    assert buckets == {*FIRST_RESPONSE_BUCKETS, math.inf}
    assert any(s.name.startswith("temporal_") for s in found)  # next to the SDK's own series

    ours = [s for s in found if s.name.startswith("blanco_")]
    assert all(set(s.labels) <= LABELS for s in ours), {k for s in ours for k in s.labels}
    assert {s.labels["workflow_type"] for s in ours if "workflow_type" in s.labels} == {
        "LeadFollowUp"
    }
    assert_nothing_personal(
        found,
        *pieter.values(),
        "Sanne",
        phone,
        phone[3:],
        "Kees",
        "laagste prijs",
        reply_text,
        *(handle.id for handle in (replied, stopped, silent)),
    )

    # Replaying the histories (as a restarted worker does) records nothing again.
    replayer = Replayer(
        workflows=[LeadFollowUp, SalesTask],
        data_converter=TEST_CONVERTER,
        workflow_runner=workflow_runner(),
        runtime=worker.runtime,
    )
    for handle in (replied, stopped, silent):
        replay = await replayer.replay_workflow(await handle.fetch_history())
        assert replay.replay_failure is None
    assert await counts() == expected
