"""Rule 8 — judge by the result: which figures a conversation gives the results store
(leads/milestones.py), one row per path, and none of the customer's data in any of them.
Rule 2's contact quality is what the audit compares, so it is named here too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from leads.contact import ContactQuality, contact_quality
from leads.conversation import Conversation
from leads.milestones import REASON_KEPT, answered_at, conversation_figures, figures_if_sent
from leads.models import Channel, Customer, DeliveryStatus, LogCall, RecordOutcome, Touch
from tests.unit.test_conversation import NOW, start

RUN = "run-0001"
TASK = "task-lead-autohuis-test-0123456789abcdef01234567-1"
MINUTE = timedelta(minutes=1)


def touches(c: Conversation, count: int) -> None:
    """`count` touches, a minute apart, each accepted by its provider a second later."""
    for n in range(1, count + 1):
        at = NOW + (n - 1) * MINUTE
        step = c.next_step()
        c.record_touch(
            Touch(
                number=n,
                channel=getattr(step, "channel", None),
                at=at,
                template="t",
                sent_at=at + timedelta(seconds=1),
            )
        )


def replied_after(count: int) -> Callable[[Conversation], None]:
    def script(c: Conversation) -> None:
        touches(c, count)
        c.replied(NOW + count * MINUTE, Channel.EMAIL, "Is hij er nog?")

    return script


def claimed(c: Conversation) -> None:
    replied_after(1)(c)
    c.open_task_id = TASK
    c.note(NOW + 2 * MINUTE, "task_opened_reply", detail=TASK)
    c.task_claimed(NOW + 5 * MINUTE, TASK, "jan")


def outcome(*requests: RecordOutcome) -> Callable[[Conversation], None]:
    def script(c: Conversation) -> None:
        claimed(c)
        for n, request in enumerate(requests):
            c.record_outcome(NOW + (10 + n) * MINUTE, request)

    return script


def unreachable(c: Conversation) -> None:
    touches(c, 8)
    c.become_unreachable(NOW + timedelta(days=20))


def opted_out(c: Conversation) -> None:
    touches(c, 1)
    c.opt_out(NOW + 3 * MINUTE, "all", "STOP")


def call_reached(c: Conversation) -> None:
    touches(c, 1)
    c.log_call(NOW + 4 * MINUTE, LogCall(result="reached", salesperson_id="jan"))


APPOINTMENT = RecordOutcome(outcome="appointment", appointment_at=NOW + timedelta(days=2))
PATHS: list[tuple[str, Callable[[Conversation], None], dict[str, Any]]] = [
    (
        "rule8_the_first_answer_is_the_first_accepted_message",
        lambda c: touches(c, 1),
        {
            "first_answer_at": NOW + timedelta(seconds=1),
            "first_reply_at": None,
            "status": "contacting",
        },
    ),
    (
        "rule8_a_reply_counts_the_touches_it_took",
        replied_after(3),
        {"first_reply_at": NOW + 3 * MINUTE, "touches_to_reply": 3, "status": "engaged"},
    ),
    (
        "rule8_a_call_that_reached_them_is_two_way_contact",
        call_reached,
        {"first_reply_at": NOW + 4 * MINUTE, "touches_to_reply": 1},
    ),
    (
        "rule8_the_claim_after_the_reply_names_the_salesperson",
        claimed,
        {"claimed_at": NOW + 5 * MINUTE, "salesperson_id": "jan", "outcome": None},
    ),
    (
        "rule8_appointment_shown_won",
        outcome(APPOINTMENT, RecordOutcome(outcome="shown"), RecordOutcome(outcome="won")),
        {
            "appointment_set_at": NOW + 10 * MINUTE,
            "appointment_at": NOW + timedelta(days=2),
            "appointment_kind": "showroom",
            "shown_at": NOW + 11 * MINUTE,
            "no_show_at": None,
            "outcome": "won",
            "closed_at": NOW + 12 * MINUTE,
        },
    ),
    (
        "rule8_a_no_show_is_kept_and_the_lead_goes_on",
        outcome(APPOINTMENT, RecordOutcome(outcome="no_show")),
        {"no_show_at": NOW + 11 * MINUTE, "shown_at": None, "outcome": None, "closed_at": None},
    ),
    (
        "rule8_lost_keeps_its_reason_label",
        outcome(RecordOutcome(outcome="lost", reason="bought elsewhere")),
        {"outcome": "lost", "outcome_reason": "bought elsewhere", "closed_at": NOW + 10 * MINUTE},
    ),
    (
        "rule8_a_long_reason_is_cut_to_a_label",
        outcome(RecordOutcome(outcome="lost", reason="x" * 200)),
        {"outcome_reason": "x" * REASON_KEPT},
    ),
    (
        "rule8_not_interested_is_its_own_outcome",
        outcome(RecordOutcome(outcome="not_interested")),
        {"outcome": "not_interested", "status": "lost"},
    ),
    (
        "rule5_unreachable_only_after_the_whole_cadence",
        unreachable,
        {"outcome": "unreachable", "closed_at": NOW + timedelta(days=20), "first_reply_at": None},
    ),
    (
        "rule7_an_opt_out_of_everything_closes_it",
        opted_out,
        {"outcome": "opted_out", "closed_at": NOW + 3 * MINUTE, "outcome_reason": None},
    ),
]


@pytest.mark.parametrize(("rule", "script", "expected"), PATHS, ids=[p[0] for p in PATHS])
def test_each_path_gives_its_figures(
    rule: str, script: Callable[[Conversation], None], expected: dict[str, Any]
) -> None:
    c = start()
    script(c)
    figures = conversation_figures(c, RUN).model_dump()
    assert {name: figures[name] for name in expected} == expected, rule
    assert figures["conversation_id"] == RUN


def test_rule8_the_revision_grows_with_everything_recorded() -> None:
    c = start()
    touches(c, 1)
    first = conversation_figures(c, RUN)
    c.replied(NOW + MINUTE, Channel.EMAIL, "Ja")
    second = conversation_figures(c, RUN)
    assert second.revision > first.revision
    assert second.fingerprint() != first.fingerprint()
    assert conversation_figures(c, RUN).fingerprint() == second.fingerprint()  # nothing new


def _touch(number: int, channel: Channel | None, failed: str | None = None) -> Touch:
    at = NOW + (number - 1) * MINUTE
    return Touch(number=number, channel=channel, at=at, template="t", sent_at=at, failed=failed)


def _failed_first(c: Conversation) -> None:
    c.record_touch(_touch(1, Channel.EMAIL, failed="mailbox full"))


def _reported_early(c: Conversation) -> None:
    # The provider's "delivered" overtook the send's result: kept until the touch is recorded.
    c.delivery_report(NOW + MINUTE, 1, Channel.EMAIL, DeliveryStatus.DELIVERED)
    assert c.early_reports


# (rule, what came before, the touch, whether the send writes the figures)
SENT = [
    ("rule8_the_first_answer_is_the_sends_milestone", None, _touch(1, Channel.EMAIL), True),
    ("rule8_an_sms_first_answer_too", None, _touch(1, Channel.SMS), True),
    (
        "rule8_a_later_touch_changes_no_milestone",
        lambda c: touches(c, 1),
        _touch(2, Channel.EMAIL),
        False,
    ),
    ("rule3_a_call_task_is_no_written_answer", None, _touch(1, Channel.PHONE), False),
    ("rule2_a_no_channel_task_neither", None, _touch(1, None), False),
    (
        "rule8_after_a_failed_touch_the_next_one_answers",
        _failed_first,
        _touch(2, Channel.SMS),
        True,
    ),
    (
        "rule8_a_report_that_came_before_its_touch_counts",
        _reported_early,
        _touch(1, Channel.EMAIL),
        True,
    ),
]


@pytest.mark.parametrize(("rule", "before", "touch", "writes"), SENT, ids=[s[0] for s in SENT])
def test_the_send_writes_exactly_the_figures_the_touch_gives(
    rule: str, before: Callable[[Conversation], None] | None, touch: Touch, writes: bool
) -> None:
    """What the send writes (figures_if_sent, its time set by answered_at) is what the
    conversation gives once the workflow records the touch at the provider's time."""
    c = start()
    if before is not None:
        before(c)
    untouched = c.model_dump()
    figures = figures_if_sent(c, touch, RUN)
    assert (figures is not None) is writes, rule
    assert c.model_dump() == untouched, rule  # the probe changed a copy
    accepted = touch.at + timedelta(seconds=2)
    c.record_touch(touch.model_copy(update={"sent_at": accepted}))
    if figures is not None:
        assert answered_at(figures, accepted) == conversation_figures(c, RUN), rule
        assert conversation_figures(c, RUN).first_answer_at == accepted


