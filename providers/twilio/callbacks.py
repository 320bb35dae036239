"""What a Twilio status callback reports (rule 7 in docs/architecture.md): its
``MessageStatus`` as a DeliveryStatus, and whether its ``ErrorCode`` means the number can
never receive (`providers.twilio.errors`, the table the send path reads too).

Pure functions: no Temporal, no network, no clock, no regexes.
"""

from __future__ import annotations

from leads.models import DeliveryStatus
from providers.twilio.errors import Verdict, twilio_verdict

__all__ = ["twilio_failure_permanent", "twilio_status"]

_TWILIO_STATUSES: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


def twilio_status(value: str) -> DeliveryStatus | None:
    """Twilio ``MessageStatus`` → DeliveryStatus; None for receiving, received,
    partially_delivered, unknown and anything else (case and surrounding blanks ignored)."""
    return _TWILIO_STATUSES.get(value.strip().casefold())


def twilio_failure_permanent(error_code: int | None) -> bool:
    """True when a failed/undelivered message's ``ErrorCode`` means this number can never
    receive on this channel (`providers.twilio.errors`, the table the send path reads too);
    anything else — temporary trouble, our own content or sender, no code — is False."""
    return twilio_verdict(error_code) is Verdict.ADDRESS
