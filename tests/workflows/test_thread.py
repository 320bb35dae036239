"""The conversation thread, salesperson messages and appointments (docs/api.md "The
thread", "Salesperson messages") on the time-skipping server, with the real send
activity writing to the outbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from leads.models import (
    AutoReplied,
    Channel,
    CustomerReplied,
    DeliveryReport,
    DeliveryStatus,
    LeadState,
    LeadStatus,
    OptedOut,
    RecordOutcome,
    SendMessage,
    ThreadMessage,
)
from tests.conftest import eventually, make_config
from tests.workflows.test_lead_follow_up import Engine, engine_for
from workflows.lead_follow_up import LeadFollowUp
from workflows.sales_task import Claim, SalesTask

Lead = WorkflowHandle[LeadFollowUp, LeadState]
MOBILE = "+31641527384"


@pytest.fixture
async def shop(time_env: WorkflowEnvironment, outbox_path: Path) -> AsyncIterator[Engine]:
    """A 24/7 dealer with an approved WhatsApp template."""
    config = make_config(
        contact_window="always",
        business_hours="always",
        whatsapp_templates={"follow_up": "HX0000000000000000000000000000follow"},
    )
    async with engine_for(time_env, outbox_path, config) as each:
        yield each


async def answered(engine: Engine, handle: Lead, reply: CustomerReplied) -> str:
    """The customer answers after the first touch; returns the reply task's id."""
    await engine.until(handle, lambda s: len(s.touches) >= 1)
    await handle.signal(LeadFollowUp.customer_replied, reply)
    state = await engine.until(handle, lambda s: s.open_task_id is not None)
    assert state.open_task_id is not None
    return state.open_task_id


async def claimed(engine: Engine, handle: Lead, task_id: str, who: str = "jan") -> None:
    task = engine.env.client.get_workflow_handle_for(SalesTask.run, task_id)
    await task.execute_update(SalesTask.claim, Claim(salesperson_id=who))
    await engine.until(handle, lambda s: s.salesperson_id == who)


async def send(handle: Lead, key: str | None = None, **fields: Any) -> ThreadMessage:
    request = SendMessage.model_validate({"salesperson_id": "jan", **fields})
    return await handle.execute_update(
        LeadFollowUp.send_message, request, id=key or f"message-{uuid.uuid4()}"
    )


