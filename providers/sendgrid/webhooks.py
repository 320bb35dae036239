"""What SendGrid's Inbound Parse posts: its fields (documented in the API's schema), the
envelope's recipients and sender, and the Message-ID an answer threads on. The route
(api/inbound.py) verifies the Basic auth and routes the mail; the Event Webhook's events are
read by `providers.sendgrid.events`."""

from __future__ import annotations

import email.utils
import json

MESSAGE_ID_LIMIT = 300  # leads.models.MessageId: a longer one would be cut, and thread nothing

PARSE_FIELDS = {
    "from": "sender",
    "to": "recipients",
    "subject": "",
    "text": "plain-text body",
    "html": "HTML body",
    "headers": "raw headers",
    "envelope": "JSON: SMTP envelope",
}


def header_message_id(value: str | None) -> str | None:
    """The Message-ID header as the customer's mail client gave it (unfolded, trimmed), what
    an answer's In-Reply-To names; None when absent or longer than a Message-ID is kept (a cut
    one would thread nothing)."""
    unfolded = "".join((value or "").splitlines()).strip()
    return unfolded if 0 < len(unfolded) <= MESSAGE_ID_LIMIT else None


def envelope(fields: dict[str, str]) -> tuple[list[str], str]:
    """Recipients (the SMTP envelope's and the To header's) and the sender: the From header,
    who the customer is, else the envelope's sender (which may be a bounce address)."""
    recipients: list[str] = []
    sender = ""
    try:
        envelope = json.loads(fields.get("envelope") or "{}")
    except ValueError:
        envelope = {}
    if isinstance(envelope, dict):
        to = envelope.get("to")
        recipients = [str(a) for a in to] if isinstance(to, list) else []
        sender = str(envelope.get("from") or "")
    recipients += [a for _, a in email.utils.getaddresses([fields.get("to", "")]) if a]
    sender = email.utils.parseaddr(fields.get("from", ""))[1] or sender
    return recipients, sender
