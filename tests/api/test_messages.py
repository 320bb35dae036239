"""`POST /v1/leads/{lead}/messages` over real HTTP (docs/api.md "Salesperson messages"): a
salesperson answers the customer on SMS, WhatsApp, e-mail and the platform chat through the
real `twilio` and `sendgrid` clients against the local fakes of their APIs, once per
idempotency key; the customer's next answer lands in the same thread."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.senders import Senders
from api.app import create_app
from leads.identity import reply_address
from providers.outbox import OutboxProvider
from providers.sendgrid.mail import SendGridEmail
from providers.twilio.messaging import TwilioMessaging
from tests.api.conftest import (
    PUBLIC_BASE,
    SECRET,
    Api,
    SendGridKeys,
    api_config,
    assert_error,
    customer_lead,
    inbound_secrets,
)
from tests.api.test_inbound import mail, post_mail
from tests.conftest import eventually
from tests.fakes.chat import FakeChat
from tests.fakes.fixtures import FAKE_SENDGRID_KEY
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.twilio import FakeTwilio
from worker import build_worker

DEALER_SMS = "+3197010000099"
DEALER_WHATSAPP = "whatsapp:+3197010000098"
DEALER_EMAIL = "verkoop@autohuis-test.nl"


class Live(Api):
    """The API and a worker whose providers are the real clients against the fakes."""

    twilio_fake: FakeTwilio
    sendgrid_fake: FakeSendGrid
    chat_fake: FakeChat

    async def write(
        self, lead_id: str, body: dict[str, Any], key: str | None = None, who: str = "jan"
    ) -> httpx.Response:
        headers = {**self.bearer(who), "Idempotency-Key": key or uuid.uuid4().hex}
        return await self.http.post(f"/v1/leads/{lead_id}/messages", json=body, headers=headers)

    async def claim_reply_task(self, lead_id: str) -> None:
        state = await self.state_when(lead_id, lambda s: s.open_task_id is not None)
        claimed = await self.http.post(
            f"/v1/tasks/{state.open_task_id}/claim", headers=self.bearer("jan")
        )
        assert claimed.status_code == 200, claimed.text
        await self.state_when(lead_id, lambda s: s.salesperson_id == "jan")


@pytest.fixture(scope="module")
async def live(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Live]:
    task_queue = f"messages-{uuid.uuid4()}"
    config = api_config(task_queue)
    outbox = tmp_path_factory.mktemp("messages") / "outbox.jsonl"
    keys = SendGridKeys()
    with (
        FakeTwilio() as twilio,
        FakeSendGrid(api_key=FAKE_SENDGRID_KEY) as sendgrid,
        FakeChat() as chat,
    ):
        senders = Senders(
            outbox=OutboxProvider(outbox),
            email=SendGridEmail(FAKE_SENDGRID_KEY, host=sendgrid.url, timeout=5),
            messaging=TwilioMessaging(
                twilio.account_sid,
                twilio.auth_token,
                base_url=twilio.base_url,
                status_callback_base=PUBLIC_BASE,
                timeout=5,
            ),
            chat_posts=True,
        )
        app = create_app(config, dev_env.client, inbound_secrets(keys))
        async with (
            build_worker(dev_env.client, config, senders, task_queue=task_queue),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://api.test"
            ) as http,
        ):
            found = Live(http, dev_env.client, config, outbox, keys)
            found.twilio_fake, found.sendgrid_fake, found.chat_fake = twilio, sendgrid, chat
            yield found


async def started(live: Live, **overrides: Any) -> tuple[str, dict[str, Any]]:
    lead = customer_lead(**overrides)
    response = await live.deliver(lead)
    assert response.status_code == 202, response.text
    lead_id: str = response.json()["lead_id"]
    await live.state_when(lead_id, lambda s: len(s.touches) >= 1)
    return lead_id, lead


async def texts_to(fake: FakeTwilio, to: str, count: int) -> list[Any]:
    async def probe() -> list[Any]:
        return [m for m in fake.sent if m.to == to]

    return await eventually(probe, lambda found: len(found) >= count, deadline=10)


async def test_an_sms_answer_goes_from_the_dealer_s_number_once(live: Live) -> None:
    lead_id, lead = await started(live, customer={"phone": "+31641527301"})
    phone = lead["customer"]["phone"]
    await live.sms(phone, "Is de Golf er zaterdag nog?")
    await live.claim_reply_task(lead_id)
    key = uuid.uuid4().hex
    first = await live.write(lead_id, {"text": "Ja, zaterdag staat hij klaar."}, key=key)
    assert first.status_code == 201, first.text
    again = await live.write(lead_id, {"text": "Ja, zaterdag staat hij klaar."}, key=key)
    assert again.status_code == 201 and again.json() == first.json()  # a retry sends once
    message = first.json()
    assert (message["by"], message["channel"], message["direction"]) == ("jan", "sms", "out")
    assert message["delivery"] == "sent"
    sent = await texts_to(live.twilio_fake, phone, 2)  # touch 1, then Jan's answer
    answer = sent[-1]
    assert answer.sender == DEALER_SMS and "zaterdag staat hij klaar" in (answer.body or "")
    assert len([m for m in live.twilio_fake.sent if m.to == phone]) == 2
    await live.sms(phone, "Top, tot zaterdag")
    state = await live.state_when(lead_id, lambda s: s.thread[-1].text == "Top, tot zaterdag")
    assert [(m.direction, m.by) for m in state.thread[-3:]] == [
        ("in", "customer"),
        ("out", "jan"),
        ("in", "customer"),
    ]
    view = await live.http.get(f"/v1/leads/{lead_id}", headers=live.bearer("jan"))
    assert [m["text"] for m in view.json()["thread"]][-1] == "Top, tot zaterdag"


async def test_a_whatsapp_answer_inside_the_window(live: Live) -> None:
    lead_id, lead = await started(live, customer={"phone": "+31641527302"})
    number = lead["customer"]["phone"]
    params = {
        "From": f"whatsapp:{number}",
        "To": DEALER_WHATSAPP,
        "Body": "Mag ik via WhatsApp?",
        "MessageSid": f"SM{uuid.uuid4().hex}",
    }
    assert (await live.twilio("/v1/inbound/twilio/messages", params)).status_code == 200
    await live.claim_reply_task(lead_id)
    response = await live.write(lead_id, {"text": "Natuurlijk!"})
    assert response.status_code == 201, response.text
    assert response.json()["channel"] == "whatsapp"
    sent = await texts_to(live.twilio_fake, f"whatsapp:{number}", 1)
    assert sent[-1].sender == DEALER_WHATSAPP and "Natuurlijk!" in (sent[-1].body or "")


async def test_an_email_answer_is_threaded_into_the_customer_s_mail(live: Live) -> None:
    lead_id, lead = await started(live)
    email = lead["customer"]["email"]
    to = reply_address(SECRET, lead_id, "reply.autohuis-test.nl")
    fields = mail(to, email, "Re: Uw bod op de Volkswagen Golf", "Kan het iets lager?")
    message_id = fields["headers"].split("\n")[0].removeprefix("Message-ID: ")
    assert (await post_mail(live, fields)).status_code == 200
    await live.claim_reply_task(lead_id)
    response = await live.write(lead_id, {"text": "Ik bel u morgen.", "channel": "email"})
    assert response.status_code == 201, response.text
    assert response.json()["subject"] == "Re: Uw bod op de Volkswagen Golf"

    async def mails() -> list[Any]:
        return [m for m in live.sendgrid_fake.sent if email in m.to]

    answer = (await eventually(mails, lambda found: len(found) >= 2, deadline=10))[-1]
    assert answer.sender == DEALER_EMAIL and "Ik bel u morgen." in (answer.text or "")
    assert answer.headers["In-Reply-To"] == message_id
    assert message_id in answer.headers["References"]
    assert answer.reply_to == to  # the answer to the answer comes back into the thread


async def test_a_chat_answer_is_posted_to_the_platform_conversation(live: Live) -> None:
    reply_url = live.chat_fake.reply_url(uuid.uuid4().hex)
    lead_id, lead = await started(live, reply_url=reply_url, customer={})
    body = json.dumps({"external_id": lead["external_id"], "text": "Nog beschikbaar?"}).encode()
    chat = await live.http.post(
        "/v1/dealers/autohuis-test/chat", content=body, headers=live.signed(body)
    )
    assert chat.status_code in (200, 202), chat.text
    await live.claim_reply_task(lead_id)
    response = await live.write(lead_id, {"text": "Ja, kom gerust kijken."})
    assert response.status_code == 201, response.text
    assert response.json()["channel"] == "chat"

    async def posts() -> list[Any]:
        return [p for p in live.chat_fake.posts if p.path in reply_url]

    post = (await eventually(posts, lambda found: len(found) >= 2, deadline=10))[-1]
    assert "Ja, kom gerust kijken." in json.dumps(post.json)


async def test_refusals_are_409_with_the_reason_and_send_nothing(live: Live) -> None:
    lead_id, lead = await started(live, customer={"phone": "+31641527303"})
    phone = lead["customer"]["phone"]
    await live.sms(phone, "Hallo?")
    await live.state_when(lead_id, lambda s: s.open_task_id is not None)
    before = len(live.twilio_fake.sent)
    unclaimed = assert_error(await live.write(lead_id, {"text": "Hoi"}), 409, "refused")
    assert "claim the lead's task first" in unclaimed["error"]["message"]
    await live.claim_reply_task(lead_id)
    outside = assert_error(
        await live.write(lead_id, {"text": "Hoi", "channel": "whatsapp"}), 409, "refused"
    )
    assert "approved template" in outside["error"]["message"]
    other_dealer = await live.write(lead_id, {"text": "Hoi"}, who="piet")
    assert_error(other_dealer, 403, "forbidden")
    assert len(live.twilio_fake.sent) == before


async def test_bad_requests_are_4xx_and_change_nothing(live: Live) -> None:
    lead_id, _ = await started(live)
    headers = live.bearer("jan")
    url = f"/v1/leads/{lead_id}/messages"
    no_key = await live.http.post(url, json={"text": "Hoi"}, headers=headers)
    assert_error(no_key, 400, "idempotency_key")
    empty = await live.write(lead_id, {"text": "   "})
    assert "text" in assert_error(empty, 422)["error"]["message"]
    unknown = await live.write(lead_id, {"text": "Hoi", "urgent": True})
    assert "urgent" in assert_error(unknown, 422)["error"]["message"]
    assert (await live.state(lead_id)).thread[-1].by == "blanco"  # only touch 1
