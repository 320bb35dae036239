"""providers.sendgrid.events: rule 7 (bounces, drops, spam reports and unsubscribes suppress
e-mail at once) and the delivery status of an e-mail. Tables only."""

from __future__ import annotations

from typing import Any

import pytest

from leads.models import Channel, DeliveryStatus
from providers.sendgrid.events import EventAction, sendgrid_event_action

D, R = DeliveryStatus.DELIVERED, DeliveryStatus.READ
EMAIL = Channel.EMAIL

ADDRESS = "jan.de.vries@example.nl"
SERVER_TEXT = f"550 5.1.1 <{ADDRESS}>: Recipient address rejected: User unknown"


def failed(reason: str, permanent: bool) -> EventAction:
    return EventAction("failed", EMAIL, permanent=permanent, reason=reason)


def opt_out(reason: str) -> EventAction:
    return EventAction("opt_out", EMAIL, permanent=True, reason=reason)


IGNORE = EventAction("ignore", EMAIL)

SENDGRID_ROWS: list[tuple[dict[str, Any], EventAction]] = [
    ({"event": "bounce", "type": "bounce", "reason": SERVER_TEXT}, failed("bounce", True)),
    ({"event": "bounce", "reason": SERVER_TEXT}, failed("bounce", True)),
    ({"event": "bounce", "type": ""}, failed("bounce", True)),
    ({"event": "bounce", "type": "blocked", "reason": SERVER_TEXT}, failed("blocked", False)),
    ({"event": "bounce", "type": "expired"}, failed("expired", False)),
    ({"event": "bounce", "type": "something-new"}, failed("bounce", True)),
    (
        {"event": "dropped", "reason": "Bounced Address"},
        failed("dropped: Bounced Address", True),
    ),
    ({"event": "dropped", "reason": "Invalid"}, failed("dropped: Invalid", True)),
    ({"event": "dropped", "reason": "invalid"}, failed("dropped: Invalid", True)),
    (
        {"event": "dropped", "reason": "Unsubscribed Address"},
        opt_out("dropped: Unsubscribed Address"),
    ),
    (
        {"event": "dropped", "reason": "Spam Reporting Address"},
        opt_out("dropped: Spam Reporting Address"),
    ),
    (
        {"event": "dropped", "reason": "Invalid SMTPAPI header"},
        failed("dropped: Invalid SMTPAPI header", False),  # our bug, not the address
    ),
    (
        {"event": "dropped", "reason": "Spam Content (if Spam Checker app is enabled)"},
        failed("dropped: Spam Content", False),  # our content, not the address
    ),
    (
        {"event": "dropped", "reason": "Recipient List over Package Quota"},
        failed("dropped: Recipient List over Package Quota", False),
    ),
    ({"event": "dropped", "reason": f"Blocked: {ADDRESS}"}, failed("dropped", True)),
    ({"event": "dropped"}, failed("dropped", True)),
    ({"event": "spamreport"}, opt_out("spam report")),
    ({"event": "unsubscribe"}, opt_out("unsubscribe")),
    ({"event": "group_unsubscribe", "asm_group_id": 7}, opt_out("group unsubscribe")),
    ({"event": "group_resubscribe"}, IGNORE),
    ({"event": "deferred", "response": "400 try again later"}, IGNORE),
    ({"event": "processed"}, IGNORE),
    ({"event": "click", "url": "https://autohuis-west.nl"}, IGNORE),
    ({"event": "something_new"}, IGNORE),
    ({}, IGNORE),
    ({"event": 42}, IGNORE),
    ({"event": "BOUNCE"}, failed("bounce", True)),
]


@pytest.mark.parametrize(("event", "expected"), SENDGRID_ROWS)
def test_rule7_sendgrid_event_actions(event: dict[str, Any], expected: EventAction) -> None:
    assert sendgrid_event_action({"email": ADDRESS, **event}) == expected


def status(value: DeliveryStatus) -> EventAction:
    return EventAction("status", EMAIL, status=value)


# Issue 10, acceptance 2: every message in the thread shows its delivery status, e-mail too.
SENDGRID_STATUS_ROWS: list[tuple[dict[str, Any], EventAction]] = [
    ({"event": "delivered", "response": "250 OK"}, status(D)),
    ({"event": "Delivered"}, status(D)),
    ({"event": "open", "useragent": "Mozilla/5.0"}, status(R)),
    ({"event": "open", "sg_machine_open": False}, status(R)),
    # Apple Mail Privacy Protection opens every mail on arrival: delivered, not read.
    ({"event": "open", "sg_machine_open": True}, status(D)),
    ({"event": "open", "sg_machine_open": "true"}, status(D)),
    ({"event": "processed"}, IGNORE),  # accepted by SendGrid: the send said so already
    ({"event": "deferred", "attempt": "3"}, IGNORE),  # still trying: neither way yet
    ({"event": "click"}, IGNORE),
]


@pytest.mark.parametrize(("event", "expected"), SENDGRID_STATUS_ROWS)
def test_issue10_sendgrid_delivery_status_reaches_the_thread(
    event: dict[str, Any], expected: EventAction
) -> None:
    assert sendgrid_event_action({"email": ADDRESS, **event}) == expected


@pytest.mark.parametrize("event", [event for event, _ in SENDGRID_STATUS_ROWS])
def test_rule7_a_delivery_report_never_suppresses_the_channel(event: dict[str, Any]) -> None:
    """Only bounces, drops, spam reports and unsubscribes stop e-mail: a report of progress
    is never read as a failure or an opt-out."""
    assert sendgrid_event_action(event).kind in ("status", "ignore")
    assert not sendgrid_event_action(event).permanent


FIXED_REASONS = {
    "",
    "bounce",
    "blocked",
    "expired",
    "dropped",
    "spam report",
    "unsubscribe",
    "group unsubscribe",
    "dropped: Bounced Address",
    "dropped: Invalid",
    "dropped: Unsubscribed Address",
    "dropped: Spam Reporting Address",
    "dropped: Invalid SMTPAPI header",
    "dropped: Spam Content",
    "dropped: Recipient List over Package Quota",
}


@pytest.mark.parametrize(
    "event",
    [
        {"event": "bounce", "type": "bounce", "reason": SERVER_TEXT, "status": "5.1.1"},
        {"event": "bounce", "type": "blocked", "reason": SERVER_TEXT},
        {"event": "bounce", "type": ADDRESS},
        {"event": "dropped", "reason": SERVER_TEXT},
        {"event": "dropped", "reason": ADDRESS},
        {"event": "spamreport", "reason": ADDRESS},
        {"event": "deferred", "response": SERVER_TEXT},
    ],
)
def test_rule7_sendgrid_reason_never_copies_event_text(event: dict[str, Any]) -> None:
    action = sendgrid_event_action({"email": ADDRESS, **event})
    assert ADDRESS not in action.reason
    assert "jan" not in action.reason.casefold()
    assert action.reason in FIXED_REASONS
    assert action.channel is EMAIL
