"""Replies and provider events through the API (acceptance 4): an SMS reply engages the lead
and lists a task at once; STOP opts out of SMS only; an auto-reply postpones instead of
escalating; bounces, spam reports and out-of-order status callbacks do what rule 7 says
(docs/architecture.md).
Every webhook is signed by the provider's own library; forged ones change nothing."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel
from twilio.request_validator import RequestValidator

from leads.identity import person_message_key, reply_address, unsubscribe_token
from leads.models import (
    AutoReplied,
    Channel,
    CustomerReplied,
    DeliveryFailed,
    DeliveryReport,
    DeliveryStatus,
    LeadState,
    LeadStatus,
    OptedIn,
    OptedOut,
)
from tests.api.conftest import (
    PARSE_AUTH,
    SECRET,
    TWILIO_TOKEN,
    Api,
    SendGridKeys,
    assert_error,
    customer_lead,
    unique,
)
from tests.conftest import eventually


async def started(api: Api, **overrides: Any) -> tuple[str, dict[str, Any]]:
    lead = customer_lead(**overrides)
    response = await api.deliver(lead)
    assert response.status_code == 202, response.text
    lead_id: str = response.json()["lead_id"]
    await api.lines_for(lead_id)
    # The send activity writes the line; the workflow records the touch once the activity's
    # result reaches it, a moment later.
    await api.state_when(lead_id, lambda s: len(s.touches) >= 1)
    return lead_id, lead


async def test_rule6_sms_reply_engages_and_lists_a_task(api: Api) -> None:
    lead_id, lead = await started(api)
    response = await api.sms(lead["customer"]["phone"], "Ja, wanneer kan ik langskomen?")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Response></Response>" in response.text
    state = await api.state_when(lead_id, lambda s: s.status is LeadStatus.ENGAGED, deadline=1)
    assert state.open_task_id is not None
    assert any(e.what == "customer_replied" and e.channel is Channel.SMS for e in state.events)

    async def listed() -> list[str]:
        tasks = await api.http.get("/v1/tasks", headers=api.bearer("jan"))
        return [t["task_id"] for t in tasks.json()["tasks"]]

    await eventually(listed, lambda ids: state.open_task_id in ids, deadline=5)


async def test_rule7_stop_opts_out_of_sms_only_and_start_opts_back_in(api: Api) -> None:
    lead_id, lead = await started(api, customer={**customer_lead()["customer"]})
    phone = lead["customer"]["phone"]
    assert (await api.sms(phone, "STOP")).status_code == 200
    state = await api.state_when(lead_id, lambda s: Channel.SMS not in s.usable_channels)
    assert Channel.EMAIL in state.usable_channels and state.status is LeadStatus.CONTACTING
    assert (await api.sms(phone, " Start! ")).status_code == 200
    await api.state_when(lead_id, lambda s: Channel.SMS in s.usable_channels)
    # What the customer wrote goes with it, for the thread.
    [stop] = await signals_heard(api, lead_id, "opted_out", OptedOut)
    [start] = await signals_heard(api, lead_id, "opted_in", OptedIn)
    assert (stop.channel, stop.text, start.text) == (Channel.SMS, "STOP", "Start!")


async def test_a_reply_from_an_unknown_number_is_a_new_lead(api: Api) -> None:
    phone = f"+3162{uuid.uuid4().int % 10**7:07d}"
    response = await api.sms(phone, "Hebben jullie nog een Polo?")
    assert response.status_code == 200

    async def started_leads() -> list[Any]:
        return [
            w
            async for w in api.client.list_workflows(
                "WorkflowType = 'LeadFollowUp' AND LeadSource = 'sms'"
            )
        ]

    await eventually_any(started_leads)


async def eventually_any(probe: Any) -> Any:
    return await eventually(probe, bool, deadline=10)


@pytest.mark.parametrize("forgery", ["wrong token", "other url", "missing"])
async def test_forged_twilio_webhooks_change_nothing(api: Api, forgery: str) -> None:
    lead_id, lead = await started(api)
    params = {"From": lead["customer"]["phone"], "To": "+3197010000099", "Body": "hoi"}
    path = "/v1/inbound/twilio/messages"
    if forgery == "wrong token":
        response = await api.twilio(path, params, token="not-" + TWILIO_TOKEN)
    elif forgery == "other url":
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(
            "https://elsewhere.example" + path, params
        )
        response = await api.http.post(path, data=params, headers={"X-Twilio-Signature": signature})
    else:
        response = await api.http.post(path, data=params)
    assert_error(response, 401, "unauthorized")
    state = await api.state(lead_id)
    assert state.status is LeadStatus.CONTACTING and not state.open_task_id


async def test_status_callbacks_never_move_a_message_backwards(api: Api) -> None:
    phone = customer_lead()["customer"]["phone"]
    lead_id, _ = await started(api, customer={"phone": phone, "preferred_channel": "sms"})
    (line,) = await api.lines_for(lead_id)
    assert line["channel"] == "sms"
    path = f"/v1/inbound/twilio/status?touch={lead_id}:1:sms"
    for status in ("delivered", "sent"):
        params = {"MessageSid": "SM1", "MessageStatus": status}
        assert (await api.twilio(path, params)).status_code == 200
    # Signals are handled in the order they arrive: after `sent` came in, the message stayed
    # delivered (the read report below proves both were applied before it).
    await api.state_when(lead_id, lambda s: s.touches[0].delivery is DeliveryStatus.DELIVERED)
    params = {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30005"}
    assert (await api.twilio(path, params)).status_code == 200
    params = {"MessageSid": "SM1", "MessageStatus": "read"}
    assert (await api.twilio(path, params)).status_code == 200
    state = await api.state_when(lead_id, lambda s: s.touches[0].delivery is DeliveryStatus.READ)
    assert Channel.SMS in state.usable_channels  # the late failure did not block SMS


async def test_a_permanent_twilio_failure_blocks_the_channel(api: Api) -> None:
    lead_id, _ = await started(api)
    (line,) = await api.lines_for(lead_id)
    path = f"/v1/inbound/twilio/status?touch={lead_id}:1:{line['channel']}"
    params = {"MessageSid": "SM2", "MessageStatus": "failed", "ErrorCode": "30006"}
    if line["channel"] not in ("sms", "whatsapp"):
        path = f"/v1/inbound/twilio/status?touch={lead_id}:1:email"
    assert (await api.twilio(path, params)).status_code == 200
    channel = Channel(path.rsplit(":", 1)[1])
    state = await api.state_when(lead_id, lambda s: channel not in s.usable_channels)
    assert state.touches[0].delivery is DeliveryStatus.FAILED


# --- SendGrid ------------------------------------------------------------------------------


def parse_headers(auth: str = PARSE_AUTH) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}


def mail(to: str, sender: str, subject: str, text: str, headers: str = "") -> dict[str, str]:
    envelope = json.dumps({"to": [to], "from": sender})
    message_id = f"<{uuid.uuid4().hex}@mail.example>"
    return {
        "to": to,
        "from": f"Klant <{sender}>",
        "subject": subject,
        "text": text,
        "headers": f"Message-ID: {message_id}\nSubject: {subject}\n{headers}",
        "envelope": envelope,
    }


async def post_mail(api: Api, fields: dict[str, str], auth: str = PARSE_AUTH) -> Any:
    files = {name: (None, value) for name, value in fields.items()}  # multipart/form-data
    return await api.http.post(
        "/v1/inbound/sendgrid/parse", files=files, headers=parse_headers(auth)
    )


async def test_an_email_reply_to_the_reply_address_engages(api: Api) -> None:
    lead_id, _ = await started(api)
    to = reply_address(SECRET, lead_id, "reply.autohuis-test.nl")
    fields = mail(to, "someone.else@example.com", "Re: Uw aanvraag", "Graag een proefrit")
    response = await post_mail(api, fields)
    assert response.status_code == 200, response.text
    assert response.json()["lead_id"] == lead_id
    await api.state_when(lead_id, lambda s: s.status is LeadStatus.ENGAGED)


async def test_rule6_an_out_of_office_postpones_instead_of_escalating(api: Api) -> None:
    lead_id, lead = await started(api)
    # The outbox line is written before the workflow records touch 1 and sleeps towards 2.
    before = await api.state_when(lead_id, lambda s: s.next_touch_at is not None)
    fields = mail(
        "verkoop@autohuis-test.nl",
        lead["customer"]["email"],
        "Automatisch antwoord: Uw aanvraag",
        "Ik ben afwezig en weer aanwezig vanaf 20 december.",
        headers="Auto-Submitted: auto-replied",
    )
    response = await post_mail(api, fields)
    assert response.status_code == 200, response.text

    def postponed(s: LeadState) -> bool:
        return any(e.what == "auto_reply" for e in s.events)

    state = await api.state_when(lead_id, postponed)
    assert state.status is LeadStatus.CONTACTING and state.open_task_id is None
    assert before.next_touch_at is not None and state.next_touch_at is not None
    assert state.next_touch_at > before.next_touch_at
    assert (state.next_touch_at.month, state.next_touch_at.day) >= (12, 20)


async def test_inbound_parse_refuses_wrong_credentials(api: Api) -> None:
    lead_id, _ = await started(api)
    to = reply_address(SECRET, lead_id, "reply.autohuis-test.nl")
    response = await post_mail(api, mail(to, "x@example.com", "Re", "hoi"), auth="parse:wrong")
    assert_error(response, 401)
    assert (await api.state(lead_id)).status is LeadStatus.CONTACTING


async def events(api: Api, payload: list[dict[str, Any]], **headers: Any) -> Any:
    body = json.dumps(payload).encode()
    signed = api.sendgrid.headers(body, **headers)
    return await api.http.post("/v1/inbound/sendgrid/events", content=body, headers=signed)


async def test_rule7_bounces_block_email_and_spam_reports_opt_out(api: Api) -> None:
    lead_id, _ = await started(api)
    touch = f"{lead_id}:1:email"
    bounce = {"event": "bounce", "type": "bounce", "sg_event_id": "ev-1", "blanco_touch": touch}
    response = await events(api, [bounce, bounce])  # a repeated event is heard once
    assert response.status_code == 200 and response.json()["events"] == 2
    state = await api.state_when(lead_id, lambda s: Channel.EMAIL not in s.usable_channels)
    assert [e.what for e in state.events].count("delivery_failed") == 1

    other_id, _ = await started(api)
    spam = {"event": "spamreport", "sg_event_id": "ev-2", "blanco_touch": f"{other_id}:1:email"}
    assert (await events(api, [spam])).status_code == 200
    await api.state_when(other_id, lambda s: any(e.what == "opted_out" for e in s.events))


async def test_unknown_leads_in_events_are_acknowledged(api: Api) -> None:
    unknown = {"event": "bounce", "sg_event_id": "ev-3", "blanco_touch": "lead-x-1:1:email"}
    response = await events(api, [unknown, {"event": "open"}])
    assert response.status_code == 200 and response.json()["applied"] == 0


@pytest.mark.parametrize("forgery", ["tampered", "stale", "other key", "missing"])
async def test_forged_sendgrid_events_change_nothing(api: Api, forgery: str) -> None:
    lead_id, _ = await started(api)
    payload = [
        {
            "event": "spamreport",
            "sg_event_id": uuid.uuid4().hex,
            "blanco_touch": f"{lead_id}:1:email",
        }
    ]
    body = json.dumps(payload).encode()
    headers = api.sendgrid.headers(body)
    if forgery == "tampered":
        body = body.replace(b"spamreport", b"unsubscribe")
    elif forgery == "stale":
        headers = api.sendgrid.headers(body, timestamp=int(time.time()) - 3600)
    elif forgery == "other key":
        headers = SendGridKeys().headers(body)
    else:
        headers = {"Content-Type": "application/json"}
    response = await api.http.post("/v1/inbound/sendgrid/events", content=body, headers=headers)
    assert_error(response, 401)
    state = await api.state(lead_id)
    assert Channel.EMAIL in state.usable_channels


async def test_one_click_unsubscribe(api: Api) -> None:
    lead_id, _ = await started(api)
    token = unsubscribe_token(SECRET, lead_id, "email")
    page = await api.http.get(f"/v1/unsubscribe/{token}")
    assert page.status_code == 200 and "<form" in page.text
    assert Channel.EMAIL in (await api.state(lead_id)).usable_channels  # a GET changes nothing
    done = await api.http.post(
        f"/v1/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200
    await api.state_when(lead_id, lambda s: Channel.EMAIL not in s.usable_channels)
    forged = token[:-2] + ("00" if not token.endswith("00") else "11")
    assert_error(await api.http.post(f"/v1/unsubscribe/{forged}"), 404)


async def test_a_number_added_by_a_later_inquiry_routes_replies(api: Api) -> None:
    """The lead is keyed by the e-mail address; the phone number arrives with a second portal's
    inquiry. The workflow publishes its keyed hash, so the SMS reply still finds the lead."""
    first = customer_lead()
    phone = first["customer"].pop("phone")
    lead_id, _ = await started(api, customer=first["customer"])
    second = customer_lead(
        source="autoscout24", customer={"email": first["customer"]["email"], "phone": phone}
    )
    assert (await api.deliver(second)).json() == {"lead_id": lead_id, "duplicate": True}
    assert (await api.sms(phone, "Bel me maar")).status_code == 200
    state = await api.state_when(lead_id, lambda s: s.status is LeadStatus.ENGAGED)
    assert any(e.detail == "Bel me maar" for e in state.events)


async def test_a_mail_from_an_overlong_address_is_acknowledged(api: Api) -> None:
    sender = "x" * 64 + "@" + "d" * 60 + "." + "e" * 60 + "." + "example.com"
    response = await post_mail(api, mail("verkoop@autohuis-test.nl", sender, "Vraag", "Hallo"))
    assert response.status_code == 200, response.text


async def test_rule6_a_photo_without_words_is_a_reply_that_says_so(api: Api) -> None:
    lead_id, lead = await started(api)
    params = {
        "From": lead["customer"]["phone"],
        "To": "+3197010000099",
        "Body": "",
        "NumMedia": "1",
        "MediaContentType0": "image/jpeg",
        "MessageSid": f"MM{uuid.uuid4().hex}",
    }
    assert (await api.twilio("/v1/inbound/twilio/messages", params)).status_code == 200
    state = await api.state_when(lead_id, lambda s: s.status is LeadStatus.ENGAGED)
    assert any(e.detail == "[attachment: image/jpeg]" for e in state.events)


# --- a customer who comes back (issue 9, finding 3) ----------------------------------------


async def test_a_returning_customer_is_answered_through_another_portal(api: Api) -> None:
    """The conversation ended (not interested); the customer writes again through another
    portal. A new conversation starts under the same lead id, and its first answer goes out:
    the outbox's key names the conversation, not only lead, touch and channel."""
    lead_id, lead = await started(api)
    reached = {"result": "reached"}  # they said so on the phone
    await api.http.post(f"/v1/leads/{lead_id}/calls", json=reached, headers=api.bearer("jan"))
    ended = await api.http.post(
        f"/v1/leads/{lead_id}/outcome",
        json={"outcome": "not_interested"},
        headers=api.bearer("jan"),
    )
    assert ended.status_code == 200, ended.text
    await eventually(lambda: api.exists_running(lead_id), lambda running: not running)
    again = customer_lead(source="autoscout24", customer=lead["customer"])
    answer = await api.deliver(again)
    assert answer.status_code == 202 and answer.json()["lead_id"] == lead_id
    first, second = await api.lines_for(lead_id, count=2)
    assert (first["touch"], second["touch"]) == (1, 1)
    assert first["conversation"] != second["conversation"]
    state = await api.state_when(lead_id, lambda s: s.status is LeadStatus.CONTACTING)
    assert [i.source for i in state.inquiries] == ["autoscout24"]

    # A late bounce of the old conversation's e-mail (routed back by its key) is not this
    # conversation's touch 1; a bounce of this one's is.
    channel = second["channel"]
    old = f"{lead_id}:{first['conversation']}:1:{channel}"
    new = f"{lead_id}:{second['conversation']}:1:{channel}"
    bounce = {"event": "bounce", "type": "bounce", "blanco_touch": old, "sg_event_id": unique()}
    assert (await events(api, [bounce])).json()["applied"] == 1  # delivered, then ignored
    bounce = {**bounce, "blanco_touch": new, "sg_event_id": unique()}
    assert (await events(api, [bounce])).json()["applied"] == 1
    state = await api.state_when(lead_id, lambda s: s.touches[0].failed is not None)
    assert [e.what for e in state.events].count("delivery_failed") == 1


