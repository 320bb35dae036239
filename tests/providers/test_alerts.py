"""activities.alerts with the real `sendgrid` client against FakeSendGrid: the key an alert
carries to the provider is its own (issue 9, finding 3). Alerts used the touch key
`<lead>:0:email`, so a salesperson's spam report of an alert was routed to the customer's lead
as an e-mail opt-out, and every alert of a lead, in every conversation, shared one key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.alerts import AlertActivities, task_link
from activities.senders import Senders
from api.inbound import parse_touch_key
from contracts.activities import AlertRequest, AlertStage
from leads.config import Config, parse_config
from leads.models import TaskKind
from providers.outbox import OutboxProvider
from providers.sendgrid.mail import SendGridEmail
from providers.twilio.messaging import TwilioMessaging
from tests.conftest import dealer_dict, make_config
from tests.fakes.fixtures import FAKE_SENDGRID_KEY, fake_sendgrid, fake_twilio
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.twilio import FakeTwilio

__all__ = ["fake_sendgrid", "fake_twilio"]

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


# --- the link to the task's page (issue 10) --------------------------------------------------

PUBLIC = "https://blanco.example.com/"  # the trailing slash is not doubled
TASK = f"task-{LEAD}-2"
TASK_PAGE = f"https://blanco.example.com/inbox/tasks/{TASK}"
BLIND = "Reply · offer"
PERSONAL = ("Pieter", "pieter@example.nl", "+31612345678", "9500")


def link_config() -> Config:
    people = [
        {"id": "jan", "name": "Jan", "email": "jan@autohuis-test.nl", "phone": "+31611111111"},
        {"id": "marieke", "name": "M", "phone": "+31622222222", "role": "manager"},
    ]
    return parse_config(
        {
            "temporal": {"task_queue": "unused"},
            "api": {"public_base_url": PUBLIC},
            "dealers": [dealer_dict(salespeople=people)],
        }
    )


@pytest.mark.parametrize("stage", ["open", "remind", "escalate", "reply"])
async def test_every_alert_links_to_the_task_s_page(
    fake_sendgrid: FakeSendGrid, fake_twilio: FakeTwilio, tmp_path: Path, stage: AlertStage
) -> None:
    """Issue 10: a salesperson goes from any alert (new task, reminder, escalation, customer
    answered) straight to the task's page: in the e-mail's text and its HTML, and in the SMS
    of a salesperson without an address. The link names the task only."""
    senders = Senders(
        outbox=OutboxProvider(tmp_path / "outbox.jsonl"),
        email=SendGridEmail(FAKE_SENDGRID_KEY, host=fake_sendgrid.url, timeout=5),
        messaging=TwilioMessaging(
            fake_twilio.account_sid, fake_twilio.auth_token, base_url=fake_twilio.base_url
        ),
    )
    request = AlertRequest(
        dealer_id="autohuis-test",
        task_id=TASK,
        lead_id=LEAD,
        kind=TaskKind.REPLY,
        stage=stage,
        summary=BLIND,
    )
    await ActivityEnvironment().run(
        AlertActivities(link_config(), senders).alert_salespeople, request
    )

    texts = [mail.text or "" for mail in fake_sendgrid.sent] + [
        sms.body or "" for sms in fake_twilio.sent
    ]
    assert len(texts) == (1 if stage == "escalate" else 2)  # escalations: the manager only
    for text in texts:
        assert text.splitlines()[-1] == TASK_PAGE
        assert BLIND in text
    for mail in fake_sendgrid.sent:
        assert f'<a href="{TASK_PAGE}">' in (mail.html or "")
    exposed = " ".join(texts) + TASK_PAGE
    assert not any(value in exposed for value in PERSONAL)


def test_the_task_link_is_the_inbox_page_of_the_task() -> None:
    assert (
        task_link("http://localhost:8000", "task-x-1")
        == "http://localhost:8000/inbox/tasks/task-x-1"
    )
    assert task_link("https://b.example/", "task-x-1") == "https://b.example/inbox/tasks/task-x-1"
