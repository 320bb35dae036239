"""What Twilio's webhooks post: the fields of an inbound message (documented in the API's
schema) and how its attachments are listed. The route (api/inbound.py) verifies the signature
and routes the message; its status callbacks are read by `providers.twilio.callbacks`."""

from __future__ import annotations

TWILIO_FIELDS = {
    "From": "the customer's number (whatsapp:+… for WhatsApp)",
    "To": "the dealer's number",
    "Body": "the message text",
    "MessageSid": "Twilio's id of the message",
    "NumMedia": "how many attachments (MMS, WhatsApp media)",
    "MediaContentType0": "the first attachment's media type (…1, …2 for the next)",
}


def twilio_media(params: dict[str, str]) -> list[str]:
    """The media types of an MMS or WhatsApp message's attachments (`NumMedia`,
    `MediaContentType0` …)."""
    count = params.get("NumMedia", "0")
    number = min(int(count), 10) if count.isdecimal() else 0  # Twilio sends at most 10
    return [params.get(f"MediaContentType{i}", "")[:100] for i in range(number)]