async def test_a_spam_report_on_a_salesperson_alert_leaves_the_customer_alone(api: Api) -> None:
    """Alerts carry keys of their own (`alert:<task>:…`): a salesperson marking an alert as
    spam must not opt the customer out of e-mail."""
    lead_id, _ = await started(api)
    alert = f"alert:task-{lead_id}-1:019a0000-0000-7000-8000-000000000001:3:jan"
    spam = {"event": "spamreport", "sg_event_id": unique(), "blanco_touch": alert}
    assert (await events(api, [spam])).json()["applied"] == 0
    assert Channel.EMAIL in (await api.state(lead_id)).usable_channels


# --- the thread's side of providers (issue 10) ---------------------------------------------

M = TypeVar("M", bound=BaseModel)


async def signals_heard(api: Api, lead_id: str, name: str, model: type[M]) -> list[M]:
    """The arguments of every `name` signal in the lead's history, decoded as the worker
    reads them: what the workflow was told, whichever way it handles it."""
    handle = api.client.get_workflow_handle(lead_id)
    heard: list[M] = []
    async for event in handle.fetch_history_events():
        if not event.HasField("workflow_execution_signaled_event_attributes"):
            continue
        attributes = event.workflow_execution_signaled_event_attributes
        if attributes.signal_name == name:
            [value] = await api.client.data_converter.decode(attributes.input.payloads, [model])
            heard.append(value)
    return heard


