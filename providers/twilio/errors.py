"""What a Twilio error code says about the customer's number: one table, read by every path.

A code means the same whether Twilio answers it while we send (`messages.create` raises it)
or reports it later on a status callback (`ErrorCode` of a failed or undelivered message):

- `ADDRESS`: this number can never receive on this channel. The channel is dropped for the
  rest of the conversation and the touch goes out on the next one (rule 2: data quality
  routes, it never disqualifies).
- `OURS`: our sender, content or account (a misconfigured number, a WhatsApp free text the
  window did not allow). The customer's number may be fine: the channel is kept, the touch is
  recorded as failed.
- `TEMPORARY`: the carrier or the handset, for now. The channel is kept; a later touch tries
  again.

A code missing here is judged by the path that meets it: when sending, by the HTTP status
(429 and 5xx are retried, other 4xx are ours); on a callback it is temporary.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    ADDRESS = "address"
    OURS = "ours"
    TEMPORARY = "temporary"


# https://www.twilio.com/docs/api/errors — the codes a lead's messages meet.
TWILIO_ERRORS: dict[int, tuple[Verdict, str]] = {
    20003: (Verdict.OURS, "authentication failed"),
    21211: (Verdict.ADDRESS, "invalid 'To' phone number"),
    21408: (Verdict.OURS, "sending to this region is not enabled"),
    21606: (Verdict.OURS, "the 'From' number cannot send this message"),
    21608: (Verdict.OURS, "trial account: the number is not verified"),
    21610: (Verdict.ADDRESS, "recipient unsubscribed (replied STOP)"),
    21612: (Verdict.ADDRESS, "'To' number not reachable from this sender"),
    21614: (Verdict.ADDRESS, "'To' number is not a valid mobile number"),
    30001: (Verdict.TEMPORARY, "queue overflow"),
    30003: (Verdict.TEMPORARY, "unreachable destination handset"),
    30004: (Verdict.ADDRESS, "message blocked by the recipient"),
    30005: (Verdict.ADDRESS, "unknown destination handset"),
    30006: (Verdict.ADDRESS, "landline or unreachable carrier"),
    30007: (Verdict.OURS, "carrier filtered our content"),
    30008: (Verdict.TEMPORARY, "unknown error"),
    63003: (Verdict.ADDRESS, "the number is not on WhatsApp"),
    # Free text outside WhatsApp's 24-hour window: our message, not the customer's number.
    # The next touch outside the window goes out as the dealer's approved template.
    63016: (Verdict.OURS, "WhatsApp free text outside the 24-hour window"),
    63024: (Verdict.ADDRESS, "invalid message recipient"),
}


def twilio_verdict(code: int | None) -> Verdict | None:
    """The table's verdict on `code`; None when it is not in the table (or there is none)."""
    found = TWILIO_ERRORS.get(code) if code is not None else None
    return found[0] if found else None
