"""activities.alerts with the real `sendgrid` client against FakeSendGrid: the key an alert
carries to the provider is its own (issue 9, finding 3). Alerts used the touch key
`<lead>:0:email`, so a salesperson's spam report of an alert was routed to the customer's lead
as an e-mail opt-out, and every alert of a lead, in every conversation, shared one key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.alerts import AlertActivities, AlertRequest
from activities.providers.outbox import OutboxProvider
from activities.providers.sendgrid_email import SendGridEmail
from activities.senders import Senders
from api.inbound import parse_touch_key
from leads.models import TaskKind
from tests.conftest import make_config
from tests.fakes.fixtures import FAKE_SENDGRID_KEY, fake_sendgrid
from tests.fakes.sendgrid import FakeSendGrid

__all__ = ["fake_sendgrid"]

LEAD = "lead-autohuis-test-0123456789abcdef01234567"


async def test_an_alert_s_key_names_its_task_run_and_recipient_never_a_touch(
    fake_sendgrid: FakeSendGrid, tmp_path: Path
) -> None:
    config = make_config()
    senders = Senders(
        outbox=OutboxProvider(tmp_path / "outbox.jsonl"),
        email=SendGridEmail(FAKE_SENDGRID_KEY, host=fake_sendgrid.url, timeout=5),
    )
    alerts = AlertActivities(config, senders)
    request = AlertRequest(
        dealer_id="autohuis-test",
        task_id=f"task-{LEAD}-1",
        lead_id=LEAD,
        kind=TaskKind.REPLY,
        stage="open",
        summary="Reply · offer · Volkswagen Golf",
    )
    for run_id in ("run-of-conversation-1", "run-of-conversation-2"):
        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, workflow_run_id=run_id)
        await env.run(alerts.alert_salespeople, request)

    keys = [mail.json["custom_args"]["blanco_touch"] for mail in fake_sendgrid.mails]
    assert len(keys) == 4 and len(set(keys)) == 4  # two salespeople, two conversations' tasks
    assert all(key.startswith(f"alert:task-{LEAD}-1:run-of-conversation-") for key in keys)
    # What the event webhook does with a bounce or spam report carrying it: nothing.
    assert all(parse_touch_key(config, key) is None for key in keys)