async def refused(handle: Lead, **fields: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as error:
        await send(handle, **fields)
    return str(error.value.cause)


def shape(thread: list[ThreadMessage]) -> list[tuple[str, str | None, str]]:
    return [(m.direction, m.channel.value if m.channel else None, m.by) for m in thread]


async def test_the_thread_holds_touches_replies_and_salesperson_messages_in_order(
    shop: Engine,
) -> None:
    handle = await shop.start(message="Wat is uw laagste prijs?")
    reply = CustomerReplied(
        channel="email",
        text="Kan ik zaterdag langskomen?",
        subject="Re: Uw bod op de Volkswagen Golf",
        message_id="<reply-1@mail.example.nl>",
    )
    task_id = await answered(shop, handle, reply)
    await claimed(shop, handle, task_id)
    sent = await send(handle, text="Zaterdag om 10:00 staat de Golf voor u klaar.")
    assert sent.by == "jan" and sent.channel is Channel.EMAIL  # the customer's last channel
    assert sent.delivery is DeliveryStatus.SENT and sent.message == 1
    await handle.signal(
        LeadFollowUp.customer_replied, CustomerReplied(channel="email", text="Top, tot dan!")
    )
    state = await shop.until(handle, lambda s: len(s.thread) == 5)
    assert shape(state.thread) == [
        ("in", None, "customer"),  # the form's own message
        ("out", "email", "blanco"),
        ("in", "email", "customer"),
        ("out", "email", "jan"),
        ("in", "email", "customer"),
    ]
    first = state.thread[1]
    assert first.touch == 1 and first.subject and "Golf" in first.text  # as rendered
    assert "Zaterdag om 10:00" in state.thread[3].text
    # the outbox line: a salesperson's message, no touch, threaded into the customer's mail
    line = shop.lines()[-1]
    assert (line["touch"], line["by"], line["channel"]) == (None, "jan", "email")
    assert line["subject"] == "Re: Uw bod op de Volkswagen Golf"
    assert state.status is LeadStatus.ENGAGED and len(state.touches) == 1  # no cadence restart


async def test_delivery_reports_reach_the_thread_and_never_go_backwards(shop: Engine) -> None:
    handle = await shop.start()
    task_id = await answered(shop, handle, CustomerReplied(channel="email", text="Ja"))
    await claimed(shop, handle, task_id)
    sent = await send(handle, text="Welkom!")
    for status in ("delivered", "sent"):  # out of order: the late `sent` changes nothing
        await handle.signal(
            LeadFollowUp.delivery_status,
            DeliveryReport(channel="email", touch=0, message=sent.message, status=status),
        )
    await handle.signal(
        LeadFollowUp.delivery_status, DeliveryReport(channel="email", touch=1, status="read")
    )
    state = await shop.until(handle, lambda s: s.thread[0].delivery is DeliveryStatus.READ)
    assert state.thread[0].touch == 1 and state.touches[0].delivery is DeliveryStatus.READ
    assert state.thread[-1].delivery is DeliveryStatus.DELIVERED


async def test_stop_and_out_of_office_are_in_the_thread_marked_as_such(shop: Engine) -> None:
    handle = await shop.start(customer={"phone": MOBILE, "email": f"{uuid.uuid4()}@example.nl"})
    await shop.until(handle, lambda s: len(s.touches) >= 1)
    await handle.signal(
        LeadFollowUp.auto_replied,
        AutoReplied(channel="email", text="Ik ben afwezig tot maandag.", subject="Afwezig"),
    )
    await handle.signal(LeadFollowUp.opted_out, OptedOut(channel="sms", text="STOP"))
    state = await shop.until(handle, lambda s: len(s.thread) == 3)
    away, stop = state.thread[1], state.thread[2]
    assert away.auto_reply and away.by == "customer" and away.subject == "Afwezig"
    assert stop.keyword == "stop" and stop.text == "STOP" and stop.channel is Channel.SMS


async def test_send_message_is_refused_for_each_rule_with_its_reason(shop: Engine) -> None:
    handle = await shop.start()  # e-mail and a placeholder phone
    task_id = await answered(shop, handle, CustomerReplied(channel="email", text="Ja"))
    assert "claim the lead's task first" in await refused(handle, text="Hoi")
    await claimed(shop, handle, task_id)
    assert "jan has claimed this lead's task" in await refused(
        handle, salesperson_id="kees", text="Hoi"
    )
    assert "no address for SMS" in await refused(handle, text="Hoi", channel="sms")
    assert "phone is a call" in await refused(handle, text="Hoi", channel="phone")
    assert "write a message first" in await refused(handle, text="  ")
    # a manager may always write, claimed or not
    manager = await send(handle, salesperson_id="marieke", manager=True, text="Welkom")
    assert manager.by == "marieke"
    await handle.signal(LeadFollowUp.opted_out, OptedOut(channel="email"))
    assert "opted out of e-mail" in await refused(handle, text="Hoi", channel="email")
    await handle.execute_update(LeadFollowUp.record_outcome, RecordOutcome(outcome="won"))
    await handle.result()
    with pytest.raises(RPCError):  # a closed lead takes no update (the API says 409 why)
        await send(handle, text="Bedankt!")
    outbox_by = [line["by"] for line in shop.lines()]
    assert outbox_by == ["blanco", "marieke"]  # nothing refused reached the outbox


async def test_whatsapp_free_text_only_inside_the_24_hour_window(shop: Engine) -> None:
    handle = await shop.start(customer={"phone": MOBILE, "preferred_channel": "whatsapp"})
    task_id = await answered(shop, handle, CustomerReplied(channel="sms", text="Ja graag"))
    await claimed(shop, handle, task_id)
    closed = await refused(handle, text="Hoi", channel="whatsapp")
    assert "only within 24 hours" in closed and "approved template" in closed
    await handle.signal(
        LeadFollowUp.customer_replied, CustomerReplied(channel="whatsapp", text="Via WhatsApp?")
    )
    state = await shop.until(handle, lambda s: s.whatsapp_window_until is not None)
    assert state.whatsapp_window_until is not None
    inside = await send(handle, text="Zeker!")  # the customer's last channel: WhatsApp
    assert inside.channel is Channel.WHATSAPP
    # The window's end (24 h on) is a row of tests/unit/test_thread.py; skipping a day here
    # would race the other tests' timers on the shared time-skipping server.
    template = await send(handle, channel="whatsapp", template=True, text="")
    assert template.channel is Channel.WHATSAPP and template.delivery is DeliveryStatus.SENT
    # the thread keeps the words the template was approved with (the cadence's follow-up)
    assert "Golf" in template.text and "STOP" in template.text


async def test_a_repeated_idempotency_key_sends_once(shop: Engine) -> None:
    handle = await shop.start()
    task_id = await answered(shop, handle, CustomerReplied(channel="email", text="Ja"))
    await claimed(shop, handle, task_id)
    key = f"message-{uuid.uuid4()}"
    first = await send(handle, key=key, text="Eén keer")
    again = await send(handle, key=key, text="Eén keer")  # a double tap, a retried request
    assert again == first
    other = await send(handle, text="Een tweede bericht")
    assert (first.message, other.message) == (1, 2)
    jan = [line for line in shop.lines() if line["by"] == "jan"]
    assert [line["body"].splitlines()[0] for line in jan] == ["Eén keer", "Een tweede bericht"]


async def test_an_appointment_is_confirmed_then_shown_then_won(shop: Engine) -> None:
    handle = await shop.start(customer={"phone": MOBILE, "preferred_channel": "sms"})
    task_id = await answered(shop, handle, CustomerReplied(channel="sms", text="Proefrit?"))
    await claimed(shop, handle, task_id)
    at = (await shop.env.get_current_time()) + timedelta(days=2)
    booked = await handle.execute_update(
        LeadFollowUp.record_outcome,
        RecordOutcome(
            outcome="appointment",
            appointment_at=at,
            appointment_kind="test_drive",
            salesperson_id="jan",
        ),
    )
    assert booked.status is LeadStatus.APPOINTMENT and booked.appointment_kind == "test_drive"
    with pytest.raises(WorkflowUpdateFailedError) as twice:  # a double tap confirms once
        await handle.execute_update(
            LeadFollowUp.record_outcome,
            RecordOutcome(outcome="appointment", appointment_at=at, appointment_kind="test_drive"),
        )
    assert "already booked" in str(twice.value.cause)
    # sent: in the thread as the customer got it (it joins the thread before it goes out)
    state = await shop.until(handle, lambda s: s.thread[-1].by == "blanco" and s.thread[-1].text)
    confirmation = state.thread[-1]
    assert (confirmation.by, confirmation.channel) == ("blanco", Channel.SMS)
    assert "proefrit" in confirmation.text and "STOP" in confirmation.text
    line = shop.lines()[-1]
    assert (line["touch"], line["by"], line["channel"]) == (None, "blanco", "sms")
    with pytest.raises(WorkflowUpdateFailedError) as early:
        await handle.execute_update(LeadFollowUp.record_outcome, RecordOutcome(outcome="no_show"))
    assert "can only be recorded after it" in str(early.value.cause)
    shown = await handle.execute_update(
        LeadFollowUp.record_outcome, RecordOutcome(outcome="shown", salesperson_id="jan")
    )
    assert shown.status is LeadStatus.SHOWN
    won = await handle.execute_update(LeadFollowUp.record_outcome, RecordOutcome(outcome="won"))
    assert won.status is LeadStatus.WON
    outcomes = [(e.what, e.by) for e in won.events if e.what.startswith("outcome_")]
    assert outcomes == [
        ("outcome_appointment", "jan"),
        ("outcome_shown", "jan"),
        ("outcome_won", None),
    ]


async def test_a_no_show_goes_back_to_the_salesperson(shop: Engine) -> None:
    handle = await shop.start()
    await answered(shop, handle, CustomerReplied(channel="email", text="Ja"))
    with pytest.raises(WorkflowUpdateFailedError) as none_booked:
        await handle.execute_update(LeadFollowUp.record_outcome, RecordOutcome(outcome="shown"))
    assert "needs an appointment" in str(none_booked.value.cause)
    at = (await shop.env.get_current_time()) + timedelta(seconds=2)
    await handle.execute_update(
        LeadFollowUp.record_outcome, RecordOutcome(outcome="appointment", appointment_at=at)
    )
    # The server's clock passes the appointment by itself (no skip: on the shared
    # time-skipping server a skip can wait on other tests' timers).
    await eventually(shop.env.get_current_time, lambda now: now > at + timedelta(seconds=1))
    missed = await handle.execute_update(
        LeadFollowUp.record_outcome, RecordOutcome(outcome="no_show")
    )
    assert missed.status is LeadStatus.ENGAGED and missed.appointment_kind == "showroom"
    with pytest.raises(WorkflowUpdateFailedError) as early:
        await handle.execute_update(
            LeadFollowUp.record_outcome, RecordOutcome(outcome="unreachable")
        )
    assert "unreachable does not apply" in str(early.value.cause)


async def test_a_lead_that_began_on_whatsapp_opens_the_window(shop: Engine) -> None:
    """A new customer's WhatsApp message is a lead of source `whatsapp`: it may be answered in
    free text, at once, by the first touch and by a person."""
    handle = await shop.start(
        source="whatsapp",
        message="Is de Golf nog te koop?",
        customer={"phone": "+31641527399", "preferred_channel": "whatsapp"},
    )
    state = await shop.until(handle, lambda s: len(s.touches) >= 1)
    assert state.whatsapp_window_until is not None
    assert shape(state.thread) == [("in", "whatsapp", "customer"), ("out", "whatsapp", "blanco")]
    answer = await send(handle, salesperson_id="marieke", manager=True, text="Ja, nog te koop!")
    assert answer.channel is Channel.WHATSAPP and answer.delivery is DeliveryStatus.SENT