def test_rule8_a_task_is_reminded_and_escalated_by_the_time_its_claim_took() -> None:
    c = start()
    claimed(c)  # opened at +2 min, claimed at +5 min
    slow = start(remind_after="2m", escalate_after="3m")
    claimed(slow)
    [quick], [late] = conversation_figures(c, RUN).tasks, conversation_figures(slow, RUN).tasks
    assert (quick.reminded, quick.escalated) == (False, False)  # 10 / 30 min by default
    assert (late.reminded, late.escalated) == (True, True)
    assert (late.task_key, late.kind, late.salesperson_id) == (f"{RUN}:1", "reply", "jan")


CONTACT: list[tuple[str, Customer, ContactQuality, str, list[Channel]]] = [
    (
        "rule2_email_and_mobile_is_complete",
        Customer(email="p@example.nl", phone="06 2849 1735"),
        ContactQuality.COMPLETE,
        "email",  # a web form with an e-mail address: answered by e-mail (rule 3)
        [Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.PHONE],
    ),
    (
        "rule2_a_phone_of_zeros_routes_to_email",
        Customer(email="p@example.nl", phone="0000000000"),
        ContactQuality.PLACEHOLDER_PHONE,
        "email",
        [Channel.EMAIL],
    ),
    (
        "rule2_no_phone_is_email_only",
        Customer(email="p@example.nl"),
        ContactQuality.EMAIL_ONLY,
        "email",
        [Channel.EMAIL],
    ),
    (
        "rule2_a_mobile_only_is_phone_only",
        Customer(phone="06 2849 1735"),
        ContactQuality.PHONE_ONLY,
        "whatsapp",
        [Channel.SMS, Channel.WHATSAPP, Channel.PHONE],
    ),
    (
        "rule2_nothing_usable_is_no_channel_and_still_followed_up",
        Customer(name="Pieter", phone="onbekend"),
        ContactQuality.NO_CHANNEL,
        "none",
        [],
    ),
]


