"""leads.conversation: rules 5 (unreachable only at the end), 6 (a reply goes to a human) and
7 (respect: opt-outs and failures suppress a channel at once), plus merge and pause. The
Conversation is pure: `now` is passed in, so every case is a row in a table."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from leads.config import DealerPlan, parse_config
from leads.conversation import CadenceDone, Conversation, TouchDue
from leads.models import (
    CallResult,
    Channel,
    Customer,
    DeliveryStatus,
    Lead,
    LeadKind,
    LeadStatus,
    LogCall,
    Outcome,
    RecordOutcome,
    TaskKind,
    Touch,
)

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=AMS)
LEAD_ID = "lead-autohuis-test-0123456789abcdef01234567"
REPLY_URL = "https://platform.example/conversations/88123"
MOBILE = "06 2849 1735"
MOBILE_E164 = "+31628491735"

EMAIL = Channel.EMAIL
SMS = Channel.SMS
WHATSAPP = Channel.WHATSAPP
CHAT = Channel.CHAT
PHONE = Channel.PHONE


def plan(**overrides: Any) -> DealerPlan:
    dealer: dict[str, Any] = {
        "id": "autohuis-test",
        "name": "Autohuis Test",
        "webhook_secret": "whsec_dGVzdC1zZWNyZXQ=",
        "email_from": "verkoop@autohuis-test.nl",
        "sms_from": "+3197010000099",
        "whatsapp_from": "whatsapp:+3197010000098",
        "contact_window": "always",
        "business_hours": "always",
    }
    dealer.update(overrides)
    return parse_config({"dealers": [dealer]}).dealers[0].plan()


PLAN = plan()


def start(
    customer: Customer | None = None,
    reply_url: str | None = None,
    kind: LeadKind = LeadKind.GENERAL,
    **dealer: Any,
) -> Conversation:
    lead = Lead(
        source="website",
        external_id="web-1",
        kind=kind,
        customer=customer or Customer(email="pieter@example.nl"),
        reply_url=reply_url,
    )
    return Conversation.start(LEAD_ID, lead, plan(**dealer) if dealer else PLAN, NOW)


def run_touches(conversation: Conversation, count: int) -> None:
    """Send `count` touches as the workflow would: each at its due time."""
    for _ in range(count):
        step = conversation.next_step()
        assert isinstance(step, TouchDue)
        conversation.record_touch(
            Touch(number=step.number, channel=step.channel, at=step.at, template="t")
        )


def final(status: LeadStatus) -> Conversation:
    conversation = start()
    if status is LeadStatus.OPTED_OUT:
        conversation.opt_out(NOW, "all")
    elif status is LeadStatus.UNREACHABLE:
        run_touches(conversation, 8)
        conversation.become_unreachable(NOW)
    else:
        outcome = {LeadStatus.WON: Outcome.WON, LeadStatus.LOST: Outcome.LOST}[status]
        conversation.record_outcome(NOW, RecordOutcome(outcome=outcome, reason="price"))
    assert conversation.status is status
    return conversation


FINAL_STATUSES = [s for s in LeadStatus if s.final]


# --- rule 5: unreachable only at the end ----------------------------------------------------


@pytest.mark.parametrize("done", [0, 1, 3, 7])
def test_rule5_unreachable_refused_before_the_cadence_ran(done: int) -> None:
    conversation = start()
    run_touches(conversation, done)
    refusal = conversation.refuse_outcome(RecordOutcome(outcome=Outcome.UNREACHABLE))
    assert refusal is not None
    assert f"{done} of 8 touches done" in refusal
    assert "whole cadence" in refusal
    assert conversation.status is LeadStatus.CONTACTING


def test_rule5_unreachable_allowed_after_the_whole_cadence() -> None:
    conversation = start()
    run_touches(conversation, 8)
    request = RecordOutcome(outcome=Outcome.UNREACHABLE)
    assert conversation.refuse_outcome(request) is None
    conversation.record_outcome(NOW + timedelta(days=16), request)
    assert conversation.status is LeadStatus.UNREACHABLE
    assert conversation.outcome is Outcome.UNREACHABLE


@pytest.mark.parametrize(
    "reason",
    [pytest.param(None, id="none"), pytest.param("", id="empty"), pytest.param(" ", id="blank")],
)
def test_rule8_lost_without_reason_refused(reason: str | None) -> None:
    refusal = start().refuse_outcome(RecordOutcome(outcome=Outcome.LOST, reason=reason))
    assert refusal is not None
    assert "reason" in refusal


@pytest.mark.parametrize(
    ("outcome", "reason", "status"),
    [
        pytest.param(Outcome.LOST, "bought elsewhere", LeadStatus.LOST, id="lost-with-reason"),
        pytest.param(Outcome.WON, None, LeadStatus.WON, id="won"),
        pytest.param(Outcome.APPOINTMENT, None, LeadStatus.APPOINTMENT, id="appointment"),
        pytest.param(Outcome.NOT_INTERESTED, None, LeadStatus.LOST, id="not-interested"),
    ],
)
def test_rule8_outcome_recorded(outcome: Outcome, reason: str | None, status: LeadStatus) -> None:
    conversation = start()
    request = RecordOutcome(outcome=outcome, reason=reason)
    assert conversation.refuse_outcome(request) is None
    conversation.record_outcome(NOW, request)
    assert conversation.status is status
    assert conversation.outcome is outcome


@pytest.mark.parametrize(
    ("appointment_at", "refused"),
    [
        pytest.param(None, "needs appointment_at", id="missing"),
        pytest.param(NOW - timedelta(hours=1), "is in the past", id="past"),
        pytest.param(NOW, "is in the past", id="now"),
        pytest.param(NOW + timedelta(days=2), None, id="future"),
        # No offset: the dealer's local time (NOW is 10:00 in Amsterdam).
        pytest.param(datetime(2026, 11, 24, 10, 30), None, id="naive-local-future"),
        pytest.param(datetime(2026, 11, 24, 9, 30), "is in the past", id="naive-local-past"),
    ],
)
def test_rule8_an_appointment_is_a_time_to_come(
    appointment_at: datetime | None, refused: str | None
) -> None:
    """Issue 9, finding 8: an appointment without a time, or in the past, was accepted."""
    request = RecordOutcome(outcome=Outcome.APPOINTMENT, appointment_at=appointment_at)
    refusal = start().refuse_appointment(request, NOW)
    assert (refusal is None) if refused is None else (refused in (refusal or ""))


def test_an_appointment_without_offset_is_kept_in_the_dealer_s_time_zone() -> None:
    conversation = start()
    at = datetime(2026, 11, 28, 10, 0)
    conversation.record_outcome(NOW, RecordOutcome(outcome=Outcome.APPOINTMENT, appointment_at=at))
    assert conversation.appointment_at == datetime(2026, 11, 28, 10, 0, tzinfo=AMS)


@pytest.mark.parametrize("outcome", [o for o in Outcome if o is not Outcome.APPOINTMENT])
def test_only_an_appointment_asks_for_a_time(outcome: Outcome) -> None:
    request = RecordOutcome(outcome=outcome, reason="price")
    assert start().refuse_appointment(request, NOW) is None


@pytest.mark.parametrize("outcome", list(Outcome))
@pytest.mark.parametrize("status", FINAL_STATUSES)
def test_rule8_outcome_on_final_lead_refused(status: LeadStatus, outcome: Outcome) -> None:
    refusal = final(status).refuse_outcome(RecordOutcome(outcome=outcome, reason="price"))
    assert refusal == f"the lead is already {status.value}"


# --- rule 6: a reply goes to a human --------------------------------------------------------


@pytest.mark.parametrize("channel", list(Channel))
def test_rule6_reply_engages_and_needs_a_human(channel: Channel) -> None:
    conversation = start()
    assert conversation.replied(NOW, channel) is True
    assert conversation.status is LeadStatus.ENGAGED


@pytest.mark.parametrize(
    ("prepare", "status"),
    [
        pytest.param("engaged", LeadStatus.ENGAGED, id="engaged-again"),
        pytest.param("paused", LeadStatus.ENGAGED, id="paused"),
        pytest.param("appointment", LeadStatus.APPOINTMENT, id="appointment"),
    ],
)
def test_rule6_reply_on_open_lead_needs_a_human(prepare: str, status: LeadStatus) -> None:
    conversation = start()
    if prepare == "engaged":
        conversation.replied(NOW, EMAIL)
    elif prepare == "paused":
        conversation.pause(NOW)
    else:
        conversation.record_outcome(NOW, RecordOutcome(outcome=Outcome.APPOINTMENT))
    assert conversation.replied(NOW + timedelta(hours=1), SMS) is True
    assert conversation.status is status


@pytest.mark.parametrize("status", FINAL_STATUSES)
def test_rule6_reply_on_final_lead_needs_no_task(status: LeadStatus) -> None:
    conversation = final(status)
    assert conversation.replied(NOW, EMAIL) is False
    assert conversation.status is status
    assert conversation.events[-1].what == "customer_replied"  # still on the timeline


# --- rule 7: opt-outs and failures suppress a channel at once -------------------------------


@pytest.mark.parametrize("channel", [EMAIL, SMS, WHATSAPP, CHAT])
def test_rule7_opt_out_of_one_channel_removes_only_it(channel: Channel) -> None:
    conversation = start(Customer(email="p@example.nl", phone=MOBILE), reply_url=REPLY_URL)
    before = conversation.usable()
    assert before == [EMAIL, SMS, WHATSAPP, CHAT, PHONE]
    conversation.opt_out(NOW, channel)
    assert conversation.usable() == [c for c in before if c is not channel]
    assert conversation.status is LeadStatus.CONTACTING
    step = conversation.next_step()
    assert isinstance(step, TouchDue)
    assert step.channel is not channel


@pytest.mark.parametrize(
    ("customer", "refused", "usable", "first"),
    [
        pytest.param(
            Customer(email="p@example.nl", phone=MOBILE, preferred_channel=SMS),
            [SMS, WHATSAPP, PHONE],
            [EMAIL],
            EMAIL,
            id="number-refused-email-left",
        ),
        pytest.param(Customer(email="p@example.nl"), [EMAIL], [], None, id="nothing-left-task"),
        pytest.param(Customer(email="p@example.nl"), [SMS], [EMAIL], EMAIL, id="not-theirs"),
    ],
)
def test_rule7_opt_out_kept_after_erasure_suppresses_without_ending(
    customer: Customer, refused: list[Channel], usable: list[Channel], first: Channel | None
) -> None:
    conversation = start(customer)
    conversation.suppress(NOW, refused)
    assert conversation.usable() == usable
    # The customer came back to us: the lead goes on, with a human task if nothing is left.
    assert conversation.status is LeadStatus.CONTACTING
    step = conversation.next_step()
    assert isinstance(step, TouchDue) and step.channel is first
    conversation.suppress(NOW, refused)  # asked again after a merge: noted once
    assert sum(e.what == "suppressed" for e in conversation.events) == len(refused)


def test_rule7_opt_out_of_all_opts_out() -> None:
    conversation = start(Customer(email="p@example.nl", phone=MOBILE), reply_url=REPLY_URL)
    conversation.opt_out(NOW, "all")
    assert conversation.status is LeadStatus.OPTED_OUT
    assert conversation.usable() == []


@pytest.mark.parametrize(
    ("customer", "reply_url", "channels"),
    [
        pytest.param(Customer(email="p@example.nl"), None, [EMAIL], id="email-only"),
        pytest.param(Customer(email="p@example.nl"), REPLY_URL, [CHAT, EMAIL], id="email-and-chat"),
        pytest.param(
            Customer(email="p@example.nl", phone=MOBILE), None, [SMS, EMAIL, WHATSAPP], id="all"
        ),
        pytest.param(
            Customer(phone=MOBILE, preferred_channel=PHONE), None, [WHATSAPP, SMS], id="texts"
        ),
    ],
)
def test_rule7_opt_out_of_every_usable_channel_opts_out(
    customer: Customer, reply_url: str | None, channels: list[Channel]
) -> None:
    conversation = start(customer, reply_url=reply_url)
    for channel in channels[:-1]:
        conversation.opt_out(NOW, channel)
        assert conversation.status is LeadStatus.CONTACTING
    conversation.opt_out(NOW, channels[-1])
    assert conversation.status is LeadStatus.OPTED_OUT


@pytest.mark.parametrize(
    ("customer", "reply_url", "channel"),
    [
        pytest.param(Customer(email="p@example.nl"), None, EMAIL, id="bounced-email"),
        pytest.param(Customer(), REPLY_URL, CHAT, id="closed-chat"),
        pytest.param(Customer(phone=MOBILE), None, WHATSAPP, id="whatsapp-only"),
    ],
)
def test_rule2_permanent_failure_of_only_channel_becomes_a_human_task(
    customer: Customer, reply_url: str | None, channel: Channel
) -> None:
    conversation = start(customer, reply_url=reply_url, sms_from=None)  # dealer sends no SMS
    run_touches(conversation, 1)
    assert conversation.touches[0].channel is channel
    conversation.delivery_failed(NOW, channel, "permanent failure", permanent=True)
    assert conversation.status is LeadStatus.CONTACTING
    assert channel not in conversation.usable()
    assert not [c for c in conversation.usable() if c.written]
    step = conversation.next_step()
    assert isinstance(step, TouchDue)
    assert step.number == 2
    assert step.channel is None


def test_rule2_temporary_failure_keeps_the_channel() -> None:
    conversation = start()
    conversation.delivery_failed(NOW, EMAIL, "mailbox full", permanent=False)
    assert conversation.usable() == [EMAIL]
    step = conversation.next_step()
    assert isinstance(step, TouchDue)
    assert step.channel is EMAIL


@pytest.mark.parametrize(
    ("result", "usable"),
    [
        pytest.param(CallResult.WRONG_NUMBER, [EMAIL], id="wrong-number"),
        pytest.param(CallResult.NO_ANSWER, [EMAIL, SMS, WHATSAPP, PHONE], id="no-answer"),
        pytest.param(CallResult.VOICEMAIL, [EMAIL, SMS, WHATSAPP, PHONE], id="voicemail"),
        pytest.param(CallResult.REACHED, [EMAIL, SMS, WHATSAPP, PHONE], id="reached"),
    ],
)
def test_rule2_wrong_number_removes_only_the_number_channels(
    result: CallResult, usable: list[Channel]
) -> None:
    conversation = start(
        Customer(email="p@example.nl", phone=MOBILE), kind=LeadKind.CALLBACK_REQUEST
    )
    conversation.log_call(NOW, LogCall(result=result))
    assert conversation.usable() == usable
    expected = LeadStatus.ENGAGED if result is CallResult.REACHED else LeadStatus.CONTACTING
    assert conversation.status is expected


# --- one customer, one conversation ----------------------------------------------------------


def test_merge_new_inquiry_adds_channels_and_returns_true() -> None:
    conversation = start(Customer(email="p@example.nl"))
    assert conversation.usable() == [EMAIL]
    second = Lead(
        source="marktplaats",
        external_id="mp-88123",
        kind=LeadKind.OFFER,
        customer=Customer(phone=MOBILE),
    )
    assert conversation.merge(NOW + timedelta(hours=1), second) is True
    assert conversation.usable() == [EMAIL, SMS, WHATSAPP, PHONE]
    assert conversation.addresses[SMS] == MOBILE_E164
    assert [(i.source, i.external_id) for i in conversation.inquiries] == [
        ("website", "web-1"),
        ("marktplaats", "mp-88123"),
    ]
    assert conversation.merge(NOW + timedelta(hours=2), second) is False
    assert conversation.merge(NOW + timedelta(hours=2), conversation.lead) is False
    assert len(conversation.inquiries) == 2


def test_merge_chat_inquiry_adds_the_chat_channel() -> None:
    conversation = start(Customer(email="p@example.nl"))
    second = Lead(source="autotrack", external_id="at-1", reply_url=REPLY_URL)
    assert conversation.merge(NOW, second) is True
    assert conversation.usable() == [EMAIL, CHAT]


def test_rule2_merge_placeholder_phone_does_not_replace_a_usable_one() -> None:
    conversation = start(Customer(email="p@example.nl", phone=MOBILE))
    second = Lead(
        source="marktplaats",
        external_id="mp-1",
        customer=Customer(email="not-an-address", phone="0000000000"),
    )
    assert conversation.merge(NOW, second) is True
    assert conversation.usable() == [EMAIL, SMS, WHATSAPP, PHONE]
    assert conversation.addresses[EMAIL] == "p@example.nl"


def test_rule2_merge_new_address_replaces_a_failed_one() -> None:
    conversation = start(Customer(email="p@typo.example.nl", phone=MOBILE))
    conversation.delivery_failed(NOW, EMAIL, "no such mailbox", permanent=True)
    conversation.log_call(NOW, LogCall(result=CallResult.WRONG_NUMBER))
    assert conversation.usable() == []
    second = Lead(
        source="website",
        external_id="web-2",
        customer=Customer(email="p@example.nl", phone="06 3947 2816"),
    )
    assert conversation.merge(NOW, second) is True
    assert conversation.usable() == [EMAIL, SMS, WHATSAPP, PHONE]
    assert conversation.addresses[SMS] == "+31639472816"


def test_rule7_merge_new_address_keeps_the_opt_out() -> None:
    conversation = start(Customer(email="p@example.nl", phone=MOBILE))
    conversation.opt_out(NOW, SMS)
    second = Lead(source="website", external_id="web-2", customer=Customer(phone="06 3947 2816"))
    assert conversation.merge(NOW, second) is True
    assert SMS not in conversation.usable()
    assert WHATSAPP in conversation.usable()


# --- pause and resume -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "paused",
    [timedelta(minutes=5), timedelta(hours=3), timedelta(days=2)],
    ids=["5m", "3h", "2d"],
)
@pytest.mark.parametrize("touches_done", [1, 4])
def test_pause_resume_shifts_the_next_touch_by_the_paused_time(
    paused: timedelta, touches_done: int
) -> None:
    conversation = start()
    run_touches(conversation, touches_done)
    before = conversation.next_step()
    assert isinstance(before, TouchDue)
    pause_at = conversation.touches[-1].at + timedelta(minutes=1)
    conversation.pause(pause_at)
    assert conversation.refuse_resume() is None
    assert conversation.refuse_pause() == "the lead is already paused"
    conversation.resume(pause_at + paused)
    assert conversation.status is LeadStatus.CONTACTING
    assert conversation.paused_total == paused
    assert conversation.anchor == NOW + paused
    after = conversation.next_step()
    assert isinstance(after, TouchDue)
    assert after.number == before.number
    assert after.at - before.at == paused


def test_resume_refused_when_not_paused() -> None:
    assert start().refuse_resume() == "the lead is not paused (it is contacting)"


# --- rule 5: the end of the cadence ---------------------------------------------------------


@pytest.mark.parametrize(
    ("dealer", "grace"),
    [
        pytest.param({}, timedelta(days=2), id="default"),
        pytest.param({"grace": "5d", "cadence": ["0s", "1d", "3d"]}, timedelta(days=5), id="short"),
    ],
)
def test_rule5_next_step_after_all_touches_is_cadence_done(
    dealer: dict[str, Any], grace: timedelta
) -> None:
    conversation = start(**dealer)
    run_touches(conversation, conversation.touches_planned)
    step = conversation.next_step()
    assert step == CadenceDone(conversation.touches[-1].at + grace)
    assert conversation.refuse_outcome(RecordOutcome(outcome=Outcome.UNREACHABLE)) is None


def test_rule5_full_cadence_follows_offsets_from_arrival() -> None:
    conversation = start()
    run_touches(conversation, 8)
    offsets = [t.at - NOW for t in conversation.touches]
    assert tuple(offsets) == PLAN.cadence
    assert [t.number for t in conversation.touches] == list(range(1, 9))


@pytest.mark.parametrize(
    ("task", "result", "closes"),
    [
        (TaskKind.CALL, CallResult.NO_ANSWER, True),
        (TaskKind.CALL, CallResult.VOICEMAIL, True),
        (TaskKind.CALL, CallResult.REACHED, True),
        (TaskKind.CALL, CallResult.WRONG_NUMBER, True),
        (TaskKind.REPLY, CallResult.NO_ANSWER, False),
        (TaskKind.REPLY, CallResult.VOICEMAIL, False),
        (TaskKind.REPLY, CallResult.WRONG_NUMBER, False),
        (TaskKind.REPLY, CallResult.REACHED, True),
        (TaskKind.NO_CHANNEL, CallResult.NO_ANSWER, False),
        (TaskKind.NO_CHANNEL, CallResult.REACHED, True),
    ],
)
def test_rule6_a_missed_call_back_keeps_the_reply_task_open(
    task: TaskKind, result: CallResult, closes: bool
) -> None:
    conversation = start()
    conversation.open_task_id, conversation.open_task_kind = f"task-{LEAD_ID}-1", task
    assert conversation.call_closes_task(LogCall(result=result)) is closes


@pytest.mark.parametrize(
    ("status", "ends"),
    [
        (LeadStatus.CONTACTING, True),
        (LeadStatus.PAUSED, True),
        (LeadStatus.ENGAGED, False),
        (LeadStatus.APPOINTMENT, False),
    ],
)
def test_rule7_unsubscribing_from_the_last_channel_ends_only_a_lead_being_contacted(
    status: LeadStatus, ends: bool
) -> None:
    conversation = start()  # e-mail is the only written channel
    conversation.status = status
    conversation.opt_out(NOW, EMAIL)
    assert EMAIL not in conversation.usable()  # suppressed at once, always
    assert (conversation.status is LeadStatus.OPTED_OUT) is ends


@pytest.mark.parametrize(
    ("status", "refused"),
    [
        (LeadStatus.CONTACTING, False),
        (LeadStatus.PAUSED, True),
        (LeadStatus.ENGAGED, True),
        (LeadStatus.APPOINTMENT, True),
    ],
)
def test_pause_holds_only_a_running_cadence(status: LeadStatus, refused: bool) -> None:
    conversation = start()
    conversation.status = status
    assert (conversation.refuse_pause() is not None) is refused


def test_rule5_unreachable_refused_for_a_customer_who_answered() -> None:
    conversation = start()
    run_touches(conversation, len(PLAN.cadence))
    conversation.replied(NOW, EMAIL)
    reason = conversation.refuse_outcome(RecordOutcome(outcome=Outcome.UNREACHABLE))
    assert reason is not None and "answered" in reason


@pytest.mark.parametrize(
    ("task", "waits"), [(None, False), (TaskKind.NO_CHANNEL, True), (TaskKind.CALL, True)]
)
def test_rule5_after_the_cadence_an_open_human_task_decides_not_the_clock(
    task: TaskKind | None, waits: bool
) -> None:
    conversation = start()
    run_touches(conversation, len(PLAN.cadence))
    if task is not None:
        conversation.open_task_id, conversation.open_task_kind = f"task-{LEAD_ID}-1", task
    assert conversation.waits_for_human() is waits


# --- provider reports, auto-replies, opt-in, repeated events (issue 3) ----------------------

D = DeliveryStatus


def sent_by(channel: Channel) -> Conversation:
    conversation = start(Customer(email="pieter@example.nl", phone=MOBILE))
    conversation.record_touch(Touch(number=1, channel=channel, at=NOW, template="t"))
    return conversation


@pytest.mark.parametrize(
    ("reports", "final", "usable_after"),
    [
        ([D.SENT, D.DELIVERED], D.DELIVERED, True),
        ([D.DELIVERED, D.SENT], D.DELIVERED, True),  # a late `sent` never moves it back
        ([D.READ, D.DELIVERED], D.READ, True),
        ([D.DELIVERED, "failed"], D.DELIVERED, True),  # a late failure: the channel stays
        (["failed", D.DELIVERED], D.FAILED, False),
        ([D.SENT, "failed"], D.FAILED, False),
    ],
)
def test_rule7_delivery_reports_never_move_a_touch_backwards(
    reports: list[Any], final: DeliveryStatus, usable_after: bool
) -> None:
    conversation = sent_by(SMS)
    for report in reports:
        if report == "failed":
            conversation.delivery_report(NOW, 1, SMS, D.FAILED, "twilio 30005", permanent=True)
        else:
            conversation.delivery_report(NOW, 1, SMS, report)
    assert conversation.touches[0].delivery is final
    assert (SMS in conversation.usable()) is usable_after


def test_reports_on_unknown_touches_change_nothing() -> None:
    conversation = sent_by(SMS)
    assert not conversation.delivery_report(NOW, 1, EMAIL, D.FAILED, "bounce", permanent=True)
    assert EMAIL in conversation.usable() and conversation.events == []
    assert conversation.early_reports == []  # touch 1 went by SMS: not a report to keep


def test_a_report_before_its_touch_is_recorded_is_kept_until_it_is() -> None:
    conversation = sent_by(SMS)
    assert not conversation.delivery_report(NOW, 2, EMAIL, D.FAILED, "bounce", permanent=True)
    assert EMAIL in conversation.usable()
    conversation.record_touch(Touch(number=2, channel=EMAIL, at=NOW, template="t"))
    assert conversation.touches[1].delivery is D.FAILED and EMAIL not in conversation.usable()
    assert conversation.early_reports == []


@pytest.mark.parametrize(
    ("until", "not_before"),
    [
        (None, NOW + timedelta(days=1)),  # no return date: a day
        (NOW + timedelta(days=5), NOW + timedelta(days=5)),
        (NOW - timedelta(days=1), NOW + timedelta(days=1)),  # a date in the past: a day
        (NOW + timedelta(days=400), NOW + timedelta(days=90)),  # never longer than 90 days
    ],
)
def test_rule6_an_auto_reply_postpones_the_next_touch(
    until: datetime | None, not_before: datetime
) -> None:
    conversation = start()
    run_touches(conversation, 1)
    conversation.auto_replied(NOW, EMAIL, until)
    step = conversation.next_step()
    assert conversation.status is LeadStatus.CONTACTING and conversation.open_task_id is None
    assert isinstance(step, TouchDue) and step.at >= not_before
    assert conversation.not_before == not_before


def test_rule5_an_auto_reply_after_the_last_touch_moves_unreachable_past_the_return() -> None:
    conversation = start()
    run_touches(conversation, len(PLAN.cadence))
    back = conversation.touches[-1].at + timedelta(days=20)
    conversation.auto_replied(conversation.touches[-1].at, EMAIL, back)
    step = conversation.next_step()
    assert isinstance(step, CadenceDone) and step.at == back + PLAN.grace


def test_rule7_start_opts_back_in_but_a_failure_stays() -> None:
    conversation = start(Customer(email="pieter@example.nl", phone=MOBILE))
    conversation.opt_out(NOW, SMS)
    conversation.delivery_failed(NOW, WHATSAPP, "twilio 63003", permanent=True)
    conversation.opt_in(NOW, SMS)
    conversation.opt_in(NOW, WHATSAPP)
    assert SMS in conversation.usable() and WHATSAPP not in conversation.usable()
    assert SMS not in conversation.opted_out


def test_a_provider_event_is_heard_once() -> None:
    conversation = start()
    assert conversation.first_time("ev-1") and not conversation.first_time("ev-1")
    assert conversation.first_time(None) and conversation.first_time(None)
    for n in range(600):
        conversation.first_time(f"flood-{n}")
    assert len(conversation.events_seen) == 500 and conversation.first_time("ev-1")


def test_the_timeline_keeps_the_start_of_a_reply() -> None:
    conversation = start()
    conversation.replied(NOW, EMAIL, "Graag   een\nproefrit " + "x" * 300)
    detail = conversation.events[-1].detail
    assert detail is not None and detail.startswith("Graag een proefrit x") and len(detail) == 200


def test_contact_identifiers_follow_merged_inquiries() -> None:
    conversation = start(Customer(email="Pieter@Example.nl"))
    assert conversation.contact_identifiers() == [
        "email:pieter@example.nl",
        "ext:website:web-1",
        "extid:web-1",
    ]
    conversation.merge(
        NOW, Lead(source="marktplaats", external_id="mp-9", customer=Customer(phone=MOBILE))
    )
    assert f"phone:{MOBILE_E164}" in conversation.contact_identifiers()
    assert "ext:marktplaats:mp-9" in conversation.contact_identifiers()