async def signal_heard(
    api: Api, lead_id: str, name: str, model: type[M], accept: Callable[[M], bool]
) -> M:
    """The first `name` signal `accept` holds for, polled until it is in the history."""
    found = await eventually(
        lambda: signals_heard(api, lead_id, name, model),
        lambda heard: any(accept(s) for s in heard),
        deadline=10,
    )
    return next(s for s in found if accept(s))


async def test_a_salesperson_s_sms_reports_back_to_their_message(api: Api) -> None:
    """Twilio's status callbacks for Jan's message (key `…:m1:sms`) reach the lead as reports
    on message 1, touch 0 — never on touch 1 of the same channel."""
    phone = customer_lead()["customer"]["phone"]
    lead_id, _ = await started(api, customer={"phone": phone, "preferred_channel": "sms"})
    (line,) = await api.lines_for(lead_id)
    key = person_message_key(lead_id, line["conversation"], 1, "sms")
    path = f"/v1/inbound/twilio/status?touch={key}"
    delivered = {"MessageSid": "SMjan1", "MessageStatus": "delivered"}
    assert (await api.twilio(path, delivered)).json()["status"] == "delivered"
    failed = {"MessageSid": "SMjan1", "MessageStatus": "undelivered", "ErrorCode": "30006"}
    assert (await api.twilio(path, failed)).json()["status"] == "delivered"

    report = await signal_heard(
        api, lead_id, "delivery_status", DeliveryReport, lambda r: r.message == 1
    )
    assert (report.channel, report.touch, report.status) == (
        Channel.SMS,
        0,
        DeliveryStatus.DELIVERED,
    )
    assert (report.conversation, report.event_id) == (line["conversation"], "SMjan1:delivered")
    failure = await signal_heard(
        api, lead_id, "delivery_failed", DeliveryFailed, lambda f: f.message == 1
    )
    assert (failure.touch, failure.permanent, failure.reason) == (
        0,
        True,
        "twilio undelivered 30006",
    )
    state = await api.state(lead_id)
    assert state.touches[0].delivery is None  # touch 1 heard nothing of it


