"""The lead id: one customer, one conversation, and no personal data in the id.

`lead-<dealer>-<key>`, where `<key>` is an HMAC (keyed with the dealer's secret) of the
customer's normalised e-mail address, else their usable phone number, else the source and
external id, else the document itself. Placeholder numbers never become a key: otherwise
every customer who typed 0000000000 would share one conversation.
"""

from __future__ import annotations

import hashlib
import hmac

from leads.contact import analyse_phone, normalise_email
from leads.models import Lead

KEY_LENGTH = 24  # hex characters: 96 bits, collision-free for any dealer's lifetime of leads


def keyed_hash(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()[:KEY_LENGTH]


def customer_key(lead: Lead, region: str) -> str:
    """The value the key is derived from, most stable first."""
    email = normalise_email(lead.customer.email)
    if email:
        return f"email:{email}"
    phone = analyse_phone(lead.customer.phone, region)
    if phone.callable and phone.e164:
        return f"phone:{phone.e164}"
    if lead.external_id:
        return f"ext:{lead.source}:{lead.external_id}"
    # Nothing identifies the customer: the same document delivered twice is still one lead.
    return "doc:" + lead.document_key()


def lead_id(dealer_id: str, secret: str, lead: Lead, region: str) -> str:
    return f"lead-{dealer_id}-{keyed_hash(secret, customer_key(lead, region))}"


def address_key(secret: str, kind: str, address: str) -> str:
    """Keyed hash of a single address (`email:…`, `phone:…`), e.g. to route an inbound reply."""
    return keyed_hash(secret, f"{kind}:{address}")


def task_id(lead: str, number: int) -> str:
    return f"task-{lead}-{number}"


def reply_address(secret: str, lead: str, domain: str) -> str:
    """`reply+<token>@domain`: routes an e-mail reply to its lead without personal data."""
    key = lead.rsplit("-", 1)[-1]
    return f"reply+{key}.{keyed_hash(secret, 'reply:' + lead)[:10]}@{domain}"


def unsubscribe_token(secret: str, lead: str, channel: str) -> str:
    """A signed token for the one-click unsubscribe link: `<lead>.<channel>.<signature>`."""
    return f"{lead}.{channel}.{keyed_hash(secret, f'unsubscribe:{lead}:{channel}')}"