@pytest.mark.parametrize(
    ("rule", "customer", "quality", "first", "usable"), CONTACT, ids=[c[0] for c in CONTACT]
)
def test_contact_quality_is_recorded_not_judged(
    rule: str, customer: Customer, quality: ContactQuality, first: str, usable: list[Channel]
) -> None:
    assert contact_quality(customer, "NL").quality is quality, rule
    c = start(customer)
    touches(c, 1)
    figures = conversation_figures(c, RUN)
    assert (figures.contact_quality, figures.first_channel) == (quality.value, first)
    assert figures.usable_channels == usable
    assert figures.no_usable_channel is (not usable)


def test_rule8_no_figure_holds_the_customer_s_data() -> None:
    customer = Customer(name="Pieter Proef", email="pieter.proef@example.nl", phone="06 2849 1735")
    c = start(customer)
    touches(c, 1)
    c.replied(NOW + MINUTE, Channel.EMAIL, "Mijn adres is Dorpsstraat 1", subject="Re: Golf")
    c.record_outcome(NOW + 2 * MINUTE, RecordOutcome(outcome="lost", reason="price"))
    serialised = conversation_figures(c, RUN).model_dump_json().lower()
    for needle in ("pieter", "proef", "example.nl", "2849", "1735", "dorpsstraat", "re: golf"):
        assert needle not in serialised, needle
