"""leads.conversation: the thread, who may write to the customer and on which channel, and the
appointment's outcomes (docs/api.md "The thread", "Salesperson messages").
Pure: every case is a row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from leads.conversation import (
    TEXT_KEPT,
    THREAD_KEPT,
    WHATSAPP_TEMPLATE_MISSING,
    Conversation,
)
from leads.models import (
    CallResult,
    Channel,
    Customer,
    LeadStatus,
    LogCall,
    Outcome,
    RecordOutcome,
    SendMessage,
    TaskKind,
)
from tests.unit.test_conversation import MOBILE, NOW, start

TASK = "task-lead-autohuis-test-0123456789abcdef01234567-1"
EMAIL, SMS, WHATSAPP, CHAT, PHONE = (
    Channel.EMAIL,
    Channel.SMS,
    Channel.WHATSAPP,
    Channel.CHAT,
    Channel.PHONE,
)


def engaged(claimed_by: str | None = "jan", **customer: Any) -> Conversation:
    """A customer (e-mail and mobile) who answered by e-mail; its reply task claimed."""
    c = start(Customer(email="pieter@example.nl", phone=MOBILE, **customer), whatsapp_templates={})
    c.replied(NOW, EMAIL, "Ja graag", subject="Re: Uw aanvraag", message_id="<a@mail.example>")
    c.open_task_id, c.open_task_kind = TASK, TaskKind.REPLY
    if claimed_by:
        c.task_claimed(NOW, TASK, claimed_by)
    return c


def message(**fields: Any) -> SendMessage:
    return SendMessage.model_validate({"salesperson_id": "jan", "text": "Hoi", **fields})


Prepare = Callable[[Conversation], None]


def _opt_out_sms(c: Conversation) -> None:
    c.opt_out(NOW, SMS, "STOP")


def _wrong_number(c: Conversation) -> None:
    c.blocked[SMS] = "wrong number"


def _close(c: Conversation) -> None:
    c.record_outcome(NOW, RecordOutcome(outcome=Outcome.WON))


def _nothing(c: Conversation) -> None:
    pass


@pytest.mark.parametrize(
    ("claimed_by", "prepare", "fields", "refused"),
    [
        pytest.param("jan", _nothing, {}, None, id="claimed-by-the-writer"),
        pytest.param(None, _nothing, {}, "claim the lead's task first", id="unclaimed"),
        pytest.param("kees", _nothing, {}, "kees has claimed", id="claimed-by-another"),
        pytest.param(None, _nothing, {"manager": True}, None, id="a-manager-always-writes"),
        pytest.param("jan", _close, {}, "the lead is closed (won)", id="closed-lead"),
        pytest.param(
            "jan", _opt_out_sms, {"channel": "sms"}, "opted out of SMS", id="rule7-opted-out"
        ),
        pytest.param(
            "jan", _wrong_number, {"channel": "sms"}, "does not reach", id="rule2-wrong-number"
        ),
        pytest.param("jan", _nothing, {"channel": "chat"}, "no address for", id="no-address"),
        pytest.param("jan", _nothing, {"channel": "phone"}, "log the call", id="rule3-phone"),
        pytest.param("jan", _nothing, {"text": " "}, "write a message first", id="empty"),
        pytest.param(
            "jan",
            _nothing,
            {"channel": "whatsapp"},
            "only within 24 hours",
            id="whatsapp-outside-the-window",
        ),
        pytest.param(
            "jan",
            _nothing,
            {"channel": "whatsapp", "template": True, "text": ""},
            "no approved WhatsApp template",
            id="whatsapp-template-the-dealer-lacks",
        ),
    ],
)
def test_who_may_write_and_on_which_channel(
    claimed_by: str | None, prepare: Prepare, fields: dict[str, Any], refused: str | None
) -> None:
    c = engaged(claimed_by)
    prepare(c)
    refusal = c.refuse_message(message(**fields), NOW)
    assert (refusal is None) if refused is None else (refused in (refusal or "")), refusal


def test_whatsapp_free_text_within_24_hours_of_the_customer_s_message() -> None:
    c = engaged()
    c.replied(NOW, WHATSAPP, "Via WhatsApp graag")
    free = message(channel="whatsapp")
    assert c.refuse_message(free, NOW + timedelta(hours=23)) is None
    assert "only within 24 hours" in (c.refuse_message(free, NOW + timedelta(hours=25)) or "")


def test_the_customer_s_whatsapp_message_reopens_whatsapp_the_cadence_could_not_use() -> None:
    """A touch outside the window without a template took WhatsApp out of the cadence; that is
    the dealer's gap, not the customer's: their own WhatsApp message brings it back."""
    c = engaged()
    c.delivery_failed(NOW, WHATSAPP, WHATSAPP_TEMPLATE_MISSING, permanent=True)
    assert WHATSAPP not in c.usable()
    assert "only within 24 hours" in (c.refuse_message(message(channel="whatsapp"), NOW) or "")
    c.replied(NOW, WHATSAPP, "Hallo")
    assert WHATSAPP in c.usable()
    assert c.refuse_message(message(), NOW) is None


@pytest.mark.parametrize(
    ("last_wrote_on", "asked", "chosen"),
    [
        pytest.param(EMAIL, None, EMAIL, id="the-customer-s-last-channel"),
        pytest.param(SMS, None, SMS, id="sms-reply"),
        pytest.param(EMAIL, SMS, SMS, id="the-channel-asked-for"),
    ],
)
def test_the_channel_defaults_to_where_the_customer_last_wrote(
    last_wrote_on: Channel, asked: Channel | None, chosen: Channel
) -> None:
    c = engaged()
    c.replied(NOW, last_wrote_on, "Nog een vraag")
    assert c.message_channel(asked) is chosen


def test_an_email_answer_joins_the_customer_s_mail_thread() -> None:
    c = engaged()
    c.replied(NOW, EMAIL, "En de kleur?", subject="Re: Uw aanvraag", message_id="<b@mail.example>")
    subject, in_reply_to, references = c.threading()
    assert subject == "Re: Uw aanvraag"  # not "Re: Re: …"
    assert in_reply_to == "<b@mail.example>"
    assert references == ("<a@mail.example>", "<b@mail.example>")


def test_the_thread_keeps_the_newest_messages_and_trims_long_texts() -> None:
    c = engaged()
    for n in range(THREAD_KEPT + 49):
        c.replied(NOW + timedelta(minutes=n), SMS, f"bericht {n}")
    c.replied(NOW + timedelta(days=1), SMS, "x" * (TEXT_KEPT * 3))
    assert len(c.thread) == THREAD_KEPT
    assert c.thread_dropped == 51  # the first answer, then the oldest 50 of these
    assert c.thread[0].text == "bericht 50"
    last = c.thread[-1]
    assert last.trimmed and len(last.text) == TEXT_KEPT
    state = c.state(None)
    assert len(state.thread) == THREAD_KEPT and state.thread_dropped == 51


@pytest.mark.parametrize(
    ("status_before", "outcome", "refused"),
    [
        pytest.param(LeadStatus.ENGAGED, Outcome.SHOWN, "needs an appointment", id="shown-early"),
        pytest.param(LeadStatus.ENGAGED, Outcome.NO_SHOW, "needs an appointment", id="no-show"),
        pytest.param(LeadStatus.APPOINTMENT, Outcome.SHOWN, None, id="shown"),
        pytest.param(LeadStatus.APPOINTMENT, Outcome.NO_SHOW, None, id="no-show-after"),
    ],
)
def test_rule8_shown_and_no_show_follow_an_appointment(
    status_before: LeadStatus, outcome: Outcome, refused: str | None
) -> None:
    c = engaged()
    if status_before is LeadStatus.APPOINTMENT:
        booked = RecordOutcome(outcome=Outcome.APPOINTMENT, appointment_at=NOW + timedelta(hours=2))
        c.record_outcome(NOW, booked)
    refusal = c.refuse_outcome(RecordOutcome(outcome=outcome))
    assert (refusal is None) if refused is None else (refused in (refusal or ""))


@pytest.mark.parametrize(
    ("outcome", "status"),
    [(Outcome.SHOWN, LeadStatus.SHOWN), (Outcome.NO_SHOW, LeadStatus.ENGAGED)],
)
def test_rule8_after_the_appointment(outcome: Outcome, status: LeadStatus) -> None:
    c = engaged()
    at = NOW + timedelta(hours=2)
    c.record_outcome(NOW, RecordOutcome(outcome=Outcome.APPOINTMENT, appointment_at=at))
    later = NOW + timedelta(hours=3)
    assert c.refuse_appointment(RecordOutcome(outcome=outcome), later) is None
    c.record_outcome(later, RecordOutcome(outcome=outcome, salesperson_id="jan"))
    assert c.status is status and c.appointment_at == at
    assert c.events[-1].what == f"outcome_{outcome.value}" and c.events[-1].by == "jan"


def test_a_no_show_before_the_appointment_is_refused() -> None:
    c = engaged()
    at = NOW + timedelta(hours=2)
    c.record_outcome(NOW, RecordOutcome(outcome=Outcome.APPOINTMENT, appointment_at=at))
    refusal = c.refuse_appointment(RecordOutcome(outcome=Outcome.NO_SHOW), NOW)
    assert "can only be recorded after it" in (refusal or "")


@pytest.mark.parametrize(
    ("contact", "outcome", "refused"),
    [
        pytest.param(None, Outcome.LOST, "has not answered yet", id="lost-before-any-contact"),
        pytest.param(None, Outcome.NOT_INTERESTED, "has not answered yet", id="not-interested"),
        pytest.param(None, Outcome.WON, None, id="won-needs-no-answer-first"),
        pytest.param("reply", Outcome.LOST, None, id="lost-after-a-reply"),
        pytest.param("call", Outcome.NOT_INTERESTED, None, id="not-interested-after-a-call"),
    ],
)
def test_rule1_a_lead_nobody_spoke_to_is_not_given_up_by_hand(
    contact: str | None, outcome: Outcome, refused: str | None
) -> None:
    c = start()
    if contact == "reply":
        c.replied(NOW, EMAIL, "Nee dank u")
    elif contact == "call":
        c.log_call(NOW, LogCall(result=CallResult.REACHED))
    refusal = c.refuse_dropping(RecordOutcome(outcome=outcome, reason="price"))
    assert (refusal is None) if refused is None else (refused in (refusal or ""))


def test_the_same_appointment_twice_is_refused() -> None:
    c = engaged()
    at = NOW + timedelta(days=1)
    booking = RecordOutcome(outcome=Outcome.APPOINTMENT, appointment_at=at, appointment_kind="call")
    assert c.refuse_rebooking(booking) is None
    c.record_outcome(NOW, booking)
    assert "already booked" in (c.refuse_rebooking(booking) or "")
    moved = booking.model_copy(update={"appointment_at": at + timedelta(hours=1)})
    assert c.refuse_rebooking(moved) is None  # a new time is a rebooking, confirmed anew