async def test_sendgrid_delivered_and_open_reports_reach_touches_and_messages(api: Api) -> None:
    """Issue 10, acceptance 2: e-mail shows its delivery status too. `delivered` and `open`
    move touch 1 to delivered, then read; for Jan's message they are reports on message 1,
    each with SendGrid's event id, by which a redelivered webhook is heard once."""
    lead_id, _ = await started(api)
    (line,) = await api.lines_for(lead_id)
    assert line["channel"] == "email"
    touch = f"{lead_id}:{line['conversation']}:1:email"
    sent = {"event": "delivered", "sg_event_id": unique("ev-"), "blanco_touch": touch}
    assert (await events(api, [sent, sent])).json()["applied"] == 2
    await api.state_when(lead_id, lambda s: s.touches[0].delivery is DeliveryStatus.DELIVERED)
    machine = {"event": "open", "sg_machine_open": True, "sg_event_id": unique("ev-")}
    opened = {"event": "open", "sg_event_id": unique("ev-"), "blanco_touch": touch}
    assert (await events(api, [{**machine, "blanco_touch": touch}, opened])).status_code == 200
    await api.state_when(lead_id, lambda s: s.touches[0].delivery is DeliveryStatus.READ)

    jan = person_message_key(lead_id, line["conversation"], 1, "email")
    read = {"event": "open", "sg_event_id": unique("ev-"), "blanco_touch": jan}
    assert (await events(api, [read])).json()["applied"] == 1
    report = await signal_heard(
        api, lead_id, "delivery_status", DeliveryReport, lambda r: r.message == 1
    )
    assert (report.channel, report.touch, report.status) == (Channel.EMAIL, 0, DeliveryStatus.READ)
    assert report.event_id == read["sg_event_id"]
    bounce = {"event": "bounce", "sg_event_id": unique("ev-"), "blanco_touch": jan}
    assert (await events(api, [bounce])).json()["applied"] == 1
    failure = await signal_heard(
        api, lead_id, "delivery_failed", DeliveryFailed, lambda f: f.message == 1
    )
    assert (failure.touch, failure.permanent, failure.reason) == (0, True, "bounce")


