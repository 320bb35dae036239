"""providers.twilio.callbacks: a Twilio status callback's status and whether its error code
suppresses the channel (rule 7). Tables only."""

from __future__ import annotations

import pytest

from leads.models import DeliveryStatus
from providers.twilio.callbacks import twilio_failure_permanent, twilio_status
from tests.unit.test_delivery_status import D, F, Q, R, S, U


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("accepted", Q),
        ("scheduled", Q),
        ("queued", Q),
        ("sending", Q),
        ("sent", S),
        ("delivered", D),
        ("read", R),
        ("undelivered", U),
        ("failed", F),
        ("canceled", F),
        ("Delivered", D),
        (" sent ", S),
        ("receiving", None),
        ("received", None),
        ("partially_delivered", None),
        ("unknown", None),
        ("", None),
        ("cancelled", None),
    ],
)
def test_twilio_status_mapping(value: str, expected: DeliveryStatus | None) -> None:
    assert twilio_status(value) is expected


@pytest.mark.parametrize(
    ("code", "permanent"),
    [
        (21211, True),  # invalid number
        (21612, True),  # not reachable
        (21614, True),  # not a mobile number
        (21610, True),  # unsubscribed recipient
        (30004, True),  # blocked by recipient
        (30005, True),  # unknown destination
        (30006, True),  # landline or unreachable carrier
        (63003, True),  # not a WhatsApp user
        (63024, True),  # invalid recipient
        (30001, False),  # queue overflow
        (30003, False),  # handset unreachable (switched off)
        (30007, False),  # carrier filtering: our content, not the address
        (30008, False),  # unknown error
        (63016, False),  # outside the WhatsApp 24-hour window: our timing
        (20429, False),  # rate limited
        (0, False),
        (None, False),
    ],
)
def test_rule7_twilio_permanent_failure_codes(code: int | None, permanent: bool) -> None:
    assert twilio_failure_permanent(code) is permanent
