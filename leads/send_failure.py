"""What a failed send means for the lead: which kind of failure, why, and whether the
address can never receive on that channel (then the same touch goes out at once on the next
usable channel; otherwise the touch is recorded as failed and the cadence goes on).

The failure types are the `type` of the error a send activity raises (contracts/errors.py
names them for the other side of the boundary).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

PERMANENT: Final = "PermanentDelivery"  # the provider refused the address for good
REJECTED: Final = "ProviderRejected"  # our side is misconfigured: the channel is kept
TIMEOUT: Final = "timeout"  # not delivered within the send's deadline
NOT_IN_TIME: Final = "not delivered in time"


@dataclass(frozen=True)
class SendFailure:
    type: str | None  # the provider's classification, or TIMEOUT
    reason: str
    permanent: bool


def classify(cause: tuple[str | None, str] | None) -> SendFailure:
    """A failed send from its cause, the `(type, message)` of the error the send raised;
    None: it raised none the lead can read, it ran out of time."""
    if cause is None:
        return SendFailure(TIMEOUT, NOT_IN_TIME, permanent=False)
    failure_type, message = cause
    return SendFailure(failure_type, message, permanent=failure_type == PERMANENT)