async def test_an_email_reply_carries_its_subject_and_message_id_for_the_thread(
    api: Api,
) -> None:
    """What the salesperson reads in the thread, and what threads their answer: the reply's
    subject (on one line, within 200 characters) and its Message-ID as the client gave it."""
    lead_id, _ = await started(api)
    to = reply_address(SECRET, lead_id, "reply.autohuis-test.nl")
    subject = "Re: Uw aanvraag  voor de\tGolf " + "x" * 300
    fields = mail(to, "p@example.com", subject, "Graag zaterdag om 10:00.")
    message_id = fields["headers"].split("\n")[0].removeprefix("Message-ID: ")
    assert (await post_mail(api, fields)).json()["lead_id"] == lead_id

    reply = await signal_heard(
        api, lead_id, "customer_replied", CustomerReplied, lambda r: r.channel is Channel.EMAIL
    )
    assert reply.message_id == message_id and message_id.startswith("<")
    assert reply.subject is not None and len(reply.subject) == 200
    assert reply.subject.startswith("Re: Uw aanvraag voor de Golf xxx")
    assert reply.text == "Graag zaterdag om 10:00."


async def test_an_out_of_office_carries_its_subject_and_text_for_the_thread(api: Api) -> None:
    lead_id, lead = await started(api)
    await api.state_when(lead_id, lambda s: s.next_touch_at is not None)
    fields = mail(
        "verkoop@autohuis-test.nl",
        lead["customer"]["email"],
        "Automatisch antwoord: Uw aanvraag",
        "Ik ben afwezig tot 1 december.",
        headers="Auto-Submitted: auto-replied",
    )
    assert (await post_mail(api, fields)).json()["status"] == "delivered"
    auto = await signal_heard(api, lead_id, "auto_replied", AutoReplied, lambda a: True)
    assert auto.subject == "Automatisch antwoord: Uw aanvraag"
    assert auto.text == "Ik ben afwezig tot 1 december."
    state = await api.state(lead_id)
    assert state.open_task_id is None  # still not a reply (rule 6)
